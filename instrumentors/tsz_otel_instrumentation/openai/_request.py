"""The wrappers of ``OpenAI.request`` / ``AsyncOpenAI.request``: the SDK's one choke point.

Every endpoint call passes ``request(cast_to, options, stream=..., stream_cls=...)``, with
the JSON body in ``options.json_data`` before anything is sent. The wrapper, in order:

1. passes the call through untouched when uninstrumented, when instrumentation is
   suppressed, or when the body is not a known LLM format (TSZ headers are still
   stripped);
2. starts the ``{operation} {model}`` span unless a GenAI span is current;
3. checks the input (raises in block mode, before any byte is sent) and sends the
   redacted copy of the body in mask mode, without the ``X-TSZ-*`` headers;
4. marks the context so the httpx instrumentor does not evaluate the call again;
5. checks the answer: whole answers are masked in place (or raise); streams get their
   body guarded at the byte level and come back wrapped in a :mod:`._stream` proxy;
   ``with_raw_response`` streams are guarded through their cached ``parse()``; a whole
   ``with_raw_response`` answer is checked on its JSON body, and a masked body replaces
   the raw response, so ``.text``, ``.json()`` and ``.parse()`` all show the same answer.

Only guard decisions propagate; a bug in this module is logged and the call goes on.
"""

from __future__ import annotations

import functools
import inspect
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.trace import Tracer

from tsz_otel._unicode import json_bytes
from tsz_otel.errors import ConfigurationError, GuardrailBlockedError, GuardrailFailedError

from .._formats import WireFormat, format_for_path, response_info
from .._guarding import Guarding, InputResult
from .._llm_span import GUARDED_KEY, LLMCall, Server, server_of
from .._overrides import CallOptions, options_from, without_tsz_headers
from .._stream_call import StreamCall
from .._wire_stream import attach_session
from ._stream import TszAsyncStream, TszStream

__all__ = ["AsyncRequestWrapper", "Core", "RequestWrapper"]

_logger = logging.getLogger(__name__)

_GUARD_ERRORS = (GuardrailBlockedError, GuardrailFailedError, ConfigurationError)


class Core:
    """What the wrappers share, bound at ``instrument()`` time; ``active`` turns them off
    (the SDK may keep a wrapped bound method after ``uninstrument()``)."""

    __slots__ = (
        "active",
        "async_stream",
        "guarding",
        "last_server",
        "openai",
        "raw_types",
        "stream",
        "tracer",
    )

    def __init__(self, tracer: Tracer, guarding: Guarding, openai_module: Any) -> None:
        self.tracer = tracer
        self.guarding = guarding
        self.openai = openai_module
        self.active = True
        self.last_server: tuple[Any, Server] | None = None
        # resolved once: the result types each call is sorted by
        self.stream: type = openai_module.Stream
        self.async_stream: type = openai_module.AsyncStream
        self.raw_types: tuple[type, ...] = (
            openai_module._legacy_response.LegacyAPIResponse,
            openai_module._response.BaseAPIResponse,
        )


@dataclass(slots=True)
class _Plan:
    fmt: WireFormat | None
    options: Any
    call: CallOptions
    strip: bool
    body: Any
    model: str | None
    server: Server
    stream: bool

    def options_to_send(self, body: Any) -> Any:
        update: dict[str, Any] = {}
        if self.strip and isinstance(self.options.headers, Mapping):
            update["headers"] = without_tsz_headers(self.options.headers)
        if body is not self.body:
            update["json_data"] = body
        return self.options.model_copy(update=update) if update else self.options


