"""The HTML page: self-contained, escaped, value-free, and the ``tsz-otel report`` command."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from report_dom import bar_counts, card_value, parse

from tsz_otel import cli, semconv
from tsz_otel.report import (
    SpanEvent,
    SpanRecord,
    main,
    read_spans,
    render_html,
    summarize,
    write_report,
)

DATA = Path(__file__).parent / "data"
OTLP = DATA / "spans.otlp.jsonl"
CONSOLE = DATA / "spans.console.txt"
# Values the fixture's checks scanned (never exported) and the content one check captured.
RAW_VALUES = ("jane.doe@example.com", "4111", "AKIAIOSFODNN7EXAMPLE", "Ignore all previous")
CAPTURED = "quarterly numbers"


@pytest.fixture(scope="module")
def page() -> str:
    return render_html(summarize(read_spans([OTLP]).spans), sources=[str(OTLP)])


def test_page_numbers(page: str) -> None:
    document = parse(page)
    assert card_value(document, "total-evaluations") == 10
    assert card_value(document, "total-findings") == 9
    assert card_value(document, "total-blocked") == 3
    assert card_value(document, "total-errors") == 1
    assert bar_counts(document, "findings-by-category") == {"PII": 5, "SECRET": 2, "INJECTION": 2}
    rids = [row.attrs["data-rid"] for row in document.find_all(lambda n: "data-rid" in n.attrs)]
    assert rids == ["RID-0004", "RID-0005", "NO-RID"]


def test_page_is_self_contained(page: str) -> None:
    lowered = page.lower()
    for forbidden in ("<script", "<link", "<img", "<iframe", "@import", "url(", "://"):
        assert forbidden not in lowered, forbidden
    assert re.search(r"\s(src|href)=", lowered) is None
    assert "content-security-policy" in lowered
    assert "default-src 'none'" in page


def test_page_never_shows_values_or_captured_content(page: str) -> None:
    fixture_text = OTLP.read_text(encoding="utf-8")
    assert CAPTURED in fixture_text, "the fixture does carry captured content"
    for value in (*RAW_VALUES, CAPTURED):
        assert value not in page
    assert parse(page).by_id("captured-content").text == "1"


def _hostile_span() -> SpanRecord:
    event = SpanEvent(
        "gen_ai.security.finding",
        2_000_000_000,
        {
            semconv.TSZ_FINDING_TYPE: "<img src=x onerror=alert(1)>",
            semconv.TSZ_FINDING_CATEGORY: 'PII"><b>',
        },
    )
    return SpanRecord(
        trace_id="t<1>",
        span_id="s1",
        parent_span_id=None,
        name="apply_guardrail x",
        kind="INTERNAL",
        start_unix_nano=2_000_000_000,
        end_unix_nano=2_000_000_001,
        status="UNSET",
        attributes={
            "gen_ai.operation.name": "apply_guardrail",
            "gen_ai.security.decision.type": "deny",
            "gen_ai.security.target.type": "<script>alert('t')</script>",
            semconv.TSZ_REQUEST_ID: "<script>alert(1)</script>",
            semconv.TSZ_REASONS: "<svg onload=alert(1)>",
        },
        events=(event,),
        service_name="svc&<co>",
    )


def test_everything_from_spans_is_escaped() -> None:
    html = render_html(summarize([_hostile_span()]), title="<title>", sources=["a<b>.jsonl"])
    document = parse(html)
    tags = {node.tag for node in document.iter()}
    assert not tags & {"script", "img", "b"}
    assert "<script" not in html
    assert "<img" not in html
    (row,) = document.find_all(lambda node: "data-rid" in node.attrs)
    assert row.attrs["data-rid"] == "<script>alert(1)</script>"
    assert "<svg onload=alert(1)>" in row.text
    assert bar_counts(document, "findings-by-type") == {"<img src=x onerror=alert(1)>": 1}


def test_write_report_and_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report.html"
    assert cli.main(["report", str(OTLP), str(CONSOLE), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert f"wrote {out}: 20 guardrail evaluations, 18 findings, 6 blocked" in err
    assert card_value(parse(out.read_text(encoding="utf-8")), "total-evaluations") == 20

    summary = write_report([CONSOLE], tmp_path / "again.html", title="Q3 audit")
    assert summary.evaluations == 10
    assert "<title>Q3 audit</title>" in (tmp_path / "again.html").read_text(encoding="utf-8")


def test_missing_input_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r.html"
    assert cli.main(["report", str(tmp_path / "nope.jsonl"), "-o", str(out)]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert not out.exists()
    assert main([str(tmp_path / "nope.jsonl"), "-o", str(out)]) == 2


def test_no_guardrail_spans_still_writes_a_page(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("nothing exported\n", encoding="utf-8")
    out = tmp_path / "r.html"
    result = subprocess.run(
        [sys.executable, "-m", "tsz_otel.report", str(empty), "-o", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "no apply_guardrail spans found" in result.stderr
    document = parse(out.read_text(encoding="utf-8"))
    assert card_value(document, "total-evaluations") == 0
    assert "no guardrail evaluations" in document.by_id("timeline-chart").text


def test_stdin_input(tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    result = subprocess.run(
        [sys.executable, "-m", "tsz_otel.cli", "report", "-", "-o", str(out)],
        input=CONSOLE.read_text(encoding="utf-8"),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert card_value(parse(out.read_text(encoding="utf-8")), "total-blocked") == 3
