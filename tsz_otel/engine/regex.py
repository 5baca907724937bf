"""RE2 for user-supplied regexes: validation, compilation and offset mapping.

TSZ patterns are Go ``regexp`` (RE2) syntax, so user patterns, template patterns
and ``regex`` allowlist items are validated and matched with Google's RE2
(``google-re2``): no look-arounds or back-references, and matching time linear in
the text, so a user pattern cannot hang the engine on ReDoS-shaped input (which a
Python :mod:`re` fallback could). Built-in catalogue rows are ours, tested
against such input, and use :mod:`re` (measured faster for them).

A pattern is rejected (:class:`~tsz_otel.errors.InvalidPatternError`, naming the
pattern) when RE2 does not compile it or when it matches the empty string (it
would "detect" an empty span everywhere). Nothing user-supplied is compiled at
detect time.

RE2 works on UTF-8 bytes; the engine works on ``str`` offsets. Text is encoded
with ``surrogatepass`` so a lone surrogate cannot crash a scan, and
:class:`OffsetMap` converts monotonically increasing byte offsets to character
offsets (and back) in one pass over the text.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator
from typing import Any

import re2

from ..errors import InvalidPatternError

__all__ = ["OffsetMap", "UserRegex", "compile_user_regex", "encode_text"]

_MAX_MEM = 64 << 20  # RE2 program/DFA budget per pattern


def encode_text(text: str) -> bytes:
    """UTF-8 bytes of ``text``; lone surrogates are kept (``surrogatepass``)."""
    return text.encode("utf-8", "surrogatepass")


def _options(*, case_insensitive: bool = False) -> Any:
    options = re2.Options()
    options.max_mem = _MAX_MEM
    options.log_errors = False
    if case_insensitive:
        options.case_sensitive = False
    return options


class UserRegex:
    """A compiled, validated RE2 pattern that yields ``str`` spans."""

    __slots__ = ("_regexp", "pattern")

    def __init__(self, pattern: str, regexp: Any) -> None:
        self.pattern = pattern
        self._regexp = regexp

    def spans(self, text: str, data: bytes, offsets: OffsetMap) -> Iterator[tuple[int, int]]:
        """Non-empty, non-overlapping leftmost matches of the pattern, as char spans."""
        for match in self._regexp.finditer(data):
            start, end = match.span()
            if end > start:
                yield offsets.char(start), offsets.char(end)

    def fullmatch(self, value: str) -> bool:
        return self._regexp.fullmatch(encode_text(value)) is not None


def compile_user_regex(name: str, pattern: str, *, case_insensitive: bool = False) -> UserRegex:
    """Validate ``pattern`` as RE2 and compile it, or raise ``InvalidPatternError``."""
    if not isinstance(pattern, str) or not pattern:
        raise InvalidPatternError(name, "the regex is empty")
    try:
        data = pattern.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidPatternError(name, "the regex is not valid UTF-8") from exc
    try:
        regexp = re2.compile(data, options=_options(case_insensitive=case_insensitive))
    except re2.error as exc:
        raise InvalidPatternError(name, f"not RE2 syntax ({exc})") from exc
    except (TypeError, ValueError) as exc:  # pragma: no cover - defensive
        raise InvalidPatternError(name, str(exc)) from exc
    if regexp.fullmatch(b"") is not None:
        raise InvalidPatternError(name, "the regex matches the empty string")
    return UserRegex(pattern, regexp)


# UTF-8 bytes to 0 (ASCII) or 1 (part of a multi-byte character): runs of
# non-ASCII characters are then found with ``bytes.find`` (memchr speed), where a
# regex character class would cost ~15 ns a character.
_WIDE_BYTES = bytes.maketrans(bytes(range(256)), bytes(128) + b"\x01" * 128)
# Runs of characters that take 2, 3 and 4 bytes in UTF-8 (lone surrogates take 3),
# for the rare run that mixes widths.
_WIDE_RUNS = re.compile("[\u0080-\u07ff]+|[\u0800-\uffff]+|[\U00010000-\U0010ffff]+")


def _uniform_width(run: str) -> int:
    """The UTF-8 width shared by every character of a non-ASCII ``run`` (0 if mixed)."""
    low, high = min(run), max(run)
    if high < "\u0800":
        return 2
    if low >= "\U00010000":
        return 4
    if low >= "\u0800" and high <= "\uffff":
        return 3
    return 0


class OffsetMap:
    """Byte <-> character offsets of one text.

    For ASCII text both are the identity. Otherwise the runs of multi-byte
    characters are indexed once, on first use (one regex pass), and every
    offset is then a binary search away, in any order. A byte offset inside a
    multi-byte character (only an RE2 match over invalid UTF-8, such as an
    encoded lone surrogate, can end there) is approximated incrementally from
    the previous offset asked for, which is why one object serves one pass of
    non-decreasing offsets.
    """

    __slots__ = ("_ascii", "_byte", "_char", "_data", "_runs", "_text")

    def __init__(self, text: str, data: bytes | None = None) -> None:
        self._text = text
        self._ascii = text.isascii()
        self._data = data
        self._char = 0
        self._byte = 0
        self._runs: _Runs | None = None

    def char(self, byte_offset: int) -> int:
        """Character offset of ``byte_offset``."""
        if self._ascii:
            return byte_offset
        runs = self._runs if self._runs is not None else self._index()
        index = bisect_right(runs.byte_starts, byte_offset) - 1
        if index < 0:
            char = byte_offset
        else:
            inside = byte_offset - runs.byte_starts[index]
            width = runs.widths[index]
            if inside > runs.lengths[index] * width:
                char = byte_offset - runs.extra_after[index]
            elif inside % width:
                return self._approximate(byte_offset)
            else:
                char = runs.char_starts[index] + inside // width
        self._char, self._byte = char, byte_offset
        return char

    def byte(self, char_offset: int) -> int:
        """Byte offset of ``char_offset``."""
        if self._ascii:
            return char_offset
        runs = self._runs if self._runs is not None else self._index()
        index = bisect_right(runs.char_starts, char_offset) - 1
        if index < 0:
            return char_offset
        inside = char_offset - runs.char_starts[index]
        if inside > runs.lengths[index]:
            return char_offset + runs.extra_after[index]
        return runs.byte_starts[index] + inside * runs.widths[index]

    def _index(self) -> _Runs:
        runs = _Runs()
        if self._data is None:
            self._data = encode_text(self._text)
        data = self._data
        marks = data.translate(_WIDE_BYTES)
        extra = 0
        first = marks.find(1)
        while first >= 0:
            last = marks.find(0, first)
            if last < 0:
                last = len(marks)
            run = data[first:last].decode("utf-8", "surrogatepass")
            start = first - extra
            width = _uniform_width(run)
            if width:
                extra = runs.add(start, first, len(run), width, extra)
            else:  # mixed widths: one entry per run of one width
                for part in _WIDE_RUNS.finditer(run):
                    low, high = part.span()
                    width = len(encode_text(run[low]))
                    extra = runs.add(start + low, start + low + extra, high - low, width, extra)
            first = marks.find(1, last)
        self._runs = runs
        return runs

    def _approximate(self, byte_offset: int) -> int:
        """A byte offset inside a character: decode from the last offset asked for."""
        if self._data is None:
            self._data = encode_text(self._text)
        if byte_offset < self._byte:
            self._char, self._byte = 0, 0
        piece = self._data[self._byte : byte_offset]
        try:
            self._char += len(piece.decode("utf-8", "surrogatepass"))
        except UnicodeDecodeError:  # an offset inside a broken sequence: approximate
            self._char += len(piece.decode("utf-8", "replace"))
        self._byte = byte_offset
        return self._char


class _Runs:
    """Where a text's multi-byte characters are: per run of same-width characters,
    its first character and byte, its length in characters, its UTF-8 width, and the
    extra bytes (beyond one per character) of all runs up to and including it."""

    __slots__ = ("byte_starts", "char_starts", "extra_after", "lengths", "widths")

    def __init__(self) -> None:
        self.char_starts: list[int] = []
        self.byte_starts: list[int] = []
        self.lengths: list[int] = []
        self.widths: list[int] = []
        self.extra_after: list[int] = []

    def add(self, char_start: int, byte_start: int, length: int, width: int, extra: int) -> int:
        """Append one run; returns the extra bytes up to and including it."""
        self.char_starts.append(char_start)
        self.byte_starts.append(byte_start)
        self.lengths.append(length)
        self.widths.append(width)
        extra += length * (width - 1)
        self.extra_after.append(extra)
        return extra
