"""Streams through the openai instrumentor: every teardown path ends the spans once, the
SDK types and helpers keep working, and each stream mode does what it promises."""

from __future__ import annotations

import gc
import json
from typing import Any

import openai
import pytest
from instr_support import GUARD_INPUT, GUARD_OUTPUT, Instrument, Spans
from opentelemetry.sdk.trace import ReadableSpan

from tsz_otel.errors import GuardrailBlockedError
from tsz_otel.testing.llm_server import LLMServer

CARD = "4111 1111 1111 1111"
MESSAGES = [{"role": "user", "content": "tell me"}]
REPLY = f"Card {CARD} is on file."


def _no_card(text: str) -> bool:
    return "4111" not in text and "1111 1111" not in text


@pytest.fixture
def client(llm_server: LLMServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=llm_server.base_url, api_key="k", max_retries=0)


@pytest.fixture
def aclient(llm_server: LLMServer) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=llm_server.base_url, api_key="k", max_retries=0)


def _llm_span(spans: Spans) -> ReadableSpan:
    (span,) = spans.named("chat m")
    return span


# ----------------------------------------------------------------------------- teardown paths

TEARDOWNS = ["exhaust", "break_then_close", "context_exit", "close_unread", "garbage"]


@pytest.mark.parametrize("teardown", TEARDOWNS)
def test_sync_teardown_ends_spans_once(
    teardown: str,
    client: openai.OpenAI,
    llm_server: LLMServer,
    instrument_openai: Instrument,
    spans: Spans,
) -> None:
    instrument_openai(mode="mask")
    llm_server.script(reply=REPLY, chunk_size=4)
    stream = client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
    assert isinstance(stream, openai.Stream)
    if teardown == "exhaust":
        assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == REPLY
    elif teardown == "break_then_close":
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                break
        stream.close()
    elif teardown == "context_exit":
        with stream as entered:
            assert entered is stream
            while not next(entered).choices[0].delta.content:
                pass
    elif teardown == "close_unread":
        stream.close()
    else:
        while not next(stream).choices[0].delta.content:
            pass
        del stream
        gc.collect()
    llm = _llm_span(spans)
    assert llm.end_time is not None
    outputs = spans.named(GUARD_OUTPUT)
    expected = 0 if teardown == "close_unread" else 1  # a check whenever text was received
    assert len(outputs) == expected
    if teardown == "exhaust":
        # final-only in mask mode: nothing was rewritten, so the verdict is "would mask"
        assert outputs[0].attributes["gen_ai.security.decision.type"] == "warn"  # type: ignore[index]


@pytest.mark.parametrize("teardown", ["exhaust", "break_then_aclose", "context_exit", "aclose"])
async def test_async_teardown_ends_spans_once(
    teardown: str,
    aclient: openai.AsyncOpenAI,
    llm_server: LLMServer,
    instrument_openai: Instrument,
    spans: Spans,
) -> None:
    instrument_openai(mode="mask", stream_mode="stream-sync")
    llm_server.script(reply=REPLY, chunk_size=4)
    stream = await aclient.chat.completions.create(model="m", messages=MESSAGES, stream=True)
    assert isinstance(stream, openai.AsyncStream)
    received = []
    if teardown == "exhaust":
        received = [c.choices[0].delta.content or "" async for c in stream if c.choices]
    elif teardown == "break_then_aclose":
        async for chunk in stream:
            received.append(chunk.choices[0].delta.content or "")
            break
        await stream.close()
    elif teardown == "context_exit":
        async with stream as entered:
            assert entered is stream
            received.append((await entered.__anext__()).choices[0].delta.content or "")
    else:
        await stream.close()
    assert _llm_span(spans).end_time is not None
    assert _no_card("".join(received))
    if teardown == "exhaust":
        assert "".join(received).startswith("Card ") and "".join(received).endswith(" on file.")
        assert spans.decision(GUARD_OUTPUT) == "modify"


@pytest.mark.parametrize("stream_mode", ["final-only", "stream-async"])
def test_abandoned_stream_is_checked_on_what_was_received(
    stream_mode: str,
    client: openai.OpenAI,
    llm_server: LLMServer,
    instrument_openai: Instrument,
    spans: Spans,
) -> None:
    instrument_openai(mode="observe", stream_mode=stream_mode)
    llm_server.script(reply=REPLY + " " + "More text follows. " * 20, chunk_size=5)
    stream = client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
    received = ""
    while CARD not in received:
        chunk = next(stream)
        received += chunk.choices[0].delta.content or "" if chunk.choices else ""
    del stream, chunk  # dropped mid-answer: neither exhausted nor closed
    gc.collect()
    (output,) = spans.named(GUARD_OUTPUT)
    attributes = output.attributes or {}
    assert attributes["gen_ai.security.decision.type"] == "warn"
    assert "CREDIT_CARD" in str(attributes["tsz.reasons"]).split(",")
    assert CARD not in output.to_json()  # the check reports types and hashes, never values
    llm = _llm_span(spans)
    assert llm.end_time is not None and output.end_time is not None
    if stream_mode == "stream-async":  # linked to the LLM span, not its child
        assert output.parent is None or output.parent.span_id != llm.context.span_id
        assert [link.context.span_id for link in output.links] == [llm.context.span_id]
    else:
        assert output.parent is not None and output.parent.span_id == llm.context.span_id


