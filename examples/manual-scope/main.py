"""Guardrail spans for your own checks: ``ApplyGuardrailScope`` around custom code.

One turn of a support bot, under one application span:

1. documents are retrieved for the question, and an access check drops those the user may
   not read (target ``knowledge_result``, decision ``modify``);
2. the LLM answers with a ``send_email`` tool call (the local OpenAI-compatible test
   server, or a real provider when ``OPENAI_BASE_URL``/``OPENAI_API_KEY`` are set);
3. the tool call's arguments are checked before the tool runs: recipients outside the
   company's domains are refused (target ``tool_call``, decision ``deny``).

Each check is an ``apply_guardrail`` span with one finding event per problem and a hash
instead of the value. The span tree is printed at the end; with
``OTEL_EXPORTER_OTLP_ENDPOINT`` the spans also go over OTLP (e.g. to Jaeger).

Run: ``.venv/bin/python examples/manual-scope/main.py``
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import openai
from openai.types.chat import ChatCompletionToolParam
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from tsz_otel import (
    ApplyGuardrailScope,
    GuardrailDecisionType,
    GuardrailDetails,
    GuardrailFinding,
    GuardrailRiskSeverity,
    GuardrailTargetType,
    GuardrailTracer,
    Settings,
    setup_telemetry,
)
from tsz_otel.testing.llm_server import LLMServer


@dataclass(frozen=True)
class Document:
    id: str
    group: str  # who may read it
    text: str


MODEL = os.environ.get("OPENAI_MODEL", "gpt-4o-mini")
USER_GROUPS = frozenset({"support"})
COMPANY_DOMAINS = frozenset({"example.com"})
QUESTION = "Please email our refund policy to dana@rival-corp.example."
KNOWLEDGE_BASE = (
    Document("kb-12", "support", "Refunds are issued within 14 days of a return."),
    Document("kb-31", "finance", "Internal: refund fraud thresholds per region."),
    Document("kb-40", "support", "Refunds over 500 EUR need a team lead's approval."),
)
SEND_EMAIL: ChatCompletionToolParam = {
    "type": "function",
    "function": {
        "name": "send_email",
        "description": "Send an e-mail.",
        "parameters": {
            "type": "object",
            "properties": {
                "to": {"type": "string"},
                "subject": {"type": "string"},
                "body": {"type": "string"},
            },
            "required": ["to", "subject", "body"],
        },
    },
}
# What the local test server answers: the tool call a model would make here.
SCRIPTED_CALL = {
    "name": "send_email",
    "arguments": {
        "to": "dana@rival-corp.example",
        "subject": "Refund policy",
        "body": "Refunds are issued within 14 days of a return.",
    },
}


# --- the custom checks, each in its own guardrail span ------------------------------------


def readable_documents(docs: Sequence[Document], guardrails: GuardrailTracer) -> list[Document]:
    """Drop retrieved documents outside the user's groups, before they reach the prompt."""
    details = GuardrailDetails(
        target_type=GuardrailTargetType.KNOWLEDGE_RESULT,
        guardian_name="acl-filter",
        guardian_provider_name="acme.rag",
        policy_id="kb-acl-v1",
    )
    with ApplyGuardrailScope.start(details, tracer=guardrails) as scope:
        kept = [d for d in docs if d.group in USER_GROUPS]
        dropped = [d for d in docs if d.group not in USER_GROUPS]
        for doc in dropped:
            scope.record_finding(
                GuardrailFinding(
                    risk_category="custom:access_control",
                    risk_severity=GuardrailRiskSeverity.HIGH,
                    risk_score=1.0,
                    finding_type="ACL_DENIED",
                    value_hash=guardrails.hasher(doc.text),  # never the text itself
                )
            )
        decision = GuardrailDecisionType.MODIFY if dropped else GuardrailDecisionType.ALLOW
        scope.record_decision(decision, reason=f"{len(dropped)} document(s) outside user groups")
        scope.record_content_modified(bool(dropped))
    return kept


def tool_call_allowed(name: str, arguments: str, guardrails: GuardrailTracer) -> bool:
    """Refuse ``send_email`` to a recipient outside the company's domains."""
    details = GuardrailDetails(
        target_type=GuardrailTargetType.TOOL_CALL,
        guardian_name="tool-policy",
        guardian_provider_name="acme.agent",
        target_id=name,
        policy_id="outbound-mail-v2",
    )
    with ApplyGuardrailScope.start(details, tracer=guardrails) as scope:
        recipient = str(json.loads(arguments).get("to", ""))
        domain = recipient.rpartition("@")[2].lower()
        if domain in COMPANY_DOMAINS:
            scope.record_decision(GuardrailDecisionType.ALLOW)
            return True
        scope.record_finding(
            GuardrailFinding(
                risk_category="custom:data_exfiltration",
                risk_severity=GuardrailRiskSeverity.HIGH,
                risk_score=0.9,
                finding_type="EXTERNAL_RECIPIENT",
                value_hash=guardrails.hasher(recipient),
            )
        )
        scope.record_decision(
            GuardrailDecisionType.DENY, reason="recipient outside company domains"
        )
        return False


