"""The ``with`` protocol shared by the local test servers."""

from __future__ import annotations

from types import TracebackType
from typing import Self

__all__ = ["Managed"]


class Managed:
    """``with``: :meth:`start` on entry (undone if it fails half-way), :meth:`stop` on exit."""

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
