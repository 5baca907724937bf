"""examples/manual-scope: the README's commands print the documented span tree, and the
custom guardrail spans reach an OTLP receiver nested under the app's span."""

from __future__ import annotations

from examples_support import readme_block, readme_output, run_block

from tsz_otel.testing.otlp_receiver import OtlpReceiver, ReceivedSpan

EXAMPLE = "manual-scope"
DECISION = "gen_ai.security.decision.type"
RECIPIENT = "dana@rival-corp.example"
HIDDEN_DOCUMENT = "Internal: refund fraud thresholds per region."


def test_readme_command_prints_the_documented_output() -> None:
    done = run_block(readme_block(EXAMPLE, "run"))
    assert done.returncode == 0, done.stderr
    assert done.stdout == readme_output(EXAMPLE, "run")
    assert done.stderr == ""


def _children(spans: list[ReceivedSpan], parent: ReceivedSpan) -> dict[str, ReceivedSpan]:
    return {s.name: s for s in spans if s.parent_span_id == parent.span_id}


def test_otlp_command_exports_the_nested_guardrail_spans(otlp_receiver: OtlpReceiver) -> None:
    done = run_block(readme_block(EXAMPLE, "otlp"), ports={4318: otlp_receiver.port})
    assert done.returncode == 0, done.stderr
    assert f"spans exported to http://localhost:{otlp_receiver.port}/v1/traces" in done.stdout
    spans = otlp_receiver.wait_for_spans(5, timeout=30)
    assert len(spans) == 5
    (root,) = [s for s in spans if s.parent_span_id == ""]
    assert root.name == "support_bot.turn"
    assert root.resource["service.name"] == "manual-scope-demo"
    assert {s.trace_id for s in spans} == {root.trace_id}
    top = _children(spans, root)
    assert set(top) == {
        "retrieve_documents",
        "chat gpt-4o-mini",
        "apply_guardrail tool-policy tool_call",
    }
    (acl,) = _children(spans, top["retrieve_documents"]).values()
    tool = top["apply_guardrail tool-policy tool_call"]

    assert acl.name == "apply_guardrail acl-filter knowledge_result"
    assert acl.attributes[DECISION] == "modify"
    assert acl.attributes["gen_ai.security.target.type"] == "knowledge_result"
    assert acl.attributes["gen_ai.guardian.provider.name"] == "acme.rag"
    (finding,) = acl.events_named("gen_ai.security.finding")
    assert finding.attributes["tsz.finding.type"] == "ACL_DENIED"
    assert finding.attributes["tsz.finding.value_hash"].startswith("sha256:")

    assert tool.attributes[DECISION] == "deny"
    assert tool.attributes["tsz.blocked"] is True
    assert tool.status_code == "UNSET"  # a deny is a decision, not an error
    (finding,) = tool.events_named("gen_ai.security.finding")
    assert finding.attributes["tsz.finding.type"] == "EXTERNAL_RECIPIENT"
    assert finding.attributes["gen_ai.security.risk.category"] == "custom:data_exfiltration"

    exported = otlp_receiver.decoded_text()
    assert RECIPIENT not in exported and "rival-corp" not in exported
    assert HIDDEN_DOCUMENT not in exported
