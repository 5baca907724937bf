"""Exported spans, read back from the two JSON shapes OpenTelemetry tools write.

* **OTLP JSON**, as the Collector's ``file`` exporter writes it: one
  ``ExportTraceServiceRequest`` object per line (``resourceSpans`` -> ``scopeSpans`` ->
  ``spans``), attributes as ``{"key": ..., "value": {"stringValue": ...}}`` AnyValue
  objects, hex ids, nanosecond timestamps as strings, enums as numbers.
* **Console JSON**, as the Python SDK's ``ConsoleSpanExporter`` prints it: one
  pretty-printed span object after another (``context.trace_id`` as ``0x...``, ISO
  timestamps, attributes as a plain object), possibly mixed with the program's own output.

Both become the same :class:`SpanRecord`. The reader scans for JSON objects instead of
splitting lines, so pretty-printed spans, interleaved ``print`` output and a half-written
last line (a file the collector is still appending to) are all handled; what cannot be
decoded is counted, never quoted, in :class:`ParsedSpans`.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias

__all__ = ["AttrValue", "ParsedSpans", "SpanEvent", "SpanRecord", "parse_spans"]

AttrValue: TypeAlias = "str | bool | int | float | tuple[AttrValue, ...]"
"""An attribute value as OpenTelemetry allows it (arrays become tuples)."""

_DECODER = json.JSONDecoder()
_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")

_OTLP_KINDS = ("UNSPECIFIED", "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER")
_OTLP_STATUS = ("UNSET", "OK", "ERROR")


@dataclass(frozen=True, slots=True)
class SpanEvent:
    """One span event: its name, time and attributes."""

    name: str
    time_unix_nano: int
    attributes: Mapping[str, AttrValue]


@dataclass(frozen=True, slots=True)
class SpanRecord:
    """One finished span, independent of the file format it was read from.

    Ids are lower-case hex without ``0x``; ``kind`` and ``status`` are the upper-case
    OpenTelemetry names (``INTERNAL``, ``ERROR``); times are Unix nanoseconds.
    """

    trace_id: str
    span_id: str
    parent_span_id: str | None
    name: str
    kind: str
    start_unix_nano: int
    end_unix_nano: int
    status: str
    attributes: Mapping[str, AttrValue]
    events: tuple[SpanEvent, ...]
    service_name: str | None = None


@dataclass(slots=True)
class ParsedSpans:
    """The spans found in an input, and counts of what was not a span.

    ``malformed`` counts regions that looked like JSON but did not decode;
    ``ignored`` counts decoded JSON objects that are not spans (log or metric
    requests, unrelated JSON the program printed).
    """

    spans: list[SpanRecord] = field(default_factory=list)
    malformed: int = 0
    ignored: int = 0
    formats: set[str] = field(default_factory=set)

    def extend(self, other: ParsedSpans) -> None:
        """Add another input's spans and counts to this one."""
        self.spans.extend(other.spans)
        self.malformed += other.malformed
        self.ignored += other.ignored
        self.formats |= other.formats


def parse_spans(text: str) -> ParsedSpans:
    """Every span in ``text``, whichever of the two formats (or both) it holds."""
    parsed = ParsedSpans()
    for obj in _json_objects(text, parsed):
        if not isinstance(obj, dict):
            parsed.ignored += 1
        elif _get(obj, "resourceSpans") is not None:
            parsed.spans.extend(_otlp_request(obj))
            parsed.formats.add("otlp-json")
        elif isinstance(obj.get("context"), dict) and "name" in obj:
            parsed.spans.append(_console_span(obj))
            parsed.formats.add("console-json")
        else:
            parsed.ignored += 1
    return parsed


def _json_objects(text: str, parsed: ParsedSpans) -> Iterator[Any]:
    """Top-level JSON objects in ``text``; text between them is skipped.

    A region starting with ``{`` that does not decode counts as malformed and
    scanning resumes on the next line, so one broken line costs one count.
    """
    position = 0
    while True:
        start = text.find("{", position)
        if start < 0:
            return
        try:
            obj, position = _DECODER.raw_decode(text, start)
        except json.JSONDecodeError:
            parsed.malformed += 1
            newline = text.find("\n", start)
            if newline < 0:
                return
            position = newline + 1
            continue
        yield obj


# --------------------------------------------------------------------------- OTLP JSON


def _get(obj: Mapping[str, Any], camel: str) -> Any:
    """A protobuf-JSON field by its lowerCamelCase name or its proto (snake_case) name."""
    if camel in obj:
        return obj[camel]
    return obj.get(_CAMEL.sub("_", camel).lower())


def _otlp_request(request: Mapping[str, Any]) -> Iterator[SpanRecord]:
    for resource_spans in _list(_get(request, "resourceSpans")):
        resource = _get(resource_spans, "resource") or {}
        resource_attributes = _otlp_attributes(_get(resource, "attributes"))
        service = resource_attributes.get("service.name")
        service_name = service if isinstance(service, str) else None
        for scope_spans in _list(_get(resource_spans, "scopeSpans")):
            for span in _list(_get(scope_spans, "spans")):
                yield _otlp_span(span, service_name)


