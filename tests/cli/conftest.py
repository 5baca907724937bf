"""Fixtures for the CLI tests: a clean environment and a way to run the real command."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping

import pytest

_SETTING_PREFIXES = ("TSZ_", "CONFIDENCE_", "PII_MODE", "THYRIS_", "OTEL_INSTRUMENTATION_GENAI")


def _is_setting(name: str) -> bool:
    return name.startswith(_SETTING_PREFIXES)


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The current environment without any tsz-otel setting (so defaults apply)."""
    env = {k: v for k, v in os.environ.items() if not _is_setting(k)}
    env["PYTHONIOENCODING"] = "utf-8"
    env.update(extra or {})
    return env


@pytest.fixture(autouse=True)
def _no_settings_in_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """In-process ``main()`` reads ``os.environ``; keep the developer's variables out."""
    for name in list(os.environ):
        if _is_setting(name):
            monkeypatch.delenv(name)
    yield


def _run_cli(
    *args: str, stdin: bytes | None = None, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "tsz_otel.cli", *args],
        input=stdin if stdin is not None else b"",
        capture_output=True,
        env=clean_env(env),
        timeout=120,
        check=False,
    )


@pytest.fixture
def child_env() -> dict[str, str]:
    """The environment for a child ``tsz-otel`` process: no tsz-otel settings."""
    return clean_env()


@pytest.fixture
def run_cli() -> Callable[..., subprocess.CompletedProcess[bytes]]:
    """``python -m tsz_otel.cli ARGS`` in a child process (no TTY), output captured."""
    return _run_cli
