"""Helpers shared by the instrumentation tests (imported by name: ``from instr_support``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

GUARD_INPUT = "apply_guardrail tsz llm_input"
GUARD_OUTPUT = "apply_guardrail tsz llm_output"
DECISION = "gen_ai.security.decision.type"

Instrument = Callable[..., Any]


class Spans:
    """The finished spans of one test, with the lookups the tests need."""

    def __init__(
        self, exporter: InMemorySpanExporter, flushers: list[Callable[[], object]]
    ) -> None:
        self._exporter = exporter
        self._flushers = flushers

    def all(self) -> list[ReadableSpan]:
        """Every finished span, after background (observe, stream-async) checks ran."""
        for flush in self._flushers:
            flush()
        return list(self._exporter.get_finished_spans())

    def named(self, name: str) -> list[ReadableSpan]:
        return [s for s in self.all() if s.name == name]

    def one(self, name: str) -> ReadableSpan:
        found = self.named(name)
        assert len(found) == 1, f"expected one {name!r} span, got {[s.name for s in self.all()]}"
        return found[0]

    def llm(self) -> list[ReadableSpan]:
        return [s for s in self.all() if not s.name.startswith("apply_guardrail")]

    def decision(self, name: str) -> Any:
        return (self.one(name).attributes or {}).get(DECISION)

    def clear(self) -> None:
        self._exporter.clear()