def _options_of(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if "options" in kwargs:
        return kwargs["options"]
    return args[1] if len(args) > 1 else None


def _with_options(
    args: tuple[Any, ...], kwargs: dict[str, Any], options: Any
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    if "options" in kwargs:
        return args, {**kwargs, "options": options}
    return (args[0], options, *args[2:]), kwargs


def _plan(core: Core, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> _Plan | None:
    options = _options_of(args, kwargs)
    if options is None:
        return None
    headers = options.headers
    if headers and (type(headers) is dict or isinstance(headers, Mapping)):
        call, strip = options_from(core.guarding.defaults, headers.items())
    else:  # no headers: nothing to override or strip
        call, strip = core.guarding.defaults, False
    body = options.json_data
    is_mapping = type(body) is dict or isinstance(body, Mapping)
    fmt = None
    path = options.url if type(options.url) is str else str(options.url)
    method = options.method
    if is_mapping and (method == "post" or str(method).lower() == "post"):
        fmt = _format_for(path)
    if fmt is None and not strip:
        return None
    model = body.get("model") if is_mapping else None
    return _Plan(
        fmt,
        options,
        call,
        strip,
        body,
        model if isinstance(model, str) else None,
        _server(core, instance, path),
        bool(kwargs.get("stream", False)),
    )


@functools.lru_cache(maxsize=1024)
def _format_for(path: str) -> WireFormat | None:
    """:func:`format_for_path`, memoised (the SDK's request paths are a handful of constants)."""
    return format_for_path(path)


def _server(core: Core, instance: Any, path: str) -> Server:
    """Where the call goes: the client's base URL (an ``httpx`` URL, read from its parts,
    remembered for the last URL object seen) unless the request names an absolute URL."""
    if path.startswith(("http://", "https://")):
        return server_of(path)
    url = instance.base_url
    last = core.last_server
    if last is not None and last[0] is url:
        return last[1]
    server = server_of(url)
    core.last_server = (url, server)  # one tuple: threads see an old or a new pair, whole
    return server


def _prepare(
    core: Core, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> _Plan | None:
    """The plan of a call, or None to pass it through. Bugs here never break the call."""
    if not core.active or not is_instrumentation_enabled():
        return None
    try:
        return _plan(core, instance, args, kwargs)
    except ConfigurationError:
        raise
    except Exception:  # our bug must not break the application's call
        _logger.exception("tsz openai instrumentation could not inspect a request")
        return None


class RequestWrapper:
    """Wraps ``OpenAI.request`` (see the module docstring)."""

    __slots__ = ("_core",)

    def __init__(self, core: Core) -> None:
        self._core = core

    def __call__(
        self, wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        core = self._core
        plan = _prepare(core, instance, args, kwargs)
        if plan is None:
            return wrapped(*args, **kwargs)
        if plan.fmt is None:
            call_args, call_kwargs = _with_options(args, kwargs, plan.options_to_send(plan.body))
            return wrapped(*call_args, **call_kwargs)
        llm = core.guarding.start_llm(core.tracer, plan.fmt, plan.model, plan.server, plan.stream)
        token = otel_context.attach(otel_context.set_value(GUARDED_KEY, True, llm.context))
        try:
            checked = core.guarding.check_input(plan.fmt, plan.body, plan.call, llm)
            call_args, call_kwargs = _with_options(args, kwargs, plan.options_to_send(checked.body))
            result = wrapped(*call_args, **call_kwargs)
        except BaseException as exc:
            llm.end(exc)
            raise
        finally:
            otel_context.detach(token)
        return _Outcome(core, plan, llm, checked).sync(result)


class AsyncRequestWrapper:
    """Wraps ``AsyncOpenAI.request``: the async twin of :class:`RequestWrapper`."""

    __slots__ = ("_core",)

    def __init__(self, core: Core) -> None:
        self._core = core

    async def __call__(
        self, wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        core = self._core
        plan = _prepare(core, instance, args, kwargs)
        if plan is None:
            return await wrapped(*args, **kwargs)
        if plan.fmt is None:
            call_args, call_kwargs = _with_options(args, kwargs, plan.options_to_send(plan.body))
            return await wrapped(*call_args, **call_kwargs)
        llm = core.guarding.start_llm(core.tracer, plan.fmt, plan.model, plan.server, plan.stream)
        token = otel_context.attach(otel_context.set_value(GUARDED_KEY, True, llm.context))
        try:
            checked = await core.guarding.acheck_input(plan.fmt, plan.body, plan.call, llm)
            call_args, call_kwargs = _with_options(args, kwargs, plan.options_to_send(checked.body))
            result = await wrapped(*call_args, **call_kwargs)
        except BaseException as exc:
            llm.end(exc)
            raise
        finally:
            otel_context.detach(token)
        return await _Outcome(core, plan, llm, checked).async_(result)


class _Outcome:
    """The answer side of one call (sync and async entry points, shared steps)."""

    __slots__ = ("checked", "core", "fmt", "llm", "plan")

    def __init__(self, core: Core, plan: _Plan, llm: LLMCall, checked: InputResult) -> None:
        self.core = core
        self.plan = plan
        self.fmt: WireFormat = plan.fmt  # type: ignore[assignment]
        self.llm = llm
        self.checked = checked

    def _stream_call(self) -> StreamCall:
        return StreamCall(self.core.guarding, self.plan.call, self.llm, self.checked.restorer)

    def _is_raw(self, result: Any) -> bool:
        return isinstance(result, self.core.raw_types)

    def sync(self, result: Any) -> Any:
        try:
            if isinstance(result, self.core.stream):
                return self._stream(result, is_async=False)
            if self._is_raw(result):
                return self._raw_sync(result)
            self._whole(result)
        except _GUARD_ERRORS as exc:
            self.llm.end(exc)
            raise
        except Exception:  # our bug must not break the application's call
            _logger.exception("tsz openai instrumentation could not check an answer")
            self.llm.end()
        return result

    async def async_(self, result: Any) -> Any:
        try:
            if isinstance(result, self.core.async_stream):
                return self._stream(result, is_async=True)
            if self._is_raw(result):
                return await self._raw_async(result)
            await self._awhole(result)
        except _GUARD_ERRORS as exc:
            self.llm.end(exc)
            raise
        except Exception:  # our bug must not break the application's call
            _logger.exception("tsz openai instrumentation could not check an answer")
            self.llm.end()
        return result

    # ------------------------------------------------------------------ whole answers

    def _whole(self, answer: Any) -> None:
        self.core.guarding.check_output(
            self.fmt, answer, self.plan.call, self.llm, self.checked.restorer
        )
        self.llm.record(response_info(answer, self.fmt.info))
        self.llm.end()

    async def _awhole(self, answer: Any) -> None:
        await self.core.guarding.acheck_output(
            self.fmt, answer, self.plan.call, self.llm, self.checked.restorer
        )
        self.llm.record(response_info(answer, self.fmt.info))
        self.llm.end()

    # ------------------------------------------------------------------ streams

    def _stream(self, stream: Any, is_async: bool) -> Any:
        call = self._stream_call()
        if not attach_session(self.fmt, call, stream.response, is_async):
            self.llm.end()
            return stream
        return TszAsyncStream(stream, call) if is_async else TszStream(stream, call)

    # ------------------------------------------------------------------ with_raw_response

    def _raw_sync(self, raw: Any) -> Any:
        if self.plan.stream:
            call = self._stream_call()
            if not attach_session(self.fmt, call, raw.http_response, is_async=False):
                self.llm.end()
                return raw
            _cache_parsed(raw, TszStream(raw.parse(), call))
            return raw
        body = _json_body(raw.http_response)
        if body is None:  # not a JSON object: guard what the SDK parses
            self._whole(raw.parse())
            return raw
        changed = self.core.guarding.check_output(
            self.fmt, body, self.plan.call, self.llm, self.checked.restorer
        )
        self._raw_done(raw, body, changed)
        return raw

    async def _raw_async(self, raw: Any) -> Any:
        if self.plan.stream:
            call = self._stream_call()
            if not attach_session(self.fmt, call, raw.http_response, is_async=True):
                self.llm.end()
                return raw
            parsed = raw.parse()
            if inspect.isawaitable(parsed):
                parsed = await parsed
            _cache_parsed(raw, TszAsyncStream(parsed, call))
            return raw
        body = _json_body(raw.http_response)
        if body is None:
            parsed = raw.parse()
            if inspect.isawaitable(parsed):
                parsed = await parsed
            await self._awhole(parsed)
            return raw
        changed = await self.core.guarding.acheck_output(
            self.fmt, body, self.plan.call, self.llm, self.checked.restorer
        )
        self._raw_done(raw, body, changed)
        return raw

    def _raw_done(self, raw: Any, body: dict[str, Any], changed: bool) -> None:
        """A masked answer replaces the raw body, so ``.text``/``.json()``/``.content`` and
        ``.parse()`` (which parses it on first use) all see the same masked answer."""
        if changed:
            raw.http_response = _with_body(raw.http_response, body)
        self.llm.record(response_info(body, self.fmt.info))
        self.llm.end()


def _json_body(response: Any) -> dict[str, Any] | None:
    """The (already read) JSON object body of a response, or None."""
    try:
        body = json.loads(response.content)
    except (ValueError, RuntimeError):  # not JSON / not read
        return None
    return body if isinstance(body, dict) else None


_BODY_HEADERS = frozenset({b"content-length", b"content-encoding", b"transfer-encoding"})


def _with_body(response: Any, body: dict[str, Any]) -> Any:
    """A copy of an ``httpx``/``httpx2`` response whose body is ``body`` as JSON (right
    ``Content-Length``, no ``Content-Encoding``: the content is no longer the wire's)."""
    headers = [(k, v) for k, v in response.headers.raw if k.lower() not in _BODY_HEADERS]
    replaced = type(response)(
        response.status_code,
        headers=headers,
        content=json_bytes(body),
        request=response.request,
        extensions=response.extensions,
    )
    try:
        replaced.elapsed = response.elapsed
    except RuntimeError:  # no timing recorded on the original
        pass
    return replaced


def _cache_parsed(raw: Any, proxy: Any) -> None:
    """Make ``raw.parse()`` return ``proxy`` (the SDK caches parse results by type)."""
    cache = getattr(raw, "_parsed_by_type", None)
    if isinstance(cache, dict):
        cache[raw._cast_to] = proxy
