"""``tsz-otel detect``: the real command, in a child process and through ``main()``."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tsz_otel import DetectResponse, Settings
from tsz_otel.cli import EXIT_BLOCKED, EXIT_OK, EXIT_USAGE, main

CARD_TEXT = "My card is 4111 1111 1111 1111, thanks"
EMAIL = "jane.doe@example.com"
EMAIL_TEXT = f"Please write to {EMAIL} today"
RunCli = Callable[..., subprocess.CompletedProcess[bytes]]
TSZ_KEYS = {"redacted_text", "breakdown", "blocked", "contains_pii", "overall_confidence"}


def _types(response: DetectResponse) -> set[str]:
    return {d.type for d in response.detections}


def _stdin(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))


def _template(path: Path, patterns: list[dict[str, object]]) -> Path:
    path.write_text(json.dumps({"template": {"name": "cli-test", "patterns": patterns}}))
    return path


# --------------------------------------------------------------------------- child process


def test_detect_prints_the_tsz_json_shape(run_cli: RunCli) -> None:
    done = run_cli("detect", CARD_TEXT)

    assert done.returncode == EXIT_OK, done.stderr
    data = json.loads(done.stdout)
    assert TSZ_KEYS <= data.keys()
    assert isinstance(data["overall_confidence"], str)  # two-decimal string, as TSZ
    card = next(d for d in data["detections"] if d["type"] == "CREDIT_CARD")
    assert CARD_TEXT.encode()[card["start"] : card["end"]] == b"4111 1111 1111 1111"
    assert re.fullmatch(r"\d\.\d\d", card["confidence_score"])
    assert "4111 1111 1111 1111" not in data["redacted_text"]
    assert done.stdout.count(b"\n") == 1  # one compact JSON line


def test_detect_reads_stdin_and_reports_utf8_byte_offsets(run_cli: RunCli) -> None:
    text = f"Grüße an {EMAIL} — danke"
    done = run_cli("detect", "-", "--placeholder", "type", stdin=text.encode())

    assert done.returncode == EXIT_OK, done.stderr
    response = DetectResponse.model_validate_json(done.stdout)
    email = next(d for d in response.detections if d.type == "EMAIL")
    assert email.value == EMAIL
    assert text.encode()[email.start : email.end].decode() == EMAIL
    assert email.start == len("Grüße an ".encode())  # bytes, not characters
    assert response.redacted_text == "Grüße an [EMAIL] — danke"


def test_fail_on_block_gives_its_own_exit_code(run_cli: RunCli) -> None:
    blocked = run_cli("detect", EMAIL_TEXT, "--mode", "BLOCK", "--fail-on-block")
    not_asked = run_cli("detect", EMAIL_TEXT, "--mode", "block")

    assert blocked.returncode == EXIT_BLOCKED
    assert json.loads(blocked.stdout)["blocked"] is True
    assert not_asked.returncode == EXIT_OK
    assert json.loads(not_asked.stdout)["blocked"] is True


def test_invalid_regex_in_template_is_a_clean_error(run_cli: RunCli, tmp_path: Path) -> None:
    bad = _template(tmp_path / "bad.json", [{"Name": "BAD_ONE", "Regex": "(?<=x)EMP\\d+"}])

    done = run_cli("detect", "EMP123", "--template", str(bad))

    assert done.returncode == EXIT_USAGE
    assert done.stdout == b""
    assert b"BAD_ONE" in done.stderr
    assert b"Traceback" not in done.stderr


# --------------------------------------------------------------------------- in process


def test_output_is_exactly_what_the_library_returns(capsys: pytest.CaptureFixture[str]) -> None:
    from tsz_otel import Engine

    text = f"{EMAIL_TEXT}; card 4111 1111 1111 1111; ssn 536-22-1934"
    expected = Engine(Settings.from_env(environ={}, placeholder_style="type")).detect(text)

    assert main(["detect", text, "--placeholder", "type"]) == EXIT_OK

    assert capsys.readouterr().out == expected.model_dump_json() + "\n"


def test_pretty_output_is_indented_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["detect", EMAIL_TEXT, "--pretty"]) == EXIT_OK

    out = capsys.readouterr().out
    assert out.startswith("{\n  ")
    assert "EMAIL" in {d["type"] for d in json.loads(out)["detections"]}


@pytest.mark.parametrize(
    ("style", "expected"),
    [("type", "[EMAIL]"), ("indexed", "[EMAIL_1]")],
)
def test_placeholder_styles(style: str, expected: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["detect", EMAIL_TEXT, "--placeholder", style]) == EXIT_OK

    response = DetectResponse.model_validate_json(capsys.readouterr().out)
    assert response.redacted_text == f"Please write to {expected} today"


def test_rid_goes_into_tsz_placeholders(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["detect", EMAIL_TEXT, "--rid", "RID-7"]) == EXIT_OK

    response = DetectResponse.model_validate_json(capsys.readouterr().out)
    (email,) = [d for d in response.detections if d.type == "EMAIL"]
    assert re.fullmatch(r"\[RID-7_EMAIL_[0-9a-f]{16}\]", email.placeholder)


def test_text_that_starts_with_a_dash_after_double_dash(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["detect", "--placeholder", "type", "--", f"-- {EMAIL}"]) == EXIT_OK

    assert DetectResponse.model_validate_json(capsys.readouterr().out).redacted_text == "-- [EMAIL]"


def test_invalid_utf8_on_stdin_is_replaced_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _stdin(monkeypatch, b"bad \xff byte, mail " + EMAIL.encode())

    assert main(["detect", "-"]) == EXIT_OK

    captured = capsys.readouterr()
    assert "not valid UTF-8" in captured.err
    assert "EMAIL" in _types(DetectResponse.model_validate_json(captured.out))


def test_json_and_yaml_templates_add_patterns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    json_file = _template(
        tmp_path / "employee.json",
        [{"Name": "EMPLOYEE_ID", "Regex": r"\bEMP-\d{6}\b", "Category": "PII"}],
    )
    yaml_file = tmp_path / "ticket.yaml"
    yaml_file.write_text(
        "template:\n  name: yaml-test\n  patterns:\n"
        "    - Name: TICKET_REF\n      Regex: '\\bTCK-[0-9]{5}\\b'\n      Category: PII\n"
    )

    templates = ["--template", str(json_file), "--template", str(yaml_file)]
    code = main(["detect", "EMP-123456 opened TCK-54321", *templates])

    assert code == EXIT_OK
    types = _types(DetectResponse.model_validate_json(capsys.readouterr().out))
    assert {"EMPLOYEE_ID", "TICKET_REF"} <= types


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (None, "no such file"),
        ("{not json", "template"),
        ('{"template": {"name": "x", "patterns": "not-a-list"}}', "template"),
    ],
    ids=["missing", "not-json", "wrong-shape"],
)
def test_bad_templates_exit_2_without_traceback(
    content: str | None, needle: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "policy.json"
    if content is not None:
        path.write_text(content)

    assert main(["detect", "x", "--template", str(path)]) == EXIT_USAGE

    captured = capsys.readouterr()
    assert captured.out == ""
    assert needle in captured.err
    assert "Traceback" not in captured.err


@pytest.mark.parametrize(
    "argv",
    [["detect"], ["detect", "x", "--mode", "DETECT"], ["detect", "x", "--placeholder", "?"]],
    ids=["no-text", "bad-mode", "bad-placeholder"],
)
def test_bad_arguments_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)

    assert exit_info.value.code == EXIT_USAGE
    assert "usage:" in capsys.readouterr().err


def test_bad_environment_is_a_clean_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CONFIDENCE_BLOCK_THRESHOLD", "very high")

    assert main(["detect", "x"]) == EXIT_USAGE

    assert "CONFIDENCE_BLOCK_THRESHOLD" in capsys.readouterr().err


def test_a_text_argument_that_is_not_utf8_is_replaced_with_a_warning(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # what Python makes of the argument bytes b"\xff\xfe" (surrogate escapes)
    argument = "bad \udcff\udcfe bytes, mail " + EMAIL

    assert main(["detect", argument]) == EXIT_OK

    captured = capsys.readouterr()
    assert "the text argument is not valid UTF-8" in captured.err
    response = DetectResponse.model_validate_json(captured.out)
    assert _types(response) == {"EMAIL"}
    assert response.redacted_text is not None
    assert response.redacted_text.startswith("bad \ufffd\ufffd bytes")
