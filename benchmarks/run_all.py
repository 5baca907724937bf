"""Run the registered benchmarks, print their tables, optionally record them.

Usage::

    python benchmarks/run_all.py                      # every benchmark, full size
    python benchmarks/run_all.py accuracy throughput  # only these
    python benchmarks/run_all.py --smoke              # seconds-long check that all of them run
    python benchmarks/run_all.py --record             # also rewrite their sections of RESULTS.md
    python benchmarks/run_all.py --list

A benchmark is a module with ``run(smoke: bool) -> list[dict]`` (and optionally a
``TITLE``), registered by one row in :data:`BENCHMARKS`. Each dict is a table row;
its optional ``"table"`` key names the sub-table it belongs to, every other key is
a column. Rows in the ``"targets"`` table (``target``, ``goal``, ``measured``,
``met``) are also gathered into one acceptance summary at the end. ``--smoke`` must
make ``run`` finish in a second or two with tiny sizes (it runs inside
``make test``).

Exit codes: 0 all ran; 1 a benchmark crashed (its traceback is printed and the
others still run); 2 bad arguments or missing data; 3 with ``--check-targets`` when
a target was missed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import platform
import subprocess
import sys
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as ``python benchmarks/run_all.py``
    sys.path.insert(0, str(ROOT))

RESULTS = ROOT / "benchmarks" / "RESULTS.md"
TARGETS = "targets"
PACKAGES = ("tsz-otel", "pydantic", "google-re2", "phonenumbers", "presidio-analyzer", "spacy")

EXIT_OK, EXIT_CRASHED, EXIT_USAGE, EXIT_MISSED = 0, 1, 2, 3


@dataclass(frozen=True, slots=True)
class Benchmark:
    """A registered benchmark: its CLI name and the module that has ``run(smoke)``."""

    name: str
    module: str
    summary: str


BENCHMARKS: tuple[Benchmark, ...] = (
    Benchmark("accuracy", "benchmarks.bench_accuracy", "precision/recall/F1 on the dev sets"),
    Benchmark("throughput", "benchmarks.bench_throughput", "texts/s and MB/s vs Presidio"),
    Benchmark("latency", "benchmarks.bench_latency", "µs per detect call, 200 B to 100 KB"),
    Benchmark("telemetry", "benchmarks.bench_telemetry", "guarded check vs bare engine; scrub"),
    Benchmark("cache", "benchmarks.bench_cache", "AI score cache: model calls, Redis hit µs"),
    Benchmark("instrumentation", "benchmarks.bench_instrumentation", "µs added per openai call"),
)
"""Add a benchmark by adding a row."""


@dataclass(slots=True)
class Outcome:
    benchmark: Benchmark
    title: str
    rows: list[dict[str, Any]]
    seconds: float
    error: str | None = None
    missing_data: bool = False


# --------------------------------------------------------------------------- formatting


def fmt(value: Any) -> str:
    """One cell: 3 decimals for small floats, fewer for large ones."""
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value != value:  # NaN
            return "n/a"
        if abs(value) < 10:
            return f"{value:.3f}"
        if abs(value) < 1000:
            return f"{value:.1f}"
        return f"{value:,.0f}"
    return str(value)


def group_tables(rows: Sequence[dict[str, Any]], default: str) -> dict[str, list[dict[str, Any]]]:
    """Rows by their ``table`` key, in first-seen order, without that key."""
    tables: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        name = str(row.get("table", default))
        tables.setdefault(name, []).append({k: v for k, v in row.items() if k != "table"})
    return tables


def _columns(rows: Sequence[dict[str, Any]]) -> list[str]:
    columns: list[str] = []
    for row in rows:
        columns += [key for key in row if key not in columns]
    return columns


def text_table(rows: Sequence[dict[str, Any]]) -> str:
    columns = _columns(rows)
    cells = [[fmt(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(line.rstrip() for line in lines)


def markdown_table(rows: Sequence[dict[str, Any]]) -> str:
    columns = _columns(rows)
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        cells = [fmt(row.get(c)).replace("|", "\\|") for c in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def print_tables(title: str, rows: Sequence[dict[str, Any]]) -> None:
    for name, table in group_tables(rows, title).items():
        print(f"\n== {title}: {name} ==" if name != title else f"\n== {title} ==")
        print(text_table(table))


# --------------------------------------------------------------------------- environment


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _git(*args: str) -> str:
    """Output of a read-only git command (``--no-optional-locks``: never writes the index)."""
    try:
        done = subprocess.run(
            ["git", "--no-optional-locks", "-C", str(ROOT), *args],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def _git_commit() -> str:
    """The commit measured, marked when the working tree had uncommitted changes."""
    commit = _git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = _git("status", "--porcelain")
    return f"{commit} + uncommitted changes" if dirty else commit


def environment() -> dict[str, str]:
    """Where and with what the numbers were measured."""
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{_cpu_model()}, {os.cpu_count()} cores, {platform.system()} "
        f"{platform.release()}",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "packages": ", ".join(f"{p} {_version(p)}" for p in PACKAGES),
        "commit": _git_commit(),
    }


# --------------------------------------------------------------------------- recording


def _markers(name: str) -> tuple[str, str]:
    return f"<!-- BEGIN {name} -->", f"<!-- END {name} -->"


def section(outcome: Outcome, env: dict[str, str], command: str) -> str:
    """The Markdown of one benchmark's recorded results, markers included."""
    begin, end = _markers(outcome.benchmark.name)
    lines = [begin, f"## {outcome.title}", ""]
    lines += [
        f"Recorded {env['date']} on {env['machine']}; {env['python']}; {env['packages']}; "
        f"commit {env['commit']}. Command: `{command}` ({outcome.seconds:.0f} s).",
        "",
    ]
    for name, table in group_tables(outcome.rows, outcome.title).items():
        if name != outcome.title:
            lines += [f"**{name}**", ""]
        lines += [markdown_table(table), ""]
    lines.append(end)
    return "\n".join(lines)


