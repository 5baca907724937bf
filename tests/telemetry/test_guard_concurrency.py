"""One guard shared by threads and asyncio tasks: every span under its own request."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tsz_otel import Guard, Settings

REQUESTS = 24


def _guard(tracer_provider: TracerProvider, settings_for: Callable[..., Settings]) -> Guard:
    return Guard(settings_for(mode="mask"), tracer_provider=tracer_provider)


def _check_parenting(
    exporter: InMemorySpanExporter, results: list[tuple[int, int, int, bool]]
) -> None:
    spans = {s.context.span_id: s for s in exporter.get_finished_spans() if s.context}
    assert len(results) == REQUESTS
    for index, parent_id, guard_id, masked in results:
        span = spans[guard_id]
        assert span.parent is not None and span.parent.span_id == parent_id
        attributes: dict[str, Any] = dict(span.attributes or {})
        assert attributes["tsz.request_id"] == f"RID-{index}"
        assert masked == (index % 2 == 0)
        assert attributes["gen_ai.security.decision.type"] == ("modify" if masked else "allow")
        assert spans[parent_id].name == f"request {index}"
    assert len({guard for _, _, guard, _ in results}) == REQUESTS


def _text(index: int) -> str:
    if index % 2 == 0:
        return f"request {index}: please mail user{index}@example.com"
    return f"request {index}: what is the weather like?"


def test_threads_get_correct_parents(
    tracer_provider: TracerProvider,
    span_exporter: InMemorySpanExporter,
    settings_for: Callable[..., Settings],
) -> None:
    guard = _guard(tracer_provider, settings_for)
    app = tracer_provider.get_tracer("app")

    def work(index: int) -> tuple[int, int, int, bool]:
        with app.start_as_current_span(f"request {index}") as parent:
            verdict = guard.check(_text(index), rid=f"RID-{index}")
            assert verdict.span_context is not None
            return (
                index,
                parent.get_span_context().span_id,
                verdict.span_context.span_id,
                verdict.masked,
            )

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(work, range(REQUESTS)))
    _check_parenting(span_exporter, results)
    assert trace.get_current_span() is trace.INVALID_SPAN


async def test_asyncio_tasks_get_correct_parents(
    tracer_provider: TracerProvider,
    span_exporter: InMemorySpanExporter,
    settings_for: Callable[..., Settings],
) -> None:
    guard = _guard(tracer_provider, settings_for)
    app = tracer_provider.get_tracer("app")

    async def work(index: int) -> tuple[int, int, int, bool]:
        with app.start_as_current_span(f"request {index}") as parent:
            await asyncio.sleep(0)
            verdict = await guard.acheck(_text(index), rid=f"RID-{index}")
            await asyncio.sleep(0)
            assert trace.get_current_span() is parent  # the guard span was detached
            assert verdict.span_context is not None
            return (
                index,
                parent.get_span_context().span_id,
                verdict.span_context.span_id,
                verdict.masked,
            )

    results = list(await asyncio.gather(*(work(i) for i in range(REQUESTS))))
    _check_parenting(span_exporter, results)
