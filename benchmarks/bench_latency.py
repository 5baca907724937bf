"""Latency of one ``Engine.detect`` call for 200 B, 1 KB, 10 KB and 100 KB prompts.

The prompts are built deterministically from the dev data: benign prompts and
hard-negative sentences as the body, with one labelled PII/secret record mixed in
per ~512 bytes (so a 1 KB prompt holds two or three entities, and look-alikes such as
dates, versions and order ids around them), cut to the exact UTF-8 size.

Each size is called repeatedly for a fixed time budget after a warm-up; the median
and p99 (nearest rank) of the wall-clock time per call are reported in µs, with the
median CPU time next to it (less sensitive to a busy machine). A cold-start row
shows what a fresh process (the CLI) pays to import the package and build an Engine.
"""

from __future__ import annotations

import gc
import json
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from benchmarks._common import load_injection, load_pii, make_engine, median, percentile

TITLE = "Latency per call"

SIZES: tuple[tuple[str, int], ...] = (
    ("200 B", 200),
    ("1 KB", 1024),
    ("10 KB", 10 * 1024),
    ("100 KB", 100 * 1024),
)
ENTITY_EVERY_BYTES = 512
MAX_ENTITY_RECORD = 240
SEED = 20250101
TARGET_SIZE = "1 KB"
TARGET_MEDIAN_US = 250.0


class _Budget:
    """How long each size is measured (seconds) and the call-count bounds."""

    def __init__(self, smoke: bool) -> None:
        self.seconds = 0.05 if smoke else 2.0
        self.min_calls = 2 if smoke else 60
        self.max_calls = 200 if smoke else 50_000
        self.warmup = 1 if smoke else 20


def _pieces(smoke: bool) -> tuple[list[str], list[str]]:
    """Body sentences (no labelled entity) and short records with entities."""
    pii = load_pii(smoke)
    body = [r.text for r in pii if r.negative]
    body += [r.text for r in load_injection(smoke) if not r.injection]
    entities = [r.text for r in pii if r.spans and len(r.text) <= MAX_ENTITY_RECORD]
    if not body or not entities:
        raise RuntimeError("the dev data has no negatives or no short entity records")
    return body, entities


def build_prompt(size: int, body: Sequence[str], entities: Sequence[str], seed: int) -> str:
    """A prompt of exactly ``size`` UTF-8 bytes, entities every ~512 bytes."""
    rng = random.Random(seed)
    parts: list[str] = []
    length = 0
    placed = 0
    while length < size:
        if placed * ENTITY_EVERY_BYTES <= length:
            piece = rng.choice(entities)
            placed += 1
        else:
            piece = rng.choice(body)
        parts.append(piece)
        length += len(piece.encode("utf-8")) + 1
    encoded = "\n".join(parts).encode("utf-8")[:size]
    return encoded.decode("utf-8", errors="ignore")


def time_calls(
    scan: Callable[[str], object], text: str, budget: _Budget
) -> tuple[list[float], list[float]]:
    """Wall and CPU microseconds per call."""
    for _ in range(budget.warmup):
        scan(text)
    gc.collect()
    wall: list[float] = []
    cpu: list[float] = []
    deadline = time.perf_counter() + budget.seconds
    while len(wall) < budget.max_calls and (
        len(wall) < budget.min_calls or time.perf_counter() < deadline
    ):
        c0, w0 = time.process_time_ns(), time.perf_counter_ns()
        scan(text)
        w1, c1 = time.perf_counter_ns(), time.process_time_ns()
        wall.append((w1 - w0) / 1000)
        cpu.append((c1 - c0) / 1000)
    return wall, cpu


def _cold_start() -> dict[str, Any]:
    """Seconds for a fresh interpreter to import tsz_otel and build an Engine."""
    code = (
        "import time; t = time.perf_counter(); from tsz_otel import Engine; Engine(); "
        "print(time.perf_counter() - t)"
    )
    runs = []
    for _ in range(3):
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
        )
        runs.append(float(done.stdout.strip().splitlines()[-1]))
    return {
        "table": "cold start",
        "what": "import tsz_otel + Engine() in a new process (median of 3)",
        "seconds": statistics.median(runs),
    }


def run(smoke: bool) -> list[dict[str, Any]]:
    """The benchmark entry point used by ``run_all.py``."""
    body, entities = _pieces(smoke)
    engine = make_engine()
    budget = _Budget(smoke)
    rows: list[dict[str, Any]] = []
    medians: dict[str, float] = {}
    for index, (label, size) in enumerate(SIZES):
        prompt = build_prompt(size, body, entities, SEED + index)
        findings = len(engine.detect(prompt).detections)
        wall, cpu = time_calls(engine.detect, prompt, budget)
        medians[label] = median(wall)
        rows.append(
            {
                "table": "latency per call (µs)",
                "prompt": label,
                "bytes": len(prompt.encode("utf-8")),
                "findings": findings,
                "calls": len(wall),
                "median µs": median(wall),
                "p99 µs": percentile(wall, 0.99),
                "median CPU µs": median(cpu),
                "MB/s at median": len(prompt.encode("utf-8")) / median(wall),
            }
        )
    if not smoke:
        rows.append(_cold_start())
    measured = medians[TARGET_SIZE]
    rows.append(
        {
            "table": "targets",
            "target": f"{TARGET_SIZE} prompt, median latency",
            "goal": f"<= {TARGET_MEDIAN_US:.0f} µs",
            "measured": f"{measured:.0f} µs",
            "met": measured <= TARGET_MEDIAN_US,
        }
    )
    return rows


def _dump_prompts(path: str) -> None:
    """Write the generated prompts (for inspection) as JSON Lines."""
    body, entities = _pieces(False)
    with open(path, "w", encoding="utf-8") as stream:
        for index, (label, size) in enumerate(SIZES):
            text = build_prompt(size, body, entities, SEED + index)
            stream.write(json.dumps({"id": label, "text": text}) + "\n")


if __name__ == "__main__":
    _dump_prompts(sys.argv[1] if len(sys.argv) > 1 else "latency_prompts.jsonl")
