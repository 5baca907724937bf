"""What tsz-otel's own outbound HTTP calls share: error translation and per-loop clients.

Used by :mod:`tsz_otel.remote` (a TSZ server) and :mod:`tsz_otel.ai` (a model endpoint).
Callers only ever see :class:`~tsz_otel.errors.RemoteError` subclasses, chosen by one
table, and the messages name the endpoint and status, never a request or response body
(a body can echo a scanned value).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from typing import Generic, TypeVar

import httpx

from .errors import (
    RemoteAuthError,
    RemoteBadRequestError,
    RemoteError,
    RemoteNotFoundError,
    RemoteStatusError,
    RemoteUnavailableError,
)

__all__ = ["PerLoop", "check_status", "translate_error"]

T = TypeVar("T")

_STATUS_ERRORS: dict[int, type[RemoteStatusError]] = {
    400: RemoteBadRequestError,
    401: RemoteAuthError,
    403: RemoteAuthError,
    404: RemoteNotFoundError,
    405: RemoteBadRequestError,
    413: RemoteBadRequestError,
    422: RemoteBadRequestError,
}
"""HTTP status -> the most specific error class; anything else is ``RemoteStatusError``."""


def translate_error(exc: httpx.HTTPError, what: str) -> RemoteError:
    """Map an httpx failure to our hierarchy (timeouts and transport errors: unavailable)."""
    if isinstance(exc, httpx.TimeoutException):
        return RemoteUnavailableError(f"{what}: timed out ({type(exc).__name__})")
    if isinstance(exc, httpx.TransportError):
        return RemoteUnavailableError(f"{what}: unreachable ({type(exc).__name__})")
    return RemoteError(f"{what}: HTTP error ({type(exc).__name__})")


def check_status(response: httpx.Response, what: str) -> None:
    """Raise the mapped :class:`RemoteStatusError` for a non-2xx answer.

    The body is kept on the exception as ``body`` (first 2 KiB) for debugging, but it
    is not in the message.
    """
    if response.is_success:
        return
    cls = _STATUS_ERRORS.get(response.status_code, RemoteStatusError)
    raise cls(
        f"{what}: answered HTTP {response.status_code} {response.reason_phrase}".rstrip(),
        response.status_code,
        response.content[:2048],
    )


class PerLoop(Generic[T]):
    """One object per running event loop, made on first use.

    asyncio connections (httpx, redis) belong to the loop that opened them; a client
    shared across loops fails once its first loop closes. Entries go away with their loop.
    """

    def __init__(self, factory: Callable[[], T]) -> None:
        self._factory = factory
        self._items: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, T] = (
            weakref.WeakKeyDictionary()
        )

    def get(self) -> T:
        loop = asyncio.get_running_loop()
        item = self._items.get(loop)
        if item is None:
            item = self._factory()
            self._items[loop] = item
        return item

    def pop(self) -> T | None:
        """Remove and return the current loop's object (to close it), if any."""
        return self._items.pop(asyncio.get_running_loop(), None)
