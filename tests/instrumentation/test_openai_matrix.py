"""The openai instrumentor matrix: {sync, async} x {stream, no stream} x {observe, mask,
block} x {input finding, output finding}, for Chat Completions and Responses, with the
real openai SDK against the local LLM server.

Streams run in stream-sync (``halt`` in block mode), the mode that enforces on streams;
final-only and stream-async have their own tests.
"""

from __future__ import annotations

from typing import Any

import openai
import pytest
from instr_support import GUARD_INPUT, GUARD_OUTPUT, Instrument, Spans

from tsz_otel.errors import GuardrailBlockedError
from tsz_otel.testing.llm_server import LLMServer

CARD = "4111 1111 1111 1111"
CARD_DIGITS = ("4111", "1111 1111")
MODEL = "gpt-test"

MODES = ["observe", "mask", "block"]
APIS = ["chat", "responses"]


def _request(api: str, prompt: str) -> dict[str, Any]:
    if api == "chat":
        return {"model": MODEL, "messages": [{"role": "user", "content": prompt}]}
    return {"model": MODEL, "input": prompt}


def _text_of(api: str, answer: Any) -> str:
    if api == "chat":
        return str(answer.choices[0].message.content or "")
    return str(answer.output_text)


def _delta_of(api: str, event: Any) -> str:
    if api == "chat":
        return "".join(c.delta.content or "" for c in event.choices)
    return str(event.delta) if event.type == "response.output_text.delta" else ""


def _endpoint(api: str, client: Any) -> Any:
    return client.chat.completions if api == "chat" else client.responses


def run_sync(api: str, client: openai.OpenAI, prompt: str, stream: bool, got: list[str]) -> str:
    endpoint = _endpoint(api, client)
    if not stream:
        got.append(_text_of(api, endpoint.create(**_request(api, prompt))))
        return "".join(got)
    with endpoint.create(**_request(api, prompt), stream=True) as events:
        assert isinstance(events, openai.Stream)
        for event in events:
            got.append(_delta_of(api, event))
    return "".join(got)


async def run_async(
    api: str, client: openai.AsyncOpenAI, prompt: str, stream: bool, got: list[str]
) -> str:
    endpoint = _endpoint(api, client)
    if not stream:
        got.append(_text_of(api, await endpoint.create(**_request(api, prompt))))
        return "".join(got)
    async with await endpoint.create(**_request(api, prompt), stream=True) as events:
        assert isinstance(events, openai.AsyncStream)
        async for event in events:
            got.append(_delta_of(api, event))
    return "".join(got)


async def run(
    api: str, llm_server: LLMServer, is_async: bool, prompt: str, stream: bool, got: list[str]
) -> str:
    if is_async:
        aclient = openai.AsyncOpenAI(base_url=llm_server.base_url, api_key="k", max_retries=0)
        return await run_async(api, aclient, prompt, stream, got)
    client = openai.OpenAI(base_url=llm_server.base_url, api_key="k", max_retries=0)
    return run_sync(api, client, prompt, stream, got)


def _sent_text(llm_server: LLMServer) -> str:
    return llm_server.last_request.text


def _assert_one_llm_span(spans: Spans, blocked: bool) -> None:
    (llm,) = spans.named(f"chat {MODEL}")
    attributes = llm.attributes or {}
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.provider.name"] == "openai"
    assert attributes["gen_ai.request.model"] == MODEL
    assert (attributes.get("error.type") == "GuardrailBlockedError") is blocked
    for guard_span in spans.all():
        if guard_span.name.startswith("apply_guardrail"):
            assert guard_span.parent is not None
            assert guard_span.parent.span_id == llm.context.span_id


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
async def test_input_finding(
    api: str,
    mode: str,
    stream: bool,
    is_async: bool,
    llm_server: LLMServer,
    instrument_openai: Instrument,
    spans: Spans,
) -> None:
    instrument_openai(mode=mode, stream_mode="stream-sync", stream_on_fail="halt")
    prompt = f"Please charge my card {CARD} today"
    got: list[str] = []
    if mode == "block":
        with pytest.raises(GuardrailBlockedError) as caught:
            await run(api, llm_server, is_async, prompt, stream, got)
        assert llm_server.requests == []  # not one byte went upstream
        assert CARD not in str(caught.value)
        assert spans.decision(GUARD_INPUT) == "deny"
        _assert_one_llm_span(spans, blocked=True)
        return
    answer = await run(api, llm_server, is_async, prompt, stream, got)
    sent = _sent_text(llm_server)
    if mode == "observe":
        assert CARD in sent
        assert answer == prompt
        assert spans.decision(GUARD_INPUT) == "warn"
    else:
        assert not any(digits in sent for digits in CARD_DIGITS)
        assert "Please charge my card " in sent
        assert not any(digits in answer for digits in CARD_DIGITS)
        assert spans.decision(GUARD_INPUT) == "modify"
    _assert_one_llm_span(spans, blocked=False)


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
async def test_output_finding(
    api: str,
    mode: str,
    stream: bool,
    is_async: bool,
    llm_server: LLMServer,
    instrument_openai: Instrument,
    spans: Spans,
) -> None:
    instrument_openai(mode=mode, stream_mode="stream-sync", stream_on_fail="halt")
    llm_server.script(reply=f"Your card is {CARD}, keep it safe.", chunk_size=3)
    got: list[str] = []
    if mode == "block":
        with pytest.raises(GuardrailBlockedError) as caught:
            await run(api, llm_server, is_async, "What is my card?", stream, got)
        if stream:
            assert isinstance(caught.value, openai.APIError)
            assert caught.value.code == "tsz_output_blocked"
        received = "".join(got)
        assert not any(digits in received for digits in CARD_DIGITS)
        assert received == "Your card is "[: len(received)]
        assert spans.decision(GUARD_OUTPUT) == "deny"
        _assert_one_llm_span(spans, blocked=True)
        return
    answer = await run(api, llm_server, is_async, "What is my card?", stream, got)
    if mode == "observe":
        assert answer == f"Your card is {CARD}, keep it safe."
        assert spans.decision(GUARD_OUTPUT) == "warn"
    else:
        assert answer.startswith("Your card is ")
        assert answer.endswith(", keep it safe.")
        assert not any(digits in answer for digits in CARD_DIGITS)
        assert spans.decision(GUARD_OUTPUT) == "modify"
    assert spans.decision(GUARD_INPUT) == "allow"
    _assert_one_llm_span(spans, blocked=False)
