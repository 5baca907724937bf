"""What tsz-otel's own outbound HTTP calls share: clients, error translation, suppression.

Used by :mod:`tsz_otel.remote` (a TSZ server) and :mod:`tsz_otel.ai` (a model endpoint)
through :class:`HttpClients`. Every call runs under ``suppress_instrumentation()``, so
HTTP instrumentations (tsz-otel's own included) neither trace nor scan it. Callers only
ever see :class:`~tsz_otel.errors.RemoteError` subclasses, chosen by one table, and the
messages name the endpoint and status, never a request or response body (a body can echo
a scanned value).
"""

from __future__ import annotations

import asyncio
import ssl
import weakref
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

import httpx
from opentelemetry.instrumentation.utils import suppress_instrumentation

from .errors import (
    RemoteAuthError,
    RemoteBadRequestError,
    RemoteError,
    RemoteNotFoundError,
    RemoteStatusError,
    RemoteUnavailableError,
)

__all__ = ["HttpClients", "PerLoop", "check_status", "translate_error"]

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


class HttpClients:
    """A sync client and one async client per event loop, with the same options.

    One TLS context is built here and shared: httpx builds a new one for every client
    (about 50 ms), and an async client is made for every event loop that uses us.
    """

    def __init__(
        self,
        *,
        timeout: float,
        base_url: str = "",
        headers: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
        async_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._options: dict[str, Any] = {
            "base_url": base_url,
            "headers": dict(headers or {}),
            "timeout": timeout,
            "verify": _tls_context(),
        }
        self._async_transport = async_transport
        self._sync = httpx.Client(**self._options, transport=transport)
        self._async: PerLoop[httpx.AsyncClient] = PerLoop(self._new_async)

    def send(self, method: str, url: str, what: str, **kwargs: Any) -> httpx.Response:
        """One request; failures and non-2xx answers raise our :class:`RemoteError`."""
        try:
            with suppress_instrumentation():
                response = self._sync.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            raise translate_error(exc, what) from exc
        check_status(response, what)
        return response

    async def asend(self, method: str, url: str, what: str, **kwargs: Any) -> httpx.Response:
        """Async twin of :meth:`send`."""
        try:
            with suppress_instrumentation():
                response = await self._async.get().request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            raise translate_error(exc, what) from exc
        check_status(response, what)
        return response

    def close(self) -> None:
        self._sync.close()

    async def aclose(self) -> None:
        """Close the current event loop's async client (if it made one)."""
        client = self._async.pop()
        if client is not None:
            await client.aclose()

    def _new_async(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(**self._options, transport=self._async_transport)


def _tls_context() -> ssl.SSLContext:
    return httpx.create_ssl_context()
