"""What every benchmark shares: the dev data, the engine under test, timing helpers.

The labelled data lives outside the repository, in ``<repo>/../shared/data``
(``TSZ_DATA_DIR`` overrides it). A fresh clone does not have it, so ``--smoke``
falls back to the few synthetic records in ``benchmarks/data/`` (the smoke run only
proves that the benchmarks work); full runs refuse to report numbers without it.
"""

from __future__ import annotations

import functools
import json
import math
import os
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tsz_otel import Engine
    from tsz_otel.models import DetectionResult

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DIR = Path(__file__).resolve().parent / "data"
PII_FILE = "pii_dev.jsonl"
INJECTION_FILE = "injection_dev.jsonl"
SMOKE_RECORDS = 40
"""How many records of each dev set a smoke run uses."""


class DataMissingError(RuntimeError):
    """The dev data set is not where the benchmarks look for it."""


@dataclass(frozen=True, slots=True)
class Span:
    """A labelled entity: Python ``str`` offsets, end exclusive."""

    type: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class PiiRecord:
    id: str
    text: str
    spans: tuple[Span, ...]
    kind: str

    @property
    def negative(self) -> bool:
        """Hard negatives: the data set promises no entity in them."""
        return self.kind.startswith("neg_")


@dataclass(frozen=True, slots=True)
class InjectionRecord:
    id: str
    text: str
    injection: bool
    category: str
    lang: str


def data_dir() -> Path:
    """``TSZ_DATA_DIR`` or the shared data folder next to the repository."""
    override = os.environ.get("TSZ_DATA_DIR")
    return Path(override) if override else ROOT.parent / "shared" / "data"


def _data_file(name: str, smoke: bool) -> tuple[Path, int | None]:
    """The file to read and how many records to take from it."""
    path = data_dir() / name
    if path.is_file():
        return path, SMOKE_RECORDS if smoke else None
    if smoke:
        return SAMPLE_DIR / f"sample_{name.replace('_dev', '')}", None
    raise DataMissingError(
        f"{path} not found: set TSZ_DATA_DIR to the folder holding {name} "
        "(only --smoke runs without it)"
    )


def _read_jsonl(path: Path, limit: int | None) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with path.open(encoding="utf-8") as stream:
        for line in stream:
            if line.strip():
                rows.append(json.loads(line))
            if limit is not None and len(rows) >= limit:
                break
    return rows


def load_pii(smoke: bool = False) -> list[PiiRecord]:
    """``pii_dev.jsonl`` (or its smoke stand-in)."""
    path, limit = _data_file(PII_FILE, smoke)
    return [
        PiiRecord(
            id=row["id"],
            text=row["text"],
            spans=tuple(Span(s["type"], s["start"], s["end"]) for s in row["spans"]),
            kind=row["kind"],
        )
        for row in _read_jsonl(path, limit)
    ]


def load_injection(smoke: bool = False) -> list[InjectionRecord]:
    """``injection_dev.jsonl`` (or its smoke stand-in)."""
    path, limit = _data_file(INJECTION_FILE, smoke)
    return [
        InjectionRecord(
            id=row["id"],
            text=row["text"],
            injection=row["label"] == "injection",
            category=row["category"],
            lang=row.get("lang", "en"),
        )
        for row in _read_jsonl(path, limit)
    ]


def data_source(smoke: bool) -> str:
    """Where the records came from, for the report."""
    path, limit = _data_file(PII_FILE, smoke)
    where = os.path.relpath(path.parent, ROOT)
    return f"{where} (first {limit} records)" if limit else where


@functools.cache
def make_engine() -> Engine:
    """The engine under test with the documented defaults, built once per process.

    The caller's environment is ignored on purpose (``environ={}``): a stray
    ``PII_MODE`` or threshold variable must not change recorded numbers. The
    benchmarks only call ``detect``, so sharing one engine between them is safe
    and keeps ``--smoke`` from compiling the catalogue three times. The clean-text
    memo is off (``clean_cache_size=0``): these benchmarks scan the same texts
    again and again and must measure the scan, not the memo.
    """
    from tsz_otel import Engine, Settings

    return Engine(Settings.from_env(environ={}, clean_cache_size=0))


def char_span(text: str, detection: DetectionResult) -> tuple[int, int]:
    """A detection's Python ``str`` offsets (the engine fills them; bytes as a fallback)."""
    if detection.char_start is not None and detection.char_end is not None:
        return detection.char_start, detection.char_end
    encoded = text.encode("utf-8", errors="surrogatepass")
    start = len(encoded[: detection.start].decode("utf-8", errors="surrogatepass"))
    end = len(encoded[: detection.end].decode("utf-8", errors="surrogatepass"))
    return start, end


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (no interpolation: p99 of 100 samples is the 99th)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered) - 1e-9))
    return ordered[min(rank, len(ordered)) - 1]


def utf8_len(texts: Iterable[str]) -> int:
    return sum(len(text.encode("utf-8", errors="surrogatepass")) for text in texts)
