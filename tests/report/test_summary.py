"""The report's numbers for the known span files, and the rules behind them.

Expected values follow from the scenario in data/make_fixtures.py (CALLS):
ten checks; decisions allow 2 (RID-0002, RID-0006), warn 1 (RID-0001, observe), modify 3
(RID-0003 in and out, RID-0007), deny 3 (RID-0004, RID-0005, no RID), audit 1 (RID-0008,
engine failure); nine findings: EMAIL 3, CREDIT_CARD 2, AWS_ACCESS_KEY 2,
PROMPT_INJECTION 2; one trace per RID (RID-0003's input and output share one).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tsz_otel import semconv
from tsz_otel.report import (
    Count,
    ReportSummary,
    SpanEvent,
    SpanRecord,
    evaluations,
    read_spans,
    summarize,
)

DATA = Path(__file__).parent / "data"
FIXTURES = [DATA / "spans.otlp.jsonl", DATA / "spans.console.txt"]
MINUTE = 60_000_000_000


@pytest.fixture(params=FIXTURES, ids=["otlp", "console"])
def summary(request: pytest.FixtureRequest) -> ReportSummary:
    return summarize(read_spans([request.param]).spans)


def _counts(counts: tuple[Count, ...]) -> dict[str, int]:
    return {count.label: count.count for count in counts}


def test_totals(summary: ReportSummary) -> None:
    assert summary.spans_read == 19
    assert summary.evaluations == 10
    assert summary.traces == 9
    assert summary.services == ("tsz-report-demo",)
    assert summary.findings == 9
    assert summary.evaluations_with_findings == 7
    assert summary.blocked == 3
    assert summary.intervened == 8
    assert summary.errors == 1
    assert summary.captured_content == 1


def test_decisions_and_targets(summary: ReportSummary) -> None:
    assert [(c.label, c.count) for c in summary.decisions] == [
        ("allow", 2),
        ("audit", 1),
        ("warn", 1),
        ("modify", 3),
        ("deny", 3),
    ]
    assert _counts(summary.targets) == {"llm_input": 8, "llm_output": 1, "tool_call": 1}


def test_findings_by_type_category_severity(summary: ReportSummary) -> None:
    assert [(c.label, c.count) for c in summary.findings_by_type] == [
        ("EMAIL", 3),
        ("AWS_ACCESS_KEY", 2),
        ("CREDIT_CARD", 2),
        ("PROMPT_INJECTION", 2),
    ]
    assert _counts(summary.findings_by_category) == {"PII": 5, "SECRET": 2, "INJECTION": 2}
    assert [(c.label, c.count) for c in summary.findings_by_severity] == [
        ("critical", 2),
        ("high", 2),
        ("medium", 5),
    ]


def test_top_rules_count_block_level_findings(summary: ReportSummary) -> None:
    rules = {rule.rule: (rule.category, rule.count, rule.block_level) for rule in summary.top_rules}
    assert rules == {
        "EMAIL": ("PII", 3, 0),
        "AWS_ACCESS_KEY": ("SECRET", 2, 1),
        "CREDIT_CARD": ("PII", 2, 1),
        "PROMPT_INJECTION": ("INJECTION", 2, 2),
    }
    assert summary.top_rules[0].rule == "EMAIL"


def test_blocked_requests_by_rid(summary: ReportSummary) -> None:
    blocked = [
        (b.request_id, b.evaluations, b.targets, b.reasons, b.max_confidence)
        for b in summary.blocked_requests
    ]
    assert blocked == [
        ("RID-0004", 1, ("llm_input",), ("PROMPT_INJECTION",), 0.92),
        ("RID-0005", 1, ("llm_input",), ("CREDIT_CARD", "AWS_ACCESS_KEY"), 0.97),
        ("NO-RID", 1, ("llm_input",), ("PROMPT_INJECTION",), 0.90),
    ]
    times = [b.first_seen_unix_nano for b in summary.blocked_requests]
    assert times == sorted(times)


def test_decisions_over_time(summary: ReportSummary) -> None:
    # nine traces 90 s apart from 2026-01-01T00:00:00Z: 12 minutes -> 30 s buckets
    assert summary.bucket_seconds == 30
    assert len(summary.timeline) == 25
    start = summary.timeline[0].start_unix_nano
    assert start == 1_767_225_600 * 1_000_000_000
    filled = {
        (bucket.start_unix_nano - start) // (MINUTE // 2): dict(bucket.counts)
        for bucket in summary.timeline
        if bucket.counts
    }
    assert filled == {
        0: {"warn": 1},
        3: {"allow": 1},
        6: {"modify": 2},
        9: {"deny": 1},
        12: {"deny": 1},
        15: {"allow": 1},
        18: {"modify": 1},
        21: {"audit": 1},
        24: {"deny": 1},
    }
    assert sum(sum(b.counts.values()) for b in summary.timeline) == summary.evaluations


def test_both_formats_summarise_identically() -> None:
    otlp, console = (summarize(read_spans([path]).spans) for path in FIXTURES)
    assert otlp.decisions == console.decisions
    assert otlp.findings_by_type == console.findings_by_type
    assert otlp.top_rules == console.top_rules
    assert [b.request_id for b in otlp.blocked_requests] == [
        b.request_id for b in console.blocked_requests
    ]


def test_two_schemes_do_not_double_findings() -> None:
    """RID-0003 was written in gen_ai and microsoft: 2 + 1 events each, counted once."""
    spans = read_spans([FIXTURES[0]]).spans
    rid3 = [s for s in spans if s.attributes.get(semconv.TSZ_REQUEST_ID) == "RID-0003"]
    assert sum(len(span.events) for span in rid3) == 6
    found = evaluations(rid3)
    assert [len(e.findings) for e in found] == [2, 1]


# --------------------------------------------------------------------------- rules


def _guardrail_span(
    attributes: dict[str, object], events: tuple[SpanEvent, ...] = (), **fields: object
) -> SpanRecord:
    defaults: dict[str, object] = {
        "trace_id": "t1",
        "span_id": "s1",
        "parent_span_id": None,
        "name": "apply_guardrail tsz llm_input",
        "kind": "INTERNAL",
        "start_unix_nano": 1_000_000_000,
        "end_unix_nano": 1_000_000_001,
        "status": "UNSET",
        "attributes": attributes,
        "events": events,
    }
    defaults.update(fields)
    return SpanRecord(**defaults)  # type: ignore[arg-type]


def test_only_guardrail_spans_are_evaluations() -> None:
    other = _guardrail_span({"gen_ai.operation.name": "chat"}, name="chat gpt-4o")
    named_only = _guardrail_span({}, span_id="s2", name="apply_guardrail tool_call")
    found = evaluations([other, named_only])
    assert [(e.span_id, e.target, e.decision) for e in found] == [("s2", "tool_call", "unknown")]


def test_reasons_from_a_string_array_and_rid_grouping() -> None:
    a = _guardrail_span(
        {semconv.TSZ_BLOCKED: True, semconv.TSZ_REASONS: ("EMAIL", "EMAIL", "IBAN")},
        trace_id="t1",
    )
    b = _guardrail_span({semconv.TSZ_BLOCKED: True}, trace_id="t2", span_id="s2")
    c = _guardrail_span(
        {"microsoft.security.decision.type": "deny", semconv.TSZ_REQUEST_ID: "R"},
        trace_id="t3",
        span_id="s3",
    )
    summary = summarize([a, b, c])
    assert summary.blocked == 3
    assert summary.decisions == (Count("deny", 3),)
    rows = {(r.request_id, r.trace_ids, r.reasons) for r in summary.blocked_requests}
    # two evaluations without a RID stay separate rows, told apart by their trace
    assert rows == {
        ("NO-RID", ("t1",), ("EMAIL", "IBAN")),
        ("NO-RID", ("t2",), ()),
        ("R", ("t3",), ()),
    }


def test_captured_content_is_counted_never_copied() -> None:
    secret = "jane.doe@example.com"
    span = _guardrail_span({"gen_ai.security.content.input.value": f"mail {secret}"})
    event = SpanEvent(semconv.CONTENT_EVENT, 5, {"gen_ai.security.content.input.value": secret})
    other = _guardrail_span({}, span_id="s2", events=(event,))
    summary = summarize([span, other])
    assert summary.captured_content == 2
    assert secret not in repr(summary)
    assert secret not in repr(evaluations([span, other]))


def test_empty_input_summarises_to_zero() -> None:
    summary = summarize([])
    assert summary.evaluations == 0
    assert summary.timeline == ()
    assert summary.start_unix_nano is None


@pytest.mark.parametrize(
    ("minutes", "step"),
    [(0, 1), (0.5, 1), (10, 30), (60, 300), (600, 900), (60 * 24 * 3, 3 * 3600)],
)
def test_bucket_width_fits_the_range(minutes: float, step: int) -> None:
    spans = [
        _guardrail_span({}, span_id="a", start_unix_nano=MINUTE),
        _guardrail_span({}, span_id="b", start_unix_nano=MINUTE + int(minutes * MINUTE)),
    ]
    summary = summarize(spans, max_buckets=48)
    assert summary.bucket_seconds == step
    assert len(summary.timeline) <= 48
    assert sum(sum(b.counts.values()) for b in summary.timeline) == 2
