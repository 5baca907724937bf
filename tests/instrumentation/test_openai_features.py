"""What the openai instrumentor guards and how it behaves as an instrumentation: input
roles and parts, tool arguments, Responses items, embeddings, legacy completions, restored
placeholders, the LLM span, suppression, uninstrument, sampling."""

from __future__ import annotations

import json
import threading
from typing import Any

import openai
import pytest
from instr_support import GUARD_INPUT, GUARD_OUTPUT, Instrument, Spans
from opentelemetry import trace
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from tsz_otel_instrumentation.openai import TszOpenAIInstrumentor

from tsz_otel.errors import ConfigurationError, GuardrailBlockedError
from tsz_otel.testing.llm_server import LLMServer

CARD = "4111 1111 1111 1111"
EMAIL = "jane.doe@example.com"


def _no_card(text: str) -> bool:
    return "4111" not in text and "1111 1111" not in text


@pytest.fixture
def client(llm_server: LLMServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=llm_server.base_url, api_key="k", max_retries=0)


def _sent(llm_server: LLMServer) -> dict[str, Any]:
    body = llm_server.last_request.json
    assert isinstance(body, dict)
    return body


# ----------------------------------------------------------------------------- input coverage


def test_roles_parts_and_tool_arguments(
    client: openai.OpenAI, llm_server: LLMServer, instrument_openai: Instrument
) -> None:
    instrument_openai(mode="mask")
    messages: list[Any] = [
        {"role": "system", "content": f"The user's card is {CARD}"},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": f"Mail {EMAIL}"},
                {"type": "image_url", "image_url": {"url": "https://img.example/a.png"}},
            ],
        },
        {
            "role": "assistant",
            "content": f"Earlier I said {CARD}",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "pay", "arguments": json.dumps({"card": CARD})},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": f"paid with {CARD}"},
    ]
    original = json.dumps(messages)
    client.chat.completions.create(model="m", messages=messages)
    sent = _sent(llm_server)["messages"]
    assert _no_card(sent[0]["content"])
    assert EMAIL not in sent[1]["content"][0]["text"]
    assert sent[1]["content"][1] == messages[1]["content"][1]
    assert sent[2]["content"] == f"Earlier I said {CARD}"  # assistant text: not a default role
    assert _no_card(sent[2]["tool_calls"][0]["function"]["arguments"])
    assert _no_card(sent[3]["content"])
    assert json.dumps(messages) == original  # the caller's messages are untouched


def test_input_roles_setting_narrows_what_is_scanned(
    client: openai.OpenAI, llm_server: LLMServer, instrument_openai: Instrument
) -> None:
    instrument_openai(mode="mask", input_roles=("user",))
    messages = [
        {"role": "system", "content": f"card {CARD}"},
        {"role": "user", "content": f"card {CARD}"},
    ]
    client.chat.completions.create(model="m", messages=messages)
    sent = _sent(llm_server)["messages"]
    assert CARD in sent[0]["content"]
    assert _no_card(sent[1]["content"])


def test_responses_items_and_instructions(
    client: openai.OpenAI, llm_server: LLMServer, instrument_openai: Instrument
) -> None:
    instrument_openai(mode="mask")
    items: list[Any] = [
        {"role": "developer", "content": f"card {CARD}"},
        {"role": "user", "content": [{"type": "input_text", "text": f"mail {EMAIL}"}]},
        {"type": "function_call", "call_id": "c1", "name": "f", "arguments": json.dumps([CARD])},
        {"type": "function_call_output", "call_id": "c1", "output": f"done {CARD}"},
    ]
    client.responses.create(model="m", input=items, instructions=f"Never say {CARD}")
    sent = _sent(llm_server)
    assert _no_card(json.dumps(sent)) and EMAIL not in json.dumps(sent)
    assert sent["input"][2]["name"] == "f" and sent["input"][3]["call_id"] == "c1"


def test_embeddings_input_only(
    client: openai.OpenAI, llm_server: LLMServer, instrument_openai: Instrument, spans: Spans
) -> None:
    instrument_openai(mode="mask")
    result = client.embeddings.create(model="e", input=[f"card {CARD}", "plain"])
    assert len(result.data) == 2
    assert _no_card(json.dumps(_sent(llm_server)["input"]))
    assert spans.decision(GUARD_INPUT) == "modify"
    assert spans.named(GUARD_OUTPUT) == []
    (llm,) = spans.named("embeddings e")
    assert (llm.attributes or {})["gen_ai.operation.name"] == "embeddings"


def test_embeddings_block(
    client: openai.OpenAI, llm_server: LLMServer, instrument_openai: Instrument
) -> None:
    instrument_openai(mode="block")
    with pytest.raises(GuardrailBlockedError):
        client.embeddings.create(model="e", input=f"card {CARD}")
    assert llm_server.requests == []


