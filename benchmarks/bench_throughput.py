"""Throughput on the dev texts, side by side with Presidio's pattern-only analyzer.

Both contenders scan the same texts (every record of ``pii_dev.jsonl`` and
``injection_dev.jsonl``) one call per text in this single process. Time is CPU time
(``time.process_time``), so other work on a shared machine does not count. Each
contender is warmed up first; then the repeats are interleaved (ours, Presidio,
Presidio, ours, ...) so drift hits both alike, and the median pass is reported.
Presidio runs only in full runs (its set-up imports spaCy and takes seconds).

Presidio's pattern recognizers find PII only; our engine also runs the prompt-injection
detector on every text. A third contender, the same engine with the injection types
disabled (``TSZ_DISABLED_PATTERNS``), shows the like-for-like scope. It is reported for
information; the target is measured on the engine as shipped.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Sequence
from typing import Any

from benchmarks import presidio_ref
from benchmarks._common import load_injection, load_pii, make_engine, median, utf8_len
from tsz_otel import Engine

TITLE = "Throughput vs Presidio (pattern recognizers, blank spaCy)"

REPEATS = 5
SMOKE_REPEATS = 1
WARMUP_TEXTS = 300
TARGET_RATIO = 30.0
OURS = "tsz-otel Engine.detect"
PII_ONLY = "tsz-otel Engine.detect, injection types disabled"
PRESIDIO = "presidio AnalyzerEngine.analyze"

Scan = Callable[[str], object]


def corpus(smoke: bool) -> list[str]:
    """The benchmark texts: the PII set, then the injection set."""
    return [r.text for r in load_pii(smoke)] + [r.text for r in load_injection(smoke)]


def timed_pass(scan: Scan, texts: Sequence[str]) -> float:
    """CPU seconds to scan every text once."""
    gc.collect()
    started = time.process_time()
    for text in texts:
        scan(text)
    return time.process_time() - started


def measure(
    contenders: Sequence[tuple[str, Scan]], texts: Sequence[str], repeats: int
) -> dict[str, list[float]]:
    """Warm each contender up, then interleave ``repeats`` timed passes."""
    for _, scan in contenders:
        for text in texts[:WARMUP_TEXTS]:
            scan(text)
    times: dict[str, list[float]] = {name: [] for name, _ in contenders}
    for repeat in range(repeats):
        order = contenders if repeat % 2 == 0 else list(reversed(contenders))
        for name, scan in order:
            times[name].append(timed_pass(scan, texts))
    return times


def _presidio(smoke: bool) -> tuple[tuple[str, Scan] | None, list[dict[str, Any]]]:
    """The Presidio contender (or why there is none) and its set-up rows."""
    if smoke:
        return None, [_setup_row("presidio", "skipped in --smoke (slow to set up)")]
    started = time.perf_counter()
    if not presidio_ref.available():
        return None, [_setup_row("presidio", "not installed (pip install -e '.[dev]')")]
    analyzer, recognizers = presidio_ref.build_analyzer()
    seconds = time.perf_counter() - started

    def analyze(text: str) -> object:
        return analyzer.analyze(text, language="en")

    rows = [
        _setup_row("presidio import + set-up (s, wall)", f"{seconds:.2f}"),
        _setup_row(f"presidio recognizers ({len(recognizers)})", ", ".join(recognizers)),
    ]
    return (PRESIDIO, analyze), rows


def _pii_only(engine: Engine) -> Scan:
    """``detect`` of an engine like ``engine`` without the injection detector's types."""
    settings = engine.settings.model_copy(update={"disabled_patterns": engine.injection_types})
    return Engine(settings).detect


def _setup_row(item: str, value: str) -> dict[str, Any]:
    return {"table": "set-up", "item": item, "value": value}


def _result_rows(
    times: dict[str, list[float]], texts: Sequence[str], total_bytes: int
) -> list[dict[str, Any]]:
    reference = median(times[PRESIDIO]) if PRESIDIO in times else None
    rows = []
    for name, samples in times.items():
        seconds = median(samples)
        rows.append(
            {
                "table": "throughput (CPU time, median pass)",
                "engine": name,
                "texts": len(texts),
                "MB": total_bytes / 1e6,
                "passes": len(samples),
                "median s": seconds,
                "texts/s": len(texts) / seconds,
                "MB/s": total_bytes / seconds / 1e6,
                "speed vs presidio": f"{reference / seconds:.1f}x" if reference else "-",
            }
        )
    return rows


def _target_row(times: dict[str, list[float]]) -> dict[str, Any]:
    row: dict[str, Any] = {"table": "targets", "target": "throughput vs presidio"}
    row["goal"] = f">= {TARGET_RATIO:.0f}x"
    if PRESIDIO not in times:
        return row | {"measured": "not measured", "met": None}
    ratio = median(times[PRESIDIO]) / median(times[OURS])
    return row | {"measured": f"{ratio:.1f}x", "met": ratio >= TARGET_RATIO}


def run(smoke: bool) -> list[dict[str, Any]]:
    """The benchmark entry point used by ``run_all.py``."""
    texts = corpus(smoke)
    engine = make_engine()
    contenders: list[tuple[str, Scan]] = [(OURS, engine.detect), (PII_ONLY, _pii_only(engine))]
    presidio, rows = _presidio(smoke)
    if presidio is not None:
        contenders.append(presidio)
    times = measure(contenders, texts, SMOKE_REPEATS if smoke else REPEATS)
    return rows + _result_rows(times, texts, utf8_len(texts)) + [_target_row(times)]
