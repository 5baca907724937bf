"""What the openai instrumentor adds to a real call, next to the official instrumentation.

The real ``openai`` SDK calls the local LLM server (a separate process, so the server's
work does not compete with the client for the GIL or the client's CPU time) with a ~1 KB
prompt, non-streaming and streaming (a 20-chunk answer, fully iterated). Variants, measured
in interleaved rounds so machine noise hits them alike:

* ``plain``: no instrumentation;
* ``official``: ``opentelemetry-instrumentation-genai-openai`` (tracing only, content off);
* ``tsz observe``: the tsz openai instrumentor in observe mode, as shipped (``chat`` span,
  input and output ``apply_guardrail`` spans with their finding events and metrics; the
  checks run inline, ``TSZ_OBSERVE_ASYNC=false`` being the default);
* ``tsz observe, async``: the same with ``TSZ_OBSERVE_ASYNC=true`` (the checks run on the
  instrumentor's worker thread), the measurement behind that default;
* ``tsz mask``: the same in mask mode (the prompt is redacted before it is sent);
* ``tsz + official``: both at once (the official span is the parent).

Every variant exports through ``SimpleSpanProcessor`` to an exporter that drops spans, with
a ``MeterProvider`` (so spans, events and metric points are really built). Reported per
variant:

* wall clock: the median and p99 µs per call, the added µs over ``plain`` (the median over
  rounds of each round's median difference, so slow drift of a shared machine cancels out)
  and the ratio of medians;
* CPU: the client process's CPU time per call (``time.process_time``, all threads, so work
  moved to a background thread still counts; a batch is measured up to the moment its
  background checks finished), and the added CPU µs over ``plain``, paired per round like
  the wall clock. On a shared 2-core machine CPU time is the steadier of the two: other
  tenants slow the wall clock, not the instructions this process runs.

Two 1 KB prompts: one clean, one carrying an e-mail address and a phone number (findings
are recorded as events, which is the heavier case). Each call sends a new text (the prompt
with a different nonsense reference word at its start, same length), so the engine's
clean-text memo never answers and every check really scans. A third row, ``1 KB clean,
repeated``, sends the very same prompt every call, as a chat's system prompt and history
are sent again on every turn: there the memo answers the input check.

Target (issue 4): the guarded and traced call in observe mode adds no more than the
official tracing-only instrumentation does, with 1 KB prompts (checked on wall clock and on
CPU time).

Table "httpx2 other traffic": the httpx instrumentor on requests that are not LLM calls (a
POST to another path, a GET), which it must pass through at near-zero cost.
"""

from __future__ import annotations

import gc
import itertools
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
REPEATED = "1 KB clean, repeated"
"""The label of the row that sends the same clean prompt on every call."""
_TAG_LETTERS = "bcdfghjklmnpqrstvwxz"  # consonants only: a tag never spells a keyword
_TAG_WIDTH = 6


def fresh_texts(prompt: str) -> Callable[[], str]:
    """A new text of ``len(prompt)`` characters on every call: ``Ref <tag>. `` in place
    of the prompt's first characters, the tag counting up in consonants."""
    counter = itertools.count()

    def fresh() -> str:
        number, tag = next(counter), ""
        for _ in range(_TAG_WIDTH):
            number, digit = divmod(number, len(_TAG_LETTERS))
            tag += _TAG_LETTERS[digit]
        stamp = f"Ref {tag}. "
        return stamp + prompt[len(stamp) :]

    return fresh