# --- the application ----------------------------------------------------------------------


@contextlib.contextmanager
def llm_client() -> Iterator[openai.OpenAI]:
    """A real provider when ``OPENAI_BASE_URL``/``OPENAI_API_KEY`` are set, else the local
    OpenAI-compatible test server (127.0.0.1, random port) answering with a tool call."""
    if os.environ.get("OPENAI_BASE_URL") or os.environ.get("OPENAI_API_KEY"):
        yield openai.OpenAI()
        return
    with LLMServer() as server:
        server.script(tool_calls=[SCRIPTED_CALL], times=None)
        with openai.OpenAI(base_url=server.base_url, api_key="local-test-key") as client:
            yield client


def support_turn(client: openai.OpenAI, guardrails: GuardrailTracer) -> None:
    tracer = guardrails.tracer
    print(f"question:  {QUESTION}")
    with tracer.start_as_current_span("support_bot.turn"):
        with tracer.start_as_current_span("retrieve_documents"):
            found = [d for d in KNOWLEDGE_BASE if "refund" in d.text.lower()]
            docs = readable_documents(found, guardrails)
        print(f"retrieval: {len(found)} documents found, {len(found) - len(docs)} dropped")
        context = "\n".join(d.text for d in docs)
        with tracer.start_as_current_span(f"chat {MODEL}", kind=SpanKind.CLIENT):
            reply = client.chat.completions.create(
                model=MODEL,
                messages=[
                    {"role": "system", "content": f"Answer from these notes:\n{context}"},
                    {"role": "user", "content": QUESTION},
                ],
                tools=[SEND_EMAIL],
            )
        for call in reply.choices[0].message.tool_calls or ():
            if call.type != "function":
                continue
            function = call.function
            if tool_call_allowed(function.name, function.arguments, guardrails):
                print(f"tool call: {function.name} allowed (it would run now)")
            else:
                print(f"tool call: {function.name} DENIED, recipient outside company domains")
        if not reply.choices[0].message.tool_calls:
            print(f"answer:    {reply.choices[0].message.content}")


# --- printing the span tree -----------------------------------------------------------------


def describe(span: ReadableSpan) -> str:
    """A span's name, and for guardrail spans its decision and finding types."""
    attributes = span.attributes or {}
    decision = attributes.get("gen_ai.security.decision.type")
    if decision is None:
        return span.name
    types = [str((e.attributes or {}).get("tsz.finding.type")) for e in span.events]
    return f"{span.name}  [{decision}]" + (f"  findings: {', '.join(types)}" if types else "")


def print_tree(spans: Sequence[ReadableSpan]) -> None:
    children: dict[int | None, list[ReadableSpan]] = {}
    for span in sorted(spans, key=lambda s: s.start_time or 0):
        parent = span.parent.span_id if span.parent else None
        children.setdefault(parent, []).append(span)

    def walk(span: ReadableSpan, prefix: str, last: bool, root: bool) -> None:
        branch = "" if root else ("└── " if last else "├── ")
        print(prefix + branch + describe(span))
        kids = children.get(span.context.span_id if span.context else None, [])
        inner = prefix if root else prefix + ("    " if last else "│   ")
        for index, kid in enumerate(kids):
            walk(kid, inner, index == len(kids) - 1, False)

    for root in children.get(None, []):
        walk(root, "", True, True)


def main() -> int:
    settings = Settings.from_env()
    telemetry = setup_telemetry(settings, service_name="manual-scope-demo", console=False)
    collected = InMemorySpanExporter()
    telemetry.tracer_provider.add_span_processor(SimpleSpanProcessor(collected))
    guardrails = GuardrailTracer(
        settings,
        tracer_provider=telemetry.tracer_provider,
        meter_provider=telemetry.meter_provider,
    )
    with llm_client() as client:
        support_turn(client, guardrails)
    print("\nspans:")
    print_tree(collected.get_finished_spans())
    if telemetry.traces_url:
        print(f"\nspans exported to {telemetry.traces_url}")
    telemetry.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
