"""examples/auto-instrument: the unchanged openai app run with the README's exact
commands under ``opentelemetry-instrument``, switched observe -> mask -> block by
``TSZ_MODE`` alone; what the LLM server received proves what left the process."""

from __future__ import annotations

import ast
import json
from typing import Any

from examples_support import (
    EXAMPLES,
    background,
    console_spans,
    free_port,
    output_lines,
    readme_block,
    readme_output,
    run_block,
)

from tsz_otel.testing.llm_server import LLMServer
from tsz_otel.testing.otlp_receiver import OtlpReceiver

EXAMPLE = "auto-instrument"
PORT = 8765  # the port the README gives the local test server
CARD = "4111 1111 1111 1111"
EMAIL = "jane@example.com"
DECISION = "gen_ai.security.decision.type"
INPUT_SPAN = "apply_guardrail tsz llm_input"
OUTPUT_SPAN = "apply_guardrail tsz llm_output"


def _run(mode_block: str, server: LLMServer) -> tuple[Any, list[dict[str, Any]], str]:
    script = readme_block(EXAMPLE, "env") + readme_block(EXAMPLE, mode_block)
    done = run_block(script, ports={PORT: server.port})
    spans, printed = console_spans(done.stdout)
    return done, spans, printed


def _span(spans: list[dict[str, Any]], name: str) -> dict[str, Any]:
    found = [s for s in spans if s["name"] == name]
    assert len(found) == 1, [s["name"] for s in spans]
    return found[0]


def _prompt() -> str:
    """The app's PROMPT; and the app imports nothing of tsz-otel or OpenTelemetry."""
    tree = ast.parse((EXAMPLES / EXAMPLE / "app.py").read_text())
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported == {"__future__", "os", "openai"}
    (prompt,) = [
        node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        and isinstance(node.targets[0], ast.Name)
        and node.targets[0].id == "PROMPT"
        and isinstance(node.value, ast.Constant)
    ]
    assert CARD in prompt and EMAIL in prompt
    return str(prompt)


def _no_values_in(spans: list[dict[str, Any]]) -> None:
    exported = json.dumps(spans)
    assert CARD not in exported and EMAIL not in exported


def test_observe_sends_the_prompt_unchanged_and_records_warn(llm_server: LLMServer) -> None:
    done, spans, printed = _run("observe", llm_server)
    assert done.returncode == 0, done.stderr
    (request,) = llm_server.requests
    assert request.json["messages"][0]["content"] == _prompt()
    assert output_lines(printed, "answer:") == [_prompt()]
    guard = _span(spans, INPUT_SPAN)
    assert guard["attributes"][DECISION] == "warn"
    assert guard["attributes"]["tsz.reasons"] == "CREDIT_CARD,EMAIL"
    finding_types = {e["attributes"]["tsz.finding.type"] for e in guard["events"]}
    assert finding_types == {"CREDIT_CARD", "EMAIL"}
    assert _span(spans, OUTPUT_SPAN)["attributes"][DECISION] == "warn"
    llm = [s for s in spans if s["name"].startswith("chat ")]
    assert len(llm) == 1 and guard["parent_id"] == llm[0]["context"]["span_id"]
    assert all(s["resource"]["attributes"]["service.name"] == "auto-instrument-demo" for s in spans)
    _no_values_in(spans)


def test_mask_sends_the_redacted_prompt(llm_server: LLMServer) -> None:
    done, spans, printed = _run("mask", llm_server)
    assert done.returncode == 0, done.stderr
    (request,) = llm_server.requests
    sent = request.json["messages"][0]["content"]
    assert CARD not in sent and EMAIL not in sent
    assert sent.startswith("Summarise my account. My card is [CREDIT_CARD_")
    assert "[EMAIL_" in sent
    (answer,) = output_lines(printed, "answer:")
    assert CARD not in answer and "[CREDIT_CARD_" in answer
    guard = _span(spans, INPUT_SPAN)
    assert guard["attributes"][DECISION] == "modify"
    assert guard["attributes"]["gen_ai.security.content.modified"] is True
    _no_values_in(spans)


def test_block_stops_the_call_before_anything_is_sent(llm_server: LLMServer) -> None:
    done, spans, printed = _run("block", llm_server)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == readme_output(EXAMPLE, "block").strip()
    assert llm_server.requests == []
    assert output_lines(printed, "answer:") == []
    guard = _span(spans, INPUT_SPAN)
    assert guard["attributes"][DECISION] == "deny"
    assert guard["attributes"]["tsz.blocked"] is True
    assert CARD not in done.stderr and EMAIL not in done.stderr
    _no_values_in(spans)


def test_readme_server_command_serves_the_app() -> None:
    """The README's server command itself (not a server of the test) answers the app."""
    free = free_port()
    with background(
        readme_block(EXAMPLE, "server"), ready="llm server listening", ports={PORT: free}
    ):
        script = readme_block(EXAMPLE, "env") + readme_block(EXAMPLE, "observe")
        done = run_block(script, ports={PORT: free})
    assert done.returncode == 0, done.stderr
    spans, printed = console_spans(done.stdout)
    assert output_lines(printed, "answer:") == [_prompt()]
    assert _span(spans, INPUT_SPAN)["attributes"][DECISION] == "warn"


def test_otlp_exports_reach_an_otlp_endpoint(
    llm_server: LLMServer, otlp_receiver: OtlpReceiver
) -> None:
    script = readme_block(EXAMPLE, "env") + readme_block(EXAMPLE, "otlp")
    script += readme_block(EXAMPLE, "mask")
    done = run_block(script, ports={PORT: llm_server.port, 4318: otlp_receiver.port})
    assert done.returncode == 0, done.stderr
    assert console_spans(done.stdout)[0] == []  # spans went over OTLP, not to the console
    guards = otlp_receiver.wait_for_spans(
        2, timeout=30, predicate=lambda s: s.name.startswith("apply_guardrail")
    )
    decisions = {s.name: s.attributes[DECISION] for s in guards}
    assert decisions == {INPUT_SPAN: "modify", OUTPUT_SPAN: "allow"}
    assert all(s.resource["service.name"] == "auto-instrument-demo" for s in guards)
    exported = otlp_receiver.decoded_text()
    assert CARD not in exported and EMAIL not in exported
