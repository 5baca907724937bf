"""Golden tests of the manual API: span name, kind, parent, attributes, events, errors."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, SpanKind, StatusCode

from tsz_otel import (
    AgentDetails,
    ApplyGuardrailScope,
    GuardrailBlockedError,
    GuardrailDecisionType,
    GuardrailDetails,
    GuardrailFinding,
    GuardrailRiskSeverity,
    GuardrailTargetType,
    GuardrailTracer,
    RequestDetails,
    SpanDetails,
    UserDetails,
)

MakeTracer = Callable[..., GuardrailTracer]
Points = Callable[[str], list[Any]]

FINDING = GuardrailFinding(
    risk_category="pii",
    risk_severity=GuardrailRiskSeverity.MEDIUM,
    risk_score=0.6,
    risk_metadata=("type:EMAIL", "count:1"),
    policy_decision_type=GuardrailDecisionType.WARN,
    finding_type="EMAIL",
    native_category="PII",
    action="MASK",
    start=29,
    end=45,
    char_start=29,
    char_end=45,
    count=1,
    value_hash="sha256:" + "0" * 64,
    segment="text",
)


def _details(**extra: object) -> GuardrailDetails:
    return GuardrailDetails(
        target_type=GuardrailTargetType.LLM_INPUT,
        guardian_id="g-1",
        guardian_name="content-filter",
        guardian_provider_name="acme.filter",
        guardian_version="1.2",
        request_id="RID-1",
        mode="observe",
        **extra,  # type: ignore[arg-type]
    )


def test_golden_gen_ai_span(make_tracer: MakeTracer, span_exporter: InMemorySpanExporter) -> None:
    tracer = make_tracer()
    with ApplyGuardrailScope.start(_details(), tracer=tracer) as scope:
        scope.record_finding(FINDING)
        scope.record_decision(GuardrailDecisionType.WARN, "would mask: EMAIL", "tsz.would_mask")
    (span,) = span_exporter.get_finished_spans()
    assert span.name == "apply_guardrail content-filter llm_input"
    assert span.kind is SpanKind.INTERNAL
    assert span.status.status_code is StatusCode.UNSET
    assert span.parent is None
    assert dict(span.attributes or {}) == {
        "gen_ai.operation.name": "apply_guardrail",
        "gen_ai.security.target.type": "llm_input",
        "gen_ai.guardian.id": "g-1",
        "gen_ai.guardian.name": "content-filter",
        "gen_ai.guardian.provider.name": "acme.filter",
        "gen_ai.guardian.version": "1.2",
        "tsz.mode": "observe",
        "tsz.request_id": "RID-1",
        "gen_ai.security.decision.type": "warn",
        "gen_ai.security.decision.reason": "would mask: EMAIL",
        "gen_ai.security.decision.code": "tsz.would_mask",
        "tsz.blocked": False,
        "tsz.reasons": "EMAIL",
        "tsz.confidence": "0.60",
        "tsz.detection_count": 1,
    }
    (event,) = span.events
    assert event.name == "gen_ai.security.finding"
    assert dict(event.attributes or {}) == {
        "gen_ai.security.risk.category": "pii",
        "gen_ai.security.risk.severity": "medium",
        "gen_ai.security.risk.score": 0.6,
        "gen_ai.security.risk.metadata": ("type:EMAIL", "count:1"),
        "gen_ai.security.policy.decision.type": "warn",
        "tsz.finding.type": "EMAIL",
        "tsz.finding.category": "PII",
        "tsz.finding.severity": "medium",
        "tsz.finding.action": "MASK",
        "tsz.finding.start": 29,
        "tsz.finding.end": 45,
        "tsz.finding.char_start": 29,
        "tsz.finding.char_end": 45,
        "tsz.finding.count": 1,
        "tsz.finding.value_hash": "sha256:" + "0" * 64,
        "tsz.finding.segment": "text",
    }


def test_golden_microsoft_span(
    make_tracer: MakeTracer, span_exporter: InMemorySpanExporter
) -> None:
    tracer = make_tracer(semconv=("microsoft",))
    with tracer.start(_details(), AgentDetails(agent_id="a-1", tenant_id="t-1")) as scope:
        scope.record_finding(FINDING)
        scope.record_decision(GuardrailDecisionType.DENY, "blocked: EMAIL")
    (span,) = span_exporter.get_finished_spans()
    attributes = dict(span.attributes or {})
    assert attributes["microsoft.security.target.type"] == "llm_input"
    assert attributes["microsoft.security.decision.type"] == "deny"
    assert attributes["microsoft.guardian.provider.name"] == "acme.filter"
    assert attributes["microsoft.tenant.id"] == "t-1"
    assert attributes["gen_ai.agent.id"] == "a-1"
    assert attributes["tsz.blocked"] is True
    assert not any(key.startswith("gen_ai.security") for key in attributes)
    (event,) = span.events
    assert event.name == "microsoft.security.finding"
    assert event.attributes is not None
    assert event.attributes["microsoft.security.risk.severity"] == "medium"
    assert span.status.status_code is StatusCode.UNSET  # a deny is not an error


def test_golden_guardrail_span(
    make_tracer: MakeTracer, span_exporter: InMemorySpanExporter
) -> None:
    tracer = make_tracer(semconv=("guardrail",))
    with tracer.start(_details()) as scope:
        scope.record_finding(FINDING)
        scope.record_decision(GuardrailDecisionType.WARN, "would mask: EMAIL")
    (span,) = span_exporter.get_finished_spans()
    attributes = dict(span.attributes or {})
    assert attributes["gen_ai.guardrail.source"] == "llm_input"
    assert attributes["gen_ai.guardrail.component.name"] == "content-filter"
    assert attributes["gen_ai.provider.name"] == "acme.filter"
    assert attributes["gen_ai.guardrail.result.type"] == "tsz.decision"
    assert attributes["gen_ai.guardrail.result.value"] == "warn"
    assert attributes["gen_ai.guardrail.result.reason"] == "would mask: EMAIL"
    assert "gen_ai.guardian.id" not in attributes
    (event,) = span.events
    assert event.name == "gen_ai.guardrail.result"
    assert event.attributes is not None
    assert event.attributes["gen_ai.guardrail.risk.category"] == "PII"  # native value
    assert event.attributes["gen_ai.guardrail.risk.score"] == 0.6


def test_two_schemes_at_once(make_tracer: MakeTracer, span_exporter: InMemorySpanExporter) -> None:
    tracer = make_tracer(semconv=("gen_ai", "microsoft"))
    with tracer.start(_details()) as scope:
        scope.record_finding(FINDING)
        scope.record_decision("modify")
    (span,) = span_exporter.get_finished_spans()
    attributes = dict(span.attributes or {})
    assert attributes["gen_ai.security.decision.type"] == "modify"
    assert attributes["microsoft.security.decision.type"] == "modify"
    assert [e.name for e in span.events] == [
        "gen_ai.security.finding",
        "microsoft.security.finding",
    ]
    for event in span.events:
        assert event.attributes is not None
        assert event.attributes["tsz.finding.type"] == "EMAIL"


def test_sampling_relevant_attributes_are_passed_at_start(
    make_tracer: MakeTracer, sampler: Any
) -> None:
    tracer = make_tracer()
    with tracer.start(_details()):
        pass
    ((name, attributes),) = sampler.started
    assert name == "apply_guardrail content-filter llm_input"
    for key, value in {
        "gen_ai.operation.name": "apply_guardrail",
        "gen_ai.security.target.type": "llm_input",
        "gen_ai.guardian.name": "content-filter",
        "gen_ai.guardian.provider.name": "acme.filter",
        "gen_ai.guardian.id": "g-1",
        "tsz.request_id": "RID-1",
    }.items():
        assert attributes[key] == value


def test_child_of_current_span_and_nested_work_is_its_child(
    make_tracer: MakeTracer,
    tracer_provider: TracerProvider,
    span_exporter: InMemorySpanExporter,
) -> None:
    app = tracer_provider.get_tracer("app")
    with app.start_as_current_span("chat gpt-x") as llm:
        with make_tracer().start(_details()):
            with app.start_as_current_span("inner"):
                pass
    spans = {s.name: s for s in span_exporter.get_finished_spans()}
    guard = spans["apply_guardrail content-filter llm_input"]
    assert guard.parent is not None
    assert guard.parent.span_id == llm.get_span_context().span_id
    inner = spans["inner"]
    assert inner.parent is not None and guard.context is not None
    assert inner.parent.span_id == guard.context.span_id


def test_explicit_parent_kind_and_links(
    make_tracer: MakeTracer,
    tracer_provider: TracerProvider,
    span_exporter: InMemorySpanExporter,
) -> None:
    app = tracer_provider.get_tracer("app")
    with app.start_as_current_span("stream") as stream:
        linked = stream.get_span_context()
    with app.start_as_current_span("unrelated"):
        scope = make_tracer().start(
            _details(server_address="tsz.internal", server_port=8080),
            span_details=SpanDetails(
                kind=SpanKind.CLIENT,
                parent_context=trace.set_span_in_context(stream),
                links=[Link(linked)],
            ),
        )
        scope.end()
    guard = next(s for s in span_exporter.get_finished_spans() if s.name.startswith("apply"))
    assert guard.kind is SpanKind.CLIENT
    assert guard.parent is not None and guard.parent.span_id == linked.span_id
    assert [link.context.span_id for link in guard.links] == [linked.span_id]
    assert guard.attributes is not None
    assert guard.attributes["server.address"] == "tsz.internal"
    assert guard.attributes["server.port"] == 8080


def test_guardian_failure_is_error_without_message(
    make_tracer: MakeTracer, span_exporter: InMemorySpanExporter
) -> None:
    secret = "jane.doe@example.com"
    with pytest.raises(ValueError), make_tracer().start(_details()):
        raise ValueError(f"could not parse {secret}")
    (span,) = span_exporter.get_finished_spans()
    assert span.end_time is not None
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "ValueError"
    assert span.attributes is not None
    assert span.attributes["error.type"] == "ValueError"
    (event,) = span.events
    assert event.name == "exception"
    assert dict(event.attributes or {}) == {"exception.type": "ValueError"}
    assert secret not in repr(span.to_json())


def test_raw_capture_records_the_full_exception(
    make_tracer: MakeTracer, span_exporter: InMemorySpanExporter
) -> None:
    with (
        pytest.raises(KeyError),
        make_tracer(capture_content="SPAN_ONLY", capture_raw=True).start(_details()),
    ):
        raise KeyError("detail")
    (span,) = span_exporter.get_finished_spans()
    (event,) = span.events
    assert event.attributes is not None
    assert "detail" in str(event.attributes["exception.message"])


def test_blocked_error_leaving_the_scope_is_not_an_error(
    make_tracer: MakeTracer, span_exporter: InMemorySpanExporter
) -> None:
    with pytest.raises(GuardrailBlockedError), make_tracer().start(_details()) as scope:
        scope.record_decision(GuardrailDecisionType.DENY)
        raise GuardrailBlockedError("denied")
    (span,) = span_exporter.get_finished_spans()
    assert span.status.status_code is StatusCode.UNSET
    assert span.attributes is not None
    assert "error.type" not in span.attributes
    assert span.attributes["tsz.blocked"] is True


def test_span_ends_exactly_once(
    make_tracer: MakeTracer, span_exporter: InMemorySpanExporter
) -> None:
    scope = make_tracer().start(_details())
    scope.end()
    scope.end()
    with scope:
        pass
    assert scope.ended
    assert len(span_exporter.get_finished_spans()) == 1


def test_cancellation_ends_the_span_as_error(
    make_tracer: MakeTracer, span_exporter: InMemorySpanExporter
) -> None:
    tracer = make_tracer()

    async def guarded() -> None:
        async with tracer.start(_details()):
            await asyncio.sleep(10)

    async def main() -> None:
        task = asyncio.create_task(guarded())
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    (span,) = span_exporter.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes is not None
    assert span.attributes["error.type"] == "CancelledError"


async def test_async_context_manager_activates_the_span(
    make_tracer: MakeTracer, span_exporter: InMemorySpanExporter
) -> None:
    async with make_tracer().start(_details()) as scope:
        current = trace.get_current_span().get_span_context()
        assert current.span_id == scope.span_context.span_id
        scope.record_decision("allow")
    assert trace.get_current_span().get_span_context().span_id != scope.span_context.span_id
    (span,) = span_exporter.get_finished_spans()
    assert span.attributes is not None
    assert span.attributes["gen_ai.security.decision.type"] == "allow"


def test_content_is_not_captured_by_default(
    make_tracer: MakeTracer, span_exporter: InMemorySpanExporter
) -> None:
    with make_tracer().start(_details()) as scope:
        scope.record_content_input("raw text", redacted="[X] text")
        scope.record_content_output("out")
    (span,) = span_exporter.get_finished_spans()
    assert span.attributes is not None
    assert not any("content" in key and "value" in key for key in span.attributes)
    assert span.events == ()


@pytest.mark.parametrize(
    ("mode", "raw", "on_span", "on_event", "expected"),
    [
        ("SPAN_ONLY", False, True, False, "[X] text"),
        ("EVENT_ONLY", False, False, True, "[X] text"),
        ("SPAN_AND_EVENT", False, True, True, "[X] text"),
        ("SPAN_ONLY", True, True, False, "raw text"),
    ],
)
def test_content_capture_modes(
    make_tracer: MakeTracer,
    span_exporter: InMemorySpanExporter,
    mode: str,
    raw: bool,
    on_span: bool,
    on_event: bool,
    expected: str,
) -> None:
    with make_tracer(capture_content=mode, capture_raw=raw).start(_details()) as scope:
        scope.record_content_input("raw text", redacted="[X] text")
    (span,) = span_exporter.get_finished_spans()
    key = "gen_ai.security.content.input.value"
    assert span.attributes is not None
    assert (span.attributes.get(key) == expected) is on_span
    events = [e for e in span.events if e.name == "tsz.guardrail.content"]
    assert bool(events) is on_event
    if on_event:
        assert events[0].attributes is not None
        assert events[0].attributes[key] == expected


def test_capture_without_redacted_version_captures_nothing(
    make_tracer: MakeTracer, span_exporter: InMemorySpanExporter
) -> None:
    with make_tracer(capture_content="SPAN_ONLY").start(_details()) as scope:
        scope.record_content_input("raw text")
    (span,) = span_exporter.get_finished_spans()
    assert span.attributes is not None
    assert "gen_ai.security.content.input.value" not in span.attributes


def test_personal_user_details_only_with_raw_capture(
    make_tracer: MakeTracer, span_exporter: InMemorySpanExporter
) -> None:
    user = UserDetails(user_id="u-1", user_email="u@example.com", user_client_ip="10.0.0.1")
    request = RequestDetails(conversation_id="conv-1")
    make_tracer().start(_details(), request=request, user_details=user).end()
    make_tracer(capture_content="SPAN_ONLY", capture_raw=True).start(
        _details(), user_details=user
    ).end()
    default, raw = span_exporter.get_finished_spans()
    assert default.attributes is not None and raw.attributes is not None
    assert default.attributes["user.id"] == "u-1"
    assert default.attributes["gen_ai.conversation.id"] == "conv-1"
    assert "user.email" not in default.attributes
    assert "client.address" not in default.attributes
    assert raw.attributes["user.email"] == "u@example.com"


def test_metrics_recorded_when_scope_ends(make_tracer: MakeTracer, metric_points: Points) -> None:
    tracer = make_tracer()
    with tracer.start(_details()) as scope:
        scope.record_finding(FINDING)
        scope.record_decision(GuardrailDecisionType.DENY)
    with tracer.start(_details()) as scope:
        scope.record_decision(GuardrailDecisionType.ALLOW)
    (duration,) = [
        p
        for p in metric_points("gen_ai.client.apply_guardrail.duration")
        if p.attributes["gen_ai.security.decision.type"] == "deny"
    ]
    assert duration.count == 1
    assert duration.attributes["gen_ai.guardian.name"] == "content-filter"
    assert duration.attributes["gen_ai.security.target.type"] == "llm_input"
    evaluations = {
        p.attributes["gen_ai.security.decision.type"]: p.count
        for p in metric_points("gen_ai.client.apply_guardrail.duration")
    }
    assert evaluations == {"deny": 1, "allow": 1}
    assert metric_points("tsz.guardrail.evaluations") == []  # the histogram counts them
    (blocks,) = metric_points("tsz.guardrail.blocks")
    assert blocks.value == 1
    (finding,) = metric_points("tsz.guardrail.findings")
    assert finding.value == 1
    assert finding.attributes["tsz.finding.type"] == "EMAIL"
    assert finding.attributes["tsz.finding.category"] == "PII"
    assert finding.attributes["tsz.finding.severity"] == "medium"
    for point in metric_points("gen_ai.client.apply_guardrail.duration"):
        assert "tsz.request_id" not in point.attributes  # no high-cardinality labels


def test_metrics_recorded_for_unsampled_spans(
    metric_points: Points,
    meter_provider: object,
    settings_for: Callable[..., object],
) -> None:
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

    tracer = GuardrailTracer(
        settings_for(),  # type: ignore[arg-type]
        tracer_provider=TracerProvider(sampler=ALWAYS_OFF),
        meter_provider=meter_provider,
    )
    with tracer.start(_details()) as scope:
        assert scope.is_recording is False
        scope.record_finding(FINDING)
        scope.record_decision("warn")
    (point,) = metric_points("gen_ai.client.apply_guardrail.duration")
    assert point.count == 1
    assert metric_points("tsz.guardrail.findings")[0].value == 1


def test_finding_validation() -> None:
    with pytest.raises(ValueError, match="risk_score"):
        GuardrailFinding(risk_category="pii", risk_score=1.5)
    with pytest.raises(ValueError, match="risk_severity"):
        GuardrailFinding(risk_category="pii", risk_severity="urgent")
