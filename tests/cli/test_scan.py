"""``tsz-otel scan``: JSON Lines in, one result per line out, summary and progress on stderr."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from tsz_otel import DetectResponse
from tsz_otel.cli import EXIT_BLOCKED, EXIT_OK, EXIT_USAGE, main

RunCli = Callable[..., subprocess.CompletedProcess[bytes]]

EMAIL = "jane.doe@example.com"
CARD = "4111 1111 1111 1111"
GOOD_LINES = [
    json.dumps({"id": "a-1", "text": f"mail {EMAIL} please"}),
    json.dumps(f"card {CARD} on file"),  # a bare JSON string is a text too
    json.dumps({"id": 3, "text": "nothing to see here"}),
]


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _results(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines()]


def test_scan_writes_one_result_per_line_with_id_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = _write(tmp_path / "in.jsonl", GOOD_LINES)

    assert main(["scan", str(source), "--placeholder", "type"]) == EXIT_OK

    results = _results(capsys.readouterr().out)
    assert [(r["id"], r["line"]) for r in results] == [("a-1", 1), (None, 2), (3, 3)]
    first = DetectResponse.model_validate(results[0])
    assert first.redacted_text == "mail [EMAIL] please"
    assert "CREDIT_CARD" in results[1]["breakdown"]
    assert results[2]["breakdown"] == {} and "detections" not in results[2]  # TSZ omitempty
    assert all(isinstance(r["overall_confidence"], str) for r in results)


def test_bad_lines_are_reported_by_number_and_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = [GOOD_LINES[0], "{oops", "", "[1, 2]", json.dumps({"text": 42}), GOOD_LINES[2]]
    source = _write(tmp_path / "in.jsonl", lines)

    assert main(["scan", str(source)]) == EXIT_OK

    captured = capsys.readouterr()
    assert [r["line"] for r in _results(captured.out)] == [1, 6]
    for number in (2, 4, 5):
        assert f"line {number}:" in captured.err
    assert "line 3:" not in captured.err  # a blank line is not an error
    assert "Traceback" not in captured.err


def test_strict_makes_a_bad_line_fatal(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = _write(tmp_path / "in.jsonl", [GOOD_LINES[0], "{oops", GOOD_LINES[2]])

    assert main(["scan", str(source), "--strict"]) == EXIT_USAGE

    captured = capsys.readouterr()
    assert "line 2" in captured.err
    assert len(_results(captured.out)) == 1  # what came before the bad line was written


def test_invalid_utf8_line_is_a_bad_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "in.jsonl"
    source.write_bytes(b'{"text": "caf\xe9"}\n' + GOOD_LINES[0].encode() + b"\n")

    assert main(["scan", str(source)]) == EXIT_OK

    captured = capsys.readouterr()
    assert "line 1: not valid UTF-8" in captured.err
    assert [r["line"] for r in _results(captured.out)] == [2]


def test_summary_counts_types_and_never_shows_values(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = _write(tmp_path / "in.jsonl", [*GOOD_LINES, "{bad"])

    assert main(["scan", str(source)]) == EXIT_OK

    err = capsys.readouterr().err
    summary = err[err.index("scan summary") :]
    rows = dict(line.strip().rsplit(None, 1) for line in summary.splitlines()[1:5] if line.strip())
    assert rows["texts"] == "3"
    assert rows["texts with findings"] == "2"
    assert rows["bad lines skipped"] == "1"
    assert "findings by type" in summary
    assert "EMAIL" in summary and "CREDIT_CARD" in summary
    assert "texts/s" in summary
    assert EMAIL not in err and CARD not in err


def test_output_file_and_quiet(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = _write(tmp_path / "in.jsonl", GOOD_LINES)
    target = tmp_path / "out" / "results.jsonl"
    target.parent.mkdir()

    assert main(["scan", str(source), "-o", str(target), "--quiet"]) == EXIT_OK

    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    assert len(_results(target.read_text(encoding="utf-8"))) == 3


def test_stdin_input(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    data = ("\n".join(GOOD_LINES) + "\n").encode()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))

    assert main(["scan", "-", "-q"]) == EXIT_OK

    assert len(_results(capsys.readouterr().out)) == 3


def test_fail_on_block(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = _write(tmp_path / "in.jsonl", GOOD_LINES)

    code = main(["scan", str(source), "-q", "--mode", "BLOCK", "--fail-on-block"])

    assert code == EXIT_BLOCKED
    assert sum(bool(r["blocked"]) for r in _results(capsys.readouterr().out)) == 2


@pytest.mark.parametrize(
    "argv",
    [["scan", "/nonexistent/in.jsonl"], ["scan", "IN", "-o", "/nonexistent/dir/out.jsonl"]],
    ids=["unreadable-input", "unwritable-output"],
)
def test_unusable_files_exit_2(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = _write(tmp_path / "in.jsonl", GOOD_LINES)
    argv = [str(source) if a == "IN" else a for a in argv]

    assert main(argv) == EXIT_USAGE

    err = capsys.readouterr().err
    assert "cannot" in err and "Traceback" not in err


def test_scan_in_a_child_process_without_tty(run_cli: RunCli, tmp_path: Path) -> None:
    source = _write(tmp_path / "in.jsonl", [*GOOD_LINES, "nope"])

    done = run_cli("scan", str(source))

    assert done.returncode == EXIT_OK
    assert len(done.stdout.decode().splitlines()) == 3
    assert b"\r" not in done.stderr and b"\x1b[" not in done.stderr  # no progress bar
    assert b"scan summary" in done.stderr
    assert b"line 4:" in done.stderr


def test_scan_reads_stdin_in_a_child_process(run_cli: RunCli) -> None:
    done = run_cli("scan", "-", "--quiet", stdin=("\n".join(GOOD_LINES) + "\n").encode())

    assert done.returncode == EXIT_OK, done.stderr
    assert [json.loads(line)["line"] for line in done.stdout.splitlines()] == [1, 2, 3]
    assert done.stderr == b""


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_progress_bar_is_drawn_on_a_terminal(tmp_path: Path, child_env: Mapping[str, str]) -> None:
    import pty

    source = _write(tmp_path / "in.jsonl", GOOD_LINES * 20)
    master, slave = pty.openpty()
    child = subprocess.Popen(
        [sys.executable, "-m", "tsz_otel.cli", "scan", str(source)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=slave,
        env=dict(child_env),
    )
    os.close(slave)
    terminal = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        terminal += chunk
    out, _ = child.communicate(timeout=120)
    os.close(master)

    assert child.returncode == EXIT_OK
    assert b"\rscan [" in terminal and b"texts/s" in terminal
    assert b"scan summary" in terminal
    assert len(out.splitlines()) == 60
    assert b"\r" not in out  # stdout stays clean JSON Lines


def test_a_line_with_an_unpaired_surrogate_escape_is_scanned(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Valid JSON may carry ``\\ud800``; the result line writes it as U+FFFD."""
    source = tmp_path / "in.jsonl"
    source.write_bytes(b'{"id": "s\\udfff", "text": "x \\ud800 mail ' + EMAIL.encode() + b'"}\n')

    assert main(["scan", str(source)]) == EXIT_OK

    (result,) = _results(capsys.readouterr().out)
    assert result["id"] == "s\ufffd" and result["breakdown"] == {"EMAIL": 1}
    assert result["redacted_text"].startswith("x \ufffd mail [")
