"""Guarding a streamed answer at the byte level: SSE / NDJSON in, guarded bytes out.

Both instrumentors replace the ``stream`` of the ``httpx``/``httpx2`` response with a
:class:`GuardedByteStream` (or its async twin), so whatever reads the body (the openai
SDK's ``Stream``, its ``.stream()`` helpers, ``with_raw_response``, a raw ``iter_lines``)
sees the same guarded events. Events are parsed, the format's rewriter feeds every text
delta through :class:`~._stream_text.StreamText` and re-serialises only events it changed
(unchanged events go out byte for byte). Final events that repeat the whole text
(``response.output_text.done``, ``response.completed`` ...) are rewritten to the text the
caller actually received, so no final snapshot leaks what the deltas held back.

A halt ends the stream with the format's own error event (OpenAI:
``data: {"error": {"code": "tsz_output_blocked", ...}}`` then ``data: [DONE]``; Anthropic:
an ``error`` event; Ollama: an ``{"error": ...}`` line) and closes the upstream.
"""

from __future__ import annotations

import functools
import json
import logging
import zlib
from collections.abc import AsyncIterator, Callable, Hashable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import wrapt

from tsz_otel._unicode import json_bytes, utf8

from ._formats import ResponseInfo, Rule, WireFormat, segments
from ._stream_call import StreamCall
from ._stream_text import ScanNeeded, StreamText

__all__ = [
    "GuardedAsyncByteStream",
    "GuardedByteStream",
    "StreamSession",
    "attach_session",
    "content_decoder",
]

if TYPE_CHECKING:
    _Proxy = wrapt.ObjectProxy[Any]
else:  # wrapt 1.x proxies are not subscriptable at runtime
    _Proxy = wrapt.ObjectProxy

_logger = logging.getLogger(__name__)

JSON = dict[str, Any]
Emitted = list[tuple[str | None, JSON]]

_DONE: Final = "[DONE]"
_ERROR_CODE: Final = "tsz_output_blocked"


# --------------------------------------------------------------------------- decoding


def content_decoder(encoding: str | None) -> Callable[[bytes], bytes] | bool | None:
    """A decoder for a response ``Content-Encoding``: None for identity, a callable for
    gzip/deflate, False for anything this module cannot decode."""
    value = (encoding or "").strip().lower()
    if value in ("", "identity"):
        return None
    if value in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress
    if value == "deflate":
        return zlib.decompressobj().decompress
    return False


# --------------------------------------------------------------------------- parsing


@dataclass(slots=True)
class RawEvent:
    raw: bytes
    name: str | None
    data: str | None


def _sse_block(block: bytes) -> RawEvent:
    name: str | None = None
    data: list[str] = []
    for line in block.split(b"\n"):
        if line.startswith(b"data:"):
            value = line[5:]
            data.append((value[1:] if value.startswith(b" ") else value).decode("utf-8", "replace"))
        elif line.startswith(b"event:"):
            name = line[6:].strip().decode("utf-8", "replace")
    return RawEvent(block, name, "\n".join(data) if data else None)


class _SSEParser:
    __slots__ = ("_buffer",)

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, chunk: bytes) -> list[RawEvent]:
        buffer = self._buffer + chunk
        if b"\r" in buffer:
            held = buffer.endswith(b"\r")
            buffer = buffer[:-1] if held else buffer
            buffer = buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            buffer += b"\r" if held else b""
        events = []
        while True:
            index = buffer.find(b"\n\n")
            if index < 0:
                break
            events.append(_sse_block(buffer[: index + 2]))
            buffer = buffer[index + 2 :]
        self._buffer = buffer
        return events

    def flush(self) -> list[RawEvent]:
        rest, self._buffer = self._buffer.rstrip(b"\r"), b""
        return [_sse_block(rest)] if rest.strip() else []


class _NDJSONParser:
    __slots__ = ("_buffer",)

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, chunk: bytes) -> list[RawEvent]:
        buffer = self._buffer + chunk
        *lines, self._buffer = buffer.split(b"\n")
        return [RawEvent(line + b"\n", None, line.decode("utf-8", "replace")) for line in lines]

    def flush(self) -> list[RawEvent]:
        rest, self._buffer = self._buffer, b""
        return [RawEvent(rest, None, rest.decode("utf-8", "replace"))] if rest.strip() else []


def _payload(data: JSON | str) -> bytes:
    return utf8(data) if isinstance(data, str) else json_bytes(data)