ANSWER = "Lisbon in May is lovely: mild weather, long evenings and plenty of festivals. " * 1
CHUNK = 4  # ANSWER in ~20 stream chunks
VARIANTS = (
    "plain",
    "official",
    "tsz observe",
    "tsz observe, async",
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
        return cls(rounds=1, calls=2, warmup=1) if smoke else cls(rounds=30, calls=20, warmup=5)


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
        background = Settings.from_env(environ={}, observe_async=True)
        self._guards = {
            name: Guard(
                chosen,
                mode=mode,
                tracer_provider=self.tracer_provider,
                meter_provider=self.meter_provider,
            )
            for name, mode, chosen in (
                ("observe", "observe", settings),
                ("observe, async", "observe", background),
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
            name += ", async" if "async" in variant else ""
            self._tsz.instrument(guard=self._guards[name], **providers)

    def settle(self) -> None:
        """Wait for the background checks of the calls made so far (none when inline)."""
        if self._tsz.is_instrumented_by_opentelemetry:
            self._tsz.force_flush(30)

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


def _calls(base_url: str, prompt: str, repeated: bool = False) -> dict[str, Callable[[], object]]:
    """The non-stream and stream call, each with a new prompt text per call (unless
    ``repeated``)."""
    import openai

    client = openai.OpenAI(base_url=base_url, api_key="bench", max_retries=0)
    text = (lambda: prompt) if repeated else fresh_texts(prompt)

    def whole() -> object:
        messages = [{"role": "user", "content": text()}]
        return client.chat.completions.create(model="bench-model", messages=messages)

    def stream() -> object:
        messages = [{"role": "user", "content": text()}]
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


@dataclass(slots=True)
class _Batch:
    """One round of one variant: wall µs of each call, CPU µs per call of the batch."""

    wall: list[float]
    cpu: float


Samples = dict[str, list[_Batch]]
"""Per variant, one batch per round."""


def _batch(variants: _Variants, fn: Callable[[], object], calls: int) -> _Batch:
    started = time.process_time_ns()
    wall = _timed(fn, calls)
    variants.settle()  # background checks of this batch are part of its CPU time
    return _Batch(wall, (time.process_time_ns() - started) / 1000 / calls)


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
                variants.settle()
                gc.collect()
                samples[name].append(_batch(variants, fn, budget.calls))
    return samples


def _paired(batches: list[_Batch], plain: list[_Batch]) -> tuple[float, float]:
    """Median over rounds of (this variant minus plain): wall (of medians) and CPU."""
    wall = [
        statistics.median(b.wall) - statistics.median(p.wall)
        for b, p in zip(batches, plain, strict=True)
    ]
    cpu = [b.cpu - p.cpu for b, p in zip(batches, plain, strict=True)]
    return statistics.median(wall), statistics.median(cpu)


def _rows(label: str, kind: str, samples: Samples) -> list[dict[str, Any]]:
    plain = statistics.median([v for batch in samples["plain"] for v in batch.wall])
    rows = []
    for name, batches in samples.items():
        values = [v for batch in batches for v in batch.wall]
        added, cpu_added = _paired(batches, samples["plain"])
        median = statistics.median(values)
        rows.append(
            {
                "table": f"{kind}, µs per call",
                "prompt": label,
                "variant": name,
                "median": median,
                "p99": percentile(values, 0.99),
                "added (median)": added,
                "ratio": median / plain,
                "cpu": statistics.median(b.cpu for b in batches),
                "cpu added": cpu_added,
                "calls": len(values),
            }
        )
    return rows


def _target(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        if row.get("variant") != "tsz observe" or row["prompt"] == REPEATED:
            continue  # (the repeated prompt shows the memo; the targets are on new texts)
        official = next(
            r
            for r in rows
            if r.get("variant") == "official"
            and (r["prompt"], r["table"]) == (row["prompt"], row["table"])
        )
        where = f"{row['table'].split(',')[0]}, {row['prompt']}"
        for column, unit in (("added (median)", "wall"), ("cpu added", "CPU")):
            out.append(
                {
                    "table": "targets",
                    "target": f"tsz observe adds <= official ({where}, {unit})",
                    "goal": f"<= {official[column]:.0f} µs",
                    "measured": f"{row[column]:.0f} µs",
                    "met": row[column] <= official[column],
                }
            )
    return out


def _breakdown(variants: _Variants, label: str, prompt: str, budget: _Budget) -> dict[str, Any]:
    """What the two guard checks of one call cost on their own (same pipeline), split
    into the engine's two scans and the SDK floor of the telemetry the checks emit."""
    guard = variants.guard("observe")
    text = fresh_texts(prompt)
    answer = [{"role": "assistant", "content": ANSWER}]
    engine = guard.engine
    replay = _telemetry_replay(variants, prompt, answer)

    def checks() -> None:
        guard.check([{"role": "user", "content": text()}], "llm_input")
        guard.check(answer, "llm_output")

    def scans() -> None:
        engine.detect(text())
        engine.detect(ANSWER)

    parts: dict[str, Callable[[], None]] = {
        "input + output check": checks,
        "engine scans alone": scans,
        "SDK replay of their telemetry": replay,
    }
    row: dict[str, Any] = {"table": "guard checks alone (observe), µs per call", "prompt": label}
    for column, fn in parts.items():
        for _ in range(budget.warmup):
            fn()
        row[column] = statistics.median(_timed(fn, budget.rounds * budget.calls))
    return row


def _telemetry_replay(
    variants: _Variants, prompt: str, answer: list[dict[str, str]]
) -> Callable[[], None]:
    """The spans, events and metric points of one call's two checks, captured once, as
    a function that emits the same again straight through the SDK (same providers).

    This is the floor of what the design's two ``apply_guardrail`` spans and their
    metrics cost, whatever the guard does around them: every attribute is handed over
    at span start, the cheapest way the SDK offers.
    """
    from opentelemetry.sdk.metrics.export import Histogram, Sum
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from tsz_otel import Settings
    from tsz_otel.guard import Guard

    exporter, reader = InMemorySpanExporter(), InMemoryMetricReader()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    meter_provider = MeterProvider(metric_readers=[reader])
    guard = Guard(
        Settings.from_env(environ={}),
        mode="observe",
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
    )
    guard.check([{"role": "user", "content": fresh_texts(prompt)()}], "llm_input")
    guard.check(answer, "llm_output")
    spans = [
        (
            s.name,
            s.kind,
            dict(s.attributes or {}),
            [(e.name, dict(e.attributes or {})) for e in s.events],
        )
        for s in exporter.get_finished_spans()
    ]
    meter = variants.meter_provider.get_meter("tsz-otel-benchmark-replay")
    points: list[tuple[Callable[..., None], float, dict[str, Any]]] = []
    data = reader.get_metrics_data()
    for resource_metrics in data.resource_metrics if data else ():
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                if isinstance(metric.data, Histogram):
                    record = meter.create_histogram(metric.name, metric.unit).record
                    points += [(record, p.sum, dict(p.attributes)) for p in metric.data.data_points]
                elif isinstance(metric.data, Sum):
                    add = meter.create_counter(metric.name, metric.unit).add
                    points += [(add, p.value, dict(p.attributes)) for p in metric.data.data_points]
    tracer = variants.tracer_provider.get_tracer("tsz-otel-benchmark-replay")
    tracer_provider.shutdown()
    meter_provider.shutdown()

    def replay() -> None:
        for name, kind, attributes, events in spans:
            span = tracer.start_span(name, kind=kind, attributes=attributes)
            for event_name, event_attributes in events:
                span.add_event(event_name, event_attributes)
            span.end()
        for emit, value, attributes in points:
            emit(value, attributes)

    return replay


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
                    samples[name].append(_batch(variants, fn, budget.calls))
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
            if not smoke:
                fn = _calls(base_url, PROMPTS[0][1], repeated=True)["non-stream"]
                rows += _rows(REPEATED, "non-stream", _measure(variants, fn, budget, names))
            rows += _other_traffic(variants, base_url, budget)
    finally:
        variants.shutdown()
    return rows + _target(rows)


if __name__ == "__main__":
    for row in run(smoke="--smoke" in sys.argv):
        print(row)