@pytest.mark.parametrize("stream", [False, True])
def test_legacy_completions(
    stream: bool,
    client: openai.OpenAI,
    llm_server: LLMServer,
    instrument_openai: Instrument,
    spans: Spans,
) -> None:
    instrument_openai(mode="mask", stream_mode="stream-sync")
    llm_server.script(reply=f"it is {CARD}", chunk_size=3)
    if stream:
        chunks = client.completions.create(model="c", prompt=f"card {CARD}", stream=True)
        text = "".join(c.choices[0].text for c in chunks)
    else:
        text = client.completions.create(model="c", prompt=f"card {CARD}").choices[0].text
    assert text.startswith("it is ") and _no_card(text)
    assert _no_card(json.dumps(_sent(llm_server)))
    (llm,) = spans.named("text_completion c")
    assert llm.attributes is not None


# ----------------------------------------------------------------------------- restore output


@pytest.mark.parametrize("stream", [False, True])
def test_restore_output_puts_masked_values_back_for_the_caller(
    stream: bool, client: openai.OpenAI, llm_server: LLMServer, instrument_openai: Instrument
) -> None:
    instrument_openai(
        mode="mask", placeholder_style="indexed", restore_output=True, stream_mode="stream-sync"
    )
    prompt = f"Send the invoice to {EMAIL} now"
    llm_server.script(chunk_size=1)  # echo, one character per chunk: placeholders get split
    messages = [{"role": "user", "content": prompt}]
    if stream:
        chunks = client.chat.completions.create(model="m", messages=messages, stream=True)
        answer = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    else:
        answer = client.chat.completions.create(model="m", messages=messages)
        answer = answer.choices[0].message.content or ""
    sent = _sent(llm_server)["messages"][0]["content"]
    assert EMAIL not in sent  # the provider saw the placeholder ...
    assert answer == prompt  # ... the caller gets the value back


# ----------------------------------------------------------------------------- headers


def test_invalid_override_header_raises_before_sending(
    client: openai.OpenAI, llm_server: LLMServer, instrument_openai: Instrument
) -> None:
    instrument_openai(mode="mask")
    with pytest.raises(ConfigurationError, match="X-TSZ-Guardrails-Mode"):
        client.chat.completions.create(
            model="m",
            messages=[{"role": "user", "content": "hi"}],
            extra_headers={"X-TSZ-Guardrails-Mode": "sometimes"},
        )
    assert llm_server.requests == []


def test_tsz_headers_stripped_on_untouched_endpoints(
    client: openai.OpenAI, llm_server: LLMServer, instrument_openai: Instrument
) -> None:
    instrument_openai(mode="mask")
    llm_server.script(status=404, error="no models here")
    with pytest.raises(openai.NotFoundError):
        client.models.list(extra_headers={"X-TSZ-RID": "R"})
    assert "x-tsz-rid" not in llm_server.last_request.headers


# ----------------------------------------------------------------------------- the LLM span


def test_llm_span_attributes(
    client: openai.OpenAI, llm_server: LLMServer, instrument_openai: Instrument, spans: Spans
) -> None:
    instrument_openai(mode="observe")
    client.chat.completions.create(model="m", messages=[{"role": "user", "content": "a b c"}])
    (llm,) = spans.named("chat m")
    attributes = dict(llm.attributes or {})
    assert llm.kind == trace.SpanKind.CLIENT
    assert attributes["server.address"] == "127.0.0.1"
    assert attributes["server.port"] == llm_server.port
    assert str(attributes["gen_ai.response.id"]).startswith("chatcmpl-local-")
    assert attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert attributes["gen_ai.usage.input_tokens"] == 3
    assert attributes["gen_ai.usage.output_tokens"] == 3
    assert not any("content" in key or "message" in key for key in attributes)


def test_existing_genai_span_is_the_parent(
    client: openai.OpenAI,
    instrument_openai: Instrument,
    spans: Spans,
    tracer_provider: TracerProvider,
) -> None:
    instrument_openai(mode="mask")
    tracer = tracer_provider.get_tracer("another.genai.instrumentation")
    with tracer.start_as_current_span(
        "chat m", attributes={"gen_ai.operation.name": "chat"}
    ) as outer:
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
    assert len(spans.named("chat m")) == 1  # only the outer one
    for name in (GUARD_INPUT, GUARD_OUTPUT):
        parent = spans.one(name).parent
        assert parent is not None and parent.span_id == outer.get_span_context().span_id


