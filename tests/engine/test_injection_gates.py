"""The stored injection gate specs: current, identical to a fresh derivation, and ignored
(never trusted) when they do not match the code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tsz_otel.engine import injection

ROOT = Path(__file__).resolve().parents[2]


def test_the_stored_specs_are_current() -> None:
    """Edit the injection module or its rules, then run scripts/gen_injection_gates.py."""
    assert injection.GATES_FILE.read_text(encoding="utf-8") == injection.derived_gates_document()


def test_the_stored_specs_equal_a_fresh_derivation() -> None:
    matchers = injection._matchers(injection._IndexBuilder())
    stored = injection._stored_gate_specs(len(matchers))
    assert stored is not None
    assert stored == injection.derive_gate_specs(matchers)


@pytest.mark.parametrize(
    "content",
    [
        '{"key": "not this code", "specs": []}\n',
        "{not json",
        '{"key": "KEY", "specs": [[["x"]]]}\n',
        '{"key": "KEY"}\n',
    ],
    ids=["other key", "not json", "bad row", "no specs"],
)
def test_a_file_that_does_not_match_is_ignored(
    content: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "gates.json"
    path.write_text(content.replace("KEY", injection.gate_specs_key()), encoding="utf-8")
    monkeypatch.setattr(injection, "GATES_FILE", path)
    assert injection._stored_gate_specs(1) is None
    monkeypatch.setattr(injection, "GATES_FILE", tmp_path / "missing.json")
    assert injection._stored_gate_specs(1) is None


def test_the_script_checks_the_file() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_injection_gates.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
