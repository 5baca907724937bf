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

import operator
from collections.abc import Callable, Mapping, MutableMapping, MutableSequence, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from pydantic import BaseModel

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


class _Reader:
    """The value at a path: one ``attrgetter`` call for SDK objects (pydantic models,
    whose fields are attributes), the general walk for dicts or when that fails."""

    __slots__ = ("getter", "path")

    def __init__(self, path: tuple[str, ...]) -> None:
        self.path = path
        self.getter = operator.attrgetter(".".join(path)) if path else None

    def __call__(self, node: Any) -> Any:
        getter = self.getter
        if getter is None:
            return None
        if type(node) is not dict:
            try:
                return getter(node)
            except AttributeError:  # a dict or a missing level on the way: the general rules
                pass
        return _at(node, self.path)


@dataclass(frozen=True, slots=True)
class InfoPaths:
    """Where the response metadata of a format sits (for the ``chat {model}`` span)."""

    id: tuple[str, ...] = ("id",)
    model: tuple[str, ...] = ("model",)
    finish: tuple[tuple[str, ...], ...] = ()
    input_tokens: tuple[str, ...] = ()
    output_tokens: tuple[str, ...] = ()
    finish_split: tuple[tuple[tuple[str, ...], tuple[str, ...] | None], ...] = field(
        init=False, repr=False, compare=False
    )
    """``finish`` paths split at their one ``"*"``: (before, after); (path, None) when a
    path has no ``"*"``, ((), path) as is when it has more (walked the general way)."""
    readers: tuple[_Reader, ...] = field(init=False, repr=False, compare=False)
    """id, model, input tokens, output tokens: path and C-level attribute reader each."""

    def __post_init__(self) -> None:
        object.__setattr__(
            self,
            "readers",
            tuple(
                _Reader(path)
                for path in (self.id, self.model, self.input_tokens, self.output_tokens)
            ),
        )
        split: list[tuple[tuple[str, ...], tuple[str, ...] | None]] = []
        for path in self.finish:
            stars = path.count("*")
            if stars == 1:
                star = path.index("*")
                split.append((path[:star], path[star + 1 :]))
            else:
                split.append((path, None) if stars == 0 else ((), path))
        object.__setattr__(self, "finish_split", tuple(split))


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


def get_field(node: Any, key: str, default: None = None) -> Any:
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


Buckets = list[list[Segment]]
"""One list of segments per rule, filled in document order and joined in rule order."""

_Visit = Callable[[Any, Any, "str | int | None", "str | None", Buckets], None]
"""A compiled walk from one trie node: ``(node, holder, key, derived role, buckets)``.
The derived role is what the enclosing list items said (``role``/``type``), or None."""


