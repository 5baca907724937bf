"""Fixtures for the telemetry tests: in-memory span/metric pipelines per test."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
from opentelemetry.context import Context
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_ON, Sampler, SamplingResult
from opentelemetry.trace import Link, SpanKind
from opentelemetry.trace.span import TraceState
from opentelemetry.util.types import Attributes

from tsz_otel import GuardrailTracer, Settings


class RecordingSampler(Sampler):
    """Samples everything and remembers what each span looked like when it started."""

    def __init__(self) -> None:
        self.started: list[tuple[str, dict[str, Any]]] = []

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        self.started.append((name, dict(attributes or {})))
        return ALWAYS_ON.should_sample(
            parent_context, trace_id, name, kind, attributes, links, trace_state
        )

    def get_description(self) -> str:
        return "RecordingSampler"


@pytest.fixture
def span_exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def sampler() -> RecordingSampler:
    return RecordingSampler()


@pytest.fixture
def tracer_provider(
    span_exporter: InMemorySpanExporter, sampler: RecordingSampler
) -> Iterator[TracerProvider]:
    provider = TracerProvider(sampler=sampler)
    provider.add_span_processor(SimpleSpanProcessor(span_exporter))
    yield provider
    provider.shutdown()


@pytest.fixture
def metric_reader() -> InMemoryMetricReader:
    return InMemoryMetricReader()


@pytest.fixture
def meter_provider(metric_reader: InMemoryMetricReader) -> Iterator[MeterProvider]:
    provider = MeterProvider(metric_readers=[metric_reader])
    yield provider
    provider.shutdown()


@pytest.fixture
def settings_for() -> Callable[..., Settings]:
    """Settings from an empty environment plus overrides: tests never see the host env."""

    def build(**overrides: Any) -> Settings:
        return Settings.from_env({}, **overrides)

    return build


@pytest.fixture
def make_tracer(
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    settings_for: Callable[..., Settings],
) -> Callable[..., GuardrailTracer]:
    def build(**overrides: Any) -> GuardrailTracer:
        return GuardrailTracer(
            settings_for(**overrides),
            tracer_provider=tracer_provider,
            meter_provider=meter_provider,
        )

    return build


def _metric_points(reader: InMemoryMetricReader, name: str) -> list[Any]:
    data = reader.get_metrics_data()
    points: list[Any] = []
    if data is None:
        return points
    for resource_metrics in data.resource_metrics:
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                if metric.name == name:
                    points.extend(metric.data.data_points)
    return points


@pytest.fixture
def metric_points(metric_reader: InMemoryMetricReader) -> Callable[[str], list[Any]]:
    """``metric_points(name)``: every data point of metric ``name`` collected so far."""
    return lambda name: _metric_points(metric_reader, name)
