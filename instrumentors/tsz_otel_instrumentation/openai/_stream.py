"""Proxies around the SDK's ``Stream``/``AsyncStream``.

The content is guarded one layer down, on the response's byte stream
(:mod:`.._wire_stream`), so the SDK's own parsing, its ``.stream()`` helpers and
``with_raw_response`` all see the guarded events, and the guard finishes when the body is
exhausted, closed or garbage-collected. These ``wrapt.ObjectProxy`` subclasses keep the
SDK types (``isinstance(s, openai.Stream)`` holds), return themselves from ``with``, and
turn a stream-sync halt (the SDK raises ``APIError`` for the error event) into
:class:`GuardrailStreamHaltedError`, which is both a ``GuardrailBlockedError`` and the
SDK's ``APIError``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any

import openai
import wrapt

from tsz_otel.errors import GuardrailBlockedError

from .._stream_call import StreamCall

__all__ = ["GuardrailStreamHaltedError", "TszAsyncStream", "TszStream"]

if TYPE_CHECKING:
    _Proxy = wrapt.ObjectProxy[Any]
else:  # wrapt 1.x proxies are not subscriptable at runtime
    _Proxy = wrapt.ObjectProxy

_HALT_CODE = "tsz_output_blocked"


class GuardrailStreamHaltedError(GuardrailBlockedError, openai.APIError):
    """stream-sync with ``halt`` stopped the answer (block mode, block-level finding).

    Everything before the value was delivered, sanitised; ``verdict`` is the deny verdict
    of the answer so far. Catch it as ``GuardrailBlockedError`` or as ``openai.APIError``
    (code ``tsz_output_blocked``), as with the TSZ gateway.
    """

    def __init__(self, source: openai.APIError, verdict: Any) -> None:
        openai.APIError.__init__(self, source.message, source.request, body=source.body)
        self.verdict = verdict


def _converted(error: openai.APIError, call: StreamCall) -> BaseException:
    if getattr(error, "code", None) == _HALT_CODE and not isinstance(
        error, GuardrailStreamHaltedError
    ):
        return GuardrailStreamHaltedError(error, call.verdict)
    return error


class TszStream(_Proxy):
    """A guarded ``openai.Stream`` (see the module docstring)."""

    def __init__(self, stream: Any, call: StreamCall) -> None:
        super().__init__(stream)
        self._self_call = call

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        try:
            return self.__wrapped__.__next__()
        except openai.APIError as error:
            converted = _converted(error, self._self_call)
            if converted is error:
                raise
            raise converted from error

    def __enter__(self) -> TszStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self.__wrapped__.close()


class TszAsyncStream(_Proxy):
    """A guarded ``openai.AsyncStream`` (see the module docstring)."""

    def __init__(self, stream: Any, call: StreamCall) -> None:
        super().__init__(stream)
        self._self_call = call

    def __aiter__(self) -> AsyncIterator[Any]:
        return self

    async def __anext__(self) -> Any:
        try:
            return await self.__wrapped__.__anext__()
        except openai.APIError as error:
            converted = _converted(error, self._self_call)
            if converted is error:
                raise
            raise converted from error

    async def __aenter__(self) -> TszAsyncStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        await self.__wrapped__.close()
