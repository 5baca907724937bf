"""Compiled multi-pattern scan of one text into scored candidate matches.

Speed comes from not running most regexes at all. CPython's :mod:`re` costs
roughly 20-30 ns per character per pattern that has no literal prefix, so twenty
patterns over a 1 KB prompt would cost ~500 us. Instead:

1. Every built-in form carries a ``trigger`` (an RE2 expression any real match
   contains) and all triggers are compiled into one ``re2.Set``: a single DFA pass
   over the UTF-8 text (a few microseconds per KB) says which forms can match.
2. Only those forms run their precise :mod:`re` regex, checks and scoring.
3. Forms with ``anchors`` (``@`` for e-mail, ``://`` for URLs, key words for
   generic secrets) are only tried in a window around each anchor occurrence,
   found with ``str.find``, instead of over the whole text.

Forms without a trigger (user patterns) always run, with RE2.

A :class:`Scanner` is immutable and built once per catalogue change; ``scan`` only
reads it, so one scanner is shared by any number of threads.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import re2

from .catalogue import Form, PatternSpec
from .checks import CHECKS, TRIMS, Check, Trim
from .regex import OffsetMap, UserRegex, compile_user_regex, encode_text
from .types import Match

__all__ = [
    "CompiledForm",
    "CompiledRow",
    "HoldRule",
    "Scanner",
    "combine_verdicts",
    "context_boost",
    "hold_rules",
    "stable_prefix",
]

_PASSED, _FAILED, _NONE = "passed", "failed", "none"
_SET_MAX_MEM = 64 << 20
_LOOKAHEAD_SLACK = 8  # widest look-ahead of any built-in form, with margin
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def combine_verdicts(results: Iterable[bool | None]) -> bool | None:
    """Any ``False`` fails; otherwise any ``True`` passes; otherwise no verdict."""
    verdict: bool | None = None
    for result in results:
        if result is False:
            return False
        if result:
            verdict = True
    return verdict


def context_boost(text: str, start: int, spec: PatternSpec) -> float:
    """The row's context boost if one of its words occurs shortly before ``start``.

    Only text *before* the match counts: labels precede values in practice, and a
    streaming caller can then score a match as soon as the match itself is
    complete.
    """
    if not spec.context or spec.context_boost == 0.0:
        return 0.0
    window = text[max(0, start - spec.context_window) : start].lower()
    return spec.context_boost if any(word in window for word in spec.context) else 0.0


class CompiledForm:
    """One form of a row, compiled, with the strategy to find its matches."""

    __slots__ = ("_builtin", "_locator", "_user", "form", "max_len", "row")

    def __init__(self, row: CompiledRow, form: Form, spec: PatternSpec) -> None:
        self.row = row
        self.form = form
        self.max_len = spec.max_len
        self._builtin: re.Pattern[str] | None = None
        self._user: UserRegex | None = None
        self._locator: Any = None
        if spec.builtin:
            flags = re.ASCII | (re.IGNORECASE if spec.ignore_case else 0)
            self._builtin = re.compile(form.regex, flags)
            if form.trigger:
                self._locator = re2.compile(form.trigger.encode("utf-8"), options=_re2_options())
        else:
            self._user = compile_user_regex(
                spec.name, form.regex, case_insensitive=spec.ignore_case
            )

    def spans(self, text: str, data: bytes, offsets: OffsetMap) -> Iterator[tuple[int, int]]:
        """``(start, end)`` character spans of the form's matches in ``text``."""
        if self._user is not None:
            yield from self._user.spans(text, data, offsets)
            return
        rx = self._builtin
        assert rx is not None
        group = self.form.group
        if self._locator is not None:
            matches: Iterable[re.Match[str]] = self._located(rx, text, data, offsets)
        else:
            matches = rx.finditer(text)
        for m in matches:
            yield m.span(group if group >= 0 else (m.lastindex or 0))

    def _located(
        self, rx: re.Pattern[str], text: str, data: bytes, offsets: OffsetMap
    ) -> Iterator[re.Match[str]]:
        """Matches of ``rx`` tried only around the trigger's occurrences.

        Every match contains (or, with ``ahead``, follows) an occurrence of the
        trigger, starts at most ``lookback`` before it and is at most ``max_len``
        long, so searching those windows finds what ``finditer`` over the whole
        text would. Window ends leave room for look-aheads, and a match may not
        start before the end of the previous one.
        """
        form = self.form
        size = len(text)
        floor = 0
        for first, last in self._occurrences(text, data, offsets):
            if last <= floor:
                continue
            if form.at_trigger or form.left_chars:
                start = first
                if form.left_chars:
                    before = text[max(floor, first - form.lookback) : first]
                    start -= len(before) - len(before.rstrip(form.left_chars))
                if start < floor:
                    continue
                m = rx.match(text, start, min(size, start + self.max_len + _LOOKAHEAD_SLACK))
                if m is not None and m.end() > m.start():
                    yield m
                    floor = m.end()
                continue
            low = max(floor, first - form.lookback)
            latest = last + form.ahead
            high = min(size, latest + self.max_len + _LOOKAHEAD_SLACK)
            while low <= latest:
                m = rx.search(text, low, high)
                if m is None or m.start() > latest:
                    break
                if m.end() > m.start():
                    yield m
                    floor = m.end()
                low = max(m.end(), m.start() + 1)

    def _occurrences(self, text: str, data: bytes, offsets: OffsetMap) -> Iterator[tuple[int, int]]:
        """``(start, end)`` character offsets of trigger occurrences, in order."""
        form = self.form
        if not form.literals:
            for occurrence in self._locator.finditer(data):
                b0, b1 = occurrence.span()
                yield offsets.char(b0), offsets.char(b1)
            return
        haystack = text
        if form.literals_ignore_case:
            haystack = text.lower() if text.isascii() else text.translate(_ASCII_LOWER)
        found = [(haystack.find(lit), lit) for lit in form.literals]
        pending = [(pos, lit) for pos, lit in found if pos >= 0]
        while pending:
            pos, lit = min(pending)
            yield pos, pos + len(lit)
            pending = [
                (haystack.find(other, pos + 1), other) if at <= pos else (at, other)
                for at, other in pending
            ]
            pending = [(at, other) for at, other in pending if at >= 0]