async def test_abandoned_async_stream_is_checked(
    aclient: openai.AsyncOpenAI, llm_server: LLMServer, instrument_openai: Instrument, spans: Spans
) -> None:
    instrument_openai(mode="observe")
    llm_server.script(reply=REPLY + " " + "More text follows. " * 20, chunk_size=5)
    stream = await aclient.chat.completions.create(model="m", messages=MESSAGES, stream=True)
    received = ""
    async for chunk in stream:
        received += chunk.choices[0].delta.content or "" if chunk.choices else ""
        if CARD in received:
            break
    del stream, chunk
    gc.collect()
    (output,) = spans.named(GUARD_OUTPUT)
    assert "CREDIT_CARD" in str((output.attributes or {})["tsz.reasons"]).split(",")
    assert _llm_span(spans).end_time is not None


# ----------------------------------------------------------------------------- SDK features


def test_with_raw_response_stream_is_guarded(
    client: openai.OpenAI, llm_server: LLMServer, instrument_openai: Instrument, spans: Spans
) -> None:
    instrument_openai(mode="mask", stream_mode="stream-sync")
    llm_server.script(reply=REPLY, chunk_size=2)
    raw = client.chat.completions.with_raw_response.create(
        model="m", messages=MESSAGES, stream=True
    )
    assert raw.headers["x-request-id"] == "req_local"
    stream = raw.parse()
    assert isinstance(stream, openai.Stream)
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert _no_card(text) and text.startswith("Card ")
    assert spans.decision(GUARD_OUTPUT) == "modify"


def test_with_raw_response_whole_answer_parse_is_masked(
    client: openai.OpenAI, llm_server: LLMServer, instrument_openai: Instrument, spans: Spans
) -> None:
    instrument_openai(mode="mask")
    llm_server.script(reply=REPLY)
    raw = client.chat.completions.with_raw_response.create(model="m", messages=MESSAGES)
    content = raw.parse().choices[0].message.content or ""
    assert _no_card(content) and content.startswith("Card ")
    assert spans.decision(GUARD_OUTPUT) == "modify"


def test_with_raw_response_whole_answer_raw_body_is_masked(
    client: openai.OpenAI, llm_server: LLMServer, instrument_openai: Instrument, spans: Spans
) -> None:
    instrument_openai(mode="mask")
    llm_server.script(reply=REPLY)
    raw = client.chat.completions.with_raw_response.create(model="m", messages=MESSAGES)
    assert _no_card(raw.text) and _no_card(raw.content.decode())
    assert int(raw.headers["content-length"]) == len(raw.content)
    assert raw.headers["x-request-id"] == "req_local"  # other headers are kept
    from_json = raw.http_response.json()["choices"][0]["message"]["content"]
    from_parse = raw.parse().choices[0].message.content
    assert from_json == from_parse and from_json.startswith("Card ")
    assert raw.elapsed.total_seconds() >= 0
    assert spans.decision(GUARD_OUTPUT) == "modify"


async def test_async_with_raw_response_whole_answer_raw_body_is_masked(
    aclient: openai.AsyncOpenAI, llm_server: LLMServer, instrument_openai: Instrument
) -> None:
    instrument_openai(mode="mask")
    llm_server.script(reply=REPLY)
    raw = await aclient.chat.completions.with_raw_response.create(model="m", messages=MESSAGES)
    assert _no_card(raw.text)
    parsed = raw.parse()
    if not isinstance(parsed, openai.types.chat.ChatCompletion):
        parsed = await parsed
    assert (
        parsed.choices[0].message.content
        == json.loads(raw.text)["choices"][0]["message"]["content"]
    )


def test_with_raw_response_observe_keeps_the_raw_body(
    client: openai.OpenAI, llm_server: LLMServer, instrument_openai: Instrument, spans: Spans
) -> None:
    instrument_openai(mode="observe")
    llm_server.script(reply=REPLY)
    raw = client.chat.completions.with_raw_response.create(model="m", messages=MESSAGES)
    assert CARD in raw.text and raw.parse().choices[0].message.content == REPLY
    assert spans.decision(GUARD_OUTPUT) == "warn"


