"""``python -m tsz_otel.testing.tsz_server`` serves TSZ's API from a shell."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tsz_otel import RemoteEngine


@pytest.mark.parametrize("engine", ["emulate", "inline"])
def test_server_command_answers_detect(engine: str) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tsz_otel.testing.tsz_server", "--port", "0", "--engine", engine],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        url = line.rsplit(" ", 1)[-1].strip()
        assert url.startswith("http://127.0.0.1:")
        response = RemoteEngine(url, timeout=10).detect("write to jane@example.org", rid="R-9")
        assert [d.type for d in response.detections] == ["EMAIL"]
        assert response.detections[0].placeholder.startswith("[R-9_EMAIL_")
    finally:
        proc.terminate()
        proc.wait(10)
