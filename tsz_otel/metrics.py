"""Guardrail metrics: how long evaluations take, what they decided, what they found.

Instruments (meter ``tsz_otel``):

``gen_ai.client.apply_guardrail.duration`` (histogram, ``s``)
    One measurement per evaluation (the proposal's name and unit; buckets
    :data:`~tsz_otel.semconv.DURATION_BUCKETS`).
``tsz.guardrail.evaluations`` (counter, ``{evaluation}``)
    One per evaluation, by decision (and ``error.type`` when the guardian failed).
``tsz.guardrail.findings`` (counter, ``{finding}``)
    One per finding, by ``tsz.finding.type`` / ``.category`` / ``.severity``.
``tsz.guardrail.blocks`` (counter, ``{block}``)
    One per evaluation whose decision was ``deny``.

Every measurement also carries the guardian name and provider, the target type and
``tsz.mode`` in the selected semconv scheme(s) (the operation is implied by the metric).
All attribute values come from closed or configuration-bounded sets (decisions,
targets, catalogue types); request ids, texts and hashes are never metric attributes.
"""

from __future__ import annotations

from collections.abc import Mapping

from opentelemetry import metrics
from opentelemetry.metrics import MeterProvider
from opentelemetry.util.types import AttributeValue

from . import semconv
from .version import __version__

__all__ = ["GuardrailMetrics"]

Attributes = Mapping[str, AttributeValue]


class GuardrailMetrics:
    """The four guardrail instruments, created once from a meter provider.

    ``meter_provider=None`` uses the global provider (a proxy until one is set, so a
    guard built before telemetry setup still reports once it is configured).
    """

    __slots__ = ("_blocks", "_duration", "_evaluations", "_findings")

    def __init__(self, meter_provider: MeterProvider | None = None) -> None:
        meter = metrics.get_meter(semconv.INSTRUMENTATION_NAME, __version__, meter_provider)
        self._duration = meter.create_histogram(
            semconv.METRIC_DURATION,
            unit="s",
            description="Duration of guardrail evaluations.",
            explicit_bucket_boundaries_advisory=semconv.DURATION_BUCKETS,
        )
        self._evaluations = meter.create_counter(
            semconv.METRIC_EVALUATIONS,
            unit="{evaluation}",
            description="Guardrail evaluations, by decision.",
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
        self._evaluations.add(1, attributes)
        if denied:
            self._blocks.add(1, attributes)

    def record_findings(self, attributes: Attributes, count: int = 1) -> None:
        """Count ``count`` findings that share type, category and severity (in
        ``attributes``)."""
        self._findings.add(count, attributes)
