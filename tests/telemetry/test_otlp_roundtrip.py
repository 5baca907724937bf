"""Guardrail spans and metrics over real OTLP/HTTP to the local receiver, decoded."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from tsz_otel import Guard, Settings
from tsz_otel.testing.otlp_receiver import OtlpReceiver

EMAIL = "jane.doe@example.com"


@pytest.fixture
def otlp_providers(
    otlp_receiver: OtlpReceiver,
) -> Iterator[tuple[TracerProvider, MeterProvider]]:
    resource = Resource.create({"service.name": "roundtrip"})
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(
        BatchSpanProcessor(OTLPSpanExporter(endpoint=otlp_receiver.traces_url))
    )
    reader = PeriodicExportingMetricReader(
        OTLPMetricExporter(endpoint=otlp_receiver.metrics_url),
        export_interval_millis=3_600_000,
    )
    meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
    yield tracer_provider, meter_provider
    tracer_provider.shutdown()
    meter_provider.shutdown()


def test_guard_span_and_metrics_round_trip(
    otlp_receiver: OtlpReceiver,
    otlp_providers: tuple[TracerProvider, MeterProvider],
    settings_for: Callable[..., Settings],
) -> None:
    tracer_provider, meter_provider = otlp_providers
    guard = Guard(
        settings_for(semconv=("gen_ai", "microsoft")),
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
    )
    app = tracer_provider.get_tracer("app")
    with app.start_as_current_span("chat gpt-4o") as chat:
        verdict = guard.check(f"Contact {EMAIL} please", rid="RID-RT")
    tracer_provider.force_flush()
    meter_provider.force_flush()

    spans = otlp_receiver.wait_for_spans(2)
    by_name = {s.name: s for s in spans}
    guard_span = by_name["apply_guardrail tsz llm_input"]
    chat_span = by_name["chat gpt-4o"]
    assert guard_span.kind == "INTERNAL"
    assert (
        guard_span.parent_span_id
        == chat_span.span_id
        == format(chat.get_span_context().span_id, "016x")
    )
    assert verdict.span_context is not None
    assert guard_span.span_id == format(verdict.span_context.span_id, "016x")
    assert guard_span.resource["service.name"] == "roundtrip"
    assert guard_span.scope_name == "tsz_otel"
    attributes = guard_span.attributes
    assert attributes["gen_ai.operation.name"] == "apply_guardrail"
    assert attributes["gen_ai.security.decision.type"] == "warn"
    assert attributes["microsoft.security.decision.type"] == "warn"
    assert attributes["tsz.blocked"] is False
    assert attributes["tsz.request_id"] == "RID-RT"
    assert isinstance(attributes["tsz.detection_count"], int)
    findings = guard_span.events_named("gen_ai.security.finding")
    assert findings and len(findings) == len(guard_span.events_named("microsoft.security.finding"))
    email = next(e for e in findings if e.attributes["tsz.finding.type"] == "EMAIL")
    assert email.attributes["tsz.finding.value_hash"].startswith("sha256:")
    assert email.attributes["gen_ai.security.risk.score"] > 0

    duration = otlp_receiver.wait_for_metric("gen_ai.client.apply_guardrail.duration")
    assert duration.unit == "s"
    assert duration.kind == "histogram"
    (point,) = duration.points
    assert point.count == 1
    assert point.attributes["gen_ai.security.decision.type"] == "warn"
    assert EMAIL.encode() not in otlp_receiver.raw_bytes()
