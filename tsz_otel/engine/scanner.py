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
from typing import Any

import re2

from .catalogue import Form, PatternSpec
from .checks import CHECKS, TRIMS, Check, Trim
from .regex import OffsetMap, UserRegex, compile_user_regex, encode_text
from .types import Match

__all__ = ["CompiledForm", "CompiledRow", "Scanner", "combine_verdicts", "context_boost"]

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

    __slots__ = ("_builtin", "_user", "anchors", "form", "max_len", "row")

    def __init__(self, row: CompiledRow, form: Form, spec: PatternSpec) -> None:
        self.row = row
        self.form = form
        self.max_len = spec.max_len
        self.anchors = form.anchors
        self._builtin: re.Pattern[str] | None = None
        self._user: UserRegex | None = None
        if spec.builtin:
            flags = re.ASCII | (re.IGNORECASE if spec.ignore_case else 0)
            self._builtin = re.compile(form.regex, flags)
        else:
            self._user = compile_user_regex(spec.name, form.regex, case_insensitive=spec.ignore_case)

    def spans(self, text: str, data: bytes, offsets: OffsetMap) -> Iterator[tuple[int, int]]:
        """``(start, end)`` character spans of the form's matches in ``text``."""
        if self._user is not None:
            yield from self._user.spans(text, data, offsets)
            return
        rx = self._builtin
        assert rx is not None
        group = self.form.group
        if self.anchors:
            matches: Iterable[re.Match[str]] = self._anchored(rx, text)
        else:
            matches = rx.finditer(text)
        for m in matches:
            yield m.span(group if group >= 0 else (m.lastindex or 0))

    def _anchored(self, rx: re.Pattern[str], text: str) -> Iterator[re.Match[str]]:
        """Matches of ``rx`` tried once per anchor occurrence.

        For each anchor (found with ``str.find``) the regex is matched at the
        start of the run of ``left_chars`` that ends at the anchor. The match
        window leaves room for the regex's look-ahead, so a match is the same as
        it would be in the whole text. Anchors inside a previous match are
        skipped, like ``finditer`` does.
        """
        form = self.form
        if form.anchors_ignore_case:
            haystack = text.lower() if text.isascii() else text.translate(_ASCII_LOWER)
        else:
            haystack = text
        size = len(text)
        left = form.left_chars
        span = self.max_len + _LOOKAHEAD_SLACK
        floor = 0  # matches may not start before the end of the previous one
        while floor < size:
            anchor = _next_anchor(haystack, self.anchors, floor)
            if anchor < 0:
                return
            start = anchor
            if left:
                before = text[max(floor, anchor - form.lookback) : anchor]
                start -= len(before) - len(before.rstrip(left))
            m = rx.match(text, start, min(size, start + span))
            if m is None or m.end() <= start:
                floor = anchor + 1
                continue
            yield m
            floor = m.end()


def _next_anchor(haystack: str, anchors: tuple[str, ...], start: int) -> int:
    best = -1
    for anchor in anchors:
        found = haystack.find(anchor, start)
        if found >= 0 and (best < 0 or found < best):
            best = found
    return best


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
        verdict = combine_verdicts(check(value) for check in self._checks) if self._checks else None
        if verdict is None:
            score, validation = spec.base, _NONE
        elif verdict:
            score = spec.pass_score if spec.pass_score is not None else spec.base
            validation = _PASSED
        else:
            score, validation = spec.fail_score, _FAILED
        if score <= 0.0:
            return
        boost = context_boost(text, start, spec)
        out.append(
            Match(
                type=spec.name,
                category=spec.category,
                start=start,
                end=end,
                score=min(1.0, score + boost),
                base=score,
                validation=validation,
                context=boost,
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


def _build_set(triggers: Iterable[str]) -> Any:
    """One ``re2.Set`` over all triggers (index i = i-th triggered form)."""
    options = re2.Options()
    options.max_mem = _SET_MAX_MEM
    options.log_errors = False
    prefilter = re2.Set.SearchSet(options)
    count = 0
    for trigger in triggers:
        prefilter.Add(trigger)
        count += 1
    if count == 0:
        return None
    prefilter.Compile()
    return prefilter
