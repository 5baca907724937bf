"""Guard: rollout modes, messages, fail modes, and the span each check leaves behind."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from tsz_otel import (
    DetectResponse,
    Guard,
    GuardrailBlockedError,
    GuardrailDecisionType,
    GuardrailFailedError,
    InputError,
    RolloutMode,
    Settings,
    parse_mode,
)

EMAIL = "jane.doe@example.com"
CARD = "4111 1111 1111 1111"
EMAIL_TEXT = f"Please send the invoice to {EMAIL} today."
CARD_TEXT = f"My card number is {CARD}, charge it."
CLEAN_TEXT = "What is the capital of France?"

MakeGuard = Callable[..., Guard]
Points = Callable[[str], list[Any]]


class BrokenEngine:
    """An engine that always fails, with user content in its error message."""

    def detect(
        self,
        text: str,
        rid: str | None = None,
        guardrails: Sequence[str] = (),
        mode: str | None = None,
    ) -> DetectResponse:
        raise RuntimeError(f"cannot scan {text!r}")

    async def adetect(
        self,
        text: str,
        rid: str | None = None,
        guardrails: Sequence[str] = (),
        mode: str | None = None,
    ) -> DetectResponse:
        raise RuntimeError(f"cannot scan {text!r}")


@pytest.fixture
def make_guard(
    tracer_provider: TracerProvider,
    meter_provider: Any,
    settings_for: Callable[..., Settings],
) -> MakeGuard:
    def build(detector: Any = None, mode: str | None = None, **overrides: Any) -> Guard:
        return Guard(
            settings_for(**overrides),
            engine=detector,
            mode=mode,
            tracer_provider=tracer_provider,
            meter_provider=meter_provider,
        )

    return build


def _guard_span(exporter: InMemorySpanExporter) -> ReadableSpan:
    spans = [s for s in exporter.get_finished_spans() if s.name.startswith("apply_guardrail")]
    assert len(spans) == 1, [s.name for s in exporter.get_finished_spans()]
    return spans[0]


def _attributes(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def test_observe_warns_and_leaves_text_untouched(
    make_guard: MakeGuard, span_exporter: InMemorySpanExporter
) -> None:
    verdict = make_guard().check(EMAIL_TEXT, rid="RID-7")
    assert verdict.decision is GuardrailDecisionType.WARN
    assert verdict.mode is RolloutMode.OBSERVE
    assert verdict.text == EMAIL_TEXT
    assert verdict.blocked is False
    assert verdict.would_mask is True
    assert "EMAIL" in verdict.finding_types
    span = _guard_span(span_exporter)
    assert span.name == "apply_guardrail tsz llm_input"
    assert span.kind is SpanKind.INTERNAL
    assert span.status.status_code is StatusCode.UNSET
    attributes = _attributes(span)
    assert attributes["gen_ai.security.decision.type"] == "warn"
    assert attributes["gen_ai.guardian.provider.name"] == "tsz"
    assert attributes["tsz.request_id"] == "RID-7"
    assert attributes["tsz.blocked"] is False
    assert "EMAIL" in attributes["tsz.reasons"].split(",")
    assert attributes["tsz.action"] == "AUDIT_ONLY"
    assert attributes["gen_ai.security.content.input.hash"].startswith("sha256:")
    email_events = [
        e
        for e in span.events
        if e.name == "gen_ai.security.finding"
        and (e.attributes or {}).get("tsz.finding.type") == "EMAIL"
    ]
    (event,) = email_events
    assert event.attributes is not None
    expected_hash = "sha256:" + hashlib.sha256(EMAIL.encode()).hexdigest()
    assert event.attributes["tsz.finding.value_hash"] == expected_hash
    assert event.attributes["gen_ai.security.risk.category"] == "pii"
    assert event.attributes["gen_ai.security.policy.decision.type"] == "warn"
    start, end = event.attributes["tsz.finding.char_start"], event.attributes["tsz.finding.end"]
    assert EMAIL_TEXT[int(start) : int(event.attributes["tsz.finding.char_end"])] == EMAIL
    assert int(end) == len(EMAIL_TEXT[: int(event.attributes["tsz.finding.char_end"])].encode())
    assert EMAIL not in span.to_json()


def test_clean_text_is_allowed_without_events(
    make_guard: MakeGuard, span_exporter: InMemorySpanExporter
) -> None:
    verdict = make_guard(mode="block").check(CLEAN_TEXT)
    assert verdict.decision is GuardrailDecisionType.ALLOW
    assert verdict.text == CLEAN_TEXT
    span = _guard_span(span_exporter)
    assert span.events == ()
    assert _attributes(span)["tsz.reasons"] == ""
    assert _attributes(span)["tsz.confidence"] == "0.00"


def test_mask_mode_redacts(make_guard: MakeGuard, span_exporter: InMemorySpanExporter) -> None:
    verdict = make_guard(mode="mask").check(EMAIL_TEXT)
    assert verdict.decision is GuardrailDecisionType.MODIFY
    assert verdict.masked is True
    assert verdict.text is not None and EMAIL not in verdict.text
    assert verdict.text == verdict.response.redacted_text
    attributes = _attributes(_guard_span(span_exporter))
    assert attributes["gen_ai.security.decision.type"] == "modify"
    assert attributes["gen_ai.security.content.modified"] is True
    assert attributes["tsz.action"] == "MASK"


def test_block_mode_raises_without_values(
    make_guard: MakeGuard, span_exporter: InMemorySpanExporter
) -> None:
    with pytest.raises(GuardrailBlockedError) as caught:
        make_guard(mode="block").check(CARD_TEXT, rid="RID-B")
    error = caught.value
    assert "CREDIT_CARD" in str(error)
    assert "RID-B" in str(error)
    assert CARD not in str(error) and CARD.replace(" ", "") not in str(error)
    assert CARD not in repr(error.verdict)
    assert error.verdict.decision is GuardrailDecisionType.DENY
    assert error.verdict.span_context is not None
    span = _guard_span(span_exporter)
    assert span.status.status_code is StatusCode.UNSET  # deny is not an error
    attributes = _attributes(span)
    assert attributes["gen_ai.security.decision.type"] == "deny"
    assert attributes["tsz.blocked"] is True
    assert attributes["tsz.action"] == "BLOCK"
    assert "error.type" not in attributes


def test_block_mode_can_return_the_deny_verdict(make_guard: MakeGuard) -> None:
    verdict = make_guard(mode="block").check(CARD_TEXT, raise_on_block=False)
    assert verdict.blocked is True
    assert verdict.decision == "deny"
    assert "CREDIT_CARD" in verdict.blocking_types


def test_block_mode_masks_what_it_does_not_block(make_guard: MakeGuard) -> None:
    verdict = make_guard(mode="block").check(EMAIL_TEXT)
    assert verdict.decision is GuardrailDecisionType.MODIFY
    assert verdict.text is not None and EMAIL not in verdict.text


def test_observe_reports_would_block(make_guard: MakeGuard) -> None:
    verdict = make_guard().check(CARD_TEXT)
    assert verdict.decision is GuardrailDecisionType.WARN
    assert verdict.would_block is True
    assert verdict.reason is not None and verdict.reason.startswith("would block")
    assert verdict.text == CARD_TEXT


def test_messages_roles_parts_tool_calls_and_structure(
    make_guard: MakeGuard, span_exporter: InMemorySpanExporter
) -> None:
    image = {"type": "image_url", "image_url": {"url": "https://example.org/cat.png"}}
    messages = [
        {"role": "system", "content": "You are helpful."},
        {"role": "user", "content": [{"type": "text", "text": EMAIL_TEXT}, image]},
        {"role": "assistant", "content": f"Noted, {EMAIL}"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "send", "arguments": f'{{"to": "{EMAIL}"}}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": f"sent to {EMAIL}"},
    ]
    verdict = make_guard(mode="mask").check(messages)
    assert verdict.text is None
    assert verdict.segments == (
        "messages[0].content",
        "messages[1].content[0].text",
        "messages[4].content",
    )  # assistant messages are not scanned for llm_input (default input roles)
    out = verdict.messages
    assert out is not None
    assert out[0] == messages[0]
    assert EMAIL not in out[1]["content"][0]["text"]
    assert out[1]["content"][1] == image
    assert out[2] == messages[2]  # untouched: not an input role
    assert EMAIL not in out[4]["content"]
    assert out[4]["tool_call_id"] == "call_1"
    assert EMAIL in messages[1]["content"][0]["text"]  # the caller's list is not mutated
    assert len(verdict.responses) == 3
    attributes = _attributes(_guard_span(span_exporter))
    assert attributes["tsz.segment_count"] == 3
    segments = {
        (e.attributes or {}).get("tsz.finding.segment") for e in _guard_span(span_exporter).events
    }
    assert segments == {"messages[1].content[0].text", "messages[4].content"}


def test_output_target_scans_every_role_and_tool_arguments(make_guard: MakeGuard) -> None:
    messages = [
        {
            "role": "assistant",
            "content": f"Sure: {EMAIL}",
            "tool_calls": [{"function": {"name": "f", "arguments": f'{{"to": "{EMAIL}"}}'}}],
        }
    ]
    verdict = make_guard(mode="mask").check(messages, "llm_output")
    assert verdict.segments == (
        "messages[0].content",
        "messages[0].tool_calls[0].function.arguments",
    )
    assert verdict.messages is not None
    assert EMAIL not in str(verdict.messages)
    assert verdict.messages[0]["tool_calls"][0]["function"]["name"] == "f"


def test_custom_input_roles(make_guard: MakeGuard) -> None:
    messages = [{"role": "system", "content": EMAIL_TEXT}, {"role": "user", "content": "hi"}]
    verdict = make_guard(input_roles=("user",)).check(messages)
    assert verdict.segments == ("messages[1].content",)
    assert verdict.decision is GuardrailDecisionType.ALLOW


def test_fail_open_records_the_error_without_content(
    make_guard: MakeGuard,
    span_exporter: InMemorySpanExporter,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    verdict = make_guard(BrokenEngine(), mode="mask").check(EMAIL_TEXT, rid="RID-E")
    assert verdict.decision is GuardrailDecisionType.AUDIT
    assert verdict.text == EMAIL_TEXT
    assert verdict.error_type == "RuntimeError"
    assert verdict.blocked is False
    span = _guard_span(span_exporter)
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "RuntimeError"
    attributes = _attributes(span)
    assert attributes["error.type"] == "RuntimeError"
    assert attributes["tsz.degraded"] is True
    assert attributes["gen_ai.security.decision.type"] == "audit"
    assert attributes["gen_ai.security.decision.code"] == "tsz.fail_open"
    assert EMAIL not in span.to_json()
    assert "RuntimeError" in caplog.text
    assert EMAIL not in caplog.text


def test_fail_closed_in_block_mode(
    make_guard: MakeGuard, span_exporter: InMemorySpanExporter
) -> None:
    guard = make_guard(BrokenEngine(), mode="block", fail_mode="closed")
    with pytest.raises(GuardrailFailedError) as caught:
        guard.check(EMAIL_TEXT, rid="RID-F")
    assert EMAIL not in str(caught.value)
    assert "RID-F" in str(caught.value)
    assert isinstance(caught.value.__cause__, RuntimeError)
    assert caught.value.verdict.decision is GuardrailDecisionType.DENY
    verdict = guard.check(EMAIL_TEXT, raise_on_block=False)
    assert verdict.blocked is True and verdict.error_type == "RuntimeError"
    spans = [s for s in span_exporter.get_finished_spans()]
    assert len(spans) == 2
    for span in spans:
        assert span.status.status_code is StatusCode.ERROR
        assert _attributes(span)["error.type"] == "RuntimeError"  # not GuardrailFailedError


def test_fail_closed_only_applies_to_block_mode(make_guard: MakeGuard) -> None:
    verdict = make_guard(BrokenEngine(), mode="observe", fail_mode="closed").check(EMAIL_TEXT)
    assert verdict.decision is GuardrailDecisionType.AUDIT


async def test_acheck_fail_open(make_guard: MakeGuard) -> None:
    verdict = await make_guard(BrokenEngine()).acheck(EMAIL_TEXT)
    assert verdict.decision is GuardrailDecisionType.AUDIT


def test_per_target_modes_and_overrides(make_guard: MakeGuard) -> None:
    guard = make_guard(input_mode="mask", output_mode="observe")
    assert guard.check(EMAIL_TEXT, "llm_input").decision == "modify"
    assert guard.check(EMAIL_TEXT, "llm_output").decision == "warn"
    assert guard.check(EMAIL_TEXT, "llm_output", mode="mask").decision == "modify"
    assert guard.check(EMAIL_TEXT, mode=parse_mode(" OBSERVE ")).decision == "warn"
    assert parse_mode("final-only") is None
    # a guard-level mode applies to every target
    assert make_guard(mode="observe", input_mode="mask").mode_for("llm_input") is (
        RolloutMode.OBSERVE
    )


def test_guard_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TSZ_MODE", "mask")
    monkeypatch.setenv("TSZ_OTEL_SEMCONV", "microsoft")
    guard = Guard(fail_mode="closed")
    assert guard.settings.mode == "mask"
    assert guard.settings.fail_mode == "closed"
    assert guard.settings.semconv == ("microsoft",)


def test_check_output_is_linked(
    make_guard: MakeGuard,
    tracer_provider: TracerProvider,
    span_exporter: InMemorySpanExporter,
) -> None:
    app = tracer_provider.get_tracer("app")
    with app.start_as_current_span("chat model") as chat:
        stream_context = chat.get_span_context()
    verdict = make_guard().check_output(f"the answer is {EMAIL}", link_to=stream_context)
    span = _guard_span(span_exporter)
    assert span.name == "apply_guardrail tsz llm_output"
    assert [link.context.span_id for link in span.links] == [stream_context.span_id]
    assert span.parent is None
    assert verdict.target == "llm_output"


async def test_acheck_matches_check(make_guard: MakeGuard) -> None:
    guard = make_guard(mode="mask")
    sync = guard.check(EMAIL_TEXT, rid="R")
    asynchronous = await guard.acheck(EMAIL_TEXT, rid="R")
    assert (sync.decision, sync.finding_types) == (
        asynchronous.decision,
        asynchronous.finding_types,
    )
    assert asynchronous.text is not None and EMAIL not in asynchronous.text
    with pytest.raises(GuardrailBlockedError):
        await make_guard(mode="block").acheck(CARD_TEXT)


def test_guard_metrics(make_guard: MakeGuard, metric_points: Points) -> None:
    guard = make_guard(mode="block")
    guard.check(CLEAN_TEXT)
    guard.check(EMAIL_TEXT)
    guard.check(CARD_TEXT, raise_on_block=False)
    decisions = {
        p.attributes["gen_ai.security.decision.type"]: p.count
        for p in metric_points("gen_ai.client.apply_guardrail.duration")
    }
    assert decisions == {"allow": 1, "modify": 1, "deny": 1}
    (blocks,) = metric_points("tsz.guardrail.blocks")
    assert blocks.value == 1
    types = {p.attributes["tsz.finding.type"] for p in metric_points("tsz.guardrail.findings")}
    assert {"EMAIL", "CREDIT_CARD"} <= types
    durations = metric_points("gen_ai.client.apply_guardrail.duration")
    assert sum(p.count for p in durations) == 3
    assert all(p.attributes["tsz.mode"] == "block" for p in durations)


def test_content_capture_is_redacted(
    make_guard: MakeGuard, span_exporter: InMemorySpanExporter
) -> None:
    make_guard(capture_content="SPAN_AND_EVENT").check(EMAIL_TEXT)
    span = _guard_span(span_exporter)
    captured = _attributes(span)["gen_ai.security.content.input.value"]
    assert EMAIL not in captured
    assert "Please send the invoice to" in captured
    assert EMAIL not in span.to_json()


def test_verdict_repr_has_no_values(make_guard: MakeGuard) -> None:
    verdict = make_guard(mode="mask").check(EMAIL_TEXT, rid="RID-R")
    text = repr(verdict) + verdict.describe()
    assert EMAIL not in text and "RID-R" in text and "EMAIL" in text


def test_remote_guard_is_a_client_span(
    make_guard: MakeGuard, span_exporter: InMemorySpanExporter
) -> None:
    class Remote(BrokenEngine):
        def detect(
            self,
            text: str,
            rid: str | None = None,
            guardrails: Sequence[str] = (),
            mode: str | None = None,
        ) -> DetectResponse:
            return DetectResponse(redacted_text=text)

    make_guard(Remote(), engine="remote", base_url="https://tsz.example.net").check(CLEAN_TEXT)
    span = _guard_span(span_exporter)
    assert span.kind is SpanKind.CLIENT
    assert _attributes(span)["server.address"] == "tsz.example.net"
    assert _attributes(span)["server.port"] == 443
    assert _attributes(span)["gen_ai.guardian.id"] == "tsz-otel.remote"


@pytest.mark.parametrize("mode", ["observe", "mask"])
def test_text_with_lone_surrogates_is_guarded_and_exported(
    make_guard: MakeGuard, span_exporter: InMemorySpanExporter, mode: str
) -> None:
    """Input JSON may carry an unpaired ``\\ud800`` escape: the check still runs, hashes,
    records the finding, and the captured text reaches OTLP with U+FFFD in its place."""
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

    guard = make_guard(mode=mode, capture_content="SPAN_AND_EVENT")
    text = "\ud800 mail jane.doe@example.com \udfff"

    verdict = guard.check([{"role": "user", "content": text}], raise_on_block=False)

    assert verdict.finding_types == ("EMAIL",)
    span = _guard_span(span_exporter)
    captured = [v for k, v in (span.attributes or {}).items() if k.endswith("input.value")]
    assert captured and all(isinstance(v, str) and "\ufffd" in v for v in captured)
    assert all("\ud800" not in str(v) for v in (span.attributes or {}).values())
    encoded = encode_spans([span]).resource_spans[0].scope_spans[0].spans[0]
    assert {kv.key for kv in encoded.attributes} == set(span.attributes or {})


@pytest.mark.parametrize("mode", ["observe", "mask"])
def test_malformed_messages_are_passed_on_not_raised_on(make_guard: MakeGuard, mode: str) -> None:
    """A body from the wire may hold anything: entries that are not messages and
    ``tool_calls`` that are not a list are skipped by the scan and handed on unchanged."""
    guard = make_guard(mode=mode)
    messages: list[Any] = [
        42,
        None,
        {"role": "user", "content": "mail jane.doe@example.com", "tool_calls": 5},
    ]

    verdict = guard.check(messages, raise_on_block=False)

    assert verdict.finding_types == ("EMAIL",)
    assert verdict.messages is not None and verdict.messages[:2] == [42, None]
    masked = mode == "mask"
    assert ("jane.doe@example.com" in verdict.messages[2]["content"]) is not masked
    assert verdict.messages[2]["tool_calls"] == 5
    assert messages[2]["content"] == "mail jane.doe@example.com"  # the caller's list untouched

    clean = guard.check([7, {"role": "user", "content": "hello"}], raise_on_block=False)
    assert clean.messages == [7, {"role": "user", "content": "hello"}]


@pytest.mark.parametrize("content", [123, None, b"bytes", {"role": "user", "content": "x"}])
async def test_content_that_is_neither_text_nor_messages_is_a_clear_error(
    make_guard: MakeGuard, span_exporter: InMemorySpanExporter, content: Any
) -> None:
    guard = make_guard()
    message = f"content must be a str or a sequence of chat messages, not {type(content).__name__}"

    with pytest.raises(InputError, match=message):
        guard.check(content)
    with pytest.raises(InputError, match=message):
        await guard.acheck(content)
    assert span_exporter.get_finished_spans() == ()  # refused before any span started