def test_unsampled_calls_are_still_masked(
    client: openai.OpenAI, llm_server: LLMServer, guard_for: Any
) -> None:
    from tsz_otel.guard import Guard

    unsampled = TracerProvider(sampler=ALWAYS_OFF)
    guard = Guard(guard_for(mode="mask").settings, tracer_provider=unsampled)
    instrumentor = TszOpenAIInstrumentor()
    instrumentor.instrument(guard=guard, tracer_provider=unsampled)
    try:
        client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": f"card {CARD}"}]
        )
    finally:
        instrumentor.uninstrument()
    assert _no_card(llm_server.last_request.text)


def test_suppressed_instrumentation_passes_through(
    client: openai.OpenAI, llm_server: LLMServer, instrument_openai: Instrument, spans: Spans
) -> None:
    instrument_openai(mode="block")
    with suppress_instrumentation():
        client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": f"card {CARD}"}]
        )
    assert CARD in llm_server.last_request.text
    assert spans.all() == []


def test_uninstrument_restores_and_reinstrument_works(
    client: openai.OpenAI, llm_server: LLMServer, instrument_openai: Instrument, spans: Spans
) -> None:
    instrumentor = instrument_openai(mode="mask")
    assert hasattr(openai.OpenAI.request, "__wrapped__")
    assert hasattr(openai.AsyncOpenAI.request, "__wrapped__")
    instrumentor.uninstrument()
    assert not hasattr(openai.OpenAI.request, "__wrapped__")
    assert not hasattr(openai.AsyncOpenAI.request, "__wrapped__")
    client.chat.completions.create(model="m", messages=[{"role": "user", "content": CARD}])
    assert CARD in llm_server.last_request.text
    assert spans.all() == []
    instrument_openai(mode="mask")
    client.chat.completions.create(model="m", messages=[{"role": "user", "content": CARD}])
    assert _no_card(llm_server.last_request.text)


def test_instrument_twice_is_harmless(instrument_openai: Instrument) -> None:
    instrumentor = instrument_openai(mode="mask")
    instrumentor.instrument()  # logs a warning, changes nothing
    assert hasattr(openai.OpenAI.request, "__wrapped__")
    assert not hasattr(openai.OpenAI.request.__wrapped__, "__wrapped__")


# ----------------------------------------------------------------------------- observe mode


def test_observe_checks_never_hold_up_the_call(
    client: openai.OpenAI,
    llm_server: LLMServer,
    instrument_openai: Instrument,
    span_exporter: Any,
    spans: Spans,
) -> None:
    instrumentor = instrument_openai(mode="observe", observe_async=True)
    release = threading.Event()
    instrumentor._core.guarding.worker.submit(release.wait)  # the worker is busy
    answer = client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": f"card {CARD}"}]
    )
    assert answer.choices[0].message.content == f"card {CARD}"  # returned while blocked
    assert span_exporter.get_finished_spans() == ()  # nothing checked or ended yet
    release.set()
    assert instrumentor.force_flush(10)
    names = [s.name for s in span_exporter.get_finished_spans()]
    assert names == [GUARD_INPUT, GUARD_OUTPUT, "chat m"]  # in order, LLM span last
    (llm,) = [s for s in span_exporter.get_finished_spans() if s.name == "chat m"]
    guard_input = next(s for s in span_exporter.get_finished_spans() if s.name == GUARD_INPUT)
    assert guard_input.parent is not None and guard_input.parent.span_id == llm.context.span_id
    assert (guard_input.attributes or {})["gen_ai.security.decision.type"] == "warn"


def test_observe_checks_inline_by_default(
    client: openai.OpenAI, instrument_openai: Instrument, span_exporter: Any, spans: Spans
) -> None:
    instrument_openai(mode="observe")  # the default: TSZ_OBSERVE_ASYNC=false
    client.chat.completions.create(model="m", messages=[{"role": "user", "content": CARD}])
    names = sorted(s.name for s in span_exporter.get_finished_spans())  # no flush needed
    assert names == sorted([GUARD_INPUT, GUARD_OUTPUT, "chat m"])


def test_whole_answer_tool_arguments_and_refusal_are_masked(
    client: openai.OpenAI, llm_server: LLMServer, instrument_openai: Instrument, spans: Spans
) -> None:
    instrument_openai(mode="mask")
    llm_server.script(
        refusal=f"I will not store {CARD}", tool_calls=[{"name": "pay", "arguments": {"n": CARD}}]
    )
    message = (
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "pay"}])
        .choices[0]
        .message
    )
    assert message.refusal is not None and message.refusal.startswith("I will not store ")
    assert _no_card(message.refusal)
    assert message.tool_calls is not None
    arguments = message.tool_calls[0].function.arguments
    assert _no_card(arguments) and arguments.startswith('{"n":"')
    assert spans.decision(GUARD_OUTPUT) == "modify"
