"""RE2 validation of user regexes and byte/character offset mapping."""

from __future__ import annotations

import random

import pytest

from tsz_otel import InvalidPatternError
from tsz_otel.engine.regex import OffsetMap, compile_user_regex, encode_text


@pytest.mark.parametrize(
    ("regex", "reason"),
    [
        (r"(?<=a)b", "not RE2"),  # look-behind
        (r"(?=a)b", "not RE2"),  # look-ahead
        (r"(a)\1", "not RE2"),  # back-reference
        (r"[a-", "not RE2"),
        (r"", "empty"),
        (r"x*", "empty string"),
    ],
)
def test_rejected_regexes(regex: str, reason: str) -> None:
    with pytest.raises(InvalidPatternError, match=reason) as info:
        compile_user_regex("MY_PATTERN", regex)
    assert info.value.pattern_name == "MY_PATTERN"


def test_spans_are_characters_even_for_non_ascii_text() -> None:
    rx = compile_user_regex("ID", r"ID-\d+")
    text = "ü ID-1 😀 ID-22 \ud800 ID-333"
    data = encode_text(text)
    spans = list(rx.spans(text, data, OffsetMap(text, data)))
    assert [text[a:b] for a, b in spans] == ["ID-1", "ID-22", "ID-333"]


def test_case_insensitive_option_and_fullmatch() -> None:
    rx = compile_user_regex("CI", r"secret-\d", case_insensitive=True)
    assert rx.fullmatch("SECRET-1")
    assert not rx.fullmatch("xSECRET-1")


def test_offset_map_round_trips() -> None:
    text = "aé😀b\ud800c"
    data = encode_text(text)
    forward = OffsetMap(text, data)
    bytes_at = [forward.byte(i) for i in range(len(text) + 1)]
    assert bytes_at == [len(encode_text(text[:i])) for i in range(len(text) + 1)]
    backward = OffsetMap(text, data)
    assert [backward.char(b) for b in bytes_at] == list(range(len(text) + 1))
    again = OffsetMap(text)  # going back restarts from the beginning
    assert again.byte(5) == bytes_at[5] and again.byte(2) == bytes_at[2]


@pytest.mark.parametrize("seed", range(40))
def test_offset_map_matches_utf8_lengths_on_mixed_text(seed: int) -> None:
    """Runs of one width, runs mixing widths, lone surrogates, ASCII between them."""
    rng = random.Random(seed)
    alphabet = ["a", " ", "7", "é", "ß", "ж", "中", "\u0800", "\uffff", "😀", "\U00010000"]
    alphabet.append("\ud800")  # a lone surrogate: 3 bytes with surrogatepass
    text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80)))
    data = encode_text(text)
    expected = [len(encode_text(text[:i])) for i in range(len(text) + 1)]
    assert [OffsetMap(text, data).byte(i) for i in range(len(text) + 1)] == expected
    mapped = OffsetMap(text, data)
    assert [mapped.char(b) for b in expected] == list(range(len(text) + 1))
