"""AI scoring that fell back to the regex score is visible on the guardrail span.

``tsz.ai.fallbacks`` (how many scorings fell back) and ``tsz.degraded=true`` are set when
the engine reports fallbacks; a clean run sets neither.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tsz_otel import DetectResponse, Guard, Settings
from tsz_otel.remote import engine_from_settings

EMAIL_TEXT = "Please send the invoice to jane.doe@example.com today."


def _guard_span(exporter: InMemorySpanExporter) -> ReadableSpan:
    (span,) = [s for s in exporter.get_finished_spans() if s.name.startswith("apply_guardrail")]
    return span


def _closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Reporting:
    """A detector whose responses carry the given AI fallback counts, as the engine's do."""

    def __init__(self, engine: Any, failures: dict[str, int]) -> None:
        self._engine = engine
        self._failures = failures

    def _mark(self, response: DetectResponse) -> DetectResponse:
        response._ai_failures = dict(self._failures)
        return response

    def detect(
        self, text: str, rid: str | None = None, guardrails: Sequence[str] = (), mode: Any = None
    ) -> DetectResponse:
        return self._mark(self._engine.detect(text, rid=rid, guardrails=guardrails))

    async def adetect(
        self, text: str, rid: str | None = None, guardrails: Sequence[str] = (), mode: Any = None
    ) -> DetectResponse:
        return self._mark(await self._engine.adetect(text, rid=rid, guardrails=guardrails))


MakeGuard = Callable[[Settings, Any], Guard]


@pytest.fixture
def guard_with(tracer_provider: TracerProvider, meter_provider: Any) -> MakeGuard:
    """``guard_with(settings, detector)``: a guard on the test providers."""

    def make(settings: Settings, detector: Any) -> Guard:
        return Guard(
            settings,
            engine=detector,
            tracer_provider=tracer_provider,
            meter_provider=meter_provider,
        )

    return make


def test_unreachable_ai_model_marks_the_span_degraded(
    guard_with: MakeGuard,
    span_exporter: InMemorySpanExporter,
    settings_for: Callable[..., Settings],
) -> None:
    settings = settings_for(
        ai_scoring="ambiguous",
        ai_model_url=f"http://127.0.0.1:{_closed_port()}/v1",
        ai_model="scorer",
        ai_timeout=1.0,
    )
    guard = guard_with(settings, engine_from_settings(settings))
    verdict = guard.check(EMAIL_TEXT)
    assert "EMAIL" in verdict.finding_types  # the regex score still decided
    attributes = dict(_guard_span(span_exporter).attributes or {})
    assert int(attributes["tsz.ai.fallbacks"]) >= 1
    assert attributes["tsz.degraded"] is True
    assert "jane.doe" not in _guard_span(span_exporter).to_json()


async def test_fallbacks_of_every_segment_are_summed(
    guard_with: MakeGuard,
    span_exporter: InMemorySpanExporter,
    settings_for: Callable[..., Settings],
) -> None:
    settings = settings_for()
    detector = _Reporting(engine_from_settings(settings), {"timeout": 2, "unavailable": 1})
    guard = guard_with(settings, detector)
    messages = [
        {"role": "user", "content": EMAIL_TEXT},
        {"role": "user", "content": "What is the capital of France?"},
    ]
    await guard.acheck(messages)
    attributes = dict(_guard_span(span_exporter).attributes or {})
    assert attributes["tsz.ai.fallbacks"] == 6  # 3 per segment, two segments
    assert attributes["tsz.degraded"] is True


def test_no_fallbacks_no_degraded_attribute(
    guard_with: MakeGuard,
    span_exporter: InMemorySpanExporter,
    settings_for: Callable[..., Settings],
) -> None:
    settings = settings_for()
    guard = guard_with(settings, _Reporting(engine_from_settings(settings), {}))
    guard.check("What is the capital of France?")
    attributes = dict(_guard_span(span_exporter).attributes or {})
    assert "tsz.ai.fallbacks" not in attributes
    assert "tsz.degraded" not in attributes