class _Trie:
    """The rules of one side of a format, merged on their common path prefixes, so a
    body is walked once however many rules share ``messages`` / ``*``."""

    __slots__ = ("every", "keys", "leaves", "typed")

    def __init__(self) -> None:
        self.keys: dict[str, _Trie] = {}
        self.every: _Trie | None = None
        self.typed: dict[str, _Trie] = {}
        self.leaves: list[tuple[int, Rule]] = []

    def add(self, index: int, rule: Rule) -> None:
        node = self
        for kind, name in rule.steps:
            if kind == _KEY:
                node = node.keys.setdefault(name, _Trie())
            elif kind == _EVERY:
                if node.every is None:
                    node.every = _Trie()
                node = node.every
            else:
                node = node.typed.setdefault(name, _Trie())
        node.leaves.append((index, rule))

    def needs_role(self) -> bool:
        """Whether a rule below takes its role from the items it passes through."""
        return any(rule.role is None for _, rule in self.leaves) or any(
            child.needs_role()
            for child in (*self.keys.values(), *self.typed.values(), self.every)
            if child is not None
        )

    def compile(self) -> _Visit:
        leaves = tuple(self.leaves)
        keys = tuple((name, child.compile()) for name, child in self.keys.items())
        every = self.every.compile() if self.every is not None else None
        typed = {name: child.compile() for name, child in self.typed.items()}
        items = every is not None or bool(typed)
        roles = self.every is not None and self.every.needs_role()
        roles = roles or any(child.needs_role() for child in self.typed.values())

        if leaves and not keys and not items:  # a leaf only: the common end of a path
            return _leaf_visit(leaves)
        if keys and not leaves and not items:  # a key step only

            def visit_keys(
                node: Any, holder: Any, key: str | int | None, derived: str | None, out: Buckets
            ) -> None:
                kind = type(node)
                if kind is dict:
                    for name, child in keys:
                        value = node.get(name)
                        if value is not None:
                            child(value, node, name, derived, out)
                    return
                read = getattr if _MODELS.get(kind) or _is_model(kind) else get_field
                for name, child in keys:
                    value = read(node, name, None)
                    if value is not None:
                        child(value, node, name, derived, out)

            return visit_keys
        on_leaves = _leaf_visit(leaves) if leaves else None

        def visit(
            node: Any, holder: Any, key: str | int | None, derived: str | None, out: Buckets
        ) -> None:
            if on_leaves is not None:
                on_leaves(node, holder, key, derived, out)
            if keys:
                kind = type(node)
                if kind is dict:
                    read: Callable[[Any, str, None], Any] = _dict_get
                else:
                    read = getattr if _MODELS.get(kind) or _is_model(kind) else get_field
                for name, child in keys:
                    value = read(node, name, None)
                    if value is not None:
                        child(value, node, name, derived, out)
            if items and isinstance(node, list):
                for position, item in enumerate(node):
                    role = _derived_role(item, derived) if roles else derived
                    if every is not None:
                        every(item, node, position, role, out)
                    if typed:
                        kind = get_field(item, "type")
                        branch = typed.get(kind) if isinstance(kind, str) else None
                        if branch is not None:
                            branch(item, node, position, role, out)

        return visit


_MODELS: dict[type, bool] = {}
"""Per type: whether it is a pydantic model (fields read as attributes: one C call)."""


def _is_model(kind: type) -> bool:
    found = _MODELS.get(kind)
    if found is None:
        found = issubclass(kind, BaseModel)
        if len(_MODELS) < 1024:
            _MODELS[kind] = found
    return found


def _dict_get(node: dict[str, Any], key: str, default: None = None) -> Any:
    return node.get(key)


def _leaf_visit(leaves: tuple[tuple[int, Rule], ...]) -> _Visit:
    if len(leaves) == 1:
        ((index, rule),) = leaves
        fixed = rule.role
        default = rule.default_role
        if rule.json:

            def json_leaf(
                node: Any, holder: Any, key: str | int | None, derived: str | None, out: Buckets
            ) -> None:
                role = fixed or (default if derived is None else derived)
                _json_leaves(node, holder, key, role, out[index])

            return json_leaf

        def text_leaf(
            node: Any, holder: Any, key: str | int | None, derived: str | None, out: Buckets
        ) -> None:
            role = fixed or (default if derived is None else derived)
            if type(node) is str:  # the common leaf: one string
                if node and key is not None:
                    out[index].append(Segment(role, node, holder, key))
                return
            _text_leaves(node, holder, key, rule, role, out[index])

        return text_leaf

    def leaves_visit(
        node: Any, holder: Any, key: str | int | None, derived: str | None, out: Buckets
    ) -> None:
        for index, rule in leaves:
            role = rule.role or (rule.default_role if derived is None else derived)
            if rule.json:
                _json_leaves(node, holder, key, role, out[index])
            else:
                _text_leaves(node, holder, key, rule, role, out[index])

    return leaves_visit


@dataclass(frozen=True, slots=True)
class _Walker:
    visit: _Visit
    rules: range


