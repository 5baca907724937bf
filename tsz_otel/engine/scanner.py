"""Compiled multi-pattern scan of one text into scored candidates, and the stream hold-back.

Speed comes from not running most regexes at all. CPython's :mod:`re` costs
roughly 10-30 ns per character per pattern without a literal prefix, so twenty
patterns over a 1 KB prompt would cost ~400 us. Instead:

1. Every built-in form carries a ``trigger`` (an RE2 expression any real match
   contains) and all triggers are compiled into one ``re2.Set``: a single DFA pass
   over the UTF-8 text (a few microseconds per KB) says which forms can match.
2. Only those forms run, and only where they can match. A form whose matches
   all start with one of its ``literals`` (``ghp_``, ``sk-``, ``(``) and fit in
   its window runs its :mod:`re` regex over the text with ``finditer``:
   CPython's matcher skips to the literal prefix in C, which is cheaper than
   any Python loop over occurrences. So does a digit-led form on a text shorter
   than its ``scan_below``. The other forms find their occurrences with
   ``bytes.find`` on plain ``literals`` (``@``, ``://``; case-insensitive ones
   such as ``token`` on the lower-cased bytes), on the text translated to one
   byte per character class for a ``[class]{n}`` locate expression (the
   40-character AWS secret), or with the trigger compiled alone in RE2 (digit
   shapes), and the precise regex is tried at or around each occurrence, never
   over the whole text. ``tests/engine/test_scanner.py`` checks that every form
   finds what its regex finds over the whole text.
3. Checks, trims and context scoring run per candidate (:class:`CompiledRow`),
   cheapest test first.

Forms without a trigger (user patterns) run over the whole text, with RE2.

A :class:`Scanner` is immutable and built once per catalogue change; ``scan`` only
reads it, so one scanner is shared by any number of threads.

:func:`stable_prefix` decides how much of a growing text (a streamed LLM
answer) can be released: see its docstring and :class:`HoldRule`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import re2

from .catalogue import NOT_AFTER_WINDOW, Form, PatternSpec
from .checks import CHECKS, TRIMS, Check, Trim
from .regex import OffsetMap, UserRegex, compile_user_regex, encode_text
from .types import Match

__all__ = [
    "CompiledForm",
    "CompiledRow",
    "Finding",
    "HoldRule",
    "Scanner",
    "hold_rules",
    "stable_prefix",
]

Finding = tuple[str, str, int, int, float, float, str, float]
"""A scored candidate as a plain tuple, in :class:`~tsz_otel.engine.types.Match`'s field
order (type, category, start, end, score, base, validation, context): ``Match(*f)``
is the same candidate. The engine's hot path works on these; a frozen dataclass
costs several times more to build and most candidates never need to be one."""

_PASSED, _FAILED, _NONE = "passed", "failed", "none"
_SET_MAX_MEM = 64 << 20
_SET_MAX_TEXT = 1 << 20  # above this, every form runs its own locator
_UNANCHORED = re2._Anchor.UNANCHORED
_LOOKAHEAD_SLACK = 8  # widest look-ahead of any built-in form, with margin
_UNBOUNDED_WIDTH = 1 << 31  # CPython reports unbounded repeats as a huge width
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


class _Texts:
    """The views of one text a scan needs, each computed at most once.

    Literal searches run on the UTF-8 bytes (``bytes.lower`` is fast for any text,
    ``str.translate`` is not for non-ASCII text) and their positions are mapped
    back to ``str`` offsets.
    """

    __slots__ = ("_lowered", "_offsets", "ascii", "data", "text")

    def __init__(self, text: str, data: bytes) -> None:
        self.text = text
        self.data = data
        self.ascii = len(data) == len(text)
        self._offsets: OffsetMap | None = None
        self._lowered: bytes | None = None

    @property
    def offsets(self) -> OffsetMap:
        """Byte -> character offsets (one incremental pass; see :class:`OffsetMap`)."""
        if self._offsets is None:
            self._offsets = OffsetMap(self.text, self.data)
        return self._offsets

    @property
    def lowered(self) -> bytes:
        """The UTF-8 text with ASCII letters lower-cased."""
        if self._lowered is None:
            self._lowered = self.data.lower()
        return self._lowered


def _literal_occurrences(
    haystack: bytes, needles: tuple[bytes, ...], width: int, disjoint: bool = False
) -> list[tuple[int, int]]:
    """``(start, start + width)`` of every position where any needle starts, in order
    (``disjoint``: one needle, each occurrence after the end of the previous one)."""
    if len(needles) == 1:
        needle = needles[0]
        step = len(needle) if disjoint else 1
        found = haystack.find(needle)
        out = []
        while found >= 0:
            out.append((found, found + width))
            found = haystack.find(needle, found + step)
        return out
    starts: set[int] = set()
    for needle in needles:
        found = haystack.find(needle)
        while found >= 0:
            starts.add(found)
            found = haystack.find(needle, found + 1)
    return [(start, start + width) for start in sorted(starts)]


class CompiledForm:
    """One form of a row, compiled, with the strategy to find its matches."""

    __slots__ = (
        "_builtin",
        "_left",
        "_locator",
        "_needles",
        "_prefixes",
        "_run",
        "_scan_below",
        "_user",
        "_width",
        "form",
        "max_len",
        "row",
        "span_end",
    )

    def __init__(self, row: CompiledRow, form: Form, spec: PatternSpec) -> None:
        self.row = row
        self.form = form
        self.max_len = spec.max_len
        self.span_end = spec.max_len + _LOOKAHEAD_SLACK
        self._builtin: re.Pattern[str] | None = None
        self._user: UserRegex | None = None
        self._locator: Any = None
        self._needles = tuple(literal.encode("utf-8") for literal in form.literals)
        self._width = min((len(needle) for needle in self._needles), default=0)
        self._left = re.compile(form.left_class + "*").match if form.left_class else None
        self._prefixes: tuple[str, ...] = ()
        self._run: tuple[bytes, bytes] | None = None
        self._scan_below = form.scan_below if spec.builtin else 0
        if spec.builtin:
            flags = (0 if spec.unicode else re.ASCII) | (re.IGNORECASE if spec.ignore_case else 0)
            self._builtin = re.compile(form.regex, flags)
            locate = form.locate or form.trigger
            self._run = _class_run(locate) if locate and not form.literals else None
            if locate and not form.literals and self._run is None:
                raw = re2.compile(locate.encode("utf-8"), options=_re2_options())
                self._locator = getattr(raw, "_regexp", raw)
            width = _max_width(self._builtin)
            # (case-insensitive literals give CPython no prefix to skip to: those
            # forms are tried at each literal occurrence instead)
            if (
                form.at_trigger
                and form.literals
                and not form.literals_ignore_case
                and width is not None
                and width <= spec.max_len
            ):
                self._prefixes = form.literals
        else:
            self._user = compile_user_regex(
                spec.name, form.regex, case_insensitive=spec.ignore_case
            )

    def spans(self, texts: _Texts) -> list[tuple[int, int]]:
        """``(start, end)`` character spans of the form's matches."""
        if self._user is not None:
            return list(self._user.spans(texts.text, texts.data, texts.offsets))
        rx = self._builtin
        assert rx is not None
        group = self.form.group
        if self._prefixes:
            matches: Iterable[re.Match[str]] = self._at_literals(rx, texts)
        elif self.form.trigger is None or len(texts.text) < self._scan_below:
            matches = rx.finditer(texts.text)
        else:
            matches = self._located(rx, texts)
        if group == 0:
            return [m.span() for m in matches]
        if group > 0:
            return [m.span(group) for m in matches]
        return [m.span(m.lastindex or 0) for m in matches]

    def _at_literals(self, rx: re.Pattern[str], texts: _Texts) -> list[re.Match[str]]:
        """``finditer`` over the whole text, for a form tried only at its literals.

        Same result as :meth:`_located` (the regex tried at each literal
        occurrence in a window of ``span_end`` characters): every match of such a
        form starts with one of its literals, and no match can be longer than
        ``max_len`` (checked when the form is compiled), so no window ever cuts a
        match short. Should a match ever not start with a literal, the windowed
        search decides instead.
        """
        text = texts.text
        found = list(rx.finditer(text))
        if found:
            prefixes = self._prefixes
            for m in found:
                if not text.startswith(prefixes, m.start()):
                    return self._located(rx, texts)
        return found

    def _located(self, rx: re.Pattern[str], texts: _Texts) -> list[re.Match[str]]:
        """Matches of ``rx`` tried only around the trigger's occurrences.

        Every match contains an occurrence of the trigger (or its ``locate``
        expression), starts at most ``lookback`` before it and is at most ``max_len``
        long, so searching those windows finds what ``finditer`` over the whole
        text would. Window ends leave room for look-aheads, and a match may not
        start before the end of the previous one.
        """
        form = self.form
        text = texts.text
        size = len(text)
        found: list[re.Match[str]] = []
        floor = 0
        searched = 0  # window starts below this were already tried
        exact = form.at_trigger or self._left is not None
        for first, last in self._occurrences(texts):
            if last <= floor:
                continue
            if exact:
                start = first
                if self._left is not None:
                    before = text[max(floor, first - form.lookback) : first]
                    run = self._left(before[::-1])
                    start -= run.end() if run is not None else 0
                if start >= floor:
                    m = rx.match(text, start, min(size, start + self.span_end))
                    if m is not None and m.end() > m.start():
                        found.append(m)
                        floor = m.end()
                continue
            low = max(floor, searched, first - form.lookback)
            latest = last
            high = min(size, latest + self.span_end)
            searched = latest + 1
            while low <= latest:
                m = rx.search(text, low, high)
                if m is None or m.start() > latest:
                    break
                if m.end() > m.start():
                    found.append(m)
                    floor = m.end()
                low = max(m.end(), m.start() + 1)
        return found

    def _occurrences(self, texts: _Texts) -> list[tuple[int, int]]:
        """``(start, end)`` character offsets of trigger occurrences, in order."""
        if self._needles:
            haystack = texts.lowered if self.form.literals_ignore_case else texts.data
            found = _literal_occurrences(haystack, self._needles, self._width)
        elif self._run is not None:
            table, needle = self._run
            found = _literal_occurrences(texts.data.translate(table), (needle,), len(needle), True)
        else:
            found = _re2_spans(self._locator, texts.data)
        if texts.ascii:
            return found
        char = texts.offsets.char
        return [(char(b0), char(b1)) for b0, b1 in found]


