"""The transport wrappers: ``HTTPTransport.handle_request`` and its async twin.

For ``httpx`` and ``httpx2`` alike (the module is bound in with ``functools.partial``).
A request is guarded only when it is a POST whose path ends with a known LLM wire format
(:data:`.._formats.FORMATS`, plus ``TSZ_HTTP_PATHS``) to an allowed host
(``TSZ_HTTP_HOSTS``, empty: any); everything else costs one method comparison and passes
through. A guarded request:

1. gets the ``{operation} {model}`` span unless a GenAI span is current;
2. has its JSON body checked; mask mode sends a rebuilt request with the redacted body and
   a matching ``Content-Length``; block mode raises before the transport is called;
   ``X-TSZ-*`` headers are removed;
3. has its answer checked: SSE / NDJSON bodies are guarded while they stream
   (:mod:`.._wire_stream`), whole JSON bodies are read here, masked (a new response with
   the right ``Content-Length``) or raise.

A call already guarded by the openai instrumentor is passed through.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry.instrumentation.utils import is_http_instrumentation_enabled
from opentelemetry.trace import Tracer

from tsz_otel._unicode import json_bytes
from tsz_otel.errors import ConfigurationError, GuardrailBlockedError, GuardrailFailedError

from .._formats import WireFormat, format_for_path, response_info
from .._guarding import Guarding, InputResult
from .._llm_span import GUARDED_KEY, LLMCall, server_of
from .._overrides import CallOptions, is_tsz_header, options_from
from .._stream_call import StreamCall
from .._wire_stream import attach_session

__all__ = ["Core", "handle_async_request", "handle_request"]

_logger = logging.getLogger(__name__)

_GUARD_ERRORS = (GuardrailBlockedError, GuardrailFailedError, ConfigurationError)
_STREAM_TYPES = ("text/event-stream", "ndjson")
_BODY_HEADERS = frozenset({b"content-length", b"transfer-encoding"})
_ENCODED_HEADERS = frozenset({b"content-length", b"content-encoding", b"transfer-encoding"})


class Core:
    """What the wrappers share, bound at ``instrument()`` time (``active`` switches off)."""

    __slots__ = ("active", "guarding", "hosts", "suffixes", "tracer")

    def __init__(
        self,
        tracer: Tracer,
        guarding: Guarding,
        hosts: tuple[str, ...] = (),
        paths: Mapping[str, str] | None = None,
    ) -> None:
        self.tracer = tracer
        self.guarding = guarding
        self.hosts = frozenset(h.lower() for h in hosts)
        self.suffixes = dict(paths or {})
        self.active = True

    def close(self) -> None:
        """Switch the wrappers off (a call already inside finishes) and stop the workers."""
        self.active = False
        self.guarding.shutdown()

    def select(self, request: Any) -> WireFormat | None:
        url = request.url
        if self.hosts and str(url.host).lower() not in self.hosts:
            return None
        return format_for_path(url.path, suffixes=self.suffixes)


@dataclass(slots=True)
class _Plan:
    fmt: WireFormat | None
    call: CallOptions
    strip: bool
    body: Any
    model: str | None


def _has_tsz_header(request: Any) -> bool:
    return any(is_tsz_header(k.decode("latin-1")) for k, _ in request.headers.raw)


def _plan(core: Core, request: Any) -> _Plan | None:
    if not core.active or not is_http_instrumentation_enabled():
        return None
    if otel_context.get_value(GUARDED_KEY):
        return None
    if request.method != "POST":
        return None
    fmt = core.select(request)
    strip = _has_tsz_header(request)
    if fmt is None and not strip:
        return None
    call, _ = options_from(core.guarding.defaults, request.headers.items())
    body: Any = None
    if fmt is not None:
        try:
            body = json.loads(request.content)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            fmt, body = None, None
    if fmt is None and not strip:
        return None
    model = body.get("model") if isinstance(body, dict) else None
    return _Plan(fmt, call, strip, body, model if isinstance(model, str) else None)


def _safe_plan(core: Core, request: Any) -> _Plan | None:
    try:
        return _plan(core, request)
    except ConfigurationError:
        raise
    except Exception:  # our bug must not break the application's request
        _logger.exception("tsz httpx instrumentation could not inspect a request")
        return None


def _rebuild(module: Any, request: Any, plan: _Plan, body: Any) -> Any:
    """The request to send: without TSZ headers, with the (redacted) body if it changed."""
    if not plan.strip and body is plan.body:
        return request
    drop = _BODY_HEADERS if body is not plan.body else frozenset()
    headers = [
        (k, v)
        for k, v in request.headers.raw
        if not is_tsz_header(k.decode("latin-1")) and k.lower() not in drop
    ]
    content = json_bytes(body) if body is not plan.body else request.content
    return module.Request(
        request.method, request.url, headers=headers, content=content, extensions=request.extensions
    )


def _is_stream(response: Any) -> bool:
    content_type = str(response.headers.get("content-type", "")).lower()
    return any(kind in content_type for kind in _STREAM_TYPES)


def _replaced(module: Any, request: Any, response: Any, body: Any) -> Any:
    headers = [(k, v) for k, v in response.headers.raw if k.lower() not in _ENCODED_HEADERS]
    content = json_bytes(body)
    return module.Response(
        response.status_code,
        headers=headers,
        content=content,
        request=request,
        extensions=response.extensions,
    )


class _Outcome:
    """The answer side of one guarded request."""

    __slots__ = ("checked", "core", "fmt", "llm", "module", "plan", "request")

    def __init__(
        self,
        core: Core,
        module: Any,
        request: Any,
        plan: _Plan,
        llm: LLMCall,
        checked: InputResult,
    ) -> None:
        self.core = core
        self.module = module
        self.request = request
        self.plan = plan
        self.fmt: WireFormat = plan.fmt  # type: ignore[assignment]
        self.llm = llm
        self.checked = checked

    def _early(self, response: Any, is_async: bool) -> bool:
        """Non-2xx and streams are settled here; True when nothing is left to do."""
        if not 200 <= response.status_code < 300:
            self.llm.end(error_type=str(response.status_code))
            return True
        if _is_stream(response):
            call = StreamCall(self.core.guarding, self.plan.call, self.llm, self.checked.restorer)
            if not attach_session(self.fmt, call, response, is_async):
                self.llm.end()
            return True
        return False

    def _parsed(self, content: bytes) -> Any:
        try:
            body = json.loads(content)
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    def sync(self, response: Any) -> Any:
        try:
            if self._early(response, is_async=False):
                return response
            body = self._parsed(response.read())
            if body is None:
                self.llm.end()
                return response
            changed = self.core.guarding.check_output(
                self.fmt, body, self.plan.call, self.llm, self.checked.restorer
            )
            return self._settled(response, body, changed)
        except _GUARD_ERRORS as exc:
            self.llm.end(exc)
            response.close()
            raise
        except Exception:  # our bug must not break the application's request
            _logger.exception("tsz httpx instrumentation could not check an answer")
            self.llm.end()
            return response

    async def async_(self, response: Any) -> Any:
        try:
            if self._early(response, is_async=True):
                return response
            body = self._parsed(await response.aread())
            if body is None:
                self.llm.end()
                return response
            changed = await self.core.guarding.acheck_output(
                self.fmt, body, self.plan.call, self.llm, self.checked.restorer
            )
            return self._settled(response, body, changed)
        except _GUARD_ERRORS as exc:
            self.llm.end(exc)
            await response.aclose()
            raise
        except Exception:  # our bug must not break the application's request
            _logger.exception("tsz httpx instrumentation could not check an answer")
            self.llm.end()
            return response

    def _settled(self, response: Any, body: Any, changed: bool) -> Any:
        self.llm.record(response_info(body, self.fmt.info))
        self.llm.end()
        return _replaced(self.module, self.request, response, body) if changed else response


def _start(core: Core, plan: _Plan, request: Any) -> LLMCall:
    fmt: WireFormat = plan.fmt  # type: ignore[assignment]
    stream = fmt.wants_stream(plan.body)
    server = server_of(request.url)
    return core.guarding.start_llm(core.tracer, fmt, plan.model, server, stream)


def handle_request(
    wrapped: Any,
    instance: Any,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    *,
    core: Core,
    module: Any,
) -> Any:
    """``HTTPTransport.handle_request`` wrapper (see the module docstring)."""
    request = args[0] if args else kwargs["request"]
    if request.method != "POST":
        return wrapped(*args, **kwargs)
    plan = _safe_plan(core, request)
    if plan is None:
        return wrapped(*args, **kwargs)
    if plan.fmt is None:
        return wrapped(_rebuild(module, request, plan, plan.body))
    llm = _start(core, plan, request)
    token = otel_context.attach(otel_context.set_value(GUARDED_KEY, True, llm.context))
    try:
        checked = core.guarding.check_input(plan.fmt, plan.body, plan.call, llm)
        sent = _rebuild(module, request, plan, checked.body)
        response = wrapped(sent)
    except BaseException as exc:
        llm.end(exc)
        raise
    finally:
        otel_context.detach(token)
    return _Outcome(core, module, sent, plan, llm, checked).sync(response)


async def handle_async_request(
    wrapped: Any,
    instance: Any,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    *,
    core: Core,
    module: Any,
) -> Any:
    """``AsyncHTTPTransport.handle_async_request`` wrapper: the async twin."""
    request = args[0] if args else kwargs["request"]
    if request.method != "POST":
        return await wrapped(*args, **kwargs)
    plan = _safe_plan(core, request)
    if plan is None:
        return await wrapped(*args, **kwargs)
    if plan.fmt is None:
        return await wrapped(_rebuild(module, request, plan, plan.body))
    llm = _start(core, plan, request)
    token = otel_context.attach(otel_context.set_value(GUARDED_KEY, True, llm.context))
    try:
        checked = await core.guarding.acheck_input(plan.fmt, plan.body, plan.call, llm)
        sent = _rebuild(module, request, plan, checked.body)
        response = await wrapped(sent)
    except BaseException as exc:
        llm.end(exc)
        raise
    finally:
        otel_context.detach(token)
    return await _Outcome(core, module, sent, plan, llm, checked).async_(response)
