"""A local LLM server that speaks the OpenAI, Anthropic and Ollama wire formats.

Tests, examples and benchmarks point a real client (the ``openai`` SDK, ``httpx``,
``httpx2``) at it instead of a provider, so what is measured and asserted is the real
client stack over a real socket. It binds to ``127.0.0.1`` on an ephemeral port, runs an
asyncio loop in one background thread and serves many concurrent keep-alive
connections; streams use chunked transfer encoding, so a connection stays reusable after
a stream.

Endpoints (a path is matched by its ending, so ``/v1/chat/completions`` and
``/chat/completions`` both work):

=============================  =========================================================
``/chat/completions``          Chat Completions, JSON or SSE (``data: [DONE]``, usage chunk
                               with ``stream_options.include_usage``, tool calls, refusals)
``/responses``                 Responses API, JSON or SSE (``event:`` + ``data:`` events)
``/completions``               legacy Completions, JSON or SSE
``/embeddings``                Embeddings, float or base64 (the SDK asks for base64)
``/v1/messages``               Anthropic Messages, JSON or its SSE event types
``/api/chat``, ``/api/generate``  Ollama, JSON or NDJSON (Ollama streams by default)
=============================  =========================================================

Answers are scripted. With no script the server echoes the last user text. A script is
consumed by the next matching request (``times=None`` keeps it for every request)::

    with LLMServer() as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="test", max_retries=0)
        server.script(reply="Call me at 555-0100", split_at=[10, 14])
        client.chat.completions.create(model="m", messages=[...], stream=True)
        assert server.last_request.json["messages"][0]["content"] == "..."

Every request is recorded (:class:`RecordedRequest`: method, path, headers, raw body and
parsed JSON), so a test can prove what left the process.

Run it standalone for the examples: ``python -m tsz_otel.testing.llm_server --port 8765``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import gzip
import hashlib
import itertools
import json
import re
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .._unicode import json_bytes
from ._managed import Managed
from ._serve import serve_until_interrupted

__all__ = [
    "LLMServer",
    "RecordedRequest",
    "Script",
    "ToolCall",
    "split_text",
]

JSON = dict[str, Any]
_HOST = "127.0.0.1"
_MAX_HEADER_BYTES = 64 * 1024
_WORDS = re.compile(r"\s+|\S+\s*")
_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    413: "Payload Too Large",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    529: "Overloaded",
}


# --------------------------------------------------------------------------- scripts


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One tool call in an answer; ``arguments`` is the JSON text the model produced."""

    name: str
    arguments: str = "{}"
    id: str = ""

    @classmethod
    def of(cls, value: ToolCall | Mapping[str, Any]) -> ToolCall:
        """Accept a ToolCall or a dict ``{"name", "arguments" (dict or str), "id"?}``."""
        if isinstance(value, ToolCall):
            return value
        args = value.get("arguments", {})
        text = args if isinstance(args, str) else json.dumps(args, separators=(",", ":"))
        return cls(name=str(value["name"]), arguments=text, id=str(value.get("id") or ""))

    def call_id(self, index: int) -> str:
        return self.id or f"call_local_{index}"


@dataclass(frozen=True, slots=True)
class Script:
    """How the server answers one (or every) matching request.

    ``reply`` None means echo the request's last user text. Streams are cut by, in
    order of precedence, ``chunks`` (the exact pieces), ``split_at`` (character
    positions), ``chunk_size`` (fixed size) or else at word boundaries. ``status`` >= 400
    answers with the API's error shape and ``error`` as its message; ``stream_error``
    ends a stream with the API's in-stream error event instead of a normal end.
    ``delay`` is slept before the answer, ``chunk_delay`` between stream events.
    ``gzip`` compresses the body (streams: one gzip stream flushed after every event),
    as providers do for JSON answers. ``crlf`` ends stream lines with CRLF (valid SSE).
    ``path`` restricts the script to paths ending with it; ``times`` None never expires.
    """

    reply: str | None = None
    chunks: tuple[str, ...] | None = None
    split_at: tuple[int, ...] | None = None
    chunk_size: int | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    refusal: str | None = None
    status: int = 200
    error: str | None = None
    stream_error: str | None = None
    delay: float = 0.0
    chunk_delay: float = 0.0
    finish_reason: str | None = None
    model: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    gzip: bool = False
    crlf: bool = False
    path: str | None = None
    times: int | None = 1

    def matches(self, path: str) -> bool:
        return self.path is None or path.endswith(self.path)

    def pieces(self, text: str, *, is_reply: bool = True) -> list[str]:
        """The stream pieces of ``text`` under this script's chunking rule."""
        if is_reply and self.chunks is not None:
            return list(self.chunks)
        return split_text(text, split_at=self.split_at, chunk_size=self.chunk_size)

    def answer_text(self, echo: str) -> str:
        if self.reply is not None:
            return self.reply
        if self.chunks is not None:
            return "".join(self.chunks)
        return echo if not (self.tool_calls or self.refusal) else ""


