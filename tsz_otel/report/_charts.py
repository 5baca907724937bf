"""Inline SVG charts for the findings report: horizontal bars and stacked time columns.

Plain SVG markup, no script and no external reference, so the page renders the same
offline, in a mail client's viewer or in a headless browser. Every label is escaped
here; callers pass raw strings. Each bar and stack segment carries ``data-label`` /
``data-count`` (``data-decision`` for the timeline) so tests and scripts can read the
numbers back from the rendered DOM.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping, Sequence
from html import escape

from ._summary import Count, TimeBucket

__all__ = ["DECISION_COLORS", "bar_chart", "decision_color", "fmt_time", "timeline_chart"]

DECISION_COLORS: Mapping[str, str] = {
    "allow": "#2e7d32",
    "audit": "#6a1b9a",
    "warn": "#ef8f00",
    "modify": "#1565c0",
    "deny": "#c62828",
}
_OTHER_COLOR = "#757575"
_BAR_COLOR = "#37474f"

_LABEL_WIDTH = 190
_BAR_AREA = 300
_ROW = 24
_MAX_LABEL_CHARS = 28


def _attr(value: object) -> str:
    return escape(str(value), quote=True)


def _short(label: str) -> str:
    if len(label) <= _MAX_LABEL_CHARS:
        return label
    return label[: _MAX_LABEL_CHARS - 1] + "…"


def decision_color(decision: str) -> str:
    return DECISION_COLORS.get(decision, _OTHER_COLOR)


def bar_chart(
    rows: Sequence[Count], *, chart_id: str, title: str, colors: Mapping[str, str] | None = None
) -> str:
    """A horizontal bar per row: label, bar scaled to the largest count, the count."""
    if not rows:
        return f'<p class="empty" id="{_attr(chart_id)}">none</p>'
    largest = max(row.count for row in rows) or 1
    width = _LABEL_WIDTH + _BAR_AREA + 60
    height = len(rows) * _ROW + 4
    parts = [
        f'<svg id="{_attr(chart_id)}" class="chart bars" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{_attr(title)}">'
    ]
    for index, row in enumerate(rows):
        y = index * _ROW + 2
        bar = max(round(row.count / largest * _BAR_AREA), 1)
        color = (colors or {}).get(row.label, _BAR_COLOR)
        parts.append(
            f'<g class="bar" data-label="{_attr(row.label)}" data-count="{row.count}">'
            f"<title>{escape(row.label)}: {row.count}</title>"
            f'<text class="label" x="{_LABEL_WIDTH - 8}" y="{y + 16}" text-anchor="end">'
            f"{escape(_short(row.label))}</text>"
            f'<rect x="{_LABEL_WIDTH}" y="{y + 3}" width="{bar}" height="{_ROW - 8}" '
            f'rx="2" fill="{color}"></rect>'
            f'<text class="count" x="{_LABEL_WIDTH + bar + 6}" y="{y + 16}">{row.count}</text>'
            "</g>"
        )
    parts.append("</svg>")
    return "".join(parts)


def fmt_time(unix_nano: int, *, seconds: bool = True) -> str:
    """UTC ``YYYY-MM-DD HH:MM[:SS]``."""
    moment = _dt.datetime.fromtimestamp(unix_nano / 1e9, tz=_dt.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def _tick_label(unix_nano: int, step: int) -> str:
    moment = _dt.datetime.fromtimestamp(unix_nano / 1e9, tz=_dt.UTC)
    if step >= 86_400:
        return moment.strftime("%m-%d")
    return moment.strftime("%H:%M:%S" if step < 60 else "%H:%M")


def timeline_chart(
    buckets: Sequence[TimeBucket], order: Sequence[str], step: int, *, chart_id: str
) -> str:
    """Stacked columns of decisions per time bucket, ``order`` from the bottom up."""
    if not buckets:
        return f'<p class="empty" id="{_attr(chart_id)}">no guardrail evaluations</p>'
    width, height, left, bottom, top = 960, 260, 44, 34, 12
    plot_w, plot_h = width - left - 8, height - bottom - top
    largest = max(sum(bucket.counts.values()) for bucket in buckets) or 1
    column = plot_w / len(buckets)
    decisions = list(order) + sorted({d for b in buckets for d in b.counts} - set(order))
    parts = [
        f'<svg id="{_attr(chart_id)}" class="chart timeline" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="decisions over time">',
        _y_axis(left, top, plot_w, plot_h, largest),
    ]
    for index, bucket in enumerate(buckets):
        x = left + index * column
        parts.append(_column(bucket, decisions, x, column, top + plot_h, plot_h / largest, step))
    parts.append(_x_axis(buckets, step, left, column, top + plot_h))
    parts.append("</svg>")
    return "".join(parts)


def _column(
    bucket: TimeBucket,
    decisions: Sequence[str],
    x: float,
    column: float,
    baseline: float,
    scale: float,
    step: int,
) -> str:
    when = fmt_time(bucket.start_unix_nano, seconds=step < 60)
    parts = [f'<g class="bucket" data-start="{_attr(when)}">']
    y = baseline
    for decision in decisions:
        count = bucket.counts.get(decision, 0)
        if not count:
            continue
        h = count * scale
        y -= h
        parts.append(
            f'<rect x="{x + column * 0.1:.1f}" y="{y:.1f}" width="{column * 0.8:.1f}" '
            f'height="{h:.1f}" fill="{decision_color(decision)}" '
            f'data-decision="{_attr(decision)}" data-count="{count}">'
            f"<title>{escape(when)} UTC: {escape(decision)} {count}</title></rect>"
        )
    parts.append("</g>")
    return "".join(parts)


def _y_axis(left: int, top: int, plot_w: int, plot_h: int, largest: int) -> str:
    ticks = sorted({0, largest // 2, largest})
    parts = []
    for tick in ticks:
        y = top + plot_h - tick / largest * plot_h
        parts.append(
            f'<line class="grid" x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}">'
            f'</line><text class="axis" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{tick}</text>"
        )
    return "".join(parts)


def _x_axis(
    buckets: Sequence[TimeBucket], step: int, left: int, column: float, baseline: float
) -> str:
    every = max(1, len(buckets) // 8)
    parts = []
    for index in range(0, len(buckets), every):
        x = left + index * column + column / 2
        label = _tick_label(buckets[index].start_unix_nano, step)
        parts.append(
            f'<text class="axis" x="{x:.1f}" y="{baseline + 18:.1f}" text-anchor="middle">'
            f"{escape(label)}</text>"
        )
    return "".join(parts)
