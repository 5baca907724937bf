"""The findings report as ONE self-contained HTML page.

Inline CSS and inline SVG only: no script, no font, no image, no link to anywhere; a
Content-Security-Policy meta tag (``default-src 'none'``) makes a browser refuse any
network load even if one slipped in. Every string that came from a span is escaped.
The page shows only what :class:`~tsz_otel.report.ReportSummary` holds: decisions,
targets, types, categories, severities, rule names, request ids and counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from ..models import confidence_str
from ..version import __version__
from ._charts import DECISION_COLORS, bar_chart, decision_color, fmt_time, timeline_chart
from ._summary import DECISION_ORDER, BlockedRequest, ReportSummary, RuleCount

__all__ = ["render_html"]

_CSS = """
:root { color-scheme: light; --fg: #1f2933; --muted: #616e7c; --line: #d9dee3; }
* { box-sizing: border-box; }
body { margin: 0; padding: 24px 32px 48px; color: var(--fg); background: #f7f8fa;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 16px; margin: 0 0 12px; }
h3 { font-size: 14px; margin: 0 0 8px; color: var(--muted); font-weight: 600; }
.meta { color: var(--muted); margin: 0; }
section { background: #fff; border: 1px solid var(--line); border-radius: 6px;
  padding: 16px 20px; margin-top: 16px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 12px;
  background: none; border: 0; padding: 0; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 12px 16px; }
.card .value { font-size: 26px; font-weight: 700; font-variant-numeric: tabular-nums; }
.card .label { color: var(--muted); }
.card.alert .value { color: #c62828; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 16px; }
.chart { max-width: 100%; height: auto; display: block; }
.chart.timeline { width: 100%; }
.chart text { font-size: 12px; fill: var(--fg); }
.chart text.axis { fill: var(--muted); font-size: 11px; }
.chart line.grid { stroke: var(--line); stroke-width: 1; }
.legend { display: flex; flex-wrap: wrap; gap: 14px; margin: 8px 0 0; padding: 0;
  list-style: none; }
.legend li { display: flex; align-items: center; gap: 6px; }
.swatch { width: 12px; height: 12px; border-radius: 2px; display: inline-block; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line);
  vertical-align: top; }
th { color: var(--muted); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
code { font: 12px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.empty { color: var(--muted); font-style: italic; }
footer { color: var(--muted); margin-top: 20px; font-size: 12px; }
"""

_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def render_html(
    summary: ReportSummary,
    *,
    title: str = "tsz-otel findings report",
    sources: Sequence[str] = (),
    generated_unix_nano: int | None = None,
    skipped: int = 0,
) -> str:
    """The whole page. ``sources`` names the input files (shown escaped in the header)."""
    body = "".join(
        [
            _header(summary, title, sources, generated_unix_nano),
            _totals(summary),
            _timeline_section(summary),
            _decisions_section(summary),
            _findings_section(summary),
            _rules_section(summary.top_rules),
            _blocked_section(summary.blocked_requests),
            _footer(summary, skipped),
        ]
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="generator" content="tsz-otel {_e(__version__)}">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head>"
        f"<body>{body}</body></html>\n"
    )


def _header(
    summary: ReportSummary, title: str, sources: Sequence[str], generated: int | None
) -> str:
    if summary.start_unix_nano is not None and summary.end_unix_nano is not None:
        period = (
            f"{_e(fmt_time(summary.start_unix_nano))} to {_e(fmt_time(summary.end_unix_nano))} UTC"
        )
    else:
        period = "no guardrail evaluations found"
    services = ", ".join(_e(service) for service in summary.services) or "unknown"
    lines = [f'<p class="meta" id="period">{period}</p>']
    lines.append(f'<p class="meta" id="services">services: {services}</p>')
    if sources:
        names = ", ".join(f"<code>{_e(source)}</code>" for source in sources)
        lines.append(f'<p class="meta" id="sources">from {names}</p>')
    if generated is not None:
        lines.append(f'<p class="meta">generated {_e(fmt_time(generated))} UTC</p>')
    return f"<header><h1>{_e(title)}</h1>{''.join(lines)}</header>"


def _card(card_id: str, value: int, label: str, *, alert: bool = False) -> str:
    css = "card alert" if alert and value else "card"
    return (
        f'<div class="{css}" id="{card_id}"><div class="value" data-value="{value}">{value}</div>'
        f'<div class="label">{_e(label)}</div></div>'
    )


def _totals(summary: ReportSummary) -> str:
    cards = [
        _card("total-evaluations", summary.evaluations, "guardrail evaluations"),
        _card("total-findings", summary.findings, "findings"),
        _card("total-with-findings", summary.evaluations_with_findings, "with findings"),
        _card("total-intervened", summary.intervened, "warned, modified or denied"),
        _card("total-blocked", summary.blocked, "blocked", alert=True),
        _card("total-errors", summary.errors, "guardrail errors", alert=True),
        _card("total-traces", summary.traces, "traces"),
    ]
    return f'<section class="cards" id="totals" aria-label="totals">{"".join(cards)}</section>'


def _legend(decisions: Sequence[str]) -> str:
    items = "".join(
        f'<li><span class="swatch" style="background:{decision_color(d)}"></span>{_e(d)}</li>'
        for d in decisions
    )
    return f'<ul class="legend">{items}</ul>'


def _timeline_section(summary: ReportSummary) -> str:
    present = [count.label for count in summary.decisions]
    chart = timeline_chart(
        summary.timeline, DECISION_ORDER, summary.bucket_seconds, chart_id="timeline-chart"
    )
    return (
        '<section id="decisions-over-time"><h2>Decisions over time</h2>'
        f'<p class="meta">one column per {_e(_duration(summary.bucket_seconds))}</p>'
        f"{chart}{_legend(present)}</section>"
    )


def _decisions_section(summary: ReportSummary) -> str:
    decisions = bar_chart(
        summary.decisions, chart_id="decisions-chart", title="decisions", colors=DECISION_COLORS
    )
    targets = bar_chart(summary.targets, chart_id="targets-chart", title="targets")
    return (
        '<section class="grid" id="decisions">'
        f"<div><h2>Decisions</h2>{decisions}</div>"
        f"<div><h2>Guarded targets</h2>{targets}</div></section>"
    )


def _findings_section(summary: ReportSummary) -> str:
    charts = [
        ("By type", bar_chart(summary.findings_by_type, chart_id="findings-by-type", title="type")),
        (
            "By category",
            bar_chart(summary.findings_by_category, chart_id="findings-by-category", title="cat"),
        ),
        (
            "By severity",
            bar_chart(summary.findings_by_severity, chart_id="findings-by-severity", title="sev"),
        ),
    ]
    blocks = "".join(f"<div><h3>{_e(name)}</h3>{chart}</div>" for name, chart in charts)
    return f'<section id="findings"><h2>Findings</h2><div class="grid">{blocks}</div></section>'


def _rules_section(rules: Sequence[RuleCount]) -> str:
    if not rules:
        return '<section id="top-rules"><h2>Top rules</h2><p class="empty">none</p></section>'
    rows = "".join(
        f'<tr data-rule="{_e(rule.rule)}"><td>{_e(rule.rule)}</td><td>{_e(rule.category)}</td>'
        f'<td class="num">{rule.count}</td><td class="num">{rule.block_level}</td></tr>'
        for rule in rules
    )
    return (
        '<section id="top-rules"><h2>Top rules</h2>'
        '<table id="top-rules-table"><thead><tr><th>rule</th><th>category</th>'
        '<th class="num">findings</th><th class="num">block-level</th></tr></thead>'
        f"<tbody>{rows}</tbody></table></section>"
    )


def _blocked_row(request: BlockedRequest) -> str:
    confidence = "" if request.max_confidence is None else confidence_str(request.max_confidence)
    traces = " ".join(f"<code>{_e(trace_id)}</code>" for trace_id in request.trace_ids)
    return (
        f'<tr data-rid="{_e(request.request_id)}">'
        f"<td><code>{_e(request.request_id)}</code></td>"
        f"<td>{_e(fmt_time(request.first_seen_unix_nano))}</td>"
        f'<td class="num">{request.evaluations}</td>'
        f"<td>{_e(', '.join(request.targets))}</td>"
        f"<td>{_e(', '.join(request.reasons))}</td>"
        f'<td class="num">{_e(confidence)}</td><td>{traces}</td></tr>'
    )


def _blocked_section(requests: Sequence[BlockedRequest]) -> str:
    heading = "<h2>Blocked requests by RID</h2>"
    if not requests:
        return f'<section id="blocked-requests">{heading}<p class="empty">none</p></section>'
    rows = "".join(_blocked_row(request) for request in requests)
    return (
        f'<section id="blocked-requests">{heading}<table id="blocked-requests-table"><thead><tr>'
        '<th>RID</th><th>first seen (UTC)</th><th class="num">evaluations</th><th>targets</th>'
        '<th>reasons</th><th class="num">confidence</th><th>trace</th></tr></thead>'
        f"<tbody>{rows}</tbody></table></section>"
    )


def _footer(summary: ReportSummary, skipped: int) -> str:
    notes = [
        "This report shows decisions, detection types, categories, severities, rule names, "
        "request ids and counts as recorded on the spans. It never shows a detected value.",
        f'{summary.spans_read} spans read, <span id="guardrail-spans">{summary.evaluations}'
        "</span> of them guardrail evaluations.",
    ]
    if summary.captured_content:
        notes.append(
            f'<span id="captured-content">{summary.captured_content}</span> '
            f"{_plural(summary.captured_content, 'evaluation')} carried captured content "
            "(content capture was on); it is not shown here."
        )
    if skipped:
        notes.append(f'<span id="skipped">{skipped}</span> input regions were not spans.')
    return "<footer>" + "".join(f"<p>{note}</p>" for note in notes) + "</footer>"


def _plural(count: int, noun: str) -> str:
    return noun if count == 1 else noun + "s"


def _duration(seconds: int) -> str:
    for unit, size in (("day", 86_400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}" if count == 1 else f"{count} {unit}s"
    return "second" if seconds == 1 else f"{seconds} seconds"