def _otlp_span(span: Mapping[str, Any], service_name: str | None) -> SpanRecord:
    status = _get(span, "status") or {}
    parent = _hex_id(_get(span, "parentSpanId"))
    return SpanRecord(
        trace_id=_hex_id(_get(span, "traceId")) or "",
        span_id=_hex_id(_get(span, "spanId")) or "",
        parent_span_id=parent or None,
        name=str(_get(span, "name") or ""),
        kind=_enum(_get(span, "kind"), _OTLP_KINDS, "SPAN_KIND_"),
        start_unix_nano=_int(_get(span, "startTimeUnixNano")),
        end_unix_nano=_int(_get(span, "endTimeUnixNano")),
        status=_enum(_get(status, "code"), _OTLP_STATUS, "STATUS_CODE_"),
        attributes=_otlp_attributes(_get(span, "attributes")),
        events=tuple(
            SpanEvent(
                name=str(_get(event, "name") or ""),
                time_unix_nano=_int(_get(event, "timeUnixNano")),
                attributes=_otlp_attributes(_get(event, "attributes")),
            )
            for event in _list(_get(span, "events"))
        ),
        service_name=service_name,
    )


def _otlp_attributes(key_values: Any) -> dict[str, AttrValue]:
    attributes: dict[str, AttrValue] = {}
    for key_value in _list(key_values):
        key = key_value.get("key")
        value = _any_value(key_value.get("value"))
        if isinstance(key, str) and value is not None:
            attributes[key] = value
    return attributes


def _any_value(value: Any) -> AttrValue | None:
    """Decode an OTLP ``AnyValue`` object; ``None`` for an empty or unknown one."""
    if not isinstance(value, Mapping):
        return None
    for camel, convert in _ANY_VALUE_FIELDS:
        raw = _get(value, camel)
        if raw is not None:
            try:
                return convert(raw)
            except (TypeError, ValueError):
                return None
    return None


def _array_value(raw: Any) -> AttrValue:
    items = (_any_value(item) for item in _list(_get(raw, "values") if raw else None))
    return tuple(item for item in items if item is not None)


def _kvlist_value(raw: Any) -> AttrValue:
    """A key/value list (rare on spans) as compact JSON text."""
    pairs = _otlp_attributes(_get(raw, "values") if raw else None)
    return json.dumps(pairs, sort_keys=True, default=list)


_ANY_VALUE_FIELDS: tuple[tuple[str, Callable[[Any], AttrValue]], ...] = (
    ("stringValue", str),
    ("boolValue", bool),
    ("intValue", int),
    ("doubleValue", float),
    ("arrayValue", _array_value),
    ("kvlistValue", _kvlist_value),
    ("bytesValue", str),
)


# --------------------------------------------------------------------------- console JSON


def _console_span(span: Mapping[str, Any]) -> SpanRecord:
    context = span.get("context") or {}
    status = span.get("status") or {}
    resource = span.get("resource") or {}
    resource_attributes = _plain_attributes(resource.get("attributes"))
    service = resource_attributes.get("service.name")
    return SpanRecord(
        trace_id=_hex_id(context.get("trace_id")) or "",
        span_id=_hex_id(context.get("span_id")) or "",
        parent_span_id=_hex_id(span.get("parent_id")) or None,
        name=str(span.get("name") or ""),
        kind=_enum(span.get("kind"), _OTLP_KINDS, "SpanKind."),
        start_unix_nano=_iso_nanos(span.get("start_time")),
        end_unix_nano=_iso_nanos(span.get("end_time")),
        status=_enum(status.get("status_code"), _OTLP_STATUS, "StatusCode."),
        attributes=_plain_attributes(span.get("attributes")),
        events=tuple(
            SpanEvent(
                name=str(event.get("name") or ""),
                time_unix_nano=_iso_nanos(event.get("timestamp")),
                attributes=_plain_attributes(event.get("attributes")),
            )
            for event in _list(span.get("events"))
        ),
        service_name=service if isinstance(service, str) else None,
    )


def _plain_attributes(attributes: Any) -> dict[str, AttrValue]:
    if not isinstance(attributes, Mapping):
        return {}
    result: dict[str, AttrValue] = {}
    for key, value in attributes.items():
        converted = _plain_value(value)
        if converted is not None:
            result[str(key)] = converted
    return result


def _plain_value(value: Any) -> AttrValue | None:
    if isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, list | tuple):
        items = (_plain_value(item) for item in value)
        return tuple(item for item in items if item is not None)
    return None


def _iso_nanos(value: Any) -> int:
    """Unix nanoseconds of an ISO-8601 time (``...Z``); 0 when absent or unparsable."""
    if not isinstance(value, str) or not value:
        return 0
    try:
        moment = _dt.datetime.fromisoformat(value)
    except ValueError:
        return 0
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_dt.UTC)
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000


# --------------------------------------------------------------------------- helpers


def _list(value: Any) -> Iterable[Mapping[str, Any]]:
    if isinstance(value, list):
        return [item for item in value if isinstance(item, Mapping)]
    return ()


def _hex_id(value: Any) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    text = value.lower()
    return text[2:] if text.startswith("0x") else text


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _enum(value: Any, names: tuple[str, ...], prefix: str) -> str:
    """An enum given as a number, ``PREFIX_NAME`` or ``NAME``, as ``NAME``."""
    if isinstance(value, int) and not isinstance(value, bool):
        return names[value] if 0 <= value < len(names) else str(value)
    if isinstance(value, str) and value:
        return value.removeprefix(prefix).upper()
    return names[0]