class CompiledRow:
    """A catalogue row with its forms compiled and its checks resolved."""

    __slots__ = ("_checks", "_trim", "forms", "order", "spec")

    def __init__(self, spec: PatternSpec, order: int) -> None:
        self.spec = spec
        self.order = order
        self.forms = tuple(CompiledForm(self, form, spec) for form in spec.forms)
        self._checks: tuple[Check, ...] = tuple(CHECKS[name] for name in spec.checks)
        self._trim: Trim | None = TRIMS[spec.trim] if spec.trim else None

    def evaluate(self, text: str, start: int, end: int, out: list[Match]) -> None:
        """Check and score one raw span; append a :class:`Match` unless it drops."""
        spec = self.spec
        value = text[start:end]
        if self._trim is not None:
            keep = self._trim(value)
            if keep <= 0:
                return
            end = start + keep
            value = value[:keep]
        verdict: bool | None = None
        for check in self._checks:
            result = check(value)
            if result is False:
                verdict = False
                break
            if result:
                verdict = True
        if verdict is None:
            score, validation = spec.base, _NONE
        elif verdict:
            score = spec.base if spec.pass_score is None else spec.pass_score
            validation = _PASSED
        else:
            score, validation = spec.fail_score, _FAILED
        if score <= 0.0:
            return
        boost = 0.0
        if spec.context_boost:
            window = text[max(0, start - spec.context_window) : start].lower()
            for word in spec.context:
                if word in window:
                    boost = spec.context_boost
                    break
        final = score + boost
        out.append(
            Match(
                spec.name,
                spec.category,
                start,
                end,
                final if final < 1.0 else 1.0,
                score,
                validation,
                boost,
            )
        )


class Scanner:
    """All active rows, compiled, plus the one-pass prefilter over their triggers."""

    __slots__ = ("_always", "_by_name", "_prefilter", "_triggered", "rows")

    def __init__(self, specs: Sequence[PatternSpec]) -> None:
        self.rows: tuple[CompiledRow, ...] = tuple(
            CompiledRow(spec, order) for order, spec in enumerate(specs)
        )
        self._by_name = {row.spec.name: row for row in self.rows}
        forms = [form for row in self.rows if row.spec.active for form in row.forms]
        self._triggered = tuple(form for form in forms if form.form.trigger)
        self._always = tuple(form for form in forms if not form.form.trigger)
        self._prefilter = _build_set(form.form.trigger or "" for form in self._triggered)

    def row(self, name: str) -> CompiledRow | None:
        return self._by_name.get(name)

    def candidate_forms(self, data: bytes) -> list[CompiledForm]:
        """Forms whose trigger occurs in ``data``, plus forms without a trigger."""
        selected: list[CompiledForm] = []
        if self._prefilter is not None:
            hits = self._prefilter.Match(data)
            if hits:
                selected = [self._triggered[index] for index in sorted(hits)]
        if self._always:
            selected.extend(self._always)
        return selected

    def scan(self, text: str, data: bytes | None = None) -> list[Match]:
        """Every scored candidate of every active row (overlaps not yet resolved)."""
        if data is None:
            data = encode_text(text)
        out: list[Match] = []
        offsets = OffsetMap(text, data)
        for form in self.candidate_forms(data):
            row = form.row
            for start, end in form.spans(text, data, offsets):
                if end > start:
                    row.evaluate(text, start, end, out)
        return out