def test_chat_stream_helper_snapshots_never_hold_the_value(
    client: openai.OpenAI, llm_server: LLMServer, instrument_openai: Instrument, spans: Spans
) -> None:
    instrument_openai(mode="mask", stream_mode="stream-sync")
    llm_server.script(
        reply=REPLY, tool_calls=[{"name": "pay", "arguments": {"card": CARD}}], chunk_size=3
    )
    with client.chat.completions.stream(model="m", messages=MESSAGES) as stream:
        for event in stream:
            snapshot = stream.current_completion_snapshot.choices[0].message
            assert _no_card(snapshot.content or "")
            assert _no_card(json.dumps([t.model_dump() for t in snapshot.tool_calls or []]))
            assert event.type
        final = stream.get_final_completion()
    message = final.choices[0].message
    assert _no_card(message.content or "") and (message.content or "").endswith(" on file.")
    assert message.tool_calls is not None
    assert _no_card(message.tool_calls[0].function.arguments)
    assert spans.decision(GUARD_OUTPUT) == "modify"


def test_responses_stream_helper_final_events_are_rewritten(
    client: openai.OpenAI, llm_server: LLMServer, instrument_openai: Instrument, spans: Spans
) -> None:
    instrument_openai(mode="mask", stream_mode="stream-sync")
    llm_server.script(reply=REPLY, tool_calls=[{"name": "pay", "arguments": {"c": CARD}}])
    with client.responses.stream(model="m", input="tell me") as stream:
        texts = []
        for event in stream:
            texts.append(json.dumps(event.model_dump(warnings=False), default=str))
        final = stream.get_final_response()
    assert all(_no_card(t) for t in texts)
    assert final.output_text.startswith("Card ") and _no_card(final.output_text)
    assert _no_card(json.dumps(final.model_dump(warnings=False), default=str))
    assert spans.decision(GUARD_OUTPUT) == "modify"


def test_stream_sync_masks_refusals_and_tool_arguments(
    client: openai.OpenAI, llm_server: LLMServer, instrument_openai: Instrument
) -> None:
    instrument_openai(mode="mask", stream_mode="stream-sync")
    llm_server.script(
        reply="",
        refusal=f"I will not repeat {CARD}",
        tool_calls=[{"name": "pay", "arguments": {"card": CARD}}],
        chunk_size=2,
    )
    refusal, arguments = [], []
    for chunk in client.chat.completions.create(model="m", messages=MESSAGES, stream=True):
        for choice in chunk.choices:
            refusal.append(choice.delta.refusal or "")
            arguments.extend(t.function.arguments or "" for t in choice.delta.tool_calls or [])
    assert "".join(refusal).startswith("I will not repeat ") and _no_card("".join(refusal))
    assert _no_card("".join(arguments)) and "".join(arguments).startswith('{"card":"')


# ----------------------------------------------------------------------------- stream modes


def test_final_only_passes_chunks_and_records_would_block(
    client: openai.OpenAI, llm_server: LLMServer, instrument_openai: Instrument, spans: Spans
) -> None:
    instrument_openai(mode="block", stream_mode="final-only")
    llm_server.script(reply=REPLY, chunk_size=5)
    text = "".join(
        c.choices[0].delta.content or ""
        for c in client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
        if c.choices
    )
    assert text == REPLY  # final-only never interrupts or rewrites a stream
    output = spans.one(GUARD_OUTPUT)
    assert (output.attributes or {})["gen_ai.security.decision.type"] == "warn"
    assert output.parent is not None and output.parent.span_id == _llm_span(spans).context.span_id


def test_stream_sync_filter_in_block_mode_masks_and_continues(
    client: openai.OpenAI, llm_server: LLMServer, instrument_openai: Instrument, spans: Spans
) -> None:
    instrument_openai(mode="block", stream_mode="stream-sync", stream_on_fail="filter")
    llm_server.script(reply=REPLY, chunk_size=1)
    text = "".join(
        c.choices[0].delta.content or ""
        for c in client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
        if c.choices
    )
    assert text.startswith("Card ") and text.endswith(" is on file.") and _no_card(text)
    assert spans.decision(GUARD_OUTPUT) == "modify"