def record(path: Path, outcomes: Sequence[Outcome], env: dict[str, str], command: str) -> None:
    """Replace each benchmark's section of ``path`` (append when it has none)."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    for outcome in outcomes:
        begin, end = _markers(outcome.benchmark.name)
        new = section(outcome, env, command)
        first, last = text.find(begin), text.find(end)
        if 0 <= first < last:
            text = text[:first] + new + text[last + len(end) :]
        else:
            text = text.rstrip("\n") + "\n\n" + new + "\n"
    path.write_text(text, encoding="utf-8")


# --------------------------------------------------------------------------- running


def run_one(benchmark: Benchmark, smoke: bool) -> Outcome:
    """Import and run one benchmark; a crash is captured, not raised."""
    from benchmarks._common import DataMissingError

    started = time.perf_counter()
    title = benchmark.name
    try:
        module = importlib.import_module(benchmark.module)
        title = str(getattr(module, "TITLE", benchmark.name))
        rows = list(module.run(smoke))
    except DataMissingError as exc:
        return Outcome(benchmark, title, [], time.perf_counter() - started, str(exc), True)
    except Exception:  # a crash is reported and the other benchmarks still run
        error = traceback.format_exc()
        return Outcome(benchmark, title, [], time.perf_counter() - started, error)
    return Outcome(benchmark, title, rows, time.perf_counter() - started)


def target_summary(outcomes: Sequence[Outcome]) -> list[dict[str, Any]]:
    return [
        {"benchmark": o.benchmark.name} | row
        for o in outcomes
        for row in group_tables(o.rows, o.title).get(TARGETS, [])
    ]


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Run the tsz-otel benchmarks.",
        epilog="benchmarks: " + ", ".join(f"{b.name} ({b.summary})" for b in BENCHMARKS),
    )
    parser.add_argument("names", nargs="*", metavar="NAME", help="benchmarks to run (all)")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, seconds in total")
    parser.add_argument("--record", action="store_true", help=f"rewrite sections of {RESULTS}")
    parser.add_argument("--json", metavar="FILE", help="also write the raw rows as JSON")
    parser.add_argument(
        "--check-targets", action="store_true", help=f"exit {EXIT_MISSED} if a target is missed"
    )
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    return parser.parse_args(argv)


def _select(names: Sequence[str]) -> list[Benchmark]:
    """The named benchmarks (all when none is named); ``ValueError`` for an unknown name."""
    known = {b.name: b for b in BENCHMARKS}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(known)}")
    return [known[n] for n in names] if names else list(BENCHMARKS)


def _report(outcomes: Sequence[Outcome]) -> None:
    for outcome in outcomes:
        if outcome.missing_data:
            print(f"\n== {outcome.title}: NOT RUN: {outcome.error} ==")
        elif outcome.error:
            print(f"\n== {outcome.title}: CRASHED after {outcome.seconds:.1f} s ==")
            print(outcome.error, file=sys.stderr)
        else:
            print_tables(outcome.title, outcome.rows)
            print(f"({outcome.benchmark.name}: {outcome.seconds:.1f} s)")
    summary = target_summary(outcomes)
    if summary:
        print_tables("acceptance targets", [{"table": "acceptance targets"} | r for r in summary])


def _exit_code(outcomes: Sequence[Outcome], check_targets: bool) -> int:
    if any(o.error and not o.missing_data for o in outcomes):
        return EXIT_CRASHED
    if any(o.missing_data for o in outcomes):
        return EXIT_USAGE
    if check_targets and any(r.get("met") is False for r in target_summary(outcomes)):
        return EXIT_MISSED
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    if args.list:
        for b in BENCHMARKS:
            print(f"{b.name:<12} {b.summary}  ({b.module})")
        return EXIT_OK
    if args.record and args.smoke:
        print("run_all: --record needs a full run (smoke numbers are meaningless)", file=sys.stderr)
        return EXIT_USAGE
    try:
        selected = _select(args.names)
    except ValueError as exc:
        print(f"run_all: {exc}", file=sys.stderr)
        return EXIT_USAGE
    outcomes = [run_one(b, args.smoke) for b in selected]
    _report(outcomes)
    if args.smoke:
        print("\n(smoke run: tiny inputs; the numbers above prove only that everything runs)")
    if args.json:
        data = [{"benchmark": o.benchmark.name, "rows": o.rows, "error": o.error} for o in outcomes]
        Path(args.json).write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")
    if args.record:
        ok = [o for o in outcomes if not o.error]
        command = "python benchmarks/run_all.py " + " ".join(b.name for b in selected)
        record(RESULTS, ok, environment(), command.strip())
        print(f"\nrecorded {', '.join(o.benchmark.name for o in ok) or 'nothing'} in {RESULTS}")
    return _exit_code(outcomes, args.check_targets)


if __name__ == "__main__":
    raise SystemExit(main())