def _sse(name: str | None, data: JSON | str) -> bytes:
    head = f"event: {name}\n".encode() if name else b""
    return head + b"data: " + _payload(data) + b"\n\n"


def _ndjson(name: str | None, data: JSON | str) -> bytes:
    return _payload(data) + b"\n"


def _openai_error(message: str) -> JSON:
    return {"message": message, "type": "invalid_request_error", "param": None, "code": _ERROR_CODE}


# --------------------------------------------------------------------------- rewriters


class _Rewriter:
    """Per-format event rewriting over a :class:`StreamText` (subclasses: one per format)."""

    info_roots: tuple[str, ...] = ()

    def __init__(self, text: StreamText) -> None:
        self.text = text
        self._closed: set[Hashable] = set()

    def swap(self, holder: Any, field: str, key: Hashable) -> bool:
        """Feed ``holder[field]`` (a delta) through channel ``key``; whether it changed."""
        value = holder.get(field) if isinstance(holder, dict) else None
        if not isinstance(value, str) or not value:
            return False
        out = self.text.feed(key, value)
        if out == value:
            return False
        holder[field] = out
        return True

    def close(self, key: Hashable) -> str:
        """Flush channel ``key`` once; the rest to send."""
        if key in self._closed:
            return ""
        rest = self.text.flush(key)  # first: a ScanNeeded must leave the key open
        self._closed.add(key)
        return rest

    def checkpoint(self) -> frozenset[Hashable]:
        """The rewriter's state before an async step (what :meth:`restore` goes back to)."""
        return frozenset(self._closed)

    def restore(self, closed: frozenset[Hashable]) -> None:
        self._closed = set(closed)

    def open_keys(self) -> list[Hashable]:
        return [k for k in self.text.keys() if k not in self._closed]

    def settle(self, holder: Any, field: str, key: Hashable) -> bool:
        """A final event repeating a channel's whole text: make it what was released."""
        value = holder.get(field) if isinstance(holder, dict) else None
        if not isinstance(value, str):
            return False
        if not self.text.seen(key):
            final = self.text.whole(key, value)
            self._closed.add(key)
        elif not self.text.rewrites:
            return False
        else:
            self.close(key)
            final = self.text.emitted(key)
        if final == value:
            return False
        holder[field] = final
        return True

    def event(self, name: str | None, data: JSON) -> Emitted | None:
        raise NotImplementedError

    def end(self) -> Emitted:
        return []

    def halt(self, message: str) -> list[bytes]:
        return [_sse(None, {"error": _openai_error(message)}), _sse(None, _DONE)]


class _ChatRewriter(_Rewriter):
    """OpenAI Chat Completions chunks: content, refusal and tool-call arguments."""

    _template: JSON

    def __init__(self, text: StreamText) -> None:
        super().__init__(text)
        self._template = {}

    def event(self, name: str | None, data: JSON) -> Emitted | None:
        self._template = data
        changed = False
        for choice in data.get("choices") or ():
            if not isinstance(choice, dict):
                continue
            index = choice.get("index", 0)
            delta = choice.get("delta")
            if isinstance(delta, dict):
                changed |= self.swap(delta, "content", (index, "content"))
                changed |= self.swap(delta, "refusal", (index, "refusal"))
                for call in delta.get("tool_calls") or ():
                    function = call.get("function") if isinstance(call, dict) else None
                    key = (index, "tool", call.get("index", 0) if isinstance(call, dict) else 0)
                    changed |= self.swap(function, "arguments", key)
            if choice.get("finish_reason") is not None:
                changed |= self._flush_choice(choice, index)
        return [(name, data)] if changed else None

    def _flush_choice(self, choice: JSON, index: Any) -> bool:
        delta = choice.get("delta")
        if not isinstance(delta, dict):
            delta = choice["delta"] = {}
        changed = False
        for key in self.open_keys():
            if not isinstance(key, tuple) or key[0] != index:
                continue
            rest = self.close(key)
            if rest:
                _add_to_delta(delta, key, rest)
                changed = True
        return changed

    def end(self) -> Emitted:
        deltas: dict[Any, JSON] = {}
        for key in self.open_keys():
            rest = self.close(key)
            if rest and isinstance(key, tuple):
                _add_to_delta(deltas.setdefault(key[0], {}), key, rest)
        if not deltas:
            return []
        head = {k: v for k, v in self._template.items() if k not in ("choices", "usage")}
        choices = [
            {"index": i, "delta": d, "logprobs": None, "finish_reason": None}
            for i, d in deltas.items()
        ]
        return [(None, {**head, "choices": choices})]


