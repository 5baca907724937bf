"""The local LLM server, driven by the real openai SDK and by raw httpx/httpx2 clients."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time

import httpx
import httpx2
import openai
import pytest

from tsz_otel.testing.llm_server import LLMServer, RecordedRequest, split_text

USER = [{"role": "user", "content": "hello local server"}]


@pytest.fixture
def client(llm_server: LLMServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=llm_server.base_url, api_key="test-key", max_retries=0)


@pytest.fixture
def aclient(llm_server: LLMServer) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=llm_server.base_url, api_key="test-key", max_retries=0)


# ----------------------------------------------------------------------------- chunking


@pytest.mark.parametrize("position", range(1, 12))
def test_split_text_at_every_position_joins_back(position: int) -> None:
    text = "4111 1111 1"
    pieces = split_text(text, split_at=[position])
    assert "".join(pieces) == text
    assert len(pieces) == (2 if position < len(text) else 1)


def test_split_text_rules() -> None:
    assert split_text("abcdefg", chunk_size=3) == ["abc", "def", "g"]
    assert split_text("one two  three") == ["one ", "two  ", "three"]
    assert split_text("abcdef", split_at=[4, 2, 2, 0, 99]) == ["ab", "cd", "ef"]
    with pytest.raises(ValueError, match="chunk_size"):
        split_text("x", chunk_size=0)


# ----------------------------------------------------------------------------- chat


def test_chat_echo_and_recording(client: openai.OpenAI, llm_server: LLMServer) -> None:
    completion = client.chat.completions.create(
        model="gpt-test", messages=USER, extra_headers={"X-Custom": "yes"}
    )
    assert completion.choices[0].message.content == "hello local server"
    assert completion.model == "gpt-test"
    assert completion.usage is not None and completion.usage.prompt_tokens == 3
    seen = llm_server.last_request
    assert isinstance(seen, RecordedRequest)
    assert (seen.method, seen.path) == ("POST", "/v1/chat/completions")
    assert seen.headers["x-custom"] == "yes"
    assert seen.headers["authorization"] == "Bearer test-key"
    assert seen.json == {"model": "gpt-test", "messages": USER}
    assert json.loads(seen.text) == seen.json


def test_chat_stream_uses_given_split_points(client: openai.OpenAI, llm_server: LLMServer) -> None:
    llm_server.script(reply="Card 4111 1111", split_at=[3, 7, 11])
    stream = client.chat.completions.create(
        model="m", messages=USER, stream=True, stream_options={"include_usage": True}
    )
    deltas, usage, finish = [], None, None
    for chunk in stream:
        if chunk.usage is not None:
            usage = chunk.usage
        for choice in chunk.choices:
            finish = choice.finish_reason or finish
            if choice.delta.content:
                deltas.append(choice.delta.content)
    assert deltas == ["Car", "d 41", "11 1", "111"]
    assert finish == "stop"
    assert usage is not None and usage.total_tokens > 0


def test_chat_tool_calls_and_refusal(client: openai.OpenAI, llm_server: LLMServer) -> None:
    llm_server.script(tool_calls=[{"name": "lookup", "arguments": {"id": 7}}], refusal="no")
    message = client.chat.completions.create(model="m", messages=USER).choices[0].message
    assert message.content is None
    assert message.refusal == "no"
    assert message.tool_calls is not None
    call = message.tool_calls[0]
    assert call.type == "function"
    assert (call.function.name, json.loads(call.function.arguments)) == ("lookup", {"id": 7})


def test_chat_stream_helper_accumulates_tool_calls(
    client: openai.OpenAI, llm_server: LLMServer
) -> None:
    llm_server.script(
        reply="ok", tool_calls=[{"name": "f", "arguments": '{"q":"a b c"}'}], chunk_size=2
    )
    with client.chat.completions.stream(model="m", messages=USER) as stream:
        for _ in stream:
            pass
        final = stream.get_final_completion()
    message = final.choices[0].message
    assert message.content == "ok"
    assert message.tool_calls is not None
    assert message.tool_calls[0].function.arguments == '{"q":"a b c"}'
    assert final.choices[0].finish_reason == "tool_calls"


def test_chat_stream_refusal_deltas(client: openai.OpenAI, llm_server: LLMServer) -> None:
    llm_server.script(reply="", refusal="I cannot", split_at=[2])
    refusals = [
        c.choices[0].delta.refusal
        for c in client.chat.completions.create(model="m", messages=USER, stream=True)
        if c.choices and c.choices[0].delta.refusal
    ]
    assert refusals == ["I ", "cannot"]


def test_scripted_error_status_and_stream_error(
    client: openai.OpenAI, llm_server: LLMServer
) -> None:
    llm_server.script(status=429, error="slow down")
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model="m", messages=USER)
    assert caught.value.body == {
        "message": "slow down",
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }
    llm_server.script(reply="partial", stream_error="upstream went away")
    received = []
    with pytest.raises(openai.APIError, match="upstream went away"):
        for chunk in client.chat.completions.create(model="m", messages=USER, stream=True):
            received.append(chunk.choices[0].delta.content)
    assert "partial" in received


def test_script_queue_times_and_path(client: openai.OpenAI, llm_server: LLMServer) -> None:
    llm_server.script(reply="only for embeddings-free chat", path="/chat/completions", times=2)
    llm_server.script(reply="responses answer", path="/responses")
    first = client.responses.create(model="m", input="hi")
    assert first.output_text == "responses answer"
    replies = [
        client.chat.completions.create(model="m", messages=USER).choices[0].message.content
        for _ in range(3)
    ]
    assert replies == ["only for embeddings-free chat"] * 2 + ["hello local server"]


def test_delay_is_applied(client: openai.OpenAI, llm_server: LLMServer) -> None:
    llm_server.script(reply="late", delay=0.2)
    started = time.monotonic()
    assert client.chat.completions.create(model="m", messages=USER).choices[0].message.content
    assert time.monotonic() - started >= 0.2


def test_with_raw_response(client: openai.OpenAI) -> None:
    raw = client.chat.completions.with_raw_response.create(model="m", messages=USER)
    assert raw.headers["x-request-id"] == "req_local"
    assert raw.parse().choices[0].message.content == "hello local server"


# ----------------------------------------------------------------------------- responses


def test_responses_json_with_tool_and_refusal(client: openai.OpenAI, llm_server: LLMServer) -> None:
    llm_server.script(reply="text", refusal="nope", tool_calls=[{"name": "f", "arguments": "{}"}])
    response = client.responses.create(model="m", input="question")
    assert response.output_text == "text"
    kinds = [item.type for item in response.output]
    assert kinds == ["message", "function_call"]
    message = response.output[0]
    assert message.type == "message"
    assert [part.type for part in message.content] == ["output_text", "refusal"]


def test_responses_stream_events_and_helper(client: openai.OpenAI, llm_server: LLMServer) -> None:
    llm_server.script(reply="alpha beta", tool_calls=[{"name": "g", "arguments": '{"x":1}'}])
    events = client.responses.create(
        model="m",
        input=[{"role": "user", "content": [{"type": "input_text", "text": "multi"}]}],
        stream=True,
    )
    types = [event.type for event in events]
    assert types[:2] == ["response.created", "response.in_progress"]
    assert types.count("response.output_text.delta") == 2
    assert "response.function_call_arguments.done" in types
    assert types[-1] == "response.completed"
    llm_server.script(reply="gamma delta")
    with client.responses.stream(model="m", input="x") as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert deltas == ["gamma ", "delta"]
    assert final.output_text == "gamma delta"


async def test_responses_async_echo_of_input_parts(aclient: openai.AsyncOpenAI) -> None:
    response = await aclient.responses.create(
        model="m", input=[{"role": "user", "content": [{"type": "input_text", "text": "parts"}]}]
    )
    assert response.output_text == "parts"


# ----------------------------------------------------------------------------- legacy + embeddings


def test_legacy_completions(client: openai.OpenAI) -> None:
    assert client.completions.create(model="m", prompt="say this").choices[0].text == "say this"
    pieces = [
        c.choices[0].text for c in client.completions.create(model="m", prompt="a b c", stream=True)
    ]
    assert "".join(pieces) == "a b c"


def test_embeddings_base64_and_float_agree(client: openai.OpenAI, llm_server: LLMServer) -> None:
    default = client.embeddings.create(model="e", input=["one", "two"])
    assert llm_server.last_request.json["encoding_format"] == "base64"
    floats = client.embeddings.create(model="e", input=["one", "two"], encoding_format="float")
    assert len(default.data) == 2
    for a, b in zip(default.data, floats.data, strict=True):
        assert a.embedding == pytest.approx(b.embedding, abs=1e-5)
    assert default.data[0].embedding != default.data[1].embedding


# ----------------------------------------------------------------------------- concurrency


async def test_concurrent_async_calls_share_keep_alive(
    aclient: openai.AsyncOpenAI, llm_server: LLMServer
) -> None:
    before = llm_server.connections
    for _ in range(2):
        results = await asyncio.gather(
            *(
                aclient.chat.completions.create(
                    model="m", messages=[{"role": "user", "content": f"n{i}"}]
                )
                for i in range(16)
            )
        )
        assert sorted(r.choices[0].message.content or "" for r in results) == sorted(
            f"n{i}" for i in range(16)
        )
    assert llm_server.connections - before <= 16
    stream = await aclient.chat.completions.create(model="m", messages=USER, stream=True)
    assert "".join([c.choices[0].delta.content or "" async for c in stream]) == "hello local server"


def test_connection_reused_after_stream(llm_server: LLMServer) -> None:
    with httpx2.Client() as http:
        before = llm_server.connections
        for _ in range(3):
            with http.stream(
                "POST",
                llm_server.base_url + "/chat/completions",
                json={"stream": True, "messages": USER},
            ) as response:
                assert b"data: [DONE]" in response.read()
        assert llm_server.connections - before == 1


# ----------------------------------------------------------------------------- Anthropic, Ollama


def _sse_events(raw: str) -> list[tuple[str, dict[str, object]]]:
    events = []
    for block in raw.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.split("\n"))
        events.append((lines["event"], json.loads(lines["data"])))
    return events


def test_anthropic_messages_json_and_sse(llm_server: LLMServer) -> None:
    body = {"model": "claude", "max_tokens": 5, "messages": [{"role": "user", "content": "hi a"}]}
    with httpx.Client() as http:
        message = http.post(llm_server.url + "/v1/messages", json=body).json()
        assert message["content"] == [{"type": "text", "text": "hi a"}]
        assert message["stop_reason"] == "end_turn"
        llm_server.script(
            reply="xy", tool_calls=[{"name": "t", "arguments": {"k": 1}}], chunk_size=1
        )
        raw = http.post(llm_server.url + "/v1/messages", json={**body, "stream": True})
    assert raw.headers["content-type"].startswith("text/event-stream")
    events = _sse_events(raw.text)
    names = [name for name, _ in events]
    assert names[0] == "message_start" and names[-2:] == ["message_delta", "message_stop"]
    assert all(name == data["type"] for name, data in events)
    text = "".join(
        str(d["delta"]["text"])  # type: ignore[index]
        for n, d in events
        if n == "content_block_delta" and d["delta"]["type"] == "text_delta"  # type: ignore[index]
    )
    partial = "".join(
        str(d["delta"]["partial_json"])  # type: ignore[index]
        for n, d in events
        if n == "content_block_delta" and d["delta"]["type"] == "input_json_delta"  # type: ignore[index]
    )
    assert (text, json.loads(partial)) == ("xy", {"k": 1})


def test_anthropic_error_shape(llm_server: LLMServer) -> None:
    llm_server.script(status=529, error="overloaded")
    response = httpx.post(llm_server.url + "/v1/messages", json={"messages": USER})
    assert response.status_code == 529
    assert response.json() == {
        "type": "error",
        "error": {"type": "api_error", "message": "overloaded"},
    }


def test_ollama_chat_streams_ndjson_by_default(llm_server: LLMServer) -> None:
    body = {"model": "llama", "messages": [{"role": "user", "content": "one two"}]}
    with httpx2.Client() as http, http.stream("POST", llm_server.url + "/api/chat", json=body) as r:
        assert r.headers["content-type"] == "application/x-ndjson"
        lines = [json.loads(line) for line in r.iter_lines() if line]
    assert [line["message"]["content"] for line in lines] == ["one ", "two", ""]
    assert [line["done"] for line in lines] == [False, False, True]
    whole = httpx2.post(llm_server.url + "/api/chat", json={**body, "stream": False}).json()
    assert whole["message"]["content"] == "one two" and whole["done"] is True


def test_ollama_generate(llm_server: LLMServer) -> None:
    whole = httpx.post(llm_server.url + "/api/generate", json={"prompt": "gen", "stream": False})
    assert whole.json()["response"] == "gen"
    streamed = httpx.post(llm_server.url + "/api/generate", json={"prompt": "a b"})
    pieces = [json.loads(line)["response"] for line in streamed.text.splitlines()]
    assert "".join(pieces) == "a b"


def test_unknown_path_and_bad_json(llm_server: LLMServer) -> None:
    assert httpx.post(llm_server.url + "/v1/nothing", json={}).status_code == 404
    bad = httpx.post(llm_server.base_url + "/chat/completions", content=b"{not json")
    assert bad.status_code == 400
    assert llm_server.last_request.json is None
    assert llm_server.last_request.body == b"{not json"


# ----------------------------------------------------------------------------- lifecycle


def test_context_manager_stops_and_frees_the_port() -> None:
    with LLMServer() as server:
        port = server.port
        assert httpx.post(server.base_url + "/chat/completions", json={"messages": USER}).is_success
    with pytest.raises(httpx.ConnectError):
        httpx.post(f"http://127.0.0.1:{port}/v1/chat/completions", json={})


def test_module_entry_point_serves() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "tsz_otel.testing.llm_server", "--port", "0", "--reply", "fixed"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        url = line.split(" on ", 1)[1].split(" ", 1)[0]
        assert url.startswith("http://127.0.0.1:")
        answer = httpx.post(url + "/v1/chat/completions", json={"messages": USER}).json()
        assert answer["choices"][0]["message"]["content"] == "fixed"
    finally:
        process.terminate()
        process.wait(10)


def test_gzip_and_crlf_encodings(client: openai.OpenAI, llm_server: LLMServer) -> None:
    llm_server.script(reply="zipped whole", gzip=True)
    raw = httpx.post(llm_server.base_url + "/chat/completions", json={"messages": USER})
    assert raw.headers["content-encoding"] == "gzip"
    assert raw.json()["choices"][0]["message"]["content"] == "zipped whole"
    llm_server.script(reply="zipped and crlf stream", gzip=True, crlf=True, chunk_size=3)
    stream = client.chat.completions.create(model="m", messages=USER, stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == (
        "zipped and crlf stream"
    )
    llm_server.script(reply="crlf", crlf=True)
    with httpx.stream(
        "POST", llm_server.base_url + "/chat/completions", json={"stream": True, "messages": USER}
    ) as response:
        assert b"\r\n\r\n" in response.read()
