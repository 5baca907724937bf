"""From exported spans to the numbers of a findings report.

:func:`evaluations` picks the ``apply_guardrail`` spans out of everything that was
exported and reads each one's decision, target, TSZ summary and findings, whichever
semconv scheme(s) it was written in (``gen_ai``, ``microsoft``, ``guardrail``, see
:mod:`tsz_otel.semconv`). :func:`summarize` folds them into a :class:`ReportSummary`.

Only structure is read: types, categories, severities, decisions, request ids, counts.
The content-value attributes a span may carry when capture is switched on are never
copied; the summary only records *that* a span carried them.

A span written in two schemes carries each finding twice (one event per scheme); its
findings are counted from one scheme's events only, so numbers do not double.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from .. import semconv
from ..semconv import Key, Scheme
from ._spans import AttrValue, SpanRecord

__all__ = [
    "DECISION_ORDER",
    "NO_RID",
    "SEVERITY_ORDER",
    "BlockedRequest",
    "Count",
    "Evaluation",
    "Finding",
    "ReportSummary",
    "RuleCount",
    "TimeBucket",
    "evaluations",
    "is_guardrail_span",
    "summarize",
]

DECISION_ORDER = ("allow", "audit", "warn", "modify", "deny")
"""Decisions from least to most intrusive: the stacking and legend order of the report."""

SEVERITY_ORDER = ("critical", "high", "medium", "low", "none")

NO_RID = "NO-RID"
"""Label of evaluations without a request id (the TSZ server logs the same)."""

UNKNOWN = "unknown"

_INTERVENTIONS = frozenset({"audit", "warn", "modify", "deny"})
"""Decisions that mean the guardrail acted or would have acted (everything but allow)."""

# Every spelling of every scheme, in priority order (gen_ai first).
_NAMES = semconv.names_for([scheme.value for scheme in Scheme])
_CONTENT_KEYS = frozenset(
    _NAMES.span[Key.CONTENT_INPUT_VALUE] + _NAMES.span[Key.CONTENT_OUTPUT_VALUE]
)

# Bucket widths for the timeline, in seconds: the smallest that fits is used.
_BUCKET_STEPS = (
    1, 5, 10, 30, 60, 300, 600, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86_400,
    7 * 86_400, 30 * 86_400,
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Finding:
    """One finding event, reduced to what the report shows."""

    type: str
    category: str
    severity: str
    rule: str
    block_level: bool = False


@dataclass(frozen=True, slots=True)
class Evaluation:
    """One ``apply_guardrail`` span, reduced to what the report shows."""

    trace_id: str
    span_id: str
    time_unix_nano: int
    service: str | None
    target: str
    decision: str
    blocked: bool
    request_id: str | None
    reasons: tuple[str, ...]
    confidence: float | None
    error: bool
    captured_content: bool
    findings: tuple[Finding, ...]


@dataclass(frozen=True, slots=True)
class Count:
    """A label and how often it occurred."""

    label: str
    count: int


@dataclass(frozen=True, slots=True)
class RuleCount:
    """A rule (policy id, else detection type), its category, how often it fired and
    how many of those findings were block-level (action ``BLOCK`` or decision ``deny``)."""

    rule: str
    category: str
    count: int
    block_level: int = 0


@dataclass(frozen=True, slots=True)
class TimeBucket:
    """Decisions counted in ``[start, start + width)``."""

    start_unix_nano: int
    counts: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class BlockedRequest:
    """Blocked evaluations of one request id (or of one trace, when there is no RID)."""

    request_id: str
    first_seen_unix_nano: int
    evaluations: int
    targets: tuple[str, ...]
    reasons: tuple[str, ...]
    max_confidence: float | None
    trace_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ReportSummary:
    """Everything the findings report shows; built by :func:`summarize`."""

    evaluations: int
    traces: int
    services: tuple[str, ...]
    findings: int
    evaluations_with_findings: int
    blocked: int
    intervened: int
    errors: int
    captured_content: int
    start_unix_nano: int | None
    end_unix_nano: int | None
    decisions: tuple[Count, ...]
    targets: tuple[Count, ...]
    bucket_seconds: int
    timeline: tuple[TimeBucket, ...]
    findings_by_type: tuple[Count, ...]
    findings_by_category: tuple[Count, ...]
    findings_by_severity: tuple[Count, ...]
    top_rules: tuple[RuleCount, ...]
    blocked_requests: tuple[BlockedRequest, ...]
    spans_read: int


# --------------------------------------------------------------------------- extraction


def is_guardrail_span(span: SpanRecord) -> bool:
    """An ``apply_guardrail`` span, by operation name or, failing that, by span name."""
    operation = _first(span.attributes, _NAMES.span[Key.OPERATION_NAME])
    if operation is not None:
        return operation == semconv.APPLY_GUARDRAIL
    prefix = semconv.APPLY_GUARDRAIL
    return span.name == prefix or span.name.startswith(prefix + " ")


def evaluations(spans: Iterable[SpanRecord]) -> list[Evaluation]:
    """The guardrail evaluations among ``spans``, in time order."""
    found = [_evaluation(span) for span in spans if is_guardrail_span(span)]
    found.sort(key=lambda evaluation: (evaluation.time_unix_nano, evaluation.span_id))
    return found


def _evaluation(span: SpanRecord) -> Evaluation:
    attributes = span.attributes
    blocked_value = attributes.get(semconv.TSZ_BLOCKED)
    decision = _text(_first(attributes, _NAMES.span[Key.DECISION_TYPE]))
    blocked = blocked_value is True or decision == "deny"
    return Evaluation(
        trace_id=span.trace_id,
        span_id=span.span_id,
        time_unix_nano=span.start_unix_nano,
        service=span.service_name,
        target=_text(_first(attributes, _NAMES.span[Key.TARGET_TYPE])) or _target_from_name(span),
        decision=(decision or ("deny" if blocked else UNKNOWN)).lower(),
        blocked=blocked,
        request_id=_text(attributes.get(semconv.TSZ_REQUEST_ID)),
        reasons=_reasons(attributes.get(semconv.TSZ_REASONS)),
        confidence=_number(attributes.get(semconv.TSZ_CONFIDENCE)),
        error=span.status == "ERROR" or bool(_first(attributes, _NAMES.span[Key.ERROR_TYPE])),
        captured_content=_captured_content(span),
        findings=_findings(span),
    )


def _findings(span: SpanRecord) -> tuple[Finding, ...]:
    """Findings from the first scheme whose finding events this span carries."""
    for event_names in _NAMES.finding_events:
        events = [event for event in span.events if event.name == event_names.name]
        if events:
            return tuple(_finding(event.attributes, event_names.keys) for event in events)
    return ()


def _finding(attributes: Mapping[str, AttrValue], keys: Mapping[Key, str]) -> Finding:
    def scheme(key: Key) -> str | None:
        name = keys.get(key)
        return None if name is None else _text(attributes.get(name))

    category = (
        _text(attributes.get(semconv.TSZ_FINDING_CATEGORY))
        or scheme(Key.RISK_CATEGORY_NATIVE)
        or scheme(Key.RISK_CATEGORY)
        or UNKNOWN
    )
    finding_type = _text(attributes.get(semconv.TSZ_FINDING_TYPE)) or category
    severity = (
        _text(attributes.get(semconv.TSZ_FINDING_SEVERITY)) or scheme(Key.RISK_SEVERITY) or UNKNOWN
    )
    rule = scheme(Key.POLICY_ID) or scheme(Key.POLICY_NAME) or finding_type
    action = _text(attributes.get(semconv.TSZ_FINDING_ACTION))
    block_level = action == "BLOCK" or scheme(Key.FINDING_DECISION_TYPE) == "deny"
    return Finding(
        type=finding_type,
        category=category,
        severity=severity.lower(),
        rule=rule,
        block_level=block_level,
    )


def _captured_content(span: SpanRecord) -> bool:
    if any(key in span.attributes for key in _CONTENT_KEYS):
        return True
    return any(event.name == semconv.CONTENT_EVENT for event in span.events)


def _target_from_name(span: SpanRecord) -> str:
    """``apply_guardrail [guardian] {target}``: the last word, when the attribute is absent."""
    words = span.name.split()
    return words[-1] if len(words) > 1 else UNKNOWN


def _first(attributes: Mapping[str, AttrValue], names: Sequence[str]) -> AttrValue | None:
    for name in names:
        value = attributes.get(name)
        if value is not None:
            return value
    return None


def _text(value: AttrValue | None) -> str | None:
    if value is None or isinstance(value, tuple):
        return None
    text = str(value).strip()
    return text or None


def _number(value: AttrValue | None) -> float | None:
    if isinstance(value, bool) or value is None or isinstance(value, tuple):
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _reasons(value: AttrValue | None) -> tuple[str, ...]:
    """``tsz.reasons``: a comma-joined string (tsz-otel) or a string array (others)."""
    if isinstance(value, tuple):
        parts = [str(item).strip() for item in value]
    elif isinstance(value, str):
        parts = [part.strip() for part in value.split(",")]
    else:
        return ()
    return tuple(dict.fromkeys(part for part in parts if part))


# --------------------------------------------------------------------------- summary


def summarize(
    spans: Sequence[SpanRecord], *, top: int = 10, max_buckets: int = 48
) -> ReportSummary:
    """Fold the guardrail spans among ``spans`` into the report's numbers.

    ``top`` bounds the rule list; the timeline uses the smallest bucket width that
    covers the time range in at most ``max_buckets`` buckets.
    """
    found = evaluations(spans)
    findings = [finding for evaluation in found for finding in evaluation.findings]
    times = [evaluation.time_unix_nano for evaluation in found if evaluation.time_unix_nano]
    start = min(times) if times else None
    end = max(times) if times else None
    step = _bucket_seconds(start, end, max_buckets)
    return ReportSummary(
        evaluations=len(found),
        traces=len({evaluation.trace_id for evaluation in found}),
        services=tuple(sorted({e.service for e in found if e.service})),
        findings=len(findings),
        evaluations_with_findings=sum(1 for evaluation in found if evaluation.findings),
        blocked=sum(1 for evaluation in found if evaluation.blocked),
        intervened=sum(1 for evaluation in found if evaluation.decision in _INTERVENTIONS),
        errors=sum(1 for evaluation in found if evaluation.error),
        captured_content=sum(1 for evaluation in found if evaluation.captured_content),
        start_unix_nano=start,
        end_unix_nano=end,
        decisions=_ordered_counts(Counter(e.decision for e in found), DECISION_ORDER),
        targets=_counts(Counter(evaluation.target for evaluation in found)),
        bucket_seconds=step,
        timeline=_timeline(found, start, end, step),
        findings_by_type=_counts(Counter(finding.type for finding in findings)),
        findings_by_category=_counts(Counter(finding.category for finding in findings)),
        findings_by_severity=_ordered_counts(
            Counter(finding.severity for finding in findings), SEVERITY_ORDER
        ),
        top_rules=_top_rules(findings, top),
        blocked_requests=_blocked_requests(found),
        spans_read=len(spans),
    )


def _counts(counter: Counter[str]) -> tuple[Count, ...]:
    """Most frequent first, ties by label."""
    ranked = sorted(counter.items(), key=lambda item: (-item[1], item[0]))
    return tuple(Count(label, count) for label, count in ranked)


def _ordered_counts(counter: Counter[str], order: Sequence[str]) -> tuple[Count, ...]:
    """Known labels in ``order``, then any others by frequency."""
    known = [Count(label, counter[label]) for label in order if counter[label]]
    rest = Counter({label: n for label, n in counter.items() if label not in order})
    return tuple(known) + _counts(rest)


def _top_rules(findings: Sequence[Finding], top: int) -> tuple[RuleCount, ...]:
    counter = Counter((finding.rule, finding.category) for finding in findings)
    blocking = Counter((f.rule, f.category) for f in findings if f.block_level)
    ranked = sorted(counter.items(), key=lambda item: (-item[1], item[0]))
    return tuple(
        RuleCount(rule, category, count, blocking[rule, category])
        for (rule, category), count in ranked[:top]
    )


def _bucket_seconds(start: int | None, end: int | None, max_buckets: int) -> int:
    if start is None or end is None:
        return _BUCKET_STEPS[0]
    span_seconds = (end - start) / 1e9
    for step in _BUCKET_STEPS:
        if span_seconds / step + 1 <= max_buckets:
            return step
    return _BUCKET_STEPS[-1]


def _timeline(
    found: Sequence[Evaluation], start: int | None, end: int | None, step: int
) -> tuple[TimeBucket, ...]:
    """Decision counts per bucket, every bucket from first to last (empty ones too)."""
    if start is None or end is None:
        return ()
    width = step * 1_000_000_000
    first = start - start % width
    counters = [Counter[str]() for _ in range((end - first) // width + 1)]
    for evaluation in found:
        if evaluation.time_unix_nano:
            counters[(evaluation.time_unix_nano - first) // width][evaluation.decision] += 1
    return tuple(
        TimeBucket(first + index * width, dict(counter)) for index, counter in enumerate(counters)
    )


def _blocked_requests(found: Sequence[Evaluation]) -> tuple[BlockedRequest, ...]:
    """Blocked evaluations grouped by RID (by trace when there is none), oldest first."""
    groups: dict[str, list[Evaluation]] = {}
    for evaluation in found:
        if evaluation.blocked:
            key = evaluation.request_id or f"\0{evaluation.trace_id}"
            groups.setdefault(key, []).append(evaluation)
    requests = [_blocked_request(group) for group in groups.values()]
    requests.sort(key=lambda request: (request.first_seen_unix_nano, request.request_id))
    return tuple(requests)


def _blocked_request(group: Sequence[Evaluation]) -> BlockedRequest:
    confidences = [e.confidence for e in group if e.confidence is not None]
    reasons = [reason for evaluation in group for reason in evaluation.reasons]
    reasons += [finding.type for evaluation in group for finding in evaluation.findings]
    return BlockedRequest(
        request_id=group[0].request_id or NO_RID,
        first_seen_unix_nano=min(evaluation.time_unix_nano for evaluation in group),
        evaluations=len(group),
        targets=tuple(dict.fromkeys(evaluation.target for evaluation in group)),
        reasons=tuple(dict.fromkeys(reasons)),
        max_confidence=max(confidences) if confidences else None,
        trace_ids=tuple(dict.fromkeys(evaluation.trace_id for evaluation in group)),
    )
