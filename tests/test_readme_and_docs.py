"""The README and the generated reference pages stay true to the code."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tsz_otel import Engine
from tsz_otel.config import ENV_VARS

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_generated_pages_are_current() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_docs.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_readme_documents_every_environment_variable() -> None:
    missing = [name for names in ENV_VARS.values() for name in names if f"`{name}`" not in README]
    assert not missing, f"README configuration table lacks {missing}"


def test_readme_lists_every_catalogue_type() -> None:
    missing = [name for name in Engine().types if name not in README]
    assert not missing


def test_readme_engine_example_holds() -> None:
    resp = Engine().detect("My card is 4111 1111 1111 1111", rid="RID-1")
    assert resp.blocked
    assert resp.detections[0].type == "CREDIT_CARD"
    assert resp.redacted_text is not None
    assert re.fullmatch(r"My card is \[RID-1_CREDIT_CARD_[0-9a-f]{16}\]", resp.redacted_text)


def test_readme_links_resolve() -> None:
    for target in re.findall(r"\]\(([^)#]+)\)", README):
        if target.startswith("http"):
            continue
        assert (ROOT / target).exists(), target