def _add_to_delta(delta: JSON, key: tuple[Any, ...], rest: str) -> None:
    if key[1] != "tool":
        delta[key[1]] = (delta.get(key[1]) or "") + rest
        return
    calls = delta.setdefault("tool_calls", [])
    for call in calls:
        if isinstance(call, dict) and call.get("index", 0) == key[2]:
            function = call.setdefault("function", {})
            function["arguments"] = (function.get("arguments") or "") + rest
            return
    calls.append({"index": key[2], "function": {"arguments": rest}})


class _CompletionsRewriter(_Rewriter):
    """Legacy Completions chunks: ``choices[].text``."""

    def __init__(self, text: StreamText) -> None:
        super().__init__(text)
        self._template: JSON = {}

    def event(self, name: str | None, data: JSON) -> Emitted | None:
        self._template = data
        changed = False
        for choice in data.get("choices") or ():
            if not isinstance(choice, dict):
                continue
            key = (choice.get("index", 0), "text")
            changed |= self.swap(choice, "text", key)
            if choice.get("finish_reason") is not None:
                rest = self.close(key)
                if rest:
                    choice["text"] = (choice.get("text") or "") + rest
                    changed = True
        return [(name, data)] if changed else None

    def end(self) -> Emitted:
        head = {k: v for k, v in self._template.items() if k not in ("choices", "usage")}
        out: Emitted = []
        for key in self.open_keys():
            rest = self.close(key)
            if rest and isinstance(key, tuple):
                choice = {"text": rest, "index": key[0], "logprobs": None, "finish_reason": None}
                out.append((None, {**head, "choices": [choice]}))
        return out


# Responses: delta event -> (channel kind, field); done event -> (kind, field, delta type)
_RESPONSES_DELTAS: Final = {
    "response.output_text.delta": "text",
    "response.refusal.delta": "refusal",
    "response.function_call_arguments.delta": "args",
}
_RESPONSES_DONE: Final = {
    "response.output_text.done": ("text", "text", "response.output_text.delta"),
    "response.refusal.done": ("refusal", "refusal", "response.refusal.delta"),
    "response.function_call_arguments.done": (
        "args",
        "arguments",
        "response.function_call_arguments.delta",
    ),
}
_RESPONSES_FINAL: Final = frozenset(
    {"response.completed", "response.incomplete", "response.failed"}
)
_PART_FIELDS: Final = {"output_text": ("text", "text"), "refusal": ("refusal", "refusal")}


def _responses_key(kind: str, data: JSON) -> tuple[Any, ...]:
    if kind == "args":
        return ("args", data.get("output_index", 0), None)
    return (kind, data.get("output_index", 0), data.get("content_index", 0))


class _ResponsesRewriter(_Rewriter):
    """OpenAI Responses events: text/refusal/argument deltas and every final snapshot."""

    info_roots = ("response",)

    def event(self, name: str | None, data: JSON) -> Emitted | None:
        kind = data.get("type")
        if not isinstance(kind, str):
            return None
        if kind in _RESPONSES_DELTAS:
            key = _responses_key(_RESPONSES_DELTAS[kind], data)
            return [(name, data)] if self.swap(data, "delta", key) else None
        if kind in _RESPONSES_DONE:
            return self._done(name, data, *_RESPONSES_DONE[kind])
        changed = False
        if kind == "response.content_part.done":
            changed = self._part(data.get("part"), data.get("output_index", 0), data)
        elif kind == "response.output_item.done":
            changed = self._item(data.get("item"), data.get("output_index", 0))
        elif kind in _RESPONSES_FINAL:
            response = data.get("response")
            output = response.get("output") if isinstance(response, dict) else None
            for index, item in enumerate(output or ()):
                changed |= self._item(item, index)
        return [(name, data)] if changed else None

    def _done(
        self, name: str | None, data: JSON, kind: str, field: str, delta_type: str
    ) -> Emitted | None:
        key = _responses_key(kind, data)
        out: Emitted = []
        if self.text.seen(key) and self.text.rewrites:
            rest = self.close(key)
            if rest:
                extra = {k: v for k, v in data.items() if k not in (field, "type")}
                out.append((delta_type, {"type": delta_type, **extra, "delta": rest}))
        changed = self.settle(data, field, key)
        if not out and not changed:
            return None
        return [*out, (name, data)]

    def _part(self, part: Any, output_index: Any, where: JSON) -> bool:
        if not isinstance(part, dict) or part.get("type") not in _PART_FIELDS:
            return False
        kind, field = _PART_FIELDS[part["type"]]
        key = (kind, output_index, where.get("content_index", 0))
        return self.settle(part, field, key)

    def _item(self, item: Any, output_index: Any) -> bool:
        if not isinstance(item, dict):
            return False
        if item.get("type") == "function_call":
            return self.settle(item, "arguments", ("args", output_index, None))
        changed = False
        if item.get("type") == "message":
            for index, part in enumerate(item.get("content") or ()):
                changed |= self._part(part, output_index, {"content_index": index})
        return changed

    def halt(self, message: str) -> list[bytes]:
        error = _openai_error(message)
        body = {"type": "error", "code": _ERROR_CODE, "message": message, "param": None}
        return [_sse("error", {**body, "error": error})]