def _re2_options() -> Any:
    options = re2.Options()
    options.max_mem = _SET_MAX_MEM
    options.log_errors = False
    return options


def _build_set(triggers: Iterable[str]) -> Any:
    """One ``re2.Set`` over all triggers (index i = i-th triggered form)."""
    prefilter = re2.Set.SearchSet(_re2_options())
    count = 0
    for trigger in triggers:
        prefilter.Add(trigger)
        count += 1
    if count == 0:
        return None
    prefilter.Compile()
    return prefilter


# --------------------------------------------------------------------------- streaming

_WHITESPACE = " \t\n\r\f\v"


@dataclass(frozen=True, slots=True)
class HoldRule:
    """One reason to hold back the end of a growing text (see :func:`stable_prefix`).

    ``run``: the text may end inside an entity made of ``chars`` (``None``: any
    non-whitespace), at most ``max_len`` long. ``block``: an ``opening`` without a
    ``closing`` after it (a PEM block in progress). ``words``: a word that makes a
    value following within ``window`` characters a finding (``SSN``, ``password``).
    """

    kind: str
    max_len: int = 0
    chars: str | None = None
    opening: re.Pattern[str] | None = None
    closing: re.Pattern[str] | None = None
    words: tuple[str, ...] = ()
    window: int = 0


def hold_rules(specs: Iterable[PatternSpec], allow_threshold: float) -> tuple[HoldRule, ...]:
    """The hold-back rules of the active rows, derived from their catalogue data.

    A row whose score only reaches its allow threshold with context (a bare SSN,
    a 40-character AWS secret) gets a ``words`` rule for its context words, and
    rows with ``lead_words`` one for those.
    """
    runs: dict[str | None, int] = {}
    rules: list[HoldRule] = []
    for spec in specs:
        if spec.hold_open and spec.hold_close:
            rules.append(
                HoldRule(
                    "block",
                    max_len=spec.max_len,
                    opening=re.compile(spec.hold_open),
                    closing=re.compile(spec.hold_close),
                )
            )
        else:
            runs[spec.hold_chars] = max(runs.get(spec.hold_chars, 0), spec.max_len)
        allow = spec.allow_threshold if spec.allow_threshold is not None else allow_threshold
        scores = (spec.base, spec.pass_score if spec.pass_score is not None else spec.base)
        needs_context = min(scores) < allow <= min(scores) + spec.context_boost
        if spec.context and needs_context:
            rules.append(HoldRule("words", words=spec.context, window=spec.context_window))
        if spec.lead_words:
            rules.append(HoldRule("words", words=spec.lead_words, window=spec.lead_window))
    rules[:0] = [HoldRule("run", max_len=size, chars=chars) for chars, size in runs.items()]
    return tuple(rules)


def _run_start(text: str, rule: HoldRule) -> int:
    """Start of the run of ``rule.chars`` that ends the text (at most ``max_len`` back)."""
    size = len(text)
    low = max(0, size - rule.max_len)
    segment = text[low:]
    if rule.chars is None:
        last_space = max(segment.rfind(ch) for ch in _WHITESPACE)
        return low + last_space + 1
    return size - (len(segment) - len(segment.rstrip(rule.chars)))


def _open_block(text: str, rule: HoldRule) -> int | None:
    """Start of the last opening (within ``max_len``) that has no closing after it."""
    assert rule.opening is not None and rule.closing is not None
    last = None
    for last in rule.opening.finditer(text, max(0, len(text) - rule.max_len)):
        pass
    if last is None or rule.closing.search(text, last.end()):
        return None
    return last.start()


def stable_prefix(text: str, rules: Sequence[HoldRule], max_hold: int) -> int:
    """How many leading characters of a growing ``text`` can be released now.

    Held back from the earliest of: the start of a run of characters an entity
    could consist of that reaches the end of the text; an unclosed PEM block; and,
    repeatedly, any context or lead word within its window before the held part
    (so a value and the word that makes it a finding are released together).
    Never more than ``max_hold`` characters are held.
    """
    size = len(text)
    floor = max(0, size - max_hold)
    hold = size
    for rule in rules:
        if rule.kind == "run":
            start = _run_start(text, rule)
            if start < size:
                hold = min(hold, start)
        elif rule.kind == "block":
            start_block = _open_block(text, rule)
            if start_block is not None:
                hold = min(hold, start_block)
    words = [rule for rule in rules if rule.kind == "words"]
    moved = bool(words)
    while moved and hold > floor:
        moved = False
        for rule in words:
            low = max(floor, hold - rule.window)
            segment = text[low:size].translate(_ASCII_LOWER)
            for word in rule.words:
                found = segment.find(word)
                if found >= 0 and low + found < hold:
                    hold = low + found
                    moved = True
    return max(hold, floor)
