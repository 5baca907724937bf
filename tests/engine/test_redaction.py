"""Overlap resolution, placeholder styles, restore, and byte/char offsets."""

from __future__ import annotations

import random
import re
from collections.abc import Callable

from engine_samples import make_settings

from tsz_otel import Engine
from tsz_otel.engine.engine import _as_kept, _greedy
from tsz_otel.engine.redaction import Candidate, resolve_overlaps


def _cand(kind: str, start: int, end: int, score: float = 0.5, order: int = 0) -> Candidate:
    return Candidate(kind, "PII", start, end, score, order, score, "none", 0.0)


def test_longest_then_highest_score_then_catalogue_order() -> None:
    kept = resolve_overlaps(
        [
            _cand("SHORT", 5, 10, score=0.99),
            _cand("LONG", 0, 20, score=0.40),
            _cand("TIE_LOW", 30, 40, score=0.50, order=1),
            _cand("TIE_HIGH", 30, 40, score=0.70, order=2),
            _cand("ORDER_B", 50, 60, score=0.50, order=3),
            _cand("ORDER_A", 50, 60, score=0.50, order=1),
            _cand("ALONE", 20, 25),
        ]
    )
    assert [(c.type, c.start) for c in kept] == [
        ("LONG", 0),
        ("ALONE", 20),
        ("TIE_HIGH", 30),
        ("ORDER_A", 50),
    ]


def test_resolution_does_not_depend_on_input_order() -> None:
    items = [_cand("A", 0, 5), _cand("B", 3, 9), _cand("C", 8, 12), _cand("D", 11, 20)]
    first = [(c.type, c.start) for c in resolve_overlaps(items)]
    second = [(c.type, c.start) for c in resolve_overlaps(list(reversed(items)))]
    assert first == second


def test_engine_greedy_on_tuples_matches_resolve_overlaps() -> None:
    """The engine resolves overlaps without blocklist hits on its tuples (``_greedy``):
    the same candidates, in the same order, as ``resolve_overlaps``."""
    rng = random.Random(11)
    for _ in range(3000):
        kept = []
        for _ in range(rng.randint(2, 8)):
            start = rng.randint(0, 40)
            end = start + rng.randint(0, 12)
            score = rng.choice([0.4, 0.5, 0.55, 0.9])
            kind = rng.choice(["EMAIL", "PHONE_NUMBER", "GENERIC_API_KEY"])
            order = rng.randint(0, 3)
            kept.append((kind, "PII", start, end, score, order, score, "none", 0.0, "REGEX", None))
        expected = [_as_kept(c) for c in resolve_overlaps([Candidate(*k) for k in kept])]
        assert _greedy(kept) == expected


def test_url_with_credentials_wins_over_the_email_inside(engine: Engine) -> None:
    response = engine.detect("redis://:Hk*NE5amlEkYgeAR32v@redis-1.example.com:6379/0 end")
    assert [d.type for d in response.detections] == ["URL_WITH_CREDENTIALS"]


def test_tsz_placeholders_are_stable_per_value_and_keyed(
    engine_factory: Callable[..., Engine],
) -> None:
    engine = engine_factory()
    text = "a@example.com, b@example.com, a@example.com"
    response = engine.detect(text, rid="RID-7")
    placeholders = [d.placeholder for d in response.detections]
    assert all(re.fullmatch(r"\[RID-7_EMAIL_[0-9a-f]{16}\]", p) for p in placeholders)
    assert placeholders[0] == placeholders[2] != placeholders[1]
    assert engine.detect(text, rid="RID-7").detections[0].placeholder == placeholders[0]
    assert engine.detect(text, rid="RID-8").detections[0].placeholder != placeholders[0]
    assert engine_factory().detect(text, rid="RID-7").detections[0].placeholder != placeholders[0]
    no_rid = engine.detect(text).detections[0].placeholder
    assert re.fullmatch(r"\[EMAIL_[0-9a-f]{16}\]", no_rid)


def test_placeholder_key_can_be_shared() -> None:
    key = b"k" * 32
    one = Engine(make_settings(), placeholder_key=key).detect("a@example.com", rid="R")
    two = Engine(make_settings(), placeholder_key=key).detect("a@example.com", rid="R")
    assert one.redacted_text == two.redacted_text


def test_type_placeholders(engine_factory: Callable[..., Engine]) -> None:
    engine = engine_factory(placeholder_style="type")
    response = engine.detect("My email is user@company.com")
    assert response.redacted_text == "My email is [EMAIL]"
    assert response.restore_map == {}


def test_indexed_placeholders_and_restore(engine_factory: Callable[..., Engine]) -> None:
    engine = engine_factory(placeholder_style="indexed")
    text = "From a@example.com to b@example.com, cc a@example.com; call +1 415-555-2671"
    response = engine.detect(text)
    assert response.redacted_text == (
        "From [EMAIL_1] to [EMAIL_2], cc [EMAIL_1]; call [PHONE_NUMBER_1]"
    )
    answer = "I wrote to [EMAIL_2] and [EMAIL_1]; [PHONE_NUMBER_1] did not answer."
    assert response.restore(answer) == (
        "I wrote to b@example.com and a@example.com; +1 415-555-2671 did not answer."
    )
    assert response.restore_map == {
        "[EMAIL_1]": "a@example.com",
        "[EMAIL_2]": "b@example.com",
        "[PHONE_NUMBER_1]": "+1 415-555-2671",
    }
    assert "restore" not in response.model_dump_json()


def test_byte_and_char_offsets(engine: Engine) -> None:
    text = "Grüße 👋 an jürgen@example.com und 🎉 max@example.org"
    response = engine.detect(text)
    raw = text.encode("utf-8")
    for detection in response.detections:
        assert detection.char_start is not None and detection.char_end is not None
        assert text[detection.char_start : detection.char_end] == detection.value
        assert raw[detection.start : detection.end].decode("utf-8") == detection.value
    assert [d.value for d in response.detections] == ["jürgen@example.com", "max@example.org"]


def test_redacted_text_replaces_exactly_the_spans(engine: Engine) -> None:
    text = "x 4111 1111 1111 1111 y jane@example.com z"
    response = engine.detect(text)
    rebuilt = text
    for detection in reversed(response.detections):
        rebuilt = (
            rebuilt[: detection.char_start] + detection.placeholder + rebuilt[detection.char_end :]
        )
    assert rebuilt == response.redacted_text
    assert "4111" not in rebuilt and "jane@" not in rebuilt


def test_byte_offsets_in_and_out_of_text_order() -> None:
    from tsz_otel.engine.engine import _byte_offsets

    text = "é 😀 ab 中文 cd \ud800 ef"
    spans = [(0, 1), (2, 3), (4, 6), (7, 9), (13, 14), (15, 17)]
    kept = [("T", "PII", s, e, 0.5, 0, 0.5, "none", 0.0, "REGEX", None) for s, e in spans]
    expected = [len(text[:o].encode("utf-8", "surrogatepass")) for s, e in spans for o in (s, e)]
    assert _byte_offsets(text, kept) == expected
    shuffled = kept[::-1]
    expected_reversed = [
        len(text[:o].encode("utf-8", "surrogatepass")) for s, e in spans[::-1] for o in (s, e)
    ]
    assert _byte_offsets(text, shuffled) == expected_reversed
