"""What importing the package costs: the HTTP stack loads only when something needs it."""

from __future__ import annotations

import subprocess
import sys

import pytest

import tsz_otel


def _run(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    return done.stdout.strip()


def test_the_inline_engine_and_guard_do_not_load_httpx() -> None:
    code = (
        "import sys\n"
        "from tsz_otel import Guard, Settings\n"
        "Guard(Settings.from_env(environ={})).check('mail ana@example.org', 'llm_input')\n"
        "print('httpx' in sys.modules)\n"
    )
    assert _run(code) == "False"


def test_lazy_names_load_on_first_use() -> None:
    code = (
        "import sys, tsz_otel\n"
        "before = 'tsz_otel.ai' in sys.modules\n"
        "client = tsz_otel.AIClient\n"
        "print(before, client.__module__, 'tsz_otel.ai' in sys.modules)\n"
    )
    assert _run(code) == "False tsz_otel.ai.client True"


def test_every_public_name_resolves() -> None:
    for name in tsz_otel.__all__:
        assert getattr(tsz_otel, name) is not None, name
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _ = tsz_otel.Nope  # type: ignore[attr-defined]
