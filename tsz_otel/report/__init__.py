"""``tsz-otel report``: a findings report from exported guardrail spans.

Reads what an exporter wrote and writes one self-contained HTML page::

    tsz-otel report docker/siem-export/guardrail-spans.jsonl -o report.html
    python app.py > console.txt && tsz-otel report console.txt

Inputs (several may be given; ``-`` is stdin), in either format, even mixed:

* the OpenTelemetry Collector ``file`` exporter's OTLP JSON (one
  ``ExportTraceServiceRequest`` per line), e.g. ``docker/siem-export/*.jsonl``;
* the Python SDK ``ConsoleSpanExporter`` output (pretty-printed span objects, one after
  another, with the program's own prints in between).

The page: totals, decisions over time, decisions and guarded targets, findings by type,
category and severity, top rules, and blocked requests by RID. It is built from span
structure only (never a detected value; captured content, if any, is counted, not shown),
has no script, font or external reference, and escapes everything it prints.

As a library::

    from tsz_otel.report import read_spans, summarize, render_html
    parsed = read_spans(["spans.jsonl"])
    html = render_html(summarize(parsed.spans))

Pipeline: :mod:`._spans` (formats -> :class:`SpanRecord`), :mod:`._summary`
(spans -> :class:`ReportSummary`), :mod:`._html` / :mod:`._charts` (summary -> page).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from ..errors import InputError
from ._html import render_html
from ._spans import AttrValue, ParsedSpans, SpanEvent, SpanRecord, parse_spans
from ._summary import (
    BlockedRequest,
    Count,
    Evaluation,
    Finding,
    ReportSummary,
    RuleCount,
    TimeBucket,
    evaluations,
    summarize,
)

__all__ = [
    "AttrValue",
    "BlockedRequest",
    "Count",
    "Evaluation",
    "Finding",
    "ParsedSpans",
    "ReportSummary",
    "RuleCount",
    "SpanEvent",
    "SpanRecord",
    "TimeBucket",
    "add_arguments",
    "evaluations",
    "main",
    "parse_spans",
    "read_spans",
    "render_html",
    "run",
    "summarize",
    "write_report",
]

DEFAULT_OUTPUT = "report.html"
PROG = "tsz-otel report"


def read_spans(inputs: Sequence[str | Path]) -> ParsedSpans:
    """Parse every input file (``-`` = stdin) into one :class:`ParsedSpans`.

    Raises :class:`~tsz_otel.errors.InputError` naming a file that cannot be read.
    """
    parsed = ParsedSpans()
    for source in inputs:
        parsed.extend(parse_spans(_read_text(source)))
    return parsed


def _read_text(source: str | Path) -> str:
    if str(source) == "-":
        return sys.stdin.read()
    try:
        return Path(source).read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise InputError(f"cannot read {str(source)!r}: {exc.strerror or exc}") from exc


def write_report(
    inputs: Sequence[str | Path],
    output: str | Path = DEFAULT_OUTPUT,
    *,
    title: str = "tsz-otel findings report",
) -> ReportSummary:
    """Read ``inputs``, write the HTML page to ``output``, return the summary shown."""
    parsed = read_spans(inputs)
    summary = summarize(parsed.spans)
    page = render_html(
        summary,
        title=title,
        sources=[str(source) for source in inputs],
        generated_unix_nano=time.time_ns(),
        skipped=parsed.malformed,
    )
    try:
        Path(output).write_text(page, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write {str(output)!r}: {exc.strerror or exc}") from exc
    return summary


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``report`` subcommand's arguments (shared by ``tsz-otel report`` and :func:`main`)."""
    parser.add_argument(
        "inputs",
        nargs="+",
        metavar="INPUT",
        help="span file: collector file-exporter OTLP JSON lines or ConsoleSpanExporter "
        'output; several allowed; "-" reads stdin',
    )
    parser.add_argument(
        "-o",
        "--output",
        default=DEFAULT_OUTPUT,
        metavar="FILE",
        help=f"where to write the HTML page (default: {DEFAULT_OUTPUT})",
    )
    parser.add_argument("--title", default="tsz-otel findings report", help="page title")


def run(args: argparse.Namespace) -> int:
    """Write the report; one line of totals on stderr. Returns the exit code (0)."""
    summary = write_report(args.inputs, args.output, title=args.title)
    line = (
        f"wrote {args.output}: {summary.evaluations} guardrail evaluations, "
        f"{summary.findings} findings, {summary.blocked} blocked"
    )
    if not summary.evaluations:
        line += " (no apply_guardrail spans found in the input)"
    print(line, file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m tsz_otel.report``: the same as ``tsz-otel report``."""
    parser = argparse.ArgumentParser(
        prog=PROG, description="Write an HTML findings report from exported guardrail spans."
    )
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except InputError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
