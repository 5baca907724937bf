"""Fixtures of the instrumentation tests: the local LLM server, real clients, OTel pipelines
and instrumentors bound to a real :class:`~tsz_otel.guard.Guard`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from instr_support import Instrument, Spans
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from tsz_otel_instrumentation.httpx import TszHTTPXInstrumentor
from tsz_otel_instrumentation.openai import TszOpenAIInstrumentor

from tsz_otel.config import Settings
from tsz_otel.guard import Guard
from tsz_otel.testing.llm_server import LLMServer


@pytest.fixture(scope="session")
def _llm_server_session() -> Iterator[LLMServer]:
    with LLMServer() as server:
        yield server


@pytest.fixture
def llm_server(_llm_server_session: LLMServer) -> Iterator[LLMServer]:
    """The shared local LLM server, with no scripts and no recorded requests."""
    _llm_server_session.reset()
    yield _llm_server_session
    _llm_server_session.reset()


# ----------------------------------------------------------------------------- telemetry


@pytest.fixture(scope="session")
def span_exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture(scope="session")
def tracer_provider(span_exporter: InMemorySpanExporter) -> Iterator[TracerProvider]:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(span_exporter))
    yield provider
    provider.shutdown()


@pytest.fixture(scope="session")
def meter_provider() -> Iterator[MeterProvider]:
    provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    yield provider
    provider.shutdown()


@pytest.fixture
def flushers() -> list[Callable[[], object]]:
    """``force_flush`` of every instrumentor of the test (background checks)."""
    return []


@pytest.fixture
def spans(
    span_exporter: InMemorySpanExporter, flushers: list[Callable[[], object]]
) -> Iterator[Spans]:
    span_exporter.clear()
    yield Spans(span_exporter, flushers)
    span_exporter.clear()


# ----------------------------------------------------------------------------- guards


@pytest.fixture(scope="session")
def guard_for(
    tracer_provider: TracerProvider, meter_provider: MeterProvider
) -> Callable[..., Guard]:
    """A (cached) real Guard for the given settings overrides, on the test providers."""
    cache: dict[tuple[tuple[str, Any], ...], Guard] = {}

    def make(**overrides: Any) -> Guard:
        key = tuple(sorted((k, repr(v)) for k, v in overrides.items()))
        if key not in cache:
            settings = Settings.from_env({}, **overrides)
            cache[key] = Guard(
                settings, tracer_provider=tracer_provider, meter_provider=meter_provider
            )
        return cache[key]

    return make


def _instrumenting(
    kind: type[TszOpenAIInstrumentor] | type[TszHTTPXInstrumentor],
    tracer_provider: TracerProvider,
    guard_for: Callable[..., Guard],
    flushers: list[Callable[[], object]],
) -> Iterator[Instrument]:
    used: list[Any] = []

    def instrument(**settings: Any) -> Any:
        extra = {k: settings.pop(k) for k in ("hosts", "paths") if k in settings}
        instrumentor = kind()
        if instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.uninstrument()
        instrumentor.instrument(
            guard=guard_for(**settings), tracer_provider=tracer_provider, **extra
        )
        used.append(instrumentor)
        flushers.append(lambda: instrumentor.force_flush(10))
        return instrumentor

    yield instrument
    for instrumentor in used:
        if instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.force_flush(10)
            instrumentor.uninstrument()


@pytest.fixture
def instrument_openai(
    tracer_provider: TracerProvider,
    guard_for: Callable[..., Guard],
    flushers: list[Callable[[], object]],
) -> Iterator[Instrument]:
    """``instrument_openai(mode="mask", ...)``: the openai instrumentor with those settings,
    uninstrumented after the test."""
    yield from _instrumenting(TszOpenAIInstrumentor, tracer_provider, guard_for, flushers)


@pytest.fixture
def instrument_httpx(
    tracer_provider: TracerProvider,
    guard_for: Callable[..., Guard],
    flushers: list[Callable[[], object]],
) -> Iterator[Instrument]:
    """``instrument_httpx(mode="mask", hosts=..., paths=...)``: the httpx instrumentor."""
    yield from _instrumenting(TszHTTPXInstrumentor, tracer_provider, guard_for, flushers)