class _AnthropicRewriter(_Rewriter):
    """Anthropic Messages events: ``text_delta`` and ``input_json_delta`` per block."""

    info_roots = ("message",)
    _FIELDS: Final = {"text_delta": ("text", "text"), "input_json_delta": ("json", "partial_json")}
    _DELTA_TYPES: Final = {"text": "text_delta", "json": "input_json_delta"}

    def event(self, name: str | None, data: JSON) -> Emitted | None:
        kind = data.get("type")
        if kind == "content_block_delta":
            delta = data.get("delta")
            kind_of = delta.get("type") if isinstance(delta, dict) else None
            entry = self._FIELDS.get(kind_of) if isinstance(kind_of, str) else None
            if entry is None:
                return None
            key = (data.get("index", 0), entry[0])
            return [(name, data)] if self.swap(delta, entry[1], key) else None
        if kind == "content_block_stop":
            extra = self._flush(lambda k: k[0] == data.get("index", 0))
            return [*extra, (name, data)] if extra else None
        if kind in ("message_delta", "message_stop"):
            extra = self._flush(lambda k: True)
            return [*extra, (name, data)] if extra else None
        return None

    def _flush(self, wanted: Callable[[tuple[Any, ...]], bool]) -> Emitted:
        out: Emitted = []
        for key in self.open_keys():
            if not isinstance(key, tuple) or not wanted(key):
                continue
            rest = self.close(key)
            if rest:
                field = self._FIELDS[self._DELTA_TYPES[key[1]]][1]
                delta = {"type": self._DELTA_TYPES[key[1]], field: rest}
                body = {"type": "content_block_delta", "index": key[0], "delta": delta}
                out.append(("content_block_delta", body))
        return out

    def end(self) -> Emitted:
        return self._flush(lambda k: True)

    def halt(self, message: str) -> list[bytes]:
        error = {"type": "invalid_request_error", "message": message}
        return [_sse("error", {"type": "error", "error": error})]


_OLLAMA_TOOLS: Final = (Rule(("message", "tool_calls", "*", "function", "arguments"), json=True),)


class _OllamaRewriter(_Rewriter):
    """Ollama NDJSON lines: ``message.content`` (chat) or ``response`` (generate)."""

    def __init__(self, text: StreamText, chat: bool) -> None:
        super().__init__(text)
        self._chat = chat
        self._template: JSON = {}

    def _holder(self, data: JSON) -> tuple[Any, str]:
        if self._chat:
            return data.get("message"), "content"
        return data, "response"

    def event(self, name: str | None, data: JSON) -> Emitted | None:
        self._template = data
        holder, field = self._holder(data)
        changed = self.swap(holder, field, (0, "content"))
        if self._chat:
            for index, segment in enumerate(segments(data, _OLLAMA_TOOLS, None)):
                final = self.text.whole(("tool", index, segment.key), segment.text)
                if final != segment.text:
                    segment.write(final)
                    changed = True
        if data.get("done") is True and isinstance(holder, dict):
            rest = self.close((0, "content"))
            if rest:
                holder[field] = (holder.get(field) or "") + rest
                changed = True
        return [(name, data)] if changed else None

    def end(self) -> Emitted:
        rest = self.close((0, "content"))
        if not rest:
            return []
        line: JSON = {k: self._template[k] for k in ("model", "created_at") if k in self._template}
        if self._chat:
            line["message"] = {"role": "assistant", "content": rest}
        else:
            line["response"] = rest
        line["done"] = False
        return [(None, line)]

    def halt(self, message: str) -> list[bytes]:
        return [_ndjson(None, {"error": message})]


