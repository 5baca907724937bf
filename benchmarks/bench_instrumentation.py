"""What the openai instrumentor adds to a real call, next to the official instrumentation.

The real ``openai`` SDK calls the local LLM server (a separate process, so the server's
work does not compete with the client for the GIL) with a ~1 KB prompt, non-streaming and
streaming (a 20-chunk answer, fully iterated). Variants, measured in interleaved rounds so
machine noise hits them alike:

* ``plain``: no instrumentation;
* ``official``: ``opentelemetry-instrumentation-genai-openai`` (tracing only, content off);
* ``tsz observe``: the tsz openai instrumentor in observe mode (``chat`` span, input and
  output ``apply_guardrail`` spans with their finding events and metrics), as shipped:
  observe-mode checks run on the instrumentor's worker thread (``TSZ_OBSERVE_ASYNC``);
* ``tsz observe, inline``: the same with ``TSZ_OBSERVE_ASYNC=false`` (the caller waits for
  both checks), to show what the checks themselves cost;
* ``tsz mask``: the same in mask mode (the prompt is redacted before it is sent);
* ``tsz + official``: both at once (the official span is the parent).

Every variant exports through ``SimpleSpanProcessor`` to an exporter that drops spans, with
a ``MeterProvider`` (so spans, events and metric points are really built). Reported: the
median and p99 µs per call, the added µs over ``plain`` (the median over rounds of each
round's median difference, so slow drift of a shared machine cancels out) and the ratio of
medians. Two 1 KB
prompts: one clean, one carrying an e-mail address and a phone number (findings are
recorded as events, which is the heavier case).

Target (issue 4): the guarded and traced call in observe mode adds no more than the
official tracing-only instrumentation does, with 1 KB prompts.

Table "httpx2 other traffic": the httpx instrumentor on requests that are not LLM calls (a
POST to another path, a GET), which it must pass through at near-zero cost.
"""

from __future__ import annotations

import gc
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

from benchmarks._common import percentile

TITLE = "Instrumentation overhead per openai call"

_SENTENCE = "I would like to book a trip to Lisbon in May for two people, flexible dates. "
PROMPTS: tuple[tuple[str, str], ...] = (
    ("1 KB clean", (_SENTENCE * 14)[:1024]),
    (
        "1 KB, 2 entities",
        (_SENTENCE * 12)[:930] + " Mail jane.doe@example.com or call +44 20 7946 0958.",
    ),
)
ANSWER = "Lisbon in May is lovely: mild weather, long evenings and plenty of festivals. " * 1
CHUNK = 4  # ANSWER in ~20 stream chunks
VARIANTS = (
    "plain",
    "official",
    "tsz observe",
    "tsz observe, inline",
    "tsz mask",
    "tsz + official",
)


class _Drop(SpanExporter):
    """Accepts and forgets spans: the export itself costs nothing."""

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None


@dataclass(frozen=True, slots=True)
class _Budget:
    rounds: int
    calls: int
    warmup: int

    @classmethod
    def of(cls, smoke: bool) -> _Budget:
        return cls(rounds=1, calls=2, warmup=1) if smoke else cls(rounds=12, calls=20, warmup=5)


# --------------------------------------------------------------------------- the server


@contextmanager
def _server(smoke: bool) -> Iterator[str]:
    """The LLM server's base URL: in-process for smoke runs, else a separate process."""
    from tsz_otel.testing.llm_server import LLMServer, Script

    if smoke:
        with LLMServer() as server:
            server.set_default(Script(reply=ANSWER, chunk_size=CHUNK, times=None))
            yield server.base_url
        return
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tsz_otel.testing.llm_server",
            "--port",
            "0",
            "--reply",
            ANSWER,
            "--chunk-size",
            str(CHUNK),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        found = re.search(r"base_url (\S+)\)", line)
        if found is None:
            raise RuntimeError(f"llm server did not start: {line!r}")
        yield found.group(1)
    finally:
        process.terminate()
        process.wait(10)


# --------------------------------------------------------------------------- instrumentation


class _Variants:
    """Switches between the variants: instrument before a batch, uninstrument after."""

    def __init__(self) -> None:
        from opentelemetry.instrumentation.genai.openai import OpenAIInstrumentor
        from tsz_otel_instrumentation.openai import TszOpenAIInstrumentor

        from tsz_otel import Settings
        from tsz_otel.guard import Guard

        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(_Drop()))
        self.meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
        settings = Settings.from_env(environ={})
        inline = Settings.from_env(environ={}, observe_async=False)
        self._guards = {
            name: Guard(
                chosen,
                mode=mode,
                tracer_provider=self.tracer_provider,
                meter_provider=self.meter_provider,
            )
            for name, mode, chosen in (
                ("observe", "observe", settings),
                ("observe, inline", "observe", inline),
                ("mask", "mask", settings),
            )
        }
        self._official = OpenAIInstrumentor()
        self._tsz = TszOpenAIInstrumentor()

    def guard(self, mode: str) -> Any:
        return self._guards[mode]

    def _install(self, variant: str) -> None:
        providers = {"tracer_provider": self.tracer_provider}
        if "official" in variant:
            self._official.instrument(**providers, meter_provider=self.meter_provider)
        if variant.startswith("tsz"):
            name = "mask" if "mask" in variant else "observe"
            name += ", inline" if "inline" in variant else ""
            self._tsz.instrument(guard=self._guards[name], **providers)

    def _remove(self) -> None:
        if self._tsz.is_instrumented_by_opentelemetry:
            self._tsz.force_flush(30)  # background checks are part of this variant's batch
            self._tsz.uninstrument()
        if self._official.is_instrumented_by_opentelemetry:
            self._official.uninstrument()

    @contextmanager
    def active(self, variant: str) -> Iterator[None]:
        self._install(variant)
        try:
            yield
        finally:
            self._remove()

    def shutdown(self) -> None:
        self._remove()
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()


