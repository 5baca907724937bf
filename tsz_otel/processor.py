"""Scrub detected values out of every span before it is exported.

Other instrumentations capture what we must not export: openai-v2 or OpenLLMetry message
content, OpenInference ``input.value``, URLs with credentials, exception messages that
quote the input. :class:`ScrubbingSpanProcessor` wraps the export pipeline and runs the
detection engine over each ended span's string (and bytes) attributes, event attributes (the
``exception.message``/``exception.stacktrace`` of recorded exceptions included), link
attributes, status description and span name, and forwards a scrubbed **copy**
(a ``ReadableSpan`` is immutable) to the wrapped processor::

    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from tsz_otel import ScrubbingSpanProcessor

    provider = TracerProvider()
    provider.add_span_processor(
        ScrubbingSpanProcessor(BatchSpanProcessor(exporter), action="mask")
    )

Actions on a detected value: ``mask`` (replace it with the engine's placeholder, e.g.
``[EMAIL_3f2a...]``), ``hash`` (``[EMAIL:sha256:<hex>]`` or ``hmac-sha256`` with
``TSZ_OTEL_HASH_KEY``, so equal values stay correlatable), ``drop`` (remove the whole
attribute). ``deny_keys`` are treated as wholly sensitive without scanning (``mask`` ->
``[REDACTED]``, ``hash`` -> the value's hash, ``drop`` -> removed); ``allow_keys`` are
never scanned. Both take exact names or prefixes ending in ``*``
(``"llm.input_messages.*"``). Known structural keys (operation and model names, status
codes, tsz-otel's own guardrail attributes other than captured content) are allowed by
default, strings shorter than ``min_length`` are skipped, and a span with nothing to scan
is forwarded as is, so the common span costs a few dictionary lookups. A scrubbed span
gets ``tsz.scrub.count`` (number of values replaced); if the engine fails on a value,
that value is treated as sensitive (fail closed) and the failure logged by type only.

The default engine is the inline ``Engine`` with AI scoring off (a span processor never
calls out over the network); pass ``engine=`` to choose another.

Optional (``emit_findings=True``, needs a tracer provider, default the global one): for
GenAI content attributes of other instrumentations (:data:`~tsz_otel.semconv.
FOREIGN_CONTENT_KEYS`: ``gen_ai.input.messages``, ``gen_ai.prompt.*``,
``llm.input_messages.*``, ``input.value`` ...) the findings are also reported as an
observe-mode ``apply_guardrail`` span, a child of the scanned span, with one finding
event per detection (``tsz.scan.source = span_processor``): guardrail visibility for
applications that cannot be re-instrumented.

Register it on the provider *instead of* the export processor it wraps; every span then
passes through it exactly once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import Event, ReadableSpan, Span, SpanProcessor
from opentelemetry.trace import Link, NonRecordingSpan, Status
from opentelemetry.util.types import AttributeValue

from . import semconv
from .config import Settings
from .content import ContentHasher
from .guard import Detector, findings_for
from .models import DetectionResult, DetectResponse
from .policy import Assessment, RolloutMode, decide
from .scope import GuardrailDetails, GuardrailTracer, SpanDetails

__all__ = ["ScrubAction", "ScrubbingSpanProcessor"]

_logger = logging.getLogger(__name__)
_logger.addHandler(logging.NullHandler())

ScrubAction = Literal["mask", "hash", "drop"]
_ACTIONS: Final = ("mask", "hash", "drop")
_REDACTED: Final = "[REDACTED]"
_PROCESSOR_SOURCE: Final = "span_processor"
_GUARDIAN_ID: Final = "tsz-otel.processor"
_NAME_CACHE_SIZE: Final = 1024


class _Drop:
    """Marker: remove the attribute."""


_DROP: Final = _Drop()


class _KeyMatcher:
    """Exact names plus ``prefix*`` patterns, matched with one set lookup and one
    ``startswith`` on a tuple."""

    __slots__ = ("_exact", "_prefixes")

    def __init__(self, patterns: Iterable[str]) -> None:
        exact: set[str] = set()
        prefixes: list[str] = []
        for pattern in patterns:
            if pattern.endswith("*"):
                prefixes.append(pattern[:-1])
            else:
                exact.add(pattern)
        self._exact = frozenset(exact)
        self._prefixes = tuple(prefixes)

    def __call__(self, key: str) -> bool:
        return key in self._exact or (bool(self._prefixes) and key.startswith(self._prefixes))


def _foreign_target(key: str) -> str | None:
    for prefix, target in semconv.FOREIGN_CONTENT_KEYS.items():
        if key == prefix or key.startswith(prefix + "."):
            return target
    return None


@dataclass(frozen=True, slots=True)
class _Found:
    """A detection result on one scanned foreign content attribute (for findings)."""

    key: str
    target: str
    text: str
    response: DetectResponse


class _Scrub:
    """The mutable state of scrubbing one span: counts and foreign findings."""

    __slots__ = ("count", "found")

    def __init__(self) -> None:
        self.count = 0
        self.found: list[_Found] = []


class ScrubbingSpanProcessor(SpanProcessor):
    """Wraps ``inner`` and hands it scrubbed copies of ended spans (see the module)."""

    def __init__(
        self,
        inner: SpanProcessor,
        engine: Detector | None = None,
        *,
        settings: Settings | None = None,
        action: ScrubAction = "mask",
        allow_keys: Iterable[str] = (),
        deny_keys: Iterable[str] = (),
        min_length: int = 6,
        scrub_span_names: bool = True,
        emit_findings: bool = False,
        tracer_provider: trace.TracerProvider | None = None,
        meter_provider: Any = None,
        guardian_name: str = "tsz",
    ) -> None:
        if action not in _ACTIONS:
            raise ValueError(f"action must be one of {_ACTIONS}, got {action!r}")
        self._settings = settings if settings is not None else Settings.from_env()
        self._inner = inner
        self._engine = engine if engine is not None else _scrubbing_engine(self._settings)
        self._action = action
        self._hasher = ContentHasher.from_settings(self._settings)
        names = semconv.names_for(self._settings.semconv)
        self._allow = _KeyMatcher([*names.structural_keys(), *allow_keys])
        self._deny = _KeyMatcher(deny_keys)
        self._min_length = min_length
        self._scrub_names = scrub_span_names
        # Span names are low-cardinality by convention: remember each name's verdict
        # (the scrubbed name and how many values it held) so a name is scanned once.
        self._names: dict[str, tuple[str, int]] = {}
        self._guardian_name = guardian_name
        self._findings_tracer = (
            GuardrailTracer(
                self._settings, tracer_provider=tracer_provider, meter_provider=meter_provider
            )
            if emit_findings
            else None
        )

    # -- SpanProcessor ------------------------------------------------------------------

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        self._inner.on_start(span, parent_context=parent_context)

    def _on_ending(self, span: Span) -> None:
        self._inner._on_ending(span)

    def on_end(self, span: ReadableSpan) -> None:
        try:
            scrubbed, state = self._scrub_span(span)
        except Exception:  # never export an unscrubbed span because scrubbing broke
            _logger.exception("scrubbing a span failed; the span is dropped")
            return
        self._inner.on_end(scrubbed)
        if self._findings_tracer is not None and state.found:
            self._emit_findings(span, state.found)

    def shutdown(self) -> None:
        self._inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._inner.force_flush(timeout_millis)

    # -- scrubbing ----------------------------------------------------------------------

    def scrub_text(self, text: str) -> str | None:
        """Scrub one string with this processor's action (``None`` means drop it)."""
        value, _ = self._scrub_text(text, None, _Scrub())
        return None if isinstance(value, _Drop) else value

    def _scrub_span(self, span: ReadableSpan) -> tuple[ReadableSpan, _Scrub]:
        state = _Scrub()
        attributes = self._scrub_attributes(span.attributes, state, collect=True)
        events = self._scrub_events(span.events, state)
        links = self._scrub_links(span.links, state)
        status = self._scrub_status(span.status, state)
        name = self._scrub_name(span.name, state)
        if state.count == 0:
            return span, state
        final: dict[str, AttributeValue] = dict(
            (span.attributes or {}) if attributes is None else attributes
        )
        final[semconv.TSZ_SCRUB_COUNT] = state.count
        copy = ReadableSpan(
            name=name,
            context=span.context,
            parent=span.parent,
            resource=span.resource,
            attributes=final,
            events=span.events if events is None else events,
            links=span.links if links is None else links,
            kind=span.kind,
            status=status,
            start_time=span.start_time,
            end_time=span.end_time,
            instrumentation_scope=span.instrumentation_scope,
        )
        return copy, state

    def _scrub_attributes(
        self, attributes: Mapping[str, AttributeValue] | None, state: _Scrub, collect: bool
    ) -> dict[str, AttributeValue] | None:
        """A scrubbed copy, or ``None`` when nothing changed (the common case)."""
        if not attributes:
            return None
        changed: dict[str, AttributeValue | _Drop] = {}
        for key, value in attributes.items():
            if self._deny(key):
                changed[key] = self._deny_value(value)
                state.count += 1
                continue
            if not isinstance(value, str | bytes | tuple | list) or self._allow(key):
                continue  # numbers and booleans carry no detectable value
            target = _foreign_target(key) if collect else None
            new = self._scrub_value(key, value, target, state)
            if new is not value:
                changed[key] = new
        if not changed:
            return None
        out: dict[str, AttributeValue] = {}
        for key, value in attributes.items():
            new_value = changed.get(key, value)
            if not isinstance(new_value, _Drop):
                out[key] = new_value
        return out

    def _scrub_value(
        self, key: str, value: AttributeValue, target: str | None, state: _Scrub
    ) -> AttributeValue | _Drop:
        if isinstance(value, str):
            found = (key, target) if target is not None else None
            new, _ = self._scrub_text(value, found, state)
            return new
        if isinstance(value, bytes):  # text sent as bytes: scanned as UTF-8, kept unless hit
            new, hit = self._scrub_text(value.decode("utf-8", "replace"), None, state)
            return new if hit else value
        if isinstance(value, Sequence) and value and isinstance(value[0], str):
            items: list[str] = []
            changed = False
            for index, item in enumerate(value):
                found = (f"{key}.{index}", target) if target is not None else None
                new, hit = self._scrub_text(str(item), found, state)
                if isinstance(new, _Drop):
                    return _DROP
                changed = changed or hit
                items.append(new)
            return items if changed else value
        return value

    def _scrub_text(
        self, text: str, found: tuple[str, str] | None, state: _Scrub
    ) -> tuple[str | _Drop, bool]:
        """Scrub one string; returns the new value and whether it changed."""
        if len(text) < self._min_length:
            return text, False
        try:
            response = self._engine.detect(text)
        except Exception as exc:  # fail closed: an unscannable value is treated as sensitive
            _logger.warning("scrubbing engine failed (%s); value redacted", type(exc).__name__)
            state.count += 1
            return self._deny_text(text), True
        if not response.detections:
            return text, False
        state.count += len(response.detections)
        if found is not None:
            state.found.append(_Found(found[0], found[1], text, response))
        if self._action == "drop":
            return _DROP, True
        return _replace(text, response.detections, self._token), True

    def _token(self, detection: DetectionResult) -> str:
        if self._action == "hash":
            return f"[{detection.type}:{self._hasher(detection.value)}]"
        return detection.placeholder or f"[{detection.type}]"

    def _deny_text(self, text: str) -> str | _Drop:
        if self._action == "drop":
            return _DROP
        return self._hasher(text) if self._action == "hash" else _REDACTED

    def _deny_value(self, value: AttributeValue) -> AttributeValue | _Drop:
        if self._action == "drop":
            return _DROP
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        if isinstance(value, str):
            return self._hasher(value) if self._action == "hash" else _REDACTED
        if isinstance(value, Sequence):
            if self._action == "hash":
                return [self._hasher(str(v)) for v in value]
            return [_REDACTED for _ in value]
        return _REDACTED if self._action == "mask" else self._hasher(str(value))

    def _scrub_events(self, events: Sequence[Event], state: _Scrub) -> list[Event] | None:
        if not events:
            return None
        out: list[Event] = []
        changed = False
        for event in events:
            attributes = self._scrub_attributes(event.attributes, state, collect=False)
            if attributes is None:
                out.append(event)
                continue
            changed = True
            out.append(Event(event.name, attributes, event.timestamp))
        return out if changed else None

    def _scrub_links(self, links: Sequence[Link], state: _Scrub) -> list[Link] | None:
        if not links:
            return None
        out: list[Link] = []
        changed = False
        for link in links:
            attributes = self._scrub_attributes(link.attributes, state, collect=False)
            if attributes is None:
                out.append(link)
                continue
            changed = True
            out.append(Link(link.context, attributes))
        return out if changed else None

    def _scrub_status(self, status: Status, state: _Scrub) -> Status:
        description = status.description
        if not description:
            return status
        new, changed = self._scrub_text(description, None, state)
        if not changed:
            return status
        return Status(status.status_code, None if isinstance(new, _Drop) else new)

    def _scrub_name(self, name: str, state: _Scrub) -> str:
        if not self._scrub_names or name.startswith(semconv.APPLY_GUARDRAIL):
            return name
        cached = self._names.get(name)
        if cached is None:
            scan = _Scrub()
            new, _ = self._scrub_text(name, None, scan)
            cached = (_REDACTED if isinstance(new, _Drop) else new, scan.count)
            if len(self._names) >= _NAME_CACHE_SIZE:
                self._names.clear()
            self._names[name] = cached
        state.count += cached[1]
        return cached[0]

    # -- optional findings ------------------------------------------------------------

    def _emit_findings(self, span: ReadableSpan, found: Sequence[_Found]) -> None:
        attributes = span.attributes or {}
        operation = attributes.get(semconv.GEN_AI_OPERATION_NAME)
        if operation == semconv.APPLY_GUARDRAIL or span.context is None:
            return
        by_target: dict[str, list[_Found]] = {}
        for item in found:
            by_target.setdefault(item.target, []).append(item)
        for target, items in by_target.items():
            try:
                self._emit_target(span, target, items)
            except Exception:  # findings are best effort; the span was already exported
                _logger.exception("reporting span-processor findings failed")

    def _emit_target(self, span: ReadableSpan, target: str, items: Sequence[_Found]) -> None:
        tracer = self._findings_tracer
        if tracer is None or span.context is None:
            return
        parent = trace.set_span_in_context(NonRecordingSpan(span.context))
        details = GuardrailDetails(
            target_type=target,
            guardian_id=_GUARDIAN_ID,
            guardian_name=self._guardian_name,
            guardian_provider_name="tsz",
            mode=RolloutMode.OBSERVE.value,
        )
        scope = tracer.start(
            details, span_details=SpanDetails(parent_context=parent, start_time=span.end_time)
        )
        responses = [item.response for item in items]
        assessment = Assessment.of(responses, [item.text for item in items])
        outcome = decide(assessment, RolloutMode.OBSERVE)
        for item in items:
            scope.record_findings(
                findings_for(
                    item.response,
                    hasher=self._hasher,
                    mode=RolloutMode.OBSERVE,
                    masked=False,
                    segment=item.key,
                )
            )
        scope.record_decision(outcome.decision, outcome.reason, outcome.code)
        scope.span.set_attribute(semconv.TSZ_SCAN_SOURCE, _PROCESSOR_SOURCE)
        scope.end(span.end_time)


def _replace(text: str, detections: Sequence[DetectionResult], token: Any) -> str:
    """Replace each detection by ``token(detection)``, by code-point offsets when known."""
    if all(d.char_start is not None and d.char_end is not None for d in detections):
        pieces: list[str] = []
        cursor = 0
        for detection in sorted(detections, key=lambda d: d.char_start or 0):
            start, end = detection.char_start or 0, detection.char_end or 0
            if start < cursor:
                continue
            pieces.append(text[cursor:start])
            pieces.append(token(detection))
            cursor = end
        pieces.append(text[cursor:])
        return "".join(pieces)
    for detection in sorted(detections, key=lambda d: len(d.value), reverse=True):
        if detection.value:
            text = text.replace(detection.value, token(detection))
    return text


def _scrubbing_engine(settings: Settings) -> Detector:
    from .engine import Engine  # imported late: the engine is heavy to import

    quiet = Settings(**{**settings.model_dump(), "ai_scoring": "off", "guardrails": ()})
    engine: Detector = Engine(quiet)
    return engine