_REWRITERS: Final[dict[str, Callable[[StreamText], _Rewriter]]] = {
    "openai.chat": _ChatRewriter,
    "openai.completions": _CompletionsRewriter,
    "openai.responses": _ResponsesRewriter,
    "anthropic.messages": _AnthropicRewriter,
    "ollama.chat": lambda text: _OllamaRewriter(text, chat=True),
    "ollama.generate": lambda text: _OllamaRewriter(text, chat=False),
}


# --------------------------------------------------------------------------- session


class StreamSession:
    """One guarded response stream: parser + rewriter + :class:`StreamCall`.

    ``deferred`` (async streams): hold-back filters scan with the engine's ``adetect``
    through :meth:`afeed`/:meth:`aend` (see :mod:`._stream_text`).
    """

    __slots__ = (
        "_decode",
        "_parser",
        "_rewriter",
        "_serialize",
        "call",
        "deferred",
        "fmt",
        "halted",
        "info",
        "text",
    )

    def __init__(
        self,
        fmt: WireFormat,
        call: StreamCall,
        decode: Callable[[bytes], bytes] | None = None,
        *,
        deferred: bool = False,
    ) -> None:
        self.fmt = fmt
        self.call = call
        self.deferred = deferred and call.filtering
        self.text = call.new_text(deferred=self.deferred)
        self.info = ResponseInfo()
        self._rewriter = _REWRITERS[fmt.name](self.text)
        self._parser: _SSEParser | _NDJSONParser = (
            _SSEParser() if fmt.stream_kind == "sse" else _NDJSONParser()
        )
        self._serialize = _sse if fmt.stream_kind == "sse" else _ndjson
        self._decode = decode
        self.halted = False

    def feed(self, chunk: bytes) -> bytes:
        """Guarded bytes for ``chunk`` (stops at a halt; see :attr:`halted`)."""
        if self.halted:
            return b""
        if self._decode is not None:
            chunk = self._decode(chunk)
        out: list[bytes] = []
        for event in self._parser.feed(chunk):
            out.extend(self._event(event))
            if self.text.halted is not None:
                self.halted = True
                break
        return b"".join(out)

    def end(self) -> bytes:
        """The rest at the end of the upstream stream."""
        if self.halted:
            return b""
        out: list[bytes] = []
        for event in self._parser.flush():
            out.extend(self._event(event))
        out.extend(self._serialize(n, d) for n, d in self._rewriter.end())
        if self.text.halted is not None:
            self.halted = True
        return b"".join(out)

    def halt_bytes(self) -> bytes:
        return b"".join(self._rewriter.halt(self.call.halt_message))

    # -- async: the same steps, with scans awaited -----------------------------------------

    async def afeed(self, chunk: bytes) -> bytes:
        """:meth:`feed` for async streams: filter scans go to ``adetect``."""
        if not self.deferred:
            return self.feed(chunk)
        if self.halted:
            return b""
        if self._decode is not None:
            chunk = self._decode(chunk)
        out: list[bytes] = []
        for event in self._parser.feed(chunk):
            out.extend(await self._astep(functools.partial(self._event, event)))
            if self.text.halted is not None:
                self.halted = True
                break
        return b"".join(out)

    async def aend(self) -> bytes:
        """:meth:`end` for async streams."""
        if not self.deferred:
            return self.end()
        if self.halted:
            return b""
        out: list[bytes] = []
        for event in self._parser.flush():
            out.extend(await self._astep(functools.partial(self._event, event)))
        out.extend(await self._astep(self._end_events))
        if self.text.halted is not None:
            self.halted = True
        return b"".join(out)

    def _end_events(self) -> list[bytes]:
        return [self._serialize(n, d) for n, d in self._rewriter.end()]

    async def _astep(self, step: Callable[[], list[bytes]]) -> list[bytes]:
        """Run ``step`` until no scan is missing: await each one, then run it again from
        the same rewriter state, replaying the operations already done."""
        checkpoint = self._rewriter.checkpoint()
        self.text.journal()
        try:
            while True:
                try:
                    return step()
                except ScanNeeded as need:
                    need.holder.provide(need.text, await self.call.ascan(need.text))
                    self._rewriter.restore(checkpoint)
                    self.text.rewind()
        finally:
            self.text.end_journal()

    def _event(self, event: RawEvent) -> list[bytes]:
        data = event.data
        if data is None:
            return [event.raw]
        if data.strip() == _DONE:
            rest = [self._serialize(n, d) for n, d in self._rewriter.end()]
            return [*rest, event.raw]
        try:
            parsed = json.loads(data)
        except ValueError:
            return [event.raw]
        if not isinstance(parsed, dict):
            return [event.raw]
        self._collect_info(parsed)
        emitted = self._rewriter.event(event.name, parsed)
        if emitted is None:
            return [event.raw]
        return [self._serialize(n, d) for n, d in emitted]

    def _collect_info(self, data: JSON) -> None:
        self.info.update(data, self.fmt.info)
        for root in self._rewriter.info_roots:
            inner = data.get(root)
            if isinstance(inner, Mapping):
                self.info.update(inner, self.fmt.info)


