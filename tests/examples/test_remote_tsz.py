"""examples/remote-tsz: the README's commands with a TSZ server as the detection backend
(the app's own local one, a TSZ server the test runs, and the unchanged auto-instrument
app under ``opentelemetry-instrument``)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from examples_support import console_spans, output_lines, readme_block, readme_output, run_block

from tsz_otel.testing.llm_server import LLMServer
from tsz_otel.testing.tsz_server import ServedRequest, TszTestServer

EXAMPLE = "remote-tsz"
TSZ_PORT = 8080  # the README's "your TSZ server"
LLM_PORT = 8765  # the README's local LLM server (as in examples/auto-instrument)
CARD = "4111 1111 1111 1111"
EMAIL = "jane@example.com"


@pytest.fixture
def tsz() -> Iterator[TszTestServer]:
    with TszTestServer() as server:
        yield server


def _normalised(text: str) -> str:
    """Ports and the placeholders' random hex differ per run."""
    text = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", text)
    return re.sub(r"\[([A-Z_]+)_[0-9a-f]{16}\]", r"[\1_HEX]", text)


@pytest.mark.parametrize("block", ["run", "mask", "block"])
def test_offline_commands_print_the_documented_output(block: str) -> None:
    done = run_block(readme_block(EXAMPLE, block))
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert _normalised(done.stdout) == _normalised(readme_output(EXAMPLE, block))
    (tsz_url,) = output_lines(done.stdout, "TSZ server:")
    port = re.search(r":(\d+) ", tsz_url + " ")
    assert port is not None
    for line in output_lines(done.stdout, "guardrail:"):  # checked by that very server
        assert f"CLIENT -> 127.0.0.1:{port.group(1)} " in line


def _detect_calls(server: TszTestServer) -> list[ServedRequest]:
    return [r for r in server.requests if r.method == "POST" and r.path == "/detect"]


def _trace_id(request: ServedRequest) -> str:
    parts = request.headers["traceparent"].split("-")
    assert len(parts) == 4 and parts[0] == "00"
    return parts[1]


def test_your_server_command_uses_that_server(tsz: TszTestServer) -> None:
    done = run_block(readme_block(EXAMPLE, "your-server"), ports={TSZ_PORT: tsz.port})
    assert done.returncode == 0, done.stderr
    assert output_lines(done.stdout, "TSZ server:") == [f"{tsz.url}  (TSZ_MODE=mask)"]
    assert output_lines(done.stdout, "TSZ saw:") == []  # not the app's own server
    calls = _detect_calls(tsz)
    assert len(calls) == 2  # the prompt, then the answer
    assert calls[0].json["text"].startswith("Summarise my account. My card is 4111")
    assert len({_trace_id(c) for c in calls}) == 1
    (received,) = output_lines(done.stdout, "LLM got:")
    assert CARD not in received and "[CREDIT_CARD_" in received


def _span(spans: list[dict[str, Any]], name: str) -> dict[str, Any]:
    (span,) = [s for s in spans if s["name"] == name]
    return span


def test_the_unchanged_auto_instrument_app_uses_a_tsz_server(
    tsz: TszTestServer, llm_server: LLMServer
) -> None:
    done = run_block(
        readme_block(EXAMPLE, "any-app"), ports={TSZ_PORT: tsz.port, LLM_PORT: llm_server.port}
    )
    assert done.returncode == 0, done.stderr
    (request,) = llm_server.requests
    sent = request.json["messages"][0]["content"]
    assert CARD not in sent and EMAIL not in sent and "[CREDIT_CARD_" in sent

    spans, _printed = console_spans(done.stdout)
    guard = _span(spans, "apply_guardrail tsz llm_input")
    assert guard["kind"] == "SpanKind.CLIENT"
    assert guard["attributes"]["server.port"] == tsz.port
    assert guard["attributes"]["gen_ai.guardian.id"] == "tsz-otel.remote"
    assert guard["attributes"]["gen_ai.security.decision.type"] == "modify"
    calls = _detect_calls(tsz)
    assert len(calls) == 2
    assert {_trace_id(c) for c in calls} == {guard["context"]["trace_id"].removeprefix("0x")}
    exported = json.dumps(spans)
    assert CARD not in exported and EMAIL not in exported