_DEFAULT_SCRIPT = Script(times=None)


def split_text(
    text: str,
    *,
    split_at: Sequence[int] | None = None,
    chunk_size: int | None = None,
) -> list[str]:
    """Cut ``text`` into stream pieces: at ``split_at`` positions, every ``chunk_size``
    characters, or (neither given) at word boundaries keeping the whitespace.

    Joining the pieces always gives back ``text``; empty pieces are dropped.
    """
    if split_at is not None:
        cuts = sorted({p for p in split_at if 0 < p < len(text)})
        bounds = [0, *cuts, len(text)]
        return [text[a:b] for a, b in itertools.pairwise(bounds) if b > a]
    if chunk_size is not None:
        if chunk_size <= 0:
            raise ValueError("chunk_size must be positive")
        return [text[i : i + chunk_size] for i in range(0, len(text), chunk_size)]
    return _WORDS.findall(text)


# --------------------------------------------------------------------------- records


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request as the server received it. Header names are lower-cased."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    json: Any = None

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


@dataclass(slots=True)
class _Plan:
    """What to send back: a whole body, or a stream of events."""

    status: int = 200
    content_type: str = "application/json"
    body: bytes = b""
    events: list[bytes] | None = None
    delay: float = 0.0
    chunk_delay: float = 0.0
    headers: tuple[tuple[str, str], ...] = ()
    gzip: bool = False
    crlf: bool = False

    def encoded(self) -> tuple[bytes, list[bytes] | None]:
        """Body and events as sent (CRLF line ends and gzip when asked)."""
        events = self.events
        if events is not None and self.crlf:
            events = [e.replace(b"\n", b"\r\n") for e in events]
        if not self.gzip:
            return self.body, events
        if events is None:
            return gzip.compress(self.body), None
        packer = zlib.compressobj(wbits=31)
        events = [packer.compress(e) + packer.flush(zlib.Z_SYNC_FLUSH) for e in events]
        return self.body, [*events, packer.flush()]


@dataclass(slots=True)
class _Call:
    """The per-request view a format handler works from."""

    body: JSON
    script: Script
    seq: int
    model: str
    stream: bool
    prompt_text: str

    @property
    def text(self) -> str:
        return self.script.answer_text(self.prompt_text)

    def usage_counts(self) -> tuple[int, int]:
        out = self.text + "".join(t.arguments for t in self.tool_calls) + (self.refusal or "")
        return _tokens(self.prompt_text), _tokens(out)

    @property
    def tool_calls(self) -> list[ToolCall]:
        return list(self.script.tool_calls)

    @property
    def refusal(self) -> str | None:
        return self.script.refusal


def _tokens(text: str) -> int:
    return len(text.split())


def _dumps(value: Any) -> bytes:
    return json_bytes(value, separators=(",", ":"))


def _sse(data: Any, event: str | None = None) -> bytes:
    payload = data if isinstance(data, bytes) else _dumps(data)
    head = b"event: " + event.encode() + b"\n" if event else b""
    return head + b"data: " + payload + b"\n\n"


def _ndjson(data: Any) -> bytes:
    return _dumps(data) + b"\n"


# --------------------------------------------------------------------------- prompt text


