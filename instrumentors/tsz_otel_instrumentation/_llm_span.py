"""The ``{operation} {model}`` LLM span around a guarded call, when nobody else made one.

If a GenAI client span is already current (the official ``genai-openai`` instrumentation,
OpenLLMetry, OpenInference ...), the guardrail spans become its children and no second LLM
span is made. Otherwise one CLIENT span following the GenAI client-span conventions is
started: operation, provider, request/response model, response id, finish reasons and
token usage; never message content.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Final
from urllib.parse import urlsplit

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as genai
from opentelemetry.semconv.attributes import error_attributes, server_attributes
from opentelemetry.trace import Span, SpanContext, SpanKind, Status, StatusCode, Tracer

from ._formats import ResponseInfo, WireFormat

__all__ = ["GUARDED_KEY", "LLMCall", "Server", "current_llm_span", "server_of"]

_logger = logging.getLogger(__name__)

LLM_OPERATIONS: Final = frozenset(
    {"chat", "text_completion", "embeddings", "generate_content", "create_response"}
)
"""``gen_ai.operation.name`` values that mark a span as an LLM client call."""

_DEFAULT_PORTS: Final = {"http": 80, "https": 443}

GUARDED_KEY: Final = otel_context.create_key("tsz-otel-guarded-llm-call")
"""Set in the context while an instrumentor guards a call, so that a lower layer (the
httpx instrumentor under the openai one) does not evaluate the same call again."""


def current_llm_span(ctx: Context | None = None) -> Span | None:
    """The current span if it is a recording GenAI LLM-call span, else None."""
    span = trace.get_current_span(ctx)
    if not span.is_recording():
        return None
    attributes = getattr(span, "attributes", None)
    if not isinstance(attributes, Mapping):
        return None
    return span if attributes.get(genai.GEN_AI_OPERATION_NAME) in LLM_OPERATIONS else None


@functools.lru_cache(maxsize=256)
def _origin(scheme_host: str) -> tuple[str | None, int | None]:
    parts = urlsplit(scheme_host)
    return parts.hostname, parts.port or _DEFAULT_PORTS.get(parts.scheme)


Server = tuple[str | None, int | None]
"""``server.address`` and ``server.port`` of a call."""


def server_of(url: Any) -> Server:
    """``server.address``/``server.port`` of a URL: a string (memoised per scheme and
    authority) or an ``httpx``/``httpx2`` ``URL`` (read from its parts, no re-parse)."""
    if isinstance(url, str):
        scheme, _, rest = url.partition("://")
        return _origin(scheme + "://" + rest.split("/", 1)[0])
    host = url.host or None
    return host, url.port or _DEFAULT_PORTS.get(url.scheme)


def _start_attributes(
    operation: str, provider: str, address: str | None, port: int | None, stream: bool
) -> dict[str, Any]:
    """The sampling-relevant GenAI client-span attributes, known before the call."""
    attributes: dict[str, Any] = {
        genai.GEN_AI_OPERATION_NAME: operation,
        genai.GEN_AI_PROVIDER_NAME: provider,
    }
    if address:
        attributes[server_attributes.SERVER_ADDRESS] = address
    if port:
        attributes[server_attributes.SERVER_PORT] = port
    if stream:
        attributes[genai.GEN_AI_REQUEST_STREAM] = True
    return attributes


_Start = tuple[str, Mapping[str, Any]]


@functools.lru_cache(maxsize=512)
def _start(
    operation: str, provider: str, model: str | None, server: Server, stream: bool
) -> _Start:
    """Span name and start attributes, memoised: the models and servers of one application
    are few. The attribute dicts are shared and never mutated (the SDK copies what it keeps)."""
    attributes = _start_attributes(operation, provider, *server, stream)
    if model:
        attributes[genai.GEN_AI_REQUEST_MODEL] = model
    return (f"{operation} {model}" if model else operation), attributes


class LLMCall:
    """One LLM call's span: ours (``owned``) or the foreign GenAI span that was current.

    ``context`` is the context to run the call and its guardrail checks in; ``parent``
    the context the call started in. :meth:`end` is idempotent and thread-safe. With a
    ``scheduler`` (guard checks running in the background), the span is ended by it,
    after the checks queued before, with the time the call really ended.
    """

    __slots__ = ("_ended", "_lock", "context", "owned", "parent", "scheduler", "span")

    def __init__(self, span: Span, owned: bool, parent: Context) -> None:
        self.span = span
        self.owned = owned
        self.parent = parent
        self.context = trace.set_span_in_context(span, parent) if owned else parent
        self._ended = False
        self._lock = threading.Lock()
        self.scheduler: Callable[[Callable[[], None]], None] | None = None

    @classmethod
    def start(
        cls,
        tracer: Tracer,
        fmt: WireFormat,
        model: str | None,
        server: Server,
        stream: bool,
    ) -> LLMCall:
        """Our CLIENT span, or the current foreign GenAI span (``owned`` False)."""
        parent = otel_context.get_current()
        foreign = current_llm_span(parent)
        if foreign is not None:
            return cls(foreign, owned=False, parent=parent)
        name, attributes = _start(fmt.operation, fmt.provider, model, server, stream)
        span = tracer.start_span(name, parent, kind=SpanKind.CLIENT, attributes=attributes)
        return cls(span, owned=True, parent=parent)

    @property
    def span_context(self) -> SpanContext:
        return self.span.get_span_context()

    def record(self, info: ResponseInfo) -> None:
        """Response attributes (only on our own, recording span)."""
        if not self.owned or not self.span.is_recording():
            return
        attributes: dict[str, Any] = {}
        if info.id is not None:
            attributes[genai.GEN_AI_RESPONSE_ID] = info.id
        if info.model is not None:
            attributes[genai.GEN_AI_RESPONSE_MODEL] = info.model
        if info.input_tokens is not None:
            attributes[genai.GEN_AI_USAGE_INPUT_TOKENS] = info.input_tokens
        if info.output_tokens is not None:
            attributes[genai.GEN_AI_USAGE_OUTPUT_TOKENS] = info.output_tokens
        if info.finish_reasons:
            attributes[genai.GEN_AI_RESPONSE_FINISH_REASONS] = info.finish_reasons
        try:
            self.span.set_attributes(attributes)
        except Exception:  # telemetry must never break the call
            _logger.exception("could not record LLM response attributes")

    def end(
        self,
        error: BaseException | None = None,
        error_type: str | None = None,
        *,
        end_time: int | None = None,
    ) -> None:
        """End our span once; ``error``/``error_type`` mark it failed; ``end_time`` (ns)
        when the call ended earlier than now."""
        with self._lock:
            if self._ended:
                return
            self._ended = True
        if not self.owned:
            return
        kind = error_type or (type(error).__qualname__ if error is not None else None)
        if self.scheduler is None:
            self._finish(kind, end_time)
        else:
            ended = end_time if end_time is not None else time.time_ns()
            self.scheduler(lambda: self._finish(kind, ended))

    def _finish(self, kind: str | None, end_time: int | None) -> None:
        try:
            if kind is not None:
                self.span.set_attribute(error_attributes.ERROR_TYPE, kind)
                self.span.set_status(Status(StatusCode.ERROR, kind))
            self.span.end(end_time)
        except Exception:  # telemetry must never break the call
            _logger.exception("could not end the LLM span")
