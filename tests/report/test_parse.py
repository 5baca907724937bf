"""Reading exported spans: the collector's OTLP JSON lines and the console exporter's output.

The fixtures under data/ were written by data/make_fixtures.py from the real Guard (19
spans: 10 apply_guardrail spans and their 9 ``chat`` parents), once per format.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tsz_otel.report import SpanRecord, parse_spans, read_spans
from tsz_otel.semconv import TSZ_BLOCKED, TSZ_FINDING_START, TSZ_REASONS, TSZ_REQUEST_ID

DATA = Path(__file__).parent / "data"
OTLP = DATA / "spans.otlp.jsonl"
CONSOLE = DATA / "spans.console.txt"


def _by_id(spans: list[SpanRecord]) -> dict[str, SpanRecord]:
    return {span.span_id: span for span in spans}


@pytest.mark.parametrize(("path", "fmt"), [(OTLP, "otlp-json"), (CONSOLE, "console-json")])
def test_fixture_spans_are_all_read(path: Path, fmt: str) -> None:
    parsed = read_spans([path])
    assert parsed.formats == {fmt}
    assert len(parsed.spans) == 19
    assert parsed.malformed == 0
    assert parsed.ignored == 0
    names = [span.name for span in parsed.spans]
    assert names.count("chat demo-model") == 9
    assert sum(name.startswith("apply_guardrail ") for name in names) == 10


def test_both_formats_give_the_same_spans() -> None:
    otlp = _by_id(read_spans([OTLP]).spans)
    console = _by_id(read_spans([CONSOLE]).spans)
    assert otlp.keys() == console.keys()
    for span_id, span in otlp.items():
        other = console[span_id]
        assert (span.trace_id, span.parent_span_id, span.name) == (
            other.trace_id,
            other.parent_span_id,
            other.name,
        )
        assert (span.kind, span.status, span.service_name) == (
            other.kind,
            other.status,
            other.service_name,
        )
        assert dict(span.attributes) == dict(other.attributes)
        assert [(e.name, dict(e.attributes)) for e in span.events] == [
            (e.name, dict(e.attributes)) for e in other.events
        ]
        # the console exporter prints microseconds; OTLP keeps nanoseconds
        assert abs(span.start_unix_nano - other.start_unix_nano) < 1_000


def test_attribute_types_survive_both_formats() -> None:
    for path in (OTLP, CONSOLE):
        spans = read_spans([path]).spans
        guarded = [s for s in spans if s.attributes.get(TSZ_REQUEST_ID) == "RID-0005"]
        (span,) = guarded
        assert span.attributes[TSZ_BLOCKED] is True
        assert span.attributes[TSZ_REASONS] == "CREDIT_CARD,AWS_ACCESS_KEY"
        assert span.attributes["tsz.detection_count"] == 2
        assert span.kind == "INTERNAL"
        assert span.service_name == "tsz-report-demo"
        event = span.events[0]
        assert isinstance(event.attributes[TSZ_FINDING_START], int)
        assert event.attributes["gen_ai.guardrail.risk.score"] == pytest.approx(0.97)


def test_error_status_is_read() -> None:
    for path in (OTLP, CONSOLE):
        errors = [s for s in read_spans([path]).spans if s.status == "ERROR"]
        assert [s.attributes.get(TSZ_REQUEST_ID) for s in errors] == ["RID-0008"]


def _otlp_line(span: dict[str, object]) -> str:
    request = {"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}
    return json.dumps(request)


def test_otlp_any_values_and_enum_spellings() -> None:
    span = {
        "traceId": "0AF7651916CD43DD8448EB211C80319C",
        "spanId": "B7AD6B7169203331",
        "name": "apply_guardrail llm_input",
        "kind": "SPAN_KIND_CLIENT",
        "startTimeUnixNano": "1700000000000000000",
        "endTimeUnixNano": 1700000000500000000,
        "status": {"code": "STATUS_CODE_ERROR"},
        "attributes": [
            {"key": "s", "value": {"stringValue": "x"}},
            {"key": "i", "value": {"intValue": "42"}},
            {"key": "d", "value": {"doubleValue": 0.25}},
            {"key": "b", "value": {"boolValue": False}},
            {"key": "a", "value": {"arrayValue": {"values": [{"stringValue": "p"}, {}]}}},
            {"key": "kv", "value": {"kvlistValue": {"values": [{"key": "k", "value": {}}]}}},
            {"key": "empty", "value": {}},
            {"key": "bad", "value": {"intValue": "not a number"}},
        ],
    }
    (record,) = parse_spans(_otlp_line(span)).spans
    assert record.trace_id == "0af7651916cd43dd8448eb211c80319c"
    assert record.kind == "CLIENT"
    assert record.status == "ERROR"
    assert record.end_unix_nano - record.start_unix_nano == 500_000_000
    assert dict(record.attributes) == {
        "s": "x",
        "i": 42,
        "d": 0.25,
        "b": False,
        "a": ("p",),
        "kv": "{}",
    }
    assert record.service_name is None
    assert record.parent_span_id is None


def test_otlp_proto_field_names_are_accepted() -> None:
    line = json.dumps(
        {
            "resource_spans": [
                {
                    "scope_spans": [
                        {"spans": [{"trace_id": "ab", "span_id": "cd", "name": "n", "kind": 1}]}
                    ]
                }
            ]
        }
    )
    (record,) = parse_spans(line).spans
    assert (record.trace_id, record.span_id, record.kind) == ("ab", "cd", "INTERNAL")


def test_broken_and_foreign_lines_are_counted_not_fatal() -> None:
    good = OTLP.read_text(encoding="utf-8").splitlines()[0]
    logs = json.dumps({"resourceLogs": []})
    text = "\n".join([good, '{"resourceSpans": [ {"truncat', logs, "plain text", good[:80]])
    parsed = parse_spans(text)
    assert len(parsed.spans) == len(parse_spans(good).spans)
    assert parsed.malformed == 2
    assert parsed.ignored == 1


def test_console_output_between_prints_is_read() -> None:
    console = CONSOLE.read_text(encoding="utf-8")
    assert "[STATUS]" in console, "the fixture interleaves the demo's own lines"
    noisy = "starting demo {not json}\n" + console + "\nbye\n"
    parsed = parse_spans(noisy)
    assert len(parsed.spans) == 19
    assert parsed.malformed == 1


def test_several_inputs_are_combined(tmp_path: Path) -> None:
    parsed = read_spans([OTLP, CONSOLE])
    assert len(parsed.spans) == 38
    assert parsed.formats == {"otlp-json", "console-json"}