def _content_text(content: Any) -> str:
    """Text of an OpenAI/Anthropic/Ollama message content (string or parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, Mapping) and isinstance(part.get("text"), str):
                parts.append(part["text"])
        return "".join(parts)
    return ""


def _last_user_text(messages: Any) -> str:
    if not isinstance(messages, list):
        return ""
    for message in reversed(messages):
        if isinstance(message, Mapping) and message.get("role", "user") == "user":
            return _content_text(message.get("content"))
    return ""


def _responses_input_text(body: JSON) -> str:
    value = body.get("input")
    if isinstance(value, str):
        return value
    return _last_user_text(value)


_PROMPT_TEXT: dict[str, Callable[[JSON], str]] = {
    "chat": lambda b: _last_user_text(b.get("messages")),
    "responses": _responses_input_text,
    "completions": lambda b: _content_text(b.get("prompt")),
    "embeddings": lambda b: _content_text(b.get("input")),
    "anthropic": lambda b: _last_user_text(b.get("messages")),
    "ollama_chat": lambda b: _last_user_text(b.get("messages")),
    "ollama_generate": lambda b: str(b.get("prompt") or ""),
}


# --------------------------------------------------------------------------- OpenAI chat


def _chat_message(call: _Call) -> JSON:
    tools = call.tool_calls
    message: JSON = {
        "role": "assistant",
        "content": call.text if (call.text or not (tools or call.refusal)) else None,
        "refusal": call.refusal,
        "annotations": [],
    }
    if tools:
        message["tool_calls"] = [
            {
                "id": t.call_id(i),
                "type": "function",
                "function": {"name": t.name, "arguments": t.arguments},
            }
            for i, t in enumerate(tools)
        ]
    return message


def _chat_finish(call: _Call) -> str:
    return call.script.finish_reason or ("tool_calls" if call.tool_calls else "stop")


def _chat_usage(call: _Call) -> JSON:
    prompt, completion = call.usage_counts()
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
    }


def _chat_json(call: _Call) -> JSON:
    return {
        "id": f"chatcmpl-local-{call.seq}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": call.model,
        "choices": [
            {
                "index": 0,
                "message": _chat_message(call),
                "logprobs": None,
                "finish_reason": _chat_finish(call),
            }
        ],
        "usage": _chat_usage(call),
        "service_tier": "default",
        "system_fingerprint": "fp_local",
    }


def _chat_events(call: _Call) -> Iterator[bytes]:
    base = {
        "id": f"chatcmpl-local-{call.seq}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": call.model,
        "service_tier": "default",
        "system_fingerprint": "fp_local",
    }

    def chunk(delta: JSON, finish: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return _sse({**base, "choices": [choice]})

    yield chunk({"role": "assistant", "content": "", "refusal": None})
    for piece in call.script.pieces(call.text):
        yield chunk({"content": piece})
    if call.refusal:
        for piece in call.script.pieces(call.refusal, is_reply=False):
            yield chunk({"refusal": piece})
    for index, tool in enumerate(call.tool_calls):
        head = {"index": index, "id": tool.call_id(index), "type": "function"}
        yield chunk({"tool_calls": [{**head, "function": {"name": tool.name, "arguments": ""}}]})
        for piece in call.script.pieces(tool.arguments, is_reply=False):
            yield chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
    if call.script.stream_error is not None:
        yield _sse({"error": _openai_error(call.script.stream_error, 500)["error"]})
        yield _sse(b"[DONE]")
        return
    yield chunk({}, _chat_finish(call))
    options = call.body.get("stream_options")
    if isinstance(options, Mapping) and options.get("include_usage"):
        yield _sse({**base, "choices": [], "usage": _chat_usage(call)})
    yield _sse(b"[DONE]")


# --------------------------------------------------------------------------- Responses


def _responses_items(call: _Call) -> list[JSON]:
    items: list[JSON] = []
    content: list[JSON] = []
    if call.text or not (call.tool_calls or call.refusal):
        content.append(
            {"type": "output_text", "text": call.text, "annotations": [], "logprobs": []}
        )
    if call.refusal:
        content.append({"type": "refusal", "refusal": call.refusal})
    if content:
        items.append(
            {
                "type": "message",
                "id": f"msg_local_{call.seq}",
                "status": "completed",
                "role": "assistant",
                "content": content,
            }
        )
    for index, tool in enumerate(call.tool_calls):
        items.append(
            {
                "type": "function_call",
                "id": f"fc_local_{call.seq}_{index}",
                "call_id": tool.call_id(index),
                "name": tool.name,
                "arguments": tool.arguments,
                "status": "completed",
            }
        )
    return items


def _responses_json(call: _Call, *, status: str = "completed", output: bool = True) -> JSON:
    prompt, completion = call.usage_counts()
    return {
        "id": f"resp_local_{call.seq}",
        "object": "response",
        "created_at": int(time.time()),
        "status": status,
        "error": None,
        "incomplete_details": None,
        "instructions": call.body.get("instructions"),
        "max_output_tokens": call.body.get("max_output_tokens"),
        "model": call.model,
        "output": _responses_items(call) if output else [],
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "reasoning": {"effort": None, "summary": None},
        "store": True,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}},
        "tool_choice": "auto",
        "tools": [],
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": {
            "input_tokens": prompt,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": completion,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": prompt + completion,
        }
        if output
        else None,
        "user": None,
        "metadata": {},
    }


def _responses_events(call: _Call) -> Iterator[bytes]:
    seq = itertools.count()

    def event(kind: str, **fields: Any) -> bytes:
        return _sse({"type": kind, "sequence_number": next(seq), **fields}, event=kind)

    yield event(
        "response.created", response=_responses_json(call, status="in_progress", output=False)
    )
    yield event(
        "response.in_progress", response=_responses_json(call, status="in_progress", output=False)
    )
    for index, item in enumerate(_responses_items(call)):
        if item["type"] == "message":
            yield from _responses_message_events(call, event, index, item)
        else:
            yield from _responses_tool_events(call, event, index, item)
    if call.script.stream_error is not None:
        yield event("error", code="server_error", message=call.script.stream_error, param=None)
        return
    yield event("response.completed", response=_responses_json(call))


def _responses_message_events(
    call: _Call, event: Callable[..., bytes], index: int, item: JSON
) -> Iterator[bytes]:
    item_id = item["id"]
    yield event(
        "response.output_item.added",
        output_index=index,
        item={**item, "status": "in_progress", "content": []},
    )
    for part_index, part in enumerate(item["content"]):
        where = {"item_id": item_id, "output_index": index, "content_index": part_index}
        if part["type"] == "output_text":
            empty = {**part, "text": ""}
            yield event("response.content_part.added", **where, part=empty)
            for piece in call.script.pieces(part["text"]):
                yield event("response.output_text.delta", **where, delta=piece, logprobs=[])
            yield event("response.output_text.done", **where, text=part["text"], logprobs=[])
        else:
            yield event("response.content_part.added", **where, part={**part, "refusal": ""})
            for piece in call.script.pieces(part["refusal"], is_reply=False):
                yield event("response.refusal.delta", **where, delta=piece)
            yield event("response.refusal.done", **where, refusal=part["refusal"])
        yield event("response.content_part.done", **where, part=part)
    yield event("response.output_item.done", output_index=index, item=item)


def _responses_tool_events(
    call: _Call, event: Callable[..., bytes], index: int, item: JSON
) -> Iterator[bytes]:
    where = {"item_id": item["id"], "output_index": index}
    added = {**item, "arguments": "", "status": "in_progress"}
    yield event("response.output_item.added", output_index=index, item=added)
    for piece in call.script.pieces(item["arguments"], is_reply=False):
        yield event("response.function_call_arguments.delta", **where, delta=piece)
    yield event(
        "response.function_call_arguments.done",
        **where,
        arguments=item["arguments"],
        name=item["name"],
    )
    yield event("response.output_item.done", output_index=index, item=item)


# --------------------------------------------------------------------------- legacy completions


def _completion_json(call: _Call) -> JSON:
    prompt, completion = call.usage_counts()
    return {
        "id": f"cmpl-local-{call.seq}",
        "object": "text_completion",
        "created": int(time.time()),
        "model": call.model,
        "choices": [
            {
                "text": call.text,
                "index": 0,
                "logprobs": None,
                "finish_reason": call.script.finish_reason or "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        },
    }


def _completion_events(call: _Call) -> Iterator[bytes]:
    base = {
        "id": f"cmpl-local-{call.seq}",
        "object": "text_completion",
        "created": int(time.time()),
        "model": call.model,
    }

    def chunk(text: str, finish: str | None) -> bytes:
        choice = {"text": text, "index": 0, "logprobs": None, "finish_reason": finish}
        return _sse({**base, "choices": [choice]})

    for piece in call.script.pieces(call.text):
        yield chunk(piece, None)
    if call.script.stream_error is not None:
        yield _sse({"error": _openai_error(call.script.stream_error, 500)["error"]})
        yield _sse(b"[DONE]")
        return
    yield chunk("", call.script.finish_reason or "stop")
    yield _sse(b"[DONE]")


# --------------------------------------------------------------------------- embeddings


def _embedding_inputs(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    if isinstance(value, list) and value and all(isinstance(v, int) for v in value):
        return [json.dumps(value)]
    if isinstance(value, list):
        return [json.dumps(v) if not isinstance(v, str) else v for v in value]
    return [json.dumps(value)]


def _vector(text: str, dims: int) -> list[float]:
    """A deterministic unit-range vector for ``text``, so equal inputs embed equally."""
    out: list[float] = []
    counter = 0
    while len(out) < dims:
        digest = hashlib.sha256(f"{counter}:{text}".encode()).digest()
        out.extend((b / 127.5) - 1.0 for b in digest)
        counter += 1
    return [round(v, 6) for v in out[:dims]]


def _embeddings_json(call: _Call) -> JSON:
    dims = int(call.body.get("dimensions") or 8)
    as_base64 = call.body.get("encoding_format") == "base64"
    data = []
    for index, text in enumerate(_embedding_inputs(call.body.get("input"))):
        vector = _vector(text, dims)
        value: Any = (
            base64.b64encode(struct.pack(f"<{dims}f", *vector)).decode("ascii")
            if as_base64
            else vector
        )
        data.append({"object": "embedding", "index": index, "embedding": value})
    tokens = sum(_tokens(t) for t in _embedding_inputs(call.body.get("input")))
    return {
        "object": "list",
        "data": data,
        "model": call.model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


# --------------------------------------------------------------------------- Anthropic


def _anthropic_blocks(call: _Call) -> list[JSON]:
    blocks: list[JSON] = []
    if call.text or not call.tool_calls:
        blocks.append({"type": "text", "text": call.text})
    for index, tool in enumerate(call.tool_calls):
        blocks.append(
            {
                "type": "tool_use",
                "id": tool.id or f"toolu_local_{index}",
                "name": tool.name,
                "input": json.loads(tool.arguments or "{}"),
            }
        )
    return blocks


def _anthropic_stop(call: _Call) -> str:
    return call.script.finish_reason or ("tool_use" if call.tool_calls else "end_turn")


def _anthropic_json(call: _Call) -> JSON:
    prompt, completion = call.usage_counts()
    return {
        "id": f"msg_local_{call.seq}",
        "type": "message",
        "role": "assistant",
        "model": call.model,
        "content": _anthropic_blocks(call),
        "stop_reason": _anthropic_stop(call),
        "stop_sequence": None,
        "usage": {"input_tokens": prompt, "output_tokens": completion},
    }


def _anthropic_events(call: _Call) -> Iterator[bytes]:
    prompt, completion = call.usage_counts()
    start = {**_anthropic_json(call), "content": [], "stop_reason": None}
    start["usage"] = {"input_tokens": prompt, "output_tokens": 1}
    yield _sse({"type": "message_start", "message": start}, "message_start")
    for index, block in enumerate(_anthropic_blocks(call)):
        if block["type"] == "text":
            opening: JSON = {"type": "text", "text": ""}
            deltas = [{"type": "text_delta", "text": p} for p in call.script.pieces(block["text"])]
        else:
            opening = {**block, "input": {}}
            args = call.tool_calls[index - (1 if call.text else 0)].arguments
            deltas = [
                {"type": "input_json_delta", "partial_json": p}
                for p in call.script.pieces(args, is_reply=False)
            ]
        yield _sse(
            {"type": "content_block_start", "index": index, "content_block": opening},
            "content_block_start",
        )
        if index == 0:
            yield _sse({"type": "ping"}, "ping")
        for delta in deltas:
            yield _sse(
                {"type": "content_block_delta", "index": index, "delta": delta},
                "content_block_delta",
            )
        yield _sse({"type": "content_block_stop", "index": index}, "content_block_stop")
    if call.script.stream_error is not None:
        error = {"type": "api_error", "message": call.script.stream_error}
        yield _sse({"type": "error", "error": error}, "error")
        return
    stop = {"stop_reason": _anthropic_stop(call), "stop_sequence": None}
    yield _sse(
        {"type": "message_delta", "delta": stop, "usage": {"output_tokens": completion}},
        "message_delta",
    )
    yield _sse({"type": "message_stop"}, "message_stop")


# --------------------------------------------------------------------------- Ollama


def _ollama_base(call: _Call) -> JSON:
    return {
        "model": call.model,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime()),
    }


def _ollama_final(call: _Call) -> JSON:
    prompt, completion = call.usage_counts()
    return {
        "done": True,
        "done_reason": call.script.finish_reason or "stop",
        "total_duration": 1000,
        "load_duration": 10,
        "prompt_eval_count": prompt,
        "prompt_eval_duration": 100,
        "eval_count": completion,
        "eval_duration": 800,
    }


def _ollama_tool_calls(call: _Call) -> list[JSON]:
    return [
        {"function": {"name": t.name, "arguments": json.loads(t.arguments or "{}")}}
        for t in call.tool_calls
    ]


def _ollama_chat_json(call: _Call) -> JSON:
    message: JSON = {"role": "assistant", "content": call.text}
    if call.tool_calls:
        message["tool_calls"] = _ollama_tool_calls(call)
    return {**_ollama_base(call), "message": message, **_ollama_final(call)}


def _ollama_chat_events(call: _Call) -> Iterator[bytes]:
    for piece in call.script.pieces(call.text):
        yield _ndjson(
            {
                **_ollama_base(call),
                "message": {"role": "assistant", "content": piece},
                "done": False,
            }
        )
    if call.script.stream_error is not None:
        yield _ndjson({"error": call.script.stream_error})
        return
    message: JSON = {"role": "assistant", "content": ""}
    if call.tool_calls:
        message["tool_calls"] = _ollama_tool_calls(call)
    yield _ndjson({**_ollama_base(call), "message": message, **_ollama_final(call)})


def _ollama_generate_json(call: _Call) -> JSON:
    return {
        **_ollama_base(call),
        "response": call.text,
        **_ollama_final(call),
        "context": [1, 2, 3],
    }


def _ollama_generate_events(call: _Call) -> Iterator[bytes]:
    for piece in call.script.pieces(call.text):
        yield _ndjson({**_ollama_base(call), "response": piece, "done": False})
    if call.script.stream_error is not None:
        yield _ndjson({"error": call.script.stream_error})
        return
    yield _ndjson(
        {**_ollama_base(call), "response": "", **_ollama_final(call), "context": [1, 2, 3]}
    )


# --------------------------------------------------------------------------- errors and routes


def _openai_error(message: str, status: int) -> JSON:
    kind = "invalid_request_error" if status < 500 else "server_error"
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


def _anthropic_error(message: str, status: int) -> JSON:
    kind = "invalid_request_error" if status < 500 else "api_error"
    return {"type": "error", "error": {"type": kind, "message": message}}


def _ollama_error(message: str, status: int) -> JSON:
    return {"error": message}


@dataclass(frozen=True, slots=True)
class _Route:
    """One wire format: how to find its prompt, answer it whole, stream it, fail it."""

    name: str
    suffix: str
    whole: Callable[[_Call], JSON]
    stream: Callable[[_Call], Iterator[bytes]] | None
    error: Callable[[str, int], JSON]
    stream_type: str = "text/event-stream; charset=utf-8"
    stream_by_default: bool = False


# Order matters: the first route whose suffix ends the path wins.
_ROUTES: tuple[_Route, ...] = (
    _Route("chat", "/chat/completions", _chat_json, _chat_events, _openai_error),
    _Route("anthropic", "/v1/messages", _anthropic_json, _anthropic_events, _anthropic_error),
    _Route("responses", "/responses", _responses_json, _responses_events, _openai_error),
    _Route("completions", "/completions", _completion_json, _completion_events, _openai_error),
    _Route("embeddings", "/embeddings", _embeddings_json, None, _openai_error),
    _Route(
        "ollama_chat",
        "/api/chat",
        _ollama_chat_json,
        _ollama_chat_events,
        _ollama_error,
        "application/x-ndjson",
        True,
    ),
    _Route(
        "ollama_generate",
        "/api/generate",
        _ollama_generate_json,
        _ollama_generate_events,
        _ollama_error,
        "application/x-ndjson",
        True,
    ),
)


def _route_for(path: str) -> _Route | None:
    for route in _ROUTES:
        if path.endswith(route.suffix):
            return route
    return None


def _plan(route: _Route, body: JSON, script: Script, seq: int) -> _Plan:
    plan = _Plan(
        delay=script.delay,
        chunk_delay=script.chunk_delay,
        headers=script.headers,
        gzip=script.gzip and script.status < 400,
        crlf=script.crlf,
    )
    if script.status >= 400:
        message = script.error or f"scripted error {script.status}"
        plan.status = script.status
        plan.body = _dumps(route.error(message, script.status))
        return plan
    wants_stream = body.get("stream", route.stream_by_default) is True
    call = _Call(
        body=body,
        script=script,
        seq=seq,
        model=script.model or str(body.get("model") or "local-model"),
        stream=wants_stream and route.stream is not None,
        prompt_text=_PROMPT_TEXT[route.name](body),
    )
    if call.stream and route.stream is not None:
        plan.content_type = route.stream_type
        plan.events = list(route.stream(call))
    else:
        plan.body = _dumps(route.whole(call))
    return plan


# --------------------------------------------------------------------------- HTTP plumbing


@dataclass(slots=True)
class _Pending:
    """A queued script and how many more requests it answers (None: all)."""

    script: Script
    left: int | None


@dataclass(slots=True)
class _State:
    """Everything the server thread and the test thread share, behind one lock."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    pending: list[_Pending] = field(default_factory=list)
    default: Script = _DEFAULT_SCRIPT
    requests: list[RecordedRequest] = field(default_factory=list)
    counter: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    connections: int = 0

    def take(self, path: str) -> tuple[Script, int]:
        """The script answering a request to ``path`` (consuming one use) and a sequence no."""
        with self.lock:
            seq = next(self.counter)
            for index, entry in enumerate(self.pending):
                if not entry.script.matches(path):
                    continue
                if entry.left is not None:
                    entry.left -= 1
                    if entry.left <= 0:
                        del self.pending[index]
                return entry.script, seq
            return self.default, seq