# --------------------------------------------------------------------------- measuring


def _calls(base_url: str, prompt: str) -> dict[str, Callable[[], object]]:
    import openai

    client = openai.OpenAI(base_url=base_url, api_key="bench", max_retries=0)
    messages = [{"role": "user", "content": prompt}]

    def whole() -> object:
        return client.chat.completions.create(model="bench-model", messages=messages)

    def stream() -> object:
        chunks = client.chat.completions.create(model="bench-model", messages=messages, stream=True)
        return sum(1 for _ in chunks)

    return {"non-stream": whole, "stream": stream}


def _timed(fn: Callable[[], object], calls: int) -> list[float]:
    samples = []
    for _ in range(calls):
        started = time.perf_counter_ns()
        fn()
        samples.append((time.perf_counter_ns() - started) / 1000)
    return samples


Samples = dict[str, list[list[float]]]
"""Per variant, per round, the µs of each call."""


def _measure(
    variants: _Variants, fn: Callable[[], object], budget: _Budget, names: Sequence[str]
) -> Samples:
    samples: Samples = {name: [] for name in names}
    for round_index in range(budget.rounds):
        shift = round_index % len(names)
        for name in [*names[shift:], *names[:shift]]:
            with variants.active(name):
                for _ in range(budget.warmup):
                    fn()
                gc.collect()
                samples[name].append(_timed(fn, budget.calls))
    return samples


def _rows(label: str, kind: str, samples: Samples) -> list[dict[str, Any]]:
    plain_rounds = [statistics.median(batch) for batch in samples["plain"]]
    plain = statistics.median([v for batch in samples["plain"] for v in batch])
    rows = []
    for name, batches in samples.items():
        values = [v for batch in batches for v in batch]
        paired = [
            statistics.median(batch) - base
            for batch, base in zip(batches, plain_rounds, strict=True)
        ]
        median = statistics.median(values)
        rows.append(
            {
                "table": f"{kind}, µs per call",
                "prompt": label,
                "variant": name,
                "median": median,
                "p99": percentile(values, 0.99),
                "added (median)": statistics.median(paired),
                "ratio": median / plain,
                "calls": len(values),
            }
        )
    return rows


def _target(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        if row.get("variant") != "tsz observe":
            continue
        official = next(
            r
            for r in rows
            if r.get("variant") == "official"
            and (r["prompt"], r["table"]) == (row["prompt"], row["table"])
        )
        out.append(
            {
                "table": "targets",
                "target": f"tsz observe adds <= official ({row['table'].split(',')[0]}, "
                f"{row['prompt']})",
                "goal": f"<= {official['added (median)']:.0f} µs",
                "measured": f"{row['added (median)']:.0f} µs",
                "met": row["added (median)"] <= official["added (median)"],
            }
        )
    return out


def _breakdown(variants: _Variants, label: str, prompt: str, budget: _Budget) -> dict[str, Any]:
    """What the two guard checks of one call cost on their own (same pipeline)."""
    guard = variants.guard("observe")
    request = [{"role": "user", "content": prompt}]
    answer = [{"role": "assistant", "content": ANSWER}]

    def checks() -> None:
        guard.check(request, "llm_input")
        guard.check(answer, "llm_output")

    for _ in range(budget.warmup):
        checks()
    samples = _timed(checks, budget.rounds * budget.calls)
    return {
        "table": "guard checks alone (observe), µs per call",
        "prompt": label,
        "input + output check": statistics.median(samples),
    }


def _other_traffic(variants: _Variants, base_url: str, budget: _Budget) -> list[dict[str, Any]]:
    """The httpx instrumentor on requests that are not LLM calls: what passing them costs."""
    import httpx2
    from tsz_otel_instrumentation.httpx import TszHTTPXInstrumentor

    instrumentor = TszHTTPXInstrumentor()
    rows = []
    with httpx2.Client() as client:
        calls = {
            "POST non-LLM path": lambda: client.post(base_url + "/orders", content=b"{}"),
            "GET": lambda: client.get(base_url + "/models"),
        }
        for label, fn in calls.items():
            samples: Samples = {"plain": [], "tsz httpx": []}
            for _ in range(budget.rounds):
                for name in samples:
                    if name != "plain":
                        instrumentor.instrument(
                            guard=variants.guard("observe"),
                            tracer_provider=variants.tracer_provider,
                        )
                    for _ in range(budget.warmup):
                        fn()
                    samples[name].append(_timed(fn, budget.calls))
                    if instrumentor.is_instrumented_by_opentelemetry:
                        instrumentor.uninstrument()
            for row in _rows(label, "httpx2 other traffic", samples):
                rows.append(row)
    return rows


def run(smoke: bool) -> list[dict[str, Any]]:
    budget = _Budget.of(smoke)
    variants = _Variants()
    names = VARIANTS[:3] if smoke else VARIANTS
    rows: list[dict[str, Any]] = []
    try:
        with _server(smoke) as base_url:
            for label, prompt in PROMPTS[:1] if smoke else PROMPTS:
                for kind, fn in _calls(base_url, prompt).items():
                    rows += _rows(label, kind, _measure(variants, fn, budget, names))
                rows.append(_breakdown(variants, label, prompt, budget))
            rows += _other_traffic(variants, base_url, budget)
    finally:
        variants.shutdown()
    return rows + _target(rows)


if __name__ == "__main__":
    for row in run(smoke="--smoke" in sys.argv):
        print(row)