# --------------------------------------------------------------------------- byte streams


class GuardedByteStream(_Proxy):
    """A sync ``httpx``/``httpx2`` response byte stream, guarded (see the module)."""

    def __init__(self, wrapped: Any, session: StreamSession) -> None:
        super().__init__(wrapped)
        self._self_session = session

    def __iter__(self) -> Iterator[bytes]:
        session: StreamSession = self._self_session
        call = session.call
        try:
            for chunk in self.__wrapped__:
                out = session.feed(chunk)
                if session.halted:
                    call.halt(session.text, session.info)
                    yield out + session.halt_bytes()
                    return
                if out:
                    yield out
            tail = session.end()
            if session.halted:
                call.halt(session.text, session.info)
                tail += session.halt_bytes()
            if tail:
                yield tail
        except Exception as exc:
            call.finish(session.text, session.info, error=exc)
            raise
        call.finish(session.text, session.info)

    def close(self) -> None:
        session: StreamSession = self._self_session
        try:
            self.__wrapped__.close()
        finally:
            session.call.finish(session.text, session.info)

    def __del__(self) -> None:
        session: StreamSession | None = getattr(self, "_self_session", None)
        if session is not None:
            session.call.abandon(session.text, session.info)


class GuardedAsyncByteStream(_Proxy):
    """The async twin of :class:`GuardedByteStream`."""

    def __init__(self, wrapped: Any, session: StreamSession) -> None:
        super().__init__(wrapped)
        self._self_session = session

    async def __aiter__(self) -> AsyncIterator[bytes]:
        session: StreamSession = self._self_session
        call = session.call
        try:
            async for chunk in self.__wrapped__:
                out = await session.afeed(chunk)
                if session.halted:
                    await call.ahalt(session.text, session.info)
                    yield out + session.halt_bytes()
                    return
                if out:
                    yield out
            tail = await session.aend()
            if session.halted:
                await call.ahalt(session.text, session.info)
                tail += session.halt_bytes()
            if tail:
                yield tail
        except Exception as exc:
            await call.afinish(session.text, session.info, error=exc)
            raise
        await call.afinish(session.text, session.info)

    async def aclose(self) -> None:
        session: StreamSession = self._self_session
        try:
            await self.__wrapped__.aclose()
        finally:
            await session.call.afinish(session.text, session.info)

    def __del__(self) -> None:
        session: StreamSession | None = getattr(self, "_self_session", None)
        if session is not None:
            session.call.abandon(session.text, session.info)


def attach_session(fmt: WireFormat, call: StreamCall, response: Any, is_async: bool) -> bool:
    """Guard ``response``'s body stream in place (``httpx`` or ``httpx2`` response).

    A gzip/deflate body is decoded here and its ``Content-Encoding`` removed; another
    encoding cannot be guarded and is left alone (returns False, logged).
    """
    headers = response.headers
    decode = content_decoder(headers.get("content-encoding"))
    if decode is False:
        _logger.warning(
            "cannot guard a %s stream with content-encoding %r; passed through unguarded",
            fmt.name,
            headers.get("content-encoding"),
        )
        return False
    if decode is not None:
        del headers["content-encoding"]
        if "content-length" in headers:
            del headers["content-length"]
    session = StreamSession(fmt, call, decode if callable(decode) else None, deferred=is_async)
    proxy = GuardedAsyncByteStream if is_async else GuardedByteStream
    response.stream = proxy(response.stream, session)
    return True