_WALKERS: dict[int, tuple[Sequence[Rule], _Walker]] = {}
"""Compiled rule sets by identity (formats and their rules are module constants)."""


def _walker(rules: Sequence[Rule]) -> _Walker:
    found = _WALKERS.get(id(rules))
    if found is not None and found[0] is rules:
        return found[1]
    trie = _Trie()
    for index, rule in enumerate(rules):
        trie.add(index, rule)
    walker = _Walker(trie.compile(), range(len(rules)))
    if len(_WALKERS) < 256:
        _WALKERS[id(rules)] = (rules, walker)  # the entry keeps ``rules`` (and its id) alive
    return walker


def segments(body: Any, rules: Sequence[Rule], roles: frozenset[str] | None) -> list[Segment]:
    """Every guarded string of ``body`` under ``rules``, kept if its role is in ``roles``
    (``None`` keeps all), in a stable order (so a copy of the body yields the same list):
    rule by rule, each in document order."""
    found = _WALKERS.get(id(rules))
    walker = found[1] if found is not None and found[0] is rules else _walker(rules)
    buckets: Buckets = [[] for _ in walker.rules]
    walker.visit(body, None, None, None, buckets)
    out: list[Segment] = []
    for bucket in buckets:
        if bucket:
            if out:
                out.extend(bucket)
            else:
                out = bucket
    if roles is None:
        return out
    return [s for s in out if s.role in roles]


def _derived_role(node: Any, role: str | None) -> str | None:
    """The role an item gives what it holds: its ``role`` (aliased), else the role its
    ``type`` implies (tool results), else the enclosing one."""
    found = get_field(node, "role")
    if isinstance(found, str):
        return _ROLE_ALIASES.get(found, found)
    kind = get_field(node, "type")
    return _TYPE_ROLES.get(kind, role) if isinstance(kind, str) else role


def _item_role(node: Any, rule: Rule, role: str) -> str:
    if rule.role is not None:
        return rule.role
    found = _derived_role(node, role)
    return role if found is None else found


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
        read_id, read_model, read_input, read_output = paths.readers
        value = read_id(node)
        if isinstance(value, str) and value:
            self.id = value
        value = read_model(node)
        if isinstance(value, str) and value:
            self.model = value
        value = read_input(node)
        if isinstance(value, int) and not isinstance(value, bool):
            self.input_tokens = value
        value = read_output(node)
        if isinstance(value, int) and not isinstance(value, bool):
            self.output_tokens = value
        if paths.finish:
            reasons: list[str] = []
            for before, after in paths.finish_split:
                if after is None:  # no "*": one value
                    value = _at(node, before)
                    if isinstance(value, str):
                        reasons.append(value)
                elif not before and "*" in after:  # several "*": the general walk
                    _all_at(node, after, reasons)
                else:  # one "*": the items of the list at ``before``
                    items = _at(node, before) if before else node
                    if isinstance(items, list):
                        for item in items:
                            value = _at(item, after) if after else item
                            if isinstance(value, str):
                                reasons.append(value)
            if reasons:
                self.finish_reasons = reasons


def response_info(node: Any, paths: InfoPaths) -> ResponseInfo:
    info = ResponseInfo()
    info.update(node, paths)
    return info


def _step(node: Any, key: str) -> Any:
    """:func:`get_field`, with the two common cases first (a dict, a pydantic model)."""
    kind = type(node)
    if kind is dict:
        return node.get(key)
    if _MODELS.get(kind) or _is_model(kind):
        return getattr(node, key, None)
    return get_field(node, key)


def _at(node: Any, path: tuple[str, ...]) -> Any:
    if not path:
        return None
    for step in path:
        kind = type(node)
        if kind is dict:
            node = node.get(step)
        elif _MODELS.get(kind) or _is_model(kind):
            node = getattr(node, step, None)
        else:
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
        node = _step(node, step)
        if node is None:
            return
    if isinstance(node, str):
        out.append(node)
