"""The report rendered by a real headless Chromium: the DOM it builds has the expected numbers.

Chromium is the Debian package ``chromium`` (scripts/system-deps.sh installs it). Each run
uses a throw-away profile, no network (``--host-resolver-rules`` resolves nothing, the
page's CSP forbids loads anyway) and ``--dump-dom``, which prints the DOM after load.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from report_dom import Node, bar_counts, card_value, parse

from tsz_otel.report import write_report

DATA = Path(__file__).parent / "data"
OTLP = DATA / "spans.otlp.jsonl"
CONSOLE = DATA / "spans.console.txt"
BROWSERS = ("chromium", "chromium-browser", "google-chrome")
TIMEOUT_S = 120


def _browser() -> str:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("headless Chromium is absent (Debian package chromium: `make system-deps`)")


def _chromium(page: Path, profile: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            _browser(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            f"--user-data-dir={profile}",
            "--window-size=1280,2000",
            *extra,
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )


def _rendered(tmp_path: Path, inputs: list[Path]) -> Node:
    page = tmp_path / "report.html"
    write_report(inputs, page)
    result = _chromium(page, tmp_path / "profile", "--dump-dom")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "<body" in result.stdout, "Chromium printed no DOM"
    return parse(result.stdout)


@pytest.mark.parametrize("source", [OTLP, CONSOLE], ids=["otlp", "console"])
def test_rendered_dom_has_the_expected_numbers(tmp_path: Path, source: Path) -> None:
    dom = _rendered(tmp_path, [source])
    totals = {
        card: card_value(dom, card)
        for card in (
            "total-evaluations",
            "total-findings",
            "total-with-findings",
            "total-intervened",
            "total-blocked",
            "total-errors",
            "total-traces",
        )
    }
    assert totals == {
        "total-evaluations": 10,
        "total-findings": 9,
        "total-with-findings": 7,
        "total-intervened": 8,
        "total-blocked": 3,
        "total-errors": 1,
        "total-traces": 9,
    }
    assert bar_counts(dom, "decisions-chart") == {
        "allow": 2,
        "audit": 1,
        "warn": 1,
        "modify": 3,
        "deny": 3,
    }
    assert bar_counts(dom, "findings-by-type") == {
        "EMAIL": 3,
        "AWS_ACCESS_KEY": 2,
        "CREDIT_CARD": 2,
        "PROMPT_INJECTION": 2,
    }
    assert bar_counts(dom, "findings-by-category") == {"PII": 5, "SECRET": 2, "INJECTION": 2}
    assert bar_counts(dom, "findings-by-severity") == {"critical": 2, "high": 2, "medium": 5}
    assert bar_counts(dom, "targets-chart") == {"llm_input": 8, "llm_output": 1, "tool_call": 1}


def test_rendered_timeline_rules_and_blocked_requests(tmp_path: Path) -> None:
    dom = _rendered(tmp_path, [OTLP])
    segments = dom.by_id("timeline-chart").find_all(lambda n: "data-decision" in n.attrs)
    per_decision: dict[str, int] = {}
    for segment in segments:
        decision = segment.attrs["data-decision"]
        per_decision[decision] = per_decision.get(decision, 0) + int(segment.attrs["data-count"])
    assert per_decision == {"allow": 2, "audit": 1, "warn": 1, "modify": 3, "deny": 3}
    assert len(dom.by_id("timeline-chart").with_class("bucket")) == 25

    rules = {
        row.attrs["data-rule"]: [cell.text for cell in row.children]
        for row in dom.by_id("top-rules-table").find_all(lambda n: "data-rule" in n.attrs)
    }
    assert rules == {
        "EMAIL": ["EMAIL", "PII", "3", "0"],
        "AWS_ACCESS_KEY": ["AWS_ACCESS_KEY", "SECRET", "2", "1"],
        "CREDIT_CARD": ["CREDIT_CARD", "PII", "2", "1"],
        "PROMPT_INJECTION": ["PROMPT_INJECTION", "INJECTION", "2", "2"],
    }

    rows = dom.by_id("blocked-requests-table").find_all(lambda n: "data-rid" in n.attrs)
    cells = [[cell.text for cell in row.children] for row in rows]
    assert [row[0] for row in cells] == ["RID-0004", "RID-0005", "NO-RID"]
    assert cells[0][1:6] == ["2026-01-01 00:04:30", "1", "llm_input", "PROMPT_INJECTION", "0.92"]
    assert cells[1][4:6] == ["CREDIT_CARD, AWS_ACCESS_KEY", "0.97"]
    assert dom.by_id("period").text == "2026-01-01 00:00:00 to 2026-01-01 00:12:00 UTC"


def test_rendered_page_has_no_script_and_no_values(tmp_path: Path) -> None:
    dom = _rendered(tmp_path, [OTLP, CONSOLE])
    assert card_value(dom, "total-evaluations") == 20
    tags = {node.tag for node in dom.iter()}
    assert not tags & {"script", "img", "iframe", "link", "object", "embed"}
    text = dom.text
    for value in ("jane.doe@example.com", "4111", "AKIAIOSFODNN7EXAMPLE", "quarterly numbers"):
        assert value not in text


def test_screenshot_renders(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    write_report([OTLP], page)
    shot = tmp_path / "report.png"
    result = _chromium(page, tmp_path / "profile", f"--screenshot={shot}")
    assert result.returncode == 0, result.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 20_000, "a blank page compresses to a few kilobytes"