def test_halt_error_is_both_guardrail_and_api_error(
    client: openai.OpenAI, llm_server: LLMServer, instrument_openai: Instrument, spans: Spans
) -> None:
    instrument_openai(mode="block", stream_mode="stream-sync", stream_on_fail="halt")
    llm_server.script(reply=REPLY + " More text after the card.", chunk_size=4)
    received = []
    with pytest.raises(GuardrailBlockedError) as caught:
        for chunk in client.chat.completions.create(model="m", messages=MESSAGES, stream=True):
            received.append(chunk.choices[0].delta.content or "" if chunk.choices else "")
    error: Any = caught.value
    assert isinstance(error, openai.APIError)
    assert error.code == "tsz_output_blocked"
    assert error.verdict is not None and error.verdict.blocked
    assert "CREDIT_CARD" in str(error) and CARD not in str(error)
    assert "".join(received) in ("Card", "Card ")  # everything before the value, no more
    assert spans.decision(GUARD_OUTPUT) == "deny"
    assert (_llm_span(spans).attributes or {})["error.type"] == "GuardrailBlockedError"


def test_stream_async_delivers_raw_and_links_the_late_check(
    client: openai.OpenAI, llm_server: LLMServer, instrument_openai: Instrument, spans: Spans
) -> None:
    instrumentor = instrument_openai(mode="mask", stream_mode="stream-async")
    llm_server.script(reply=REPLY, chunk_size=6)
    text = "".join(
        c.choices[0].delta.content or ""
        for c in client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
        if c.choices
    )
    assert text == REPLY
    assert instrumentor.force_flush(10)
    llm = _llm_span(spans)
    output = spans.one(GUARD_OUTPUT)
    assert [link.context.span_id for link in output.links] == [llm.context.span_id]
    assert output.parent is None or output.parent.span_id != llm.context.span_id
    assert output.context.trace_id == llm.context.trace_id or output.parent is None
    assert (output.attributes or {})["gen_ai.security.decision.type"] == "warn"
    assert spans.decision(GUARD_INPUT) == "allow"


def test_header_selects_stream_mode_per_call_and_is_stripped(
    client: openai.OpenAI, llm_server: LLMServer, instrument_openai: Instrument, spans: Spans
) -> None:
    instrument_openai(mode="mask")  # final-only by default
    llm_server.script(reply=REPLY, chunk_size=2)
    headers = {
        "X-TSZ-Guardrails-Mode": "stream-sync",
        "X-TSZ-Guardrails-OnFail": "filter",
        "X-TSZ-RID": "RID-7",
    }
    stream = client.chat.completions.create(
        model="m", messages=MESSAGES, stream=True, extra_headers=headers
    )
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert _no_card(text)
    assert not [h for h in llm_server.last_request.headers if h.startswith("x-tsz-")]
    assert (spans.one(GUARD_OUTPUT).attributes or {})["tsz.request_id"] == "RID-7-OUT"
    assert (spans.one(GUARD_INPUT).attributes or {})["tsz.request_id"] == "RID-7"


@pytest.mark.parametrize("stream", [False, True])
def test_with_streaming_response(
    stream: bool,
    client: openai.OpenAI,
    llm_server: LLMServer,
    instrument_openai: Instrument,
    spans: Spans,
) -> None:
    instrument_openai(mode="mask", stream_mode="stream-sync")
    llm_server.script(reply=REPLY, chunk_size=3)
    with client.chat.completions.with_streaming_response.create(
        model="m", messages=MESSAGES, stream=stream
    ) as response:
        assert response.headers["x-request-id"] == "req_local"
        parsed = response.parse()
        if stream:
            text = "".join(c.choices[0].delta.content or "" for c in parsed if c.choices)
        else:
            text = parsed.choices[0].message.content or ""
    assert text.startswith("Card ") and _no_card(text)
    assert spans.decision(GUARD_OUTPUT) == "modify"
    assert _llm_span(spans).end_time is not None


@pytest.mark.parametrize("stream", [False, True])
async def test_async_raw_and_streaming_responses(
    stream: bool,
    aclient: openai.AsyncOpenAI,
    llm_server: LLMServer,
    instrument_openai: Instrument,
    spans: Spans,
) -> None:
    instrument_openai(mode="mask", stream_mode="stream-sync")
    llm_server.script(reply=REPLY, chunk_size=3, times=2)
    raw = await aclient.chat.completions.with_raw_response.create(
        model="m", messages=MESSAGES, stream=stream
    )
    parsed: Any = raw.parse()
    async with aclient.chat.completions.with_streaming_response.create(
        model="m", messages=MESSAGES, stream=stream
    ) as response:
        streamed: Any = await response.parse()
        texts = []
        for answer in (parsed, streamed):
            if stream:
                assert isinstance(answer, openai.AsyncStream)
                texts.append(
                    "".join([c.choices[0].delta.content or "" async for c in answer if c.choices])
                )
            else:
                texts.append(answer.choices[0].message.content or "")
    for text in texts:
        assert text.startswith("Card ") and _no_card(text)
    assert [s.attributes["gen_ai.security.decision.type"] for s in spans.named(GUARD_OUTPUT)] == [  # type: ignore[index]
        "modify",
        "modify",
    ]