class CompiledRow:
    """A catalogue row with its forms compiled and its checks resolved.

    The row's scoring data is copied into slots at build time so that
    :meth:`evaluate`, which runs for every raw candidate, reads locals rather
    than walking ``spec`` attributes.
    """

    __slots__ = (
        "_base",
        "_boost",
        "_category",
        "_check",
        "_checks",
        "_context",
        "_fail",
        "_name",
        "_not_after",
        "_pass",
        "_trim",
        "_window",
        "forms",
        "order",
        "spec",
    )

    def __init__(self, spec: PatternSpec, order: int) -> None:
        self.spec = spec
        self.order = order
        self.forms = tuple(CompiledForm(self, form, spec) for form in spec.forms)
        self._checks: tuple[Check, ...] = tuple(CHECKS[name] for name in spec.checks)
        self._check: Check | None = self._checks[0] if len(self._checks) == 1 else None
        self._trim: Trim | None = TRIMS[spec.trim] if spec.trim else None
        self._name = spec.name
        self._category = spec.category
        self._base = spec.base
        self._pass = spec.base if spec.pass_score is None else spec.pass_score
        self._fail = spec.fail_score
        self._boost = spec.context_boost if spec.context else 0.0
        self._window = spec.context_window
        self._not_after = (
            re.compile(spec.not_after, re.IGNORECASE).search if spec.not_after else None
        )
        # "any context word occurs in the lower-cased window", as one C-level search
        self._context = (
            re.compile("|".join(re.escape(word) for word in spec.context)).search
            if spec.context
            else None
        )

    def _verdict(self, value: str) -> bool | None:
        """The checks' verdict: ``False`` if any fails, else ``True`` if any passes."""
        verdict: bool | None = None
        for check in self._checks:
            result = check(value)
            if result is False:
                return False
            if result:
                verdict = True
        return verdict

    def evaluate(self, text: str, start: int, end: int, out: list[Finding]) -> None:
        """Check and score one raw span; append a :data:`Finding` unless it drops."""
        value = text[start:end]
        if self._trim is not None:
            keep = self._trim(value)
            if keep <= 0:
                return
            end = start + keep
            value = value[:keep]
        verdict: bool | None = None
        if self._check is not None:
            result = self._check(value)
            verdict = False if result is False else (True if result else None)
        elif self._checks:
            verdict = self._verdict(value)
        if verdict is None:
            score, validation = self._base, _NONE
        elif verdict:
            score, validation = self._pass, _PASSED
        else:
            score, validation = self._fail, _FAILED
        if score <= 0.0:
            return
        if self._not_after is not None and self._not_after(
            text, max(0, start - NOT_AFTER_WINDOW), start
        ):
            return  # what precedes it makes it something else (a version, ...)
        boost = 0.0
        if self._boost:
            window = text[max(0, start - self._window) : start].lower()
            if self._context is not None and self._context(window) is not None:
                boost = self._boost
        final = score + boost
        out.append(
            (
                self._name,
                self._category,
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

    __slots__ = ("_always", "_by_name", "_hits", "_prefilter", "_triggered", "rows")

    def __init__(self, specs: Sequence[PatternSpec]) -> None:
        self.rows: tuple[CompiledRow, ...] = tuple(
            CompiledRow(spec, order) for order, spec in enumerate(specs)
        )
        self._by_name = {row.spec.name: row for row in self.rows}
        forms = [form for row in self.rows if row.spec.active for form in row.forms]
        self._triggered = tuple(form for form in forms if form.form.trigger)
        self._always = tuple(form for form in forms if not form.form.trigger)
        self._prefilter = _build_set(form.form.trigger or "" for form in self._triggered)
        # the binding's own Set.Match (a list of indices), without the wrapper's checks
        raw = getattr(self._prefilter, "_set", self._prefilter)
        self._hits: Any = getattr(raw, "Match", None)

    def row(self, name: str) -> CompiledRow | None:
        return self._by_name.get(name)

    def candidate_forms(self, data: bytes) -> list[CompiledForm]:
        """Forms whose trigger occurs in ``data``, plus forms without a trigger."""
        selected: list[CompiledForm] = []
        if self._prefilter is not None and len(data) > _SET_MAX_TEXT:
            # RE2::Set has no NFA fallback: on a huge adversarial text its DFA
            # could give up and report nothing. Each form's own RE2 locator
            # (which does fall back) decides instead.
            selected = list(self._triggered)
        elif self._prefilter is not None:
            hits = self._hits(data) if self._hits is not None else self._prefilter.Match(data)
            if hits:
                triggered = self._triggered
                selected = [triggered[index] for index in sorted(hits)]
        if self._always:
            selected.extend(self._always)
        return selected

    def scan(self, text: str, data: bytes | None = None) -> list[Match]:
        """Every scored candidate of every active row (overlaps not yet resolved)."""
        return [Match(*finding) for finding in self.findings(text, data)]

    def findings(self, text: str, data: bytes | None = None) -> list[Finding]:
        """:meth:`scan` as :data:`Finding` tuples (what the engine uses)."""
        if data is None:
            data = encode_text(text)
        out: list[Finding] = []
        forms = self.candidate_forms(data)
        if not forms:
            return out
        texts = _Texts(text, data)
        for form in forms:
            spans = form.spans(texts)
            if spans:
                evaluate = form.row.evaluate
                for start, end in spans:
                    if end > start:
                        evaluate(text, start, end, out)
        return out


def _re2_spans(locator: Any, data: bytes) -> list[tuple[int, int]]:
    """Non-overlapping match spans of a compiled RE2 pattern over ``data``.

    ``locator`` is the binding's raw regexp (``re2.compile(...)._regexp``) when
    this google-re2 version has one: its ``Match`` costs less than the
    ``finditer`` wrapper, which builds a match object per hit.
    """
    match = getattr(locator, "Match", None)
    if match is None:  # pragma: no cover - other google-re2 versions
        return [m.span() for m in locator.finditer(data)]
    size = len(data)
    position = 0
    found: list[tuple[int, int]] = []
    while position <= size:
        start, end = match(_UNANCHORED, data, position, size)[0]
        if start < 0:
            break
        found.append((start, end))
        position = end if end > position else position + 1
    return found


_CLASS_RUN = re.compile(r"\[([^\]\\]+)\]\{(\d+)\}")


def _class_run(locate: str) -> tuple[bytes, bytes] | None:
    """A ``[class]{n}`` locate expression over ASCII as a byte test, or ``None``.

    The class's bytes translate to ``a`` and every other byte to a space, so the
    occurrences of the expression (leftmost, non-overlapping, as RE2 finds them)
    are those of ``a * n`` in the translated text: found with ``bytes.find``,
    without a DFA whose tables a busy process keeps evicting from the CPU caches.
    """
    shape = _CLASS_RUN.fullmatch(locate)
    if shape is None:
        return None
    char_class = re.compile(f"[{shape.group(1)}]")
    inside = bytes(b for b in range(128) if char_class.fullmatch(chr(b)))
    if not inside:
        return None
    table = bytes(ord("a") if b in inside else ord(" ") for b in range(256))
    return table, b"a" * int(shape.group(2))


def _max_width(rx: re.Pattern[str]) -> int | None:
    """The longest string ``rx`` can match, per CPython's regex parser.

    ``None`` (no whole-text scan) when the parser is unavailable or the width is
    unbounded; the parser is CPython's own and private, hence the caution.
    """
    parser = getattr(re, "_parser", None)
    if parser is None:  # pragma: no cover - every supported CPython has it
        return None
    try:
        width = int(parser.parse(rx.pattern, rx.flags).getwidth()[1])
    except Exception:  # pragma: no cover - defensive: a parser change
        return None
    return width if width < _UNBOUNDED_WIDTH else None


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


def _run_start(text: str, end: int, rule: HoldRule) -> int:
    """Start of the run of ``rule.chars`` that ends at ``end`` (at most ``max_len`` back)."""
    low = max(0, end - rule.max_len)
    if rule.chars is None:
        return max(text.rfind(ch, low, end) for ch in _WHITESPACE) + 1 if end > low else end
    segment = text[low:end]
    return end - (len(segment) - len(segment.rstrip(rule.chars)))


def _in_run(char: str, rule: HoldRule) -> bool:
    if rule.chars is None:
        return char not in _WHITESPACE
    return char in rule.chars


def _block_start(text: str, point: int, rule: HoldRule) -> int | None:
    """Start of a block (within ``max_len``) that is open at ``point``, if any.

    A block is open at ``point`` when it starts before it and its closing does
    not end before it; at the end of the text that includes an unclosed block.
    """
    assert rule.opening is not None and rule.closing is not None
    for opening in rule.opening.finditer(text, max(0, len(text) - rule.max_len)):
        if opening.start() >= point:
            return None
        closing = rule.closing.search(text, opening.end())
        if closing is None or closing.end() > point:
            return opening.start()
    return None


def _pull_back(text: str, point: int, rule: HoldRule) -> int:
    """Where a run or block rule moves a release point so it splits nothing it protects."""
    if rule.kind == "run":
        if point == len(text):
            return _run_start(text, point, rule)
        if 0 < point and _in_run(text[point - 1], rule) and _in_run(text[point], rule):
            return _run_start(text, point, rule)
        return point
    start = _block_start(text, point, rule)
    return point if start is None else start


def _settle(text: str, point: int, floor: int, rules: Sequence[HoldRule]) -> int:
    """Apply the run and block rules until none moves the point any more."""
    moved = True
    while moved and point > floor:
        moved = False
        for rule in rules:
            new = max(floor, _pull_back(text, point, rule))
            if new < point:
                point, moved = new, True
    return point


def _first_word(text: str, low: int, rule: HoldRule) -> int | None:
    """Position of the first of ``rule.words`` at or after ``low`` (ASCII case-insensitive)."""
    segment = text[low:]
    segment = segment.lower() if segment.isascii() else segment.translate(_ASCII_LOWER)
    found = [at for at in (segment.find(word) for word in rule.words) if at >= 0]
    return low + min(found) if found else None


def stable_prefix(text: str, rules: Sequence[HoldRule], max_hold: int) -> int:
    """How many leading characters of a growing ``text`` can be released now.

    1. From the end of the text, the release point moves back until it is not
       inside (or at the end of) a run of characters an entity could consist of,
       nor inside a PEM block open there: no value that could still grow, and no
       complete value, is split. Everything from there on may hold a value.
    2. A context or lead word within its window before that point (or after it)
       could still turn a value there into a finding (``SSN`` before a bare
       number, ``password:`` before a secret): the point moves back to it.
    3. Step 1 again, so the word's move does not split another run; if that
       moves the point (the word sat inside a run that may be a value), step 2
       again from there.

    Never more than ``max_hold`` characters are held.
    """
    size = len(text)
    floor = max(0, size - max_hold)
    spans = [rule for rule in rules if rule.kind != "words"]
    words = [rule for rule in rules if rule.kind == "words"]
    point = _settle(text, size, floor, spans)
    while point > floor:
        hits = [_first_word(text, max(floor, point - rule.window), rule) for rule in words]
        word = min((hit for hit in hits if hit is not None), default=None)
        if word is None or word >= point:
            break
        settled = _settle(text, word, floor, spans)
        if settled == word:  # the word is not part of a run: no new value starts before it
            return word
        point = settled  # the word sat inside a run that may itself be a value
    return point