async def _read_head(reader: asyncio.StreamReader) -> bytes | None:
    try:
        return await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
        return None


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    while True:
        size_line = await reader.readuntil(b"\r\n")
        size = int(size_line.split(b";", 1)[0].strip(), 16)
        if size == 0:
            await reader.readuntil(b"\r\n")
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)


def _parse_head(head: bytes) -> tuple[str, str, str, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    method, target, version = lines[0].split(" ", 2)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return method, target, version, headers


def _response_head(plan: _Plan, body: bytes, *, chunked: bool, keep_alive: bool) -> bytes:
    reason = _REASONS.get(plan.status, "Unknown")
    lines = [f"HTTP/1.1 {plan.status} {reason}", f"content-type: {plan.content_type}"]
    if chunked:
        lines += ["transfer-encoding: chunked", "cache-control: no-cache"]
    else:
        lines.append(f"content-length: {len(body)}")
    if plan.gzip:
        lines.append("content-encoding: gzip")
    lines.append("x-request-id: req_local")
    lines.extend(f"{k}: {v}" for k, v in plan.headers)
    lines.append(f"connection: {'keep-alive' if keep_alive else 'close'}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class LLMServer(Managed):
    """The local LLM server. Start it with ``with LLMServer() as server`` or ``start()``.

    Thread-safe: scripts can be added and requests read from any thread while the
    server's own thread serves connections.
    """

    def __init__(self, port: int = 0) -> None:
        self._requested_port = port
        self._state = _State()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None
        self.port = 0

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> LLMServer:
        """Bind and serve in a background thread; returns once the port is open."""
        if self._thread is not None:
            return self
        self._thread = threading.Thread(target=self._run, name="tsz-llm-server", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        if self._startup_error is not None:
            raise RuntimeError("llm server failed to start") from self._startup_error
        return self

    def stop(self) -> None:
        """Close every connection, stop the loop and join its thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        with contextlib.suppress(RuntimeError):
            asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(10)
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        self._thread = None
        self._loop = None

    # ------------------------------------------------------------------ public state

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>`` (Ollama clients and raw httpx use this)."""
        return f"http://{_HOST}:{self.port}"

    @property
    def base_url(self) -> str:
        """``<url>/v1``: the ``base_url`` for ``openai.OpenAI`` and Anthropic clients."""
        return self.url + "/v1"

    def script(
        self,
        reply: str | None = None,
        *,
        chunks: Iterable[str] | None = None,
        split_at: Iterable[int] | None = None,
        chunk_size: int | None = None,
        tool_calls: Iterable[ToolCall | Mapping[str, Any]] = (),
        refusal: str | None = None,
        status: int = 200,
        error: str | None = None,
        stream_error: str | None = None,
        delay: float = 0.0,
        chunk_delay: float = 0.0,
        finish_reason: str | None = None,
        model: str | None = None,
        headers: Mapping[str, str] | None = None,
        gzip: bool = False,
        crlf: bool = False,
        path: str | None = None,
        times: int | None = 1,
    ) -> Script:
        """Queue an answer for the next matching request(s); see :class:`Script`."""
        script = Script(
            reply=reply,
            chunks=tuple(chunks) if chunks is not None else None,
            split_at=tuple(split_at) if split_at is not None else None,
            chunk_size=chunk_size,
            tool_calls=tuple(ToolCall.of(t) for t in tool_calls),
            refusal=refusal,
            status=status,
            error=error,
            stream_error=stream_error,
            delay=delay,
            chunk_delay=chunk_delay,
            finish_reason=finish_reason,
            model=model,
            headers=tuple((headers or {}).items()),
            gzip=gzip,
            crlf=crlf,
            path=path,
            times=times,
        )
        with self._state.lock:
            self._state.pending.append(_Pending(script, times))
        return script

    def set_default(self, script: Script | None = None) -> None:
        """Answer unscripted requests with ``script`` (None restores the echo)."""
        with self._state.lock:
            self._state.default = script or _DEFAULT_SCRIPT

    @property
    def requests(self) -> list[RecordedRequest]:
        """A copy of every request received so far, oldest first."""
        with self._state.lock:
            return list(self._state.requests)

    @property
    def last_request(self) -> RecordedRequest:
        with self._state.lock:
            if not self._state.requests:
                raise LookupError("the llm server has received no request")
            return self._state.requests[-1]

    @property
    def connections(self) -> int:
        """How many TCP connections were accepted (keep-alive reuse keeps this low)."""
        with self._state.lock:
            return self._state.connections

    def reset(self) -> None:
        """Forget recorded requests, pending scripts and the default answer."""
        with self._state.lock:
            self._state.requests.clear()
            self._state.pending.clear()
            self._state.default = _DEFAULT_SCRIPT

    # ------------------------------------------------------------------ server thread

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            self._server = loop.run_until_complete(
                asyncio.start_server(
                    self._serve, _HOST, self._requested_port, limit=_MAX_HEADER_BYTES, backlog=256
                )
            )
            self.port = self._server.sockets[0].getsockname()[1]
        except BaseException as exc:  # startup failure is re-raised in start()
            self._startup_error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.close()

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.close()
        # connection handlers may be sleeping between stream chunks: cancel and await
        # them, so the loop stops with no task pending
        current = asyncio.current_task()
        pending = [task for task in asyncio.all_tasks() if task is not current]
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=2)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        with self._state.lock:
            self._state.connections += 1
        try:
            while await self._serve_one(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _serve_one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        head = await _read_head(reader)
        if head is None:
            return False
        method, target, version, headers = _parse_head(head)
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = await _read_chunked(reader)
        else:
            body = await reader.readexactly(int(headers.get("content-length") or 0))
        keep_alive = headers.get("connection", "").lower() != "close" and version == "HTTP/1.1"
        plan = self._handle(method, target, headers, body)
        await self._send(writer, plan, keep_alive)
        return keep_alive

    def _handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> _Plan:
        parts = urlsplit(target)
        parsed: Any = None
        bad_json = False
        if body:
            try:
                parsed = json.loads(body)
            except ValueError:
                bad_json = True
        record = RecordedRequest(
            method, parts.path, dict(parse_qsl(parts.query)), headers, body, parsed
        )
        with self._state.lock:
            self._state.requests.append(record)
        route = _route_for(parts.path)
        if route is None:
            return _Plan(status=404, body=_dumps(_openai_error(f"no route for {parts.path}", 404)))
        if method != "POST":
            return _Plan(status=405, body=_dumps(route.error("method not allowed", 405)))
        if bad_json or not isinstance(parsed, dict):
            return _Plan(
                status=400, body=_dumps(route.error("request body is not a JSON object", 400))
            )
        script, seq = self._state.take(parts.path)
        return _plan(route, parsed, script, seq)

    async def _send(self, writer: asyncio.StreamWriter, plan: _Plan, keep_alive: bool) -> None:
        if plan.delay > 0:
            await asyncio.sleep(plan.delay)
        body, events = plan.encoded()
        if events is None:
            writer.write(_response_head(plan, body, chunked=False, keep_alive=keep_alive) + body)
            await writer.drain()
            return
        writer.write(_response_head(plan, body, chunked=True, keep_alive=keep_alive))
        for event in events:
            writer.write(b"%x\r\n%s\r\n" % (len(event), event))
            await writer.drain()
            if plan.chunk_delay > 0:
                await asyncio.sleep(plan.chunk_delay)
        writer.write(b"0\r\n\r\n")
        await writer.drain()


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m tsz_otel.testing.llm_server --port N``: serve until interrupted."""
    parser = argparse.ArgumentParser(
        description="Local OpenAI/Anthropic/Ollama-compatible test server"
    )
    parser.add_argument(
        "--port", type=int, default=8765, help="port on 127.0.0.1 (0 = any free port)"
    )
    parser.add_argument(
        "--reply", default=None, help="fixed answer (default: echo the last user text)"
    )
    parser.add_argument(
        "--chunk-size", type=int, default=None, help="stream piece size in characters"
    )
    args = parser.parse_args(argv)
    server = LLMServer(port=args.port).start()
    if args.reply is not None or args.chunk_size is not None:
        server.set_default(Script(reply=args.reply, chunk_size=args.chunk_size, times=None))
    print(f"llm server listening on {server.url} (OpenAI base_url {server.base_url})", flush=True)
    serve_until_interrupted(server)


if __name__ == "__main__":
    main()
