"""The pure parts of the AI path: masking, context, reply parsing, the hybrid rule."""

from __future__ import annotations

import pytest

from tsz_otel.ai.prompts import (
    AI_WEIGHT,
    combine,
    mask_value,
    masked_context,
    parse_score,
    reply_passes,
    score_prompt,
    verdict_prompt,
)


@pytest.mark.parametrize(
    ("reply", "expected"),
    [("0.9", 0.9), (" 0.25\n", 0.25), ("1", 1.0), ("1.0", 1.0), ("0", 0.0), (".5", 0.5),
     ("0.75.", 0.75)],
)  # fmt: skip
def test_parse_score_accepts_one_number_in_range(reply: str, expected: float) -> None:
    assert parse_score(reply) == pytest.approx(expected)


@pytest.mark.parametrize(
    "reply", ["", "yes", "85", "1.5", "-0.2", "0.9 because it looks like an email", "maybe 0.5",
              "0,7", "NaN"],
)  # fmt: skip
def test_parse_score_rejects_junk(reply: str) -> None:
    assert parse_score(reply) is None


def test_combine_can_confirm_past_the_block_threshold_and_dismiss_below_allow() -> None:
    assert combine(0.60, 1.0) == pytest.approx(0.90)
    assert combine(0.60, 0.94) >= 0.85
    assert combine(0.60, 0.93) < 0.85
    assert combine(0.60, 0.19) < 0.30
    assert combine(0.60, 0.5) == pytest.approx((1 - AI_WEIGHT) * 0.60 + AI_WEIGHT * 0.5)
    assert 0.0 <= combine(0.0, 0.0) <= combine(1.0, 1.0) <= 1.0


def test_mask_value_keeps_shape_and_only_the_edges_of_long_values() -> None:
    assert mask_value("4111 1111 1111 1111") == "41## #### #### ##11"
    assert mask_value("john.doe@example.com") == "jo**.***@*******.*om"
    assert mask_value("123-45-6789") == "12#-##-##89"
    assert mask_value("AB12") == "**##"  # short values are masked completely


def test_masked_context_masks_other_values_and_drops_cut_words() -> None:
    text = "Order number 1234567890 was paid by card 4111111111111111 yesterday at noon"
    start = text.index("1234567890")
    card = text.index("4111")
    before, after = masked_context(
        text, start, start + 10, [(card, card + 16, "CREDIT_CARD")], width=30
    )
    assert before == "Order number "
    assert after == " was paid by card [CREDIT_CARD]"
    assert "4111" not in before + after


def test_masked_context_is_bounded_by_width() -> None:
    text = "word " * 100 + "VALUE" + " word" * 100
    start = text.index("VALUE")
    before, after = masked_context(text, start, start + 5, width=20)
    assert len(before) <= 20 and len(after) <= 20
    assert before.endswith(" ") and after.startswith(" ")


def test_score_prompt_holds_label_shape_and_context_only() -> None:
    prompt = score_prompt("US_SSN", "PII", "12#-##-##89", "my ssn is ", "", masked=True)
    assert "US SSN" in prompt
    assert "<<12#-##-##89>>" in prompt
    assert "number between 0 and 1" in prompt


def test_verdict_prompt_substitutes_or_appends_the_text() -> None:
    assert verdict_prompt("Is {{TEXT}} safe?", "hello") == "Is hello safe?"
    assert verdict_prompt("Is this safe?", "hello") == "Is this safe?\n\nText to analyze:\nhello"


@pytest.mark.parametrize(
    ("reply", "expected", "passes"),
    [
        ("YES", None, True),
        ("yes", "", True),
        ("Yes.", "YES", True),
        ("YES, it is safe", "YES", True),
        ("**YES**", "YES", True),
        ("NO", "YES", False),
        ("NO", "NO", True),
        ("NOT SURE", "NO", False),  # the expected word must end there
        ("YESTERDAY", "YES", False),
        ("SAFE", "safe", True),
        ("UNSAFE", "SAFE", False),
        ("1", "1", True),
    ],
)
def test_reply_passes_follows_expected_response(
    reply: str, expected: str | None, passes: bool
) -> None:
    assert reply_passes(reply, expected) is passes
