"""The LLM wire formats both instrumentors understand, as data.

A :class:`WireFormat` row says how to recognise a request (path suffix), what its GenAI
operation and provider are, and where the guarded texts sit in the request body and in
the answer (:class:`Rule` paths). :func:`segments` walks such paths over JSON dicts *or*
the openai SDK's parsed objects alike, and each :class:`Segment` can write a new text back
into its place, so masking a request body, a parsed ``ChatCompletion`` or an Anthropic
answer is the same code.

Path steps: a key (``"messages"``), ``"*"`` (every list item) or ``"*type=x"`` (every
list item whose ``type`` is ``x``). The leaf of a text rule may be a string, or a list of
content parts (strings, ``{"text": ...}`` parts, nested ``{"content": ...}`` blocks such as
Anthropic ``tool_result``); a JSON rule's leaf is a JSON string or a dict/list whose string
leaves are scanned (tool arguments).
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping, MutableSequence, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

__all__ = [
    "FORMATS",
    "ResponseInfo",
    "Rule",
    "Segment",
    "WireFormat",
    "format_for_path",
    "get_field",
    "response_info",
    "segments",
]

_TYPE_ROLES: Final = {"tool_result": "tool", "function_call_output": "tool"}
"""Content blocks that carry tool output whatever message they sit in."""

_ROLE_ALIASES: Final = {"developer": "system"}


_KEY: Final = 0
_EVERY: Final = 1
_TYPED: Final = 2
_TYPED_PREFIX: Final = "*type="

Step = tuple[int, str]
"""A compiled path step: (:data:`_KEY`, key), (:data:`_EVERY`, "") or (:data:`_TYPED`, type)."""


def _compile_step(step: str) -> Step:
    if step.startswith(_TYPED_PREFIX):
        return (_TYPED, step[len(_TYPED_PREFIX) :])
    if step == "*":
        return (_EVERY, "")
    return (_KEY, step)


@dataclass(frozen=True, slots=True)
class Rule:
    """Where guarded texts sit. ``role`` fixed wins; else the enclosing item's ``role``
    (or ``default_role``). ``json``: tool arguments (whole JSON string or string leaves).

    ``steps`` is ``path`` parsed once, so walking a body never re-reads the step syntax.
    """

    path: tuple[str, ...]
    role: str | None = None
    default_role: str = "user"
    json: bool = False
    steps: tuple[Step, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "steps", tuple(_compile_step(s) for s in self.path))


@dataclass(frozen=True, slots=True)
class InfoPaths:
    """Where the response metadata of a format sits (for the ``chat {model}`` span)."""

    id: tuple[str, ...] = ("id",)
    model: tuple[str, ...] = ("model",)
    finish: tuple[tuple[str, ...], ...] = ()
    input_tokens: tuple[str, ...] = ()
    output_tokens: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class WireFormat:
    """One LLM API wire format (see the module docstring)."""

    name: str
    suffix: str
    operation: str
    provider: str
    inputs: tuple[Rule, ...]
    outputs: tuple[Rule, ...]
    info: InfoPaths
    stream_kind: Literal["sse", "ndjson"] = "sse"
    stream_by_default: bool = False

    def wants_stream(self, body: Mapping[str, Any]) -> bool:
        return body.get("stream", self.stream_by_default) is True


_ASSISTANT = "assistant"
_TOOL = "tool"

_CHAT_INFO = InfoPaths(
    finish=(("choices", "*", "finish_reason"),),
    input_tokens=("usage", "prompt_tokens"),
    output_tokens=("usage", "completion_tokens"),
)

OPENAI_CHAT: Final = WireFormat(
    name="openai.chat",
    suffix="/chat/completions",
    operation="chat",
    provider="openai",
    inputs=(
        Rule(("messages", "*", "content")),
        Rule(("messages", "*", "refusal")),
        Rule(("messages", "*", "tool_calls", "*", "function", "arguments"), _TOOL, json=True),
        Rule(("messages", "*", "function_call", "arguments"), _TOOL, json=True),
    ),
    outputs=(
        Rule(("choices", "*", "message", "content"), _ASSISTANT),
        Rule(("choices", "*", "message", "refusal"), _ASSISTANT),
        Rule(
            ("choices", "*", "message", "tool_calls", "*", "function", "arguments"),
            _ASSISTANT,
            json=True,
        ),
    ),
    info=_CHAT_INFO,
)

OPENAI_RESPONSES: Final = WireFormat(
    name="openai.responses",
    suffix="/responses",
    operation="chat",
    provider="openai",
    inputs=(
        Rule(("instructions",), "system"),
        Rule(("input",)),
        Rule(("input", "*type=function_call", "arguments"), _TOOL, json=True),
        Rule(("input", "*type=function_call_output", "output"), _TOOL),
    ),
    outputs=(
        Rule(("output", "*type=message", "content", "*type=output_text", "text"), _ASSISTANT),
        Rule(("output", "*type=message", "content", "*type=refusal", "refusal"), _ASSISTANT),
        Rule(("output", "*type=function_call", "arguments"), _ASSISTANT, json=True),
    ),
    info=InfoPaths(
        finish=(("status",),),
        input_tokens=("usage", "input_tokens"),
        output_tokens=("usage", "output_tokens"),
    ),
)

OPENAI_COMPLETIONS: Final = WireFormat(
    name="openai.completions",
    suffix="/completions",
    operation="text_completion",
    provider="openai",
    inputs=(Rule(("prompt",)),),
    outputs=(Rule(("choices", "*", "text"), _ASSISTANT),),
    info=_CHAT_INFO,
)

OPENAI_EMBEDDINGS: Final = WireFormat(
    name="openai.embeddings",
    suffix="/embeddings",
    operation="embeddings",
    provider="openai",
    inputs=(Rule(("input",)),),
    outputs=(),
    info=InfoPaths(id=(), input_tokens=("usage", "prompt_tokens")),
)

ANTHROPIC_MESSAGES: Final = WireFormat(
    name="anthropic.messages",
    suffix="/v1/messages",
    operation="chat",
    provider="anthropic",
    inputs=(
        Rule(("system",), "system"),
        Rule(("messages", "*", "content")),
        Rule(("messages", "*", "content", "*type=tool_use", "input"), _TOOL, json=True),
    ),
    outputs=(
        Rule(("content", "*type=text", "text"), _ASSISTANT),
        Rule(("content", "*type=tool_use", "input"), _ASSISTANT, json=True),
    ),
    info=InfoPaths(
        finish=(("stop_reason",), ("delta", "stop_reason")),
        input_tokens=("usage", "input_tokens"),
        output_tokens=("usage", "output_tokens"),
    ),
)

_OLLAMA_INFO = InfoPaths(
    id=(),
    finish=(("done_reason",),),
    input_tokens=("prompt_eval_count",),
    output_tokens=("eval_count",),
)

OLLAMA_CHAT: Final = WireFormat(
    name="ollama.chat",
    suffix="/api/chat",
    operation="chat",
    provider="ollama",
    inputs=(
        Rule(("messages", "*", "content")),
        Rule(("messages", "*", "tool_calls", "*", "function", "arguments"), _TOOL, json=True),
    ),
    outputs=(
        Rule(("message", "content"), _ASSISTANT),
        Rule(("message", "tool_calls", "*", "function", "arguments"), _ASSISTANT, json=True),
    ),
    info=_OLLAMA_INFO,
    stream_kind="ndjson",
    stream_by_default=True,
)

OLLAMA_GENERATE: Final = WireFormat(
    name="ollama.generate",
    suffix="/api/generate",
    operation="text_completion",
    provider="ollama",
    inputs=(Rule(("prompt",)), Rule(("system",), "system")),
    outputs=(Rule(("response",), _ASSISTANT),),
    info=_OLLAMA_INFO,
    stream_kind="ndjson",
    stream_by_default=True,
)

FORMATS: Final = (
    OPENAI_CHAT,
    ANTHROPIC_MESSAGES,
    OPENAI_RESPONSES,
    OPENAI_COMPLETIONS,
    OPENAI_EMBEDDINGS,
    OLLAMA_CHAT,
    OLLAMA_GENERATE,
)
"""Checked in order; the first whose suffix ends the path wins (chat before completions)."""


def format_for_path(
    path: str, formats: Sequence[WireFormat] = FORMATS, suffixes: Mapping[str, str] | None = None
) -> WireFormat | None:
    """The format a request path belongs to; ``suffixes`` maps extra suffixes to names."""
    path = path.rstrip("/")
    for fmt in formats:
        if path.endswith(fmt.suffix):
            return fmt
    if suffixes:
        by_name = {f.name: f for f in formats}
        for suffix, name in suffixes.items():
            if path.endswith(suffix.rstrip("/")) and name in by_name:
                return by_name[name]
    return None


# --------------------------------------------------------------------------- segments


_SCALARS: Final = frozenset({str, bytes, int, float, bool, list, tuple, type(None)})


def get_field(node: Any, key: str) -> Any:
    """``node[key]`` for mappings, ``node.key`` for objects (SDK models), else None.

    Dicts and pydantic models (whose fields live in ``__dict__``) are answered without an
    ABC ``isinstance`` check or a raised ``AttributeError``; anything else falls back to
    the general rules.
    """
    kind = type(node)
    if kind is dict:
        return node.get(key)
    if kind in _SCALARS:
        return None
    fields = getattr(node, "__dict__", None)
    if fields is not None and key in fields:
        return fields[key]
    if isinstance(node, Mapping):
        return node.get(key)
    return getattr(node, key, None)


@dataclass(slots=True)
class Segment:
    """One guarded string and the place it came from (to write a new value back)."""

    role: str
    text: str
    holder: Any
    key: str | int

    def write(self, value: str) -> None:
        if isinstance(self.holder, MutableMapping | MutableSequence):
            self.holder[self.key] = value  # type: ignore[index]
        else:
            setattr(self.holder, str(self.key), value)


def segments(body: Any, rules: Sequence[Rule], roles: frozenset[str] | None) -> list[Segment]:
    """Every guarded string of ``body`` under ``rules``, kept if its role is in ``roles``
    (``None`` keeps all), in a stable order (so a copy of the body yields the same list)."""
    out: list[Segment] = []
    for rule in rules:
        _walk(body, None, None, rule.steps, 0, rule, rule.role or rule.default_role, out)
    if roles is None:
        return out
    return [s for s in out if s.role in roles]


def _item_role(node: Any, rule: Rule, role: str) -> str:
    if rule.role is not None:
        return rule.role
    found = get_field(node, "role")
    if isinstance(found, str):
        return _ROLE_ALIASES.get(found, found)
    kind = get_field(node, "type")
    return _TYPE_ROLES.get(kind, role) if isinstance(kind, str) else role


def _walk(
    node: Any,
    holder: Any,
    key: str | int | None,
    steps: tuple[Step, ...],
    index: int,
    rule: Rule,
    role: str,
    out: list[Segment],
) -> None:
    """Follow ``steps[index:]`` from ``node``: key steps in a loop, list steps recurse."""
    count = len(steps)
    while index < count:
        kind, name = steps[index]
        index += 1
        if kind == _KEY:
            child = get_field(node, name)
            if child is None:
                return
            node, holder, key = child, node, name
            continue
        if not isinstance(node, list):
            return
        for position, item in enumerate(node):
            if kind == _TYPED and get_field(item, "type") != name:
                continue
            item_role = _item_role(item, rule, role)
            _walk(item, node, position, steps, index, rule, item_role, out)
        return
    if rule.json:
        _json_leaves(node, holder, key, role, out)
    else:
        _text_leaves(node, holder, key, rule, role, out)


def _text_leaves(
    node: Any, holder: Any, key: str | int | None, rule: Rule, role: str, out: list[Segment]
) -> None:
    if isinstance(node, str):
        if node and key is not None:
            out.append(Segment(role, node, holder, key))
        return
    if not isinstance(node, list):
        return
    for index, part in enumerate(node):
        if isinstance(part, str):
            if part:
                out.append(Segment(role, part, node, index))
            continue
        part_role = _item_role(part, rule, role)
        text = get_field(part, "text")
        if isinstance(text, str) and text:
            out.append(Segment(part_role, text, part, "text"))
        nested = get_field(part, "content")
        if nested is not None:
            _text_leaves(nested, part, "content", rule, part_role, out)


def _json_leaves(
    node: Any, holder: Any, key: str | int | None, role: str, out: list[Segment]
) -> None:
    if isinstance(node, str):
        if node and key is not None:
            out.append(Segment(role, node, holder, key))
    elif isinstance(node, Mapping):
        for child_key, value in node.items():
            _json_leaves(value, node, child_key, role, out)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            _json_leaves(value, node, index, role, out)


# --------------------------------------------------------------------------- response info


@dataclass(slots=True)
class ResponseInfo:
    """What the ``chat {model}`` span records of an answer (filled from one or many events)."""

    id: str | None = None
    model: str | None = None
    finish_reasons: list[str] | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None

    def update(self, node: Any, paths: InfoPaths) -> None:
        """Take every value ``node`` has at ``paths`` (later values win)."""
        value = _at(node, paths.id)
        if isinstance(value, str) and value:
            self.id = value
        value = _at(node, paths.model)
        if isinstance(value, str) and value:
            self.model = value
        value = _at(node, paths.input_tokens)
        if isinstance(value, int) and not isinstance(value, bool):
            self.input_tokens = value
        value = _at(node, paths.output_tokens)
        if isinstance(value, int) and not isinstance(value, bool):
            self.output_tokens = value
        if paths.finish:
            reasons: list[str] = []
            for path in paths.finish:
                _all_at(node, path, reasons)
            if reasons:
                self.finish_reasons = reasons


def response_info(node: Any, paths: InfoPaths) -> ResponseInfo:
    info = ResponseInfo()
    info.update(node, paths)
    return info


def _at(node: Any, path: tuple[str, ...]) -> Any:
    if not path:
        return None
    for step in path:
        node = get_field(node, step)
        if node is None:
            return None
    return node


def _all_at(node: Any, path: tuple[str, ...], out: list[str], start: int = 0) -> None:
    """Append every string at ``path`` (``"*"``: each list item) under ``node`` to ``out``."""
    for index in range(start, len(path)):
        step = path[index]
        if step == "*":
            if isinstance(node, list):
                for item in node:
                    _all_at(item, path, out, index + 1)
            return
        node = get_field(node, step)
        if node is None:
            return
    if isinstance(node, str):
        out.append(node)
