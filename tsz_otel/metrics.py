"""Guardrail metrics: how long evaluations take, what they decided, what they found.

Instruments (meter ``tsz_otel``):

``gen_ai.client.apply_guardrail.duration`` (histogram, ``s``)
    One measurement per evaluation (the proposal's name and unit; buckets
    :data:`~tsz_otel.semconv.DURATION_BUCKETS`), by decision (and ``error.type`` when
    the guardian failed). It is also the evaluation count: a histogram point's ``count``
    is the number of evaluations with its attributes (``sum by (decision) (..._count)``),
    so there is no separate evaluations counter to pay for on every check.
``tsz.guardrail.findings`` (counter, ``{finding}``)
    One per finding, by ``tsz.finding.type`` / ``.category`` / ``.severity``.
``tsz.guardrail.blocks`` (counter, ``{block}``)
    One per evaluation whose decision was ``deny``.

Every measurement also carries the guardian name and provider, the target type and
``tsz.mode`` in the selected semconv scheme(s) (the operation is implied by the metric).
All attribute values come from closed or configuration-bounded sets (decisions,
targets, catalogue types); request ids, texts and hashes are never metric attributes.
That is also why each distinct attribute set is built once (:class:`MetricSet`) and
reused for every measurement that has it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, TypeVar

from opentelemetry import metrics
from opentelemetry.metrics import MeterProvider
from opentelemetry.util.types import AttributeValue

from . import semconv
from .version import __version__

__all__ = ["GuardrailMetrics", "MetricSet"]

Attributes = Mapping[str, AttributeValue]
_K = TypeVar("_K")

MAX_SETS: Final = 256
"""Bound on the attribute sets one :class:`MetricSet` keeps. Decisions, error types and
catalogue types are few; the bound only keeps a caller that passes unbounded values from
growing the memo (past it, sets are built per measurement, as before)."""


class MetricSet:
    """The metric attribute sets of one kind of evaluation, each built once and reused.

    ``base`` holds what every measurement of the kind shares (target, guardian, mode);
    :meth:`evaluation` adds the decision (and ``error.type``), :meth:`finding` a finding's
    type, category and severity. The SDK copies attributes it keeps, so sharing the
    returned (never mutated) mappings between threads and measurements is safe; what it
    saves is building and spelling the same dicts on every evaluation.
    """

    __slots__ = ("_decision_keys", "_error_keys", "_evaluations", "_findings", "base")

    def __init__(
        self, base: Attributes, decision_keys: tuple[str, ...], error_keys: tuple[str, ...]
    ) -> None:
        self.base = base
        self._decision_keys = decision_keys
        self._error_keys = error_keys
        self._evaluations: dict[tuple[str | None, str | None], Attributes] = {}
        self._findings: dict[tuple[str, str, str], Attributes] = {}

    def evaluation(self, decision: str | None, error_type: str | None) -> Attributes:
        """``base`` plus the decision and the guardian error type (when there was one)."""
        key = (decision, error_type)
        found = self._evaluations.get(key)
        if found is None:
            attributes = dict(self.base)
            if decision is not None:
                for name in self._decision_keys:
                    attributes[name] = decision
            if error_type is not None:
                for name in self._error_keys:
                    attributes[name] = error_type
            found = _remember(self._evaluations, key, attributes)
        return found

    def finding(self, kind: str, category: str, severity: str) -> Attributes:
        """``base`` plus a finding's type, category and severity."""
        key = (kind, category, severity)
        found = self._findings.get(key)
        if found is None:
            attributes = dict(self.base)
            attributes[semconv.TSZ_FINDING_TYPE] = kind
            attributes[semconv.TSZ_FINDING_CATEGORY] = category
            attributes[semconv.TSZ_FINDING_SEVERITY] = severity
            found = _remember(self._findings, key, attributes)
        return found


def _remember(memo: dict[_K, Attributes], key: _K, attributes: Attributes) -> Attributes:
    if len(memo) < MAX_SETS:
        memo[key] = attributes
    return attributes


class GuardrailMetrics:
    """The three guardrail instruments, created once from a meter provider.

    ``meter_provider=None`` uses the global provider (a proxy until one is set, so a
    guard built before telemetry setup still reports once it is configured).
    """

    __slots__ = ("_blocks", "_duration", "_findings")

    def __init__(self, meter_provider: MeterProvider | None = None) -> None:
        meter = metrics.get_meter(semconv.INSTRUMENTATION_NAME, __version__, meter_provider)
        self._duration = meter.create_histogram(
            semconv.METRIC_DURATION,
            unit="s",
            description="Duration of guardrail evaluations, by decision (its count is the "
            "number of evaluations).",
            explicit_bucket_boundaries_advisory=semconv.DURATION_BUCKETS,
        )
        self._findings = meter.create_counter(
            semconv.METRIC_FINDINGS,
            unit="{finding}",
            description="Guardrail findings, by type, category and severity.",
        )
        self._blocks = meter.create_counter(
            semconv.METRIC_BLOCKS,
            unit="{block}",
            description="Guardrail evaluations that denied the operation.",
        )

    def record_evaluation(self, attributes: Attributes, duration_s: float, denied: bool) -> None:
        """Record one finished evaluation; ``attributes`` include the decision."""
        self._duration.record(duration_s, attributes)
        if denied:
            self._blocks.add(1, attributes)

    def record_findings(self, attributes: Attributes, count: int = 1) -> None:
        """Count ``count`` findings that share type, category and severity (in
        ``attributes``)."""
        self._findings.add(count, attributes)
