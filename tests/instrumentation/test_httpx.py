"""The httpx/httpx2 transport instrumentor, with raw clients of both libraries, sync and
async, and with the openai SDK (which uses httpx2 in 3.x) riding on it."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import httpx2
import openai
import pytest
from instr_support import GUARD_INPUT, GUARD_OUTPUT, Instrument, Spans
from opentelemetry.instrumentation.utils import suppress_http_instrumentation
from tsz_otel_instrumentation.httpx import TszHTTPXInstrumentor

from tsz_otel.errors import GuardrailBlockedError
from tsz_otel.testing.llm_server import LLMServer

CARD = "4111 1111 1111 1111"
PROMPT = f"Charge {CARD} please"
MODULES = {"httpx": httpx, "httpx2": httpx2}


def _no_card(text: str) -> bool:
    return "4111" not in text and "1111 1111" not in text


def _chat(prompt: str = PROMPT, **extra: Any) -> dict[str, Any]:
    return {"model": "m", "messages": [{"role": "user", "content": prompt}], **extra}


async def _post(module: Any, is_async: bool, url: str, body: Any, **kwargs: Any) -> Any:
    if is_async:
        async with module.AsyncClient() as client:
            response = await client.post(url, json=body, **kwargs)
            await response.aread()
            return response
    with module.Client() as client:
        return client.post(url, json=body, **kwargs)


async def _stream_lines(module: Any, is_async: bool, url: str, body: Any) -> list[str]:
    if is_async:
        async with (
            module.AsyncClient() as client,
            client.stream("POST", url, json=body) as response,
        ):
            return [line async for line in response.aiter_lines()]
    with module.Client() as client, client.stream("POST", url, json=body) as response:
        return list(response.iter_lines())


def _sse_deltas(lines: list[str], pick: Callable[[dict[str, Any]], str]) -> str:
    out = []
    for line in lines:
        if line.startswith("data: ") and line != "data: [DONE]":
            out.append(pick(json.loads(line[len("data: ") :])))
    return "".join(out)


def _chat_delta(event: dict[str, Any]) -> str:
    return "".join(c["delta"].get("content") or "" for c in event.get("choices", []))


@pytest.mark.parametrize("name", sorted(MODULES))
@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
async def test_mask_rewrites_request_and_answer(
    name: str,
    is_async: bool,
    llm_server: LLMServer,
    instrument_httpx: Instrument,
    spans: Spans,
) -> None:
    instrument_httpx(mode="mask")
    llm_server.script(reply=f"Noted {CARD}.", gzip=True)
    body = _chat()
    response = await _post(MODULES[name], is_async, llm_server.base_url + "/chat/completions", body)
    sent = llm_server.last_request
    assert _no_card(sent.text) and "Charge " in sent.text
    assert int(sent.headers["content-length"]) == len(sent.body)
    assert body == _chat()  # the caller's object is not touched
    content = response.json()["choices"][0]["message"]["content"]
    assert content.startswith("Noted ") and _no_card(content)
    assert int(response.headers["content-length"]) == len(response.content)
    assert "content-encoding" not in response.headers
    assert spans.decision(GUARD_INPUT) == "modify"
    assert spans.decision(GUARD_OUTPUT) == "modify"
    (llm,) = spans.named("chat m")
    assert (llm.attributes or {})["gen_ai.usage.output_tokens"] > 0


@pytest.mark.parametrize("name", sorted(MODULES))
@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
async def test_block_raises_before_sending(
    name: str, is_async: bool, llm_server: LLMServer, instrument_httpx: Instrument, spans: Spans
) -> None:
    instrument_httpx(mode="block")
    with pytest.raises(GuardrailBlockedError):
        await _post(MODULES[name], is_async, llm_server.base_url + "/chat/completions", _chat())
    assert llm_server.requests == []
    assert spans.decision(GUARD_INPUT) == "deny"


@pytest.mark.parametrize("name", sorted(MODULES))
@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
async def test_sse_stream_sync_is_sanitised(
    name: str, is_async: bool, llm_server: LLMServer, instrument_httpx: Instrument, spans: Spans
) -> None:
    instrument_httpx(mode="mask", stream_mode="stream-sync")
    llm_server.script(reply=f"Your card {CARD} is fine", chunk_size=2, gzip=name == "httpx2")
    lines = await _stream_lines(
        MODULES[name], is_async, llm_server.base_url + "/chat/completions", _chat(stream=True)
    )
    text = _sse_deltas(lines, _chat_delta)
    assert text.startswith("Your card ") and text.endswith(" is fine") and _no_card(text)
    assert lines[-1] == "data: [DONE]" or "data: [DONE]" in lines
    assert spans.decision(GUARD_OUTPUT) == "modify"


@pytest.mark.parametrize("gzip", [False, True])
def test_crlf_sse_one_character_per_event(
    gzip: bool, llm_server: LLMServer, instrument_httpx: Instrument
) -> None:
    instrument_httpx(mode="mask", stream_mode="stream-sync")
    llm_server.script(reply=f"Card {CARD} end", chunk_size=1, crlf=True, gzip=gzip)
    with (
        httpx2.Client() as client,
        client.stream(
            "POST", llm_server.base_url + "/chat/completions", json=_chat("x", stream=True)
        ) as response,
    ):
        lines = list(response.iter_lines())
    text = _sse_deltas(lines, _chat_delta)
    assert text.startswith("Card ") and text.endswith(" end") and _no_card(text)


async def test_block_halt_ends_sse_with_openai_error_event(
    llm_server: LLMServer, instrument_httpx: Instrument
) -> None:
    instrument_httpx(mode="block", stream_mode="stream-sync", stream_on_fail="halt")
    llm_server.script(reply=f"Your card {CARD} is fine", chunk_size=3)
    lines = await _stream_lines(
        httpx, False, llm_server.base_url + "/chat/completions", _chat("hi", stream=True)
    )
    data = [line for line in lines if line.startswith("data: ")]
    assert data[-1] == "data: [DONE]"
    error = json.loads(data[-2][len("data: ") :])["error"]
    assert error["code"] == "tsz_output_blocked" and error["type"] == "invalid_request_error"
    assert _no_card("\n".join(lines))


def test_openai_sdk_over_httpx2_transport_only(
    llm_server: LLMServer, instrument_httpx: Instrument, spans: Spans
) -> None:
    instrument_httpx(mode="block", stream_mode="stream-sync", stream_on_fail="halt")
    client = openai.OpenAI(base_url=llm_server.base_url, api_key="k", max_retries=0)
    llm_server.script(reply=f"It is {CARD}", chunk_size=2)
    got = []
    with pytest.raises(openai.APIError) as caught:
        for chunk in client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "hi"}], stream=True
        ):
            got.append(chunk.choices[0].delta.content or "" if chunk.choices else "")
    assert caught.value.code == "tsz_output_blocked"
    assert "It is ".startswith("".join(got))  # sanitised text up to the value, never a digit
    assert spans.decision(GUARD_OUTPUT) == "deny"


def test_both_instrumentors_evaluate_once(
    llm_server: LLMServer, instrument_httpx: Instrument, instrument_openai: Instrument, spans: Spans
) -> None:
    instrument_httpx(mode="mask")
    instrument_openai(mode="mask")
    client = openai.OpenAI(base_url=llm_server.base_url, api_key="k", max_retries=0)
    llm_server.script(reply=f"It is {CARD}")
    answer = client.chat.completions.create(model="m", messages=_chat()["messages"])
    assert _no_card(answer.choices[0].message.content or "")
    assert len(spans.named(GUARD_INPUT)) == 1
    assert len(spans.named(GUARD_OUTPUT)) == 1
    assert len(spans.named("chat m")) == 1
    assert _no_card(llm_server.last_request.text)


def test_other_traffic_passes_untouched(
    llm_server: LLMServer, instrument_httpx: Instrument, spans: Spans
) -> None:
    instrument_httpx(mode="block", hosts=["llm.example"])
    raw = json.dumps(_chat()).encode()
    with httpx2.Client() as client:
        client.post(llm_server.base_url + "/chat/completions", content=raw)  # other host
        assert llm_server.last_request.body == raw
        client.post(llm_server.url + "/v1/other", content=raw)  # other path
        assert llm_server.last_request.body == raw
        client.get(llm_server.url + "/v1/models")
    assert spans.all() == []


def test_paths_config_adds_a_custom_route(
    llm_server: LLMServer, instrument_httpx: Instrument, spans: Spans
) -> None:
    instrument_httpx(mode="mask", paths={"/v1/custom-gen": "openai.chat"})
    with httpx.Client() as client:
        client.post(llm_server.url + "/v1/custom-gen", json=_chat())
    assert _no_card(llm_server.last_request.text)
    assert spans.decision(GUARD_INPUT) == "modify"


def test_tsz_headers_are_stripped_and_applied(
    llm_server: LLMServer, instrument_httpx: Instrument, spans: Spans
) -> None:
    instrument_httpx(mode="mask")
    llm_server.script(reply=f"x {CARD} y", chunk_size=2)
    headers = {"X-TSZ-Guardrails-Mode": "stream-sync", "X-TSZ-RID": "RID-H"}
    with (
        httpx.Client() as client,
        client.stream(
            "POST",
            llm_server.base_url + "/chat/completions",
            json=_chat(stream=True),
            headers=headers,
        ) as response,
    ):
        text = _sse_deltas(list(response.iter_lines()), _chat_delta)
    assert _no_card(text)
    assert not [h for h in llm_server.last_request.headers if h.startswith("x-tsz-")]
    assert (spans.one(GUARD_INPUT).attributes or {})["tsz.request_id"] == "RID-H"


def test_suppressed_http_instrumentation_is_not_guarded(
    llm_server: LLMServer, instrument_httpx: Instrument, spans: Spans
) -> None:
    instrument_httpx(mode="block")
    with suppress_http_instrumentation(), httpx.Client() as client:
        client.post(llm_server.base_url + "/chat/completions", json=_chat())
    assert CARD in llm_server.last_request.text
    assert spans.all() == []


def test_uninstrument_restores_both_transports(instrument_httpx: Instrument) -> None:
    instrumentor = instrument_httpx(mode="mask")
    for module in MODULES.values():
        assert hasattr(module.HTTPTransport.handle_request, "__wrapped__")
        assert hasattr(module.AsyncHTTPTransport.handle_async_request, "__wrapped__")
    instrumentor.uninstrument()
    for module in MODULES.values():
        assert not hasattr(module.HTTPTransport.handle_request, "__wrapped__")
        assert not hasattr(module.AsyncHTTPTransport.handle_async_request, "__wrapped__")


# ----------------------------------------------------------------------------- other formats


def _anthropic_text(lines: list[str]) -> str:
    out = []
    for line in lines:
        if line.startswith("data: "):
            event = json.loads(line[len("data: ") :])
            if event.get("type") == "content_block_delta":
                out.append(event["delta"].get("text") or event["delta"].get("partial_json") or "")
    return "".join(out)


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
async def test_anthropic_messages(
    is_async: bool, llm_server: LLMServer, instrument_httpx: Instrument, spans: Spans
) -> None:
    instrument_httpx(mode="mask", stream_mode="stream-sync")
    body = {
        "model": "claude",
        "max_tokens": 50,
        "system": f"User card: {CARD}",
        "messages": [{"role": "user", "content": [{"type": "text", "text": PROMPT}]}],
    }
    llm_server.script(reply=f"I see {CARD}.")
    whole = await _post(httpx2, is_async, llm_server.url + "/v1/messages", body)
    assert _no_card(llm_server.last_request.text)
    assert whole.json()["content"][0]["text"].startswith("I see ")
    assert _no_card(whole.text)
    (llm,) = spans.named("chat claude")
    assert (llm.attributes or {})["gen_ai.provider.name"] == "anthropic"
    llm_server.script(reply=f"I see {CARD}.", tool_calls=[{"name": "t", "arguments": {"c": CARD}}])
    lines = await _stream_lines(
        httpx2, is_async, llm_server.url + "/v1/messages", {**body, "stream": True}
    )
    text = _anthropic_text(lines)
    assert text.startswith("I see ") and _no_card(text) and '{"c":"' in text


@pytest.mark.parametrize("path", ["/api/chat", "/api/generate"])
async def test_ollama_ndjson(
    path: str, llm_server: LLMServer, instrument_httpx: Instrument, spans: Spans
) -> None:
    instrument_httpx(mode="mask", stream_mode="stream-sync")
    body: dict[str, Any] = (
        {"model": "llama", "messages": [{"role": "user", "content": PROMPT}]}
        if path == "/api/chat"
        else {"model": "llama", "prompt": PROMPT}
    )
    llm_server.script(reply=f"card {CARD} ok", chunk_size=2)
    lines = await _stream_lines(httpx, False, llm_server.url + path, body)
    events = [json.loads(line) for line in lines if line]
    text = "".join(
        (e.get("message") or {}).get("content", "") if path == "/api/chat" else e["response"]
        for e in events
    )
    assert text.startswith("card ") and text.endswith(" ok") and _no_card(text)
    assert events[-1]["done"] is True
    assert _no_card(llm_server.last_request.text)
    name = "chat llama" if path == "/api/chat" else "text_completion llama"
    assert (spans.one(name).attributes or {})["gen_ai.provider.name"] == "ollama"


def test_hosts_and_paths_from_settings(
    llm_server: LLMServer, instrument_httpx: Instrument, spans: Spans
) -> None:
    instrument_httpx(
        mode="mask", http_hosts=("127.0.0.1",), http_paths=("/v2/generate=openai.chat",)
    )
    with httpx.Client() as client:
        client.post(llm_server.url + "/v2/generate", json=_chat())
    assert _no_card(llm_server.last_request.text)
    assert spans.decision(GUARD_INPUT) == "modify"


def test_invalid_paths_setting_is_rejected(instrument_httpx: Instrument) -> None:
    from tsz_otel.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="TSZ_HTTP_PATHS"):
        instrument_httpx(mode="mask", http_paths=("/v2/generate",))
    with pytest.raises(ConfigurationError, match="unknown format"):
        instrument_httpx(mode="mask", paths={"/v2/generate": "openai.chats"})


# ----------------------------------------------------------------------------- one client


async def _send(client: Any, url: str, body: Any) -> Any:
    if isinstance(client, (httpx.AsyncClient, httpx2.AsyncClient)):
        response = await client.post(url, json=body)
        await response.aread()
        return response
    return client.post(url, json=body)


@pytest.mark.parametrize("name", sorted(MODULES))
@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
async def test_instrument_client_guards_that_client_only(
    name: str,
    is_async: bool,
    llm_server: LLMServer,
    guard_for: Callable[..., Any],
    tracer_provider: Any,
    spans: Spans,
) -> None:
    module = MODULES[name]
    make = module.AsyncClient if is_async else module.Client
    guarded, other = make(), make()
    url = llm_server.base_url + "/chat/completions"
    TszHTTPXInstrumentor.instrument_client(
        guarded, guard=guard_for(mode="mask"), tracer_provider=tracer_provider
    )
    try:
        await _send(guarded, url, _chat())
        assert _no_card(llm_server.last_request.text)
        assert spans.decision(GUARD_INPUT) == "modify"
        spans.clear()
        await _send(other, url, _chat())
        assert CARD in llm_server.last_request.text
        assert spans.all() == []
    finally:
        TszHTTPXInstrumentor.uninstrument_client(guarded)
    await _send(guarded, url, _chat())
    assert CARD in llm_server.last_request.text
    assert spans.all() == []
    for client in (guarded, other):
        await client.aclose() if is_async else client.close()


@pytest.mark.parametrize("name", sorted(MODULES))
def test_instrument_client_reaches_custom_transports(
    name: str, guard_for: Callable[..., Any], tracer_provider: Any, spans: Spans
) -> None:
    """A ``MockTransport`` (which the global patch cannot reach) sees only redacted bodies;
    in block mode it is never called."""
    module = MODULES[name]
    seen: list[bytes] = []

    def handler(request: Any) -> Any:
        seen.append(request.content)
        return module.Response(200, json={"choices": [{"message": {"content": "ok"}}]})

    for mode in ("mask", "block"):
        client = module.Client(transport=module.MockTransport(handler))
        TszHTTPXInstrumentor.instrument_client(
            client, guard=guard_for(mode=mode), tracer_provider=tracer_provider
        )
        TszHTTPXInstrumentor.instrument_client(client)  # a second call changes nothing
        if mode == "block":
            with pytest.raises(GuardrailBlockedError):
                client.post("http://llm.test/v1/chat/completions", json=_chat())
        else:
            client.post("http://llm.test/v1/chat/completions", json=_chat())
        TszHTTPXInstrumentor.uninstrument_client(client)
        client.close()
    assert len(seen) == 1 and _no_card(seen[0].decode())
    decisions = [
        (s.attributes or {})["gen_ai.security.decision.type"] for s in spans.named(GUARD_INPUT)
    ]
    assert decisions == ["modify", "deny"]


def test_instrument_client_with_the_global_instrumentation_evaluates_once(
    llm_server: LLMServer,
    instrument_httpx: Instrument,
    guard_for: Callable[..., Any],
    tracer_provider: Any,
    spans: Spans,
) -> None:
    instrument_httpx(mode="mask")
    with httpx2.Client() as client:
        TszHTTPXInstrumentor.instrument_client(
            client, guard=guard_for(mode="mask"), tracer_provider=tracer_provider
        )
        client.post(llm_server.base_url + "/chat/completions", json=_chat())
        TszHTTPXInstrumentor.uninstrument_client(client)
    assert _no_card(llm_server.last_request.text)
    assert len(spans.named(GUARD_INPUT)) == 1


def test_instrument_client_rejects_other_objects() -> None:
    with pytest.raises(TypeError, match="not an httpx or httpx2 client"):
        TszHTTPXInstrumentor.instrument_client(object())


@pytest.mark.parametrize("name", sorted(MODULES))
async def test_mask_keeps_an_unpaired_surrogate_escape_of_the_body(
    name: str, llm_server: LLMServer, instrument_httpx: Instrument, spans: Spans
) -> None:
    """Valid JSON may carry ``\\ud800``, which no UTF-8 text can hold: the rewritten body
    keeps it escaped, as the caller sent it, instead of failing the call."""
    instrument_httpx(mode="mask")
    raw = json.dumps(_chat("\ud800 " + PROMPT)).encode("ascii")  # json's default escapes

    with MODULES[name].Client() as client:
        response = client.post(
            llm_server.base_url + "/chat/completions",
            content=raw,
            headers={"content-type": "application/json"},
        )

    assert response.status_code == 200
    sent = llm_server.last_request
    content = json.loads(sent.body)["messages"][0]["content"]
    assert content.startswith("\ud800 Charge ") and _no_card(content)
    assert spans.decision(GUARD_INPUT) == "modify"
