"""The monitoring demo, run as a user runs it: console output, and OTLP to a receiver."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tsz_otel.testing.otlp_receiver import OtlpReceiver

DEMO = Path(__file__).resolve().parents[2] / "examples" / "monitoring-demo" / "main.py"
SEPARATOR = "-" * 50


def _run(**extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TSZ_", "OTEL_"))}
    env.update(extra)
    done = subprocess.run(
        [sys.executable, str(DEMO)], env=env, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stderr
    return done


def _blocks(stdout: str) -> list[dict[str, str]]:
    found: list[dict[str, str]] = []
    for match in re.finditer(
        r"^\[(ATTACK|REQUEST_ID|STATUS|DECISION|REASONS|CONFIDENCE)\] (.*)$",
        stdout,
        flags=re.MULTILINE,
    ):
        key, value = match.groups()
        if key == "ATTACK":
            found.append({})
        found[-1][key] = value
    return found


def _check_lines(stdout: str) -> list[dict[str, str]]:
    blocks = _blocks(stdout)
    assert [b["ATTACK"] for b in blocks] == ["PII exfiltration", "Prompt injection"]
    for block in blocks:
        assert re.fullmatch(r"RID-OTEL-[0-9a-f]{8}", block["REQUEST_ID"])
        assert block["STATUS"] == "ALLOWED"  # observe mode: monitoring, nothing blocked
        assert re.fullmatch(r"\d\.\d\d", block["CONFIDENCE"])
    assert blocks[0]["REASONS"] == "['EMAIL']"
    assert blocks[1]["REASONS"] != "[]"  # the prompt injection is detected now
    assert float(blocks[1]["CONFIDENCE"]) > 0
    assert stdout.count(SEPARATOR) == 2
    assert "john@example.com" not in stdout
    return blocks


def test_demo_console() -> None:
    done = _run()
    _check_lines(done.stdout)
    assert '"name": "apply_guardrail tsz llm_input"' in done.stdout
    assert '"name": "tsz.detect"' in done.stdout
    assert "Spans exported to the console" in done.stdout


def test_demo_otlp(otlp_receiver: OtlpReceiver) -> None:
    done = _run(OTEL_EXPORTER_OTLP_ENDPOINT=otlp_receiver.endpoint)
    blocks = _check_lines(done.stdout)
    assert '"name":' not in done.stdout  # no console spans when OTLP is configured
    spans = otlp_receiver.wait_for_spans(4)
    detect = [s for s in spans if s.name == "tsz.detect"]
    guards = {s.parent_span_id: s for s in spans if s.name == "apply_guardrail tsz llm_input"}
    assert len(detect) == 2 and len(guards) == 2
    for parent, block in zip(detect, blocks, strict=True):
        assert parent.resource["service.name"] == "tsz-security-demo"
        assert parent.attributes["tsz.attack_name"] == block["ATTACK"]
        child = guards[parent.span_id]
        assert child.attributes["tsz.request_id"] == block["REQUEST_ID"]
        assert child.attributes["tsz.blocked"] is False
        assert child.attributes["tsz.confidence"] == block["CONFIDENCE"]
        assert child.attributes["gen_ai.security.decision.type"] == "warn"
    durations = otlp_receiver.wait_for_metric("gen_ai.client.apply_guardrail.duration")
    assert sum(p.count or 0 for p in durations.points) == 2  # one per evaluation
    assert b"john@example.com" not in otlp_receiver.raw_bytes()
