"""``Engine.stable_prefix``: what a streaming guard may release without leaking a secret.

For every split of a text into two chunks, the guard releases
``detect(buffer[:k]).redacted_text`` with ``k = stable_prefix(buffer)`` after the
first chunk, keeps the rest, and flushes ``detect(rest)`` at the end of the
stream. No split may release any part of the secret.
"""

from __future__ import annotations

import random

import pytest
from engine_samples import (
    AWS_ACCESS,
    AWS_SECRET,
    GITHUB_PAT,
    GOOGLE_KEY,
    JWT_HS256,
    OPENAI_PROJECT,
    PEM_BODY,
    SLACK_BOT,
    STRIPE_LIVE,
    make_settings,
)

from tsz_otel import Engine

PEM = f"-----BEGIN RSA PRIVATE KEY-----\n{PEM_BODY}-----END RSA PRIVATE KEY-----"

# (type, text, secret value): one example of each catalogue type.
EXAMPLES: list[tuple[str, str, str]] = [
    ("EMAIL", "Mail me at jane.doe@example.com about it.", "jane.doe@example.com"),
    ("PHONE_NUMBER", "Call me on +44 20 7946 0958 tonight.", "+44 20 7946 0958"),
    ("PHONE_NUMBER", "Phone: 2125551234 (cell)", "2125551234"),
    ("CREDIT_CARD", "My card is 4111 1111 1111 1111, exp 12/29.", "4111 1111 1111 1111"),
    ("IBAN", "Pay to DE89 3704 0044 0532 0130 00 please.", "DE89 3704 0044 0532 0130 00"),
    ("US_SSN", "My SSN is 536228726 and that is it.", "536228726"),
    ("US_SSN", "ssn 536-22-8726 on file", "536-22-8726"),
    ("IP_ADDRESS", "The host 192.168.1.10 is down.", "192.168.1.10"),
    ("IP_ADDRESS", "v6 is 2001:db8::8a2e:370:7334 now.", "2001:db8::8a2e:370:7334"),
    ("UK_NINO", "NI number AB 12 34 56 C on the form.", "AB 12 34 56 C"),
    ("TCKN", "T.C. kimlik 12345678950 verildi.", "12345678950"),
    ("AWS_ACCESS_KEY", f"use {AWS_ACCESS} for it", AWS_ACCESS),
    ("AWS_SECRET_KEY", f"aws_secret_access_key = {AWS_SECRET}\nregion", AWS_SECRET),
    ("GITHUB_TOKEN", f"token {GITHUB_PAT} leaked", GITHUB_PAT),
    ("OPENAI_API_KEY", f"key={OPENAI_PROJECT} ok", OPENAI_PROJECT),
    ("SLACK_TOKEN", f"bot {SLACK_BOT} done", SLACK_BOT),
    ("STRIPE_KEY", f"stripe {STRIPE_LIVE} done", STRIPE_LIVE),
    ("GOOGLE_API_KEY", f"maps {GOOGLE_KEY} done", GOOGLE_KEY),
    ("JWT", f"Bearer {JWT_HS256} sent", JWT_HS256),
    ("PRIVATE_KEY", f"here:\n{PEM}\nthanks", PEM),
    ("GENERIC_API_KEY", "password: Winter2024!x and more", "Winter2024!x"),
    (
        "URL_WITH_CREDENTIALS",
        "db is postgres://admin:s3cr3t@db.example.com:5432/app ok",
        "postgres://admin:s3cr3t@db.example.com:5432/app",
    ),
]


@pytest.fixture(scope="module")
def stream_engine() -> Engine:
    return Engine(make_settings(placeholder_style="type"))


def _emitted(engine: Engine, text: str, split: int) -> tuple[str, int]:
    """What a two-chunk stream releases, and the first release point."""
    buffer = text[:split]
    keep = engine.stable_prefix(buffer)
    first = engine.detect(buffer[:keep]).redacted_text or ""
    last = engine.detect(text[keep:]).redacted_text or ""
    return first + last, keep


@pytest.mark.parametrize(("kind", "text", "secret"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_no_split_releases_part_of_the_secret(
    stream_engine: Engine, kind: str, text: str, secret: str
) -> None:
    start = text.index(secret)
    end = start + len(secret)
    assert [d.value for d in stream_engine.detect(text).detections if d.type == kind] == [secret]
    for split in range(len(text) + 1):
        emitted, keep = _emitted(stream_engine, text, split)
        assert not start < keep < end, f"split {split} cuts the {kind} at {keep}"
        if split < end:
            assert keep <= start, f"split {split} released part of an incomplete {kind}"
        assert secret not in emitted, f"split {split} leaked the {kind}"
        assert f"[{kind}]" in emitted


def test_token_by_token_stream_never_leaks(stream_engine: Engine) -> None:
    text = " Next: ".join(example for _, example, _ in EXAMPLES)
    secrets = [secret for _, _, secret in EXAMPLES]
    whole = stream_engine.detect(text)
    assert {d.value for d in whole.detections} >= set(secrets)
    released = ""
    buffer = ""
    for index in range(0, len(text), 3):
        buffer += text[index : index + 3]
        keep = stream_engine.stable_prefix(buffer)
        released += stream_engine.detect(buffer[:keep]).redacted_text or ""
        buffer = buffer[keep:]
    released += stream_engine.detect(buffer).redacted_text or ""
    assert released == whole.redacted_text
    for secret in secrets:
        assert secret not in released


def test_plain_prose_is_released_up_to_the_last_word(stream_engine: Engine) -> None:
    text = "The quick brown fox jumps over the lazy dog and runs"
    assert stream_engine.stable_prefix(text) == text.rindex(" ") + 1
    # a trailing space may still continue a spaced number ("415 " + "555 2671")
    assert stream_engine.stable_prefix(text + " ") == len(text)
    assert stream_engine.stable_prefix(text + "! ") == len(text) + 1


def test_hold_back_is_bounded_by_max_match_chars(stream_engine: Engine) -> None:
    text = "x" * 50_000
    kept = stream_engine.stable_prefix(text)
    assert len(text) - kept <= stream_engine.max_match_chars
    assert stream_engine.max_match_chars >= 16384  # a whole PEM block fits
    opened = "-----BEGIN RSA PRIVATE KEY-----\n" + "A" * 30_000
    assert len(opened) - stream_engine.stable_prefix(opened) <= stream_engine.max_match_chars


def test_context_word_is_held_with_the_value_that_follows(stream_engine: Engine) -> None:
    text = "Please note my SSN: 5362"
    assert stream_engine.stable_prefix(text) <= text.index("SSN")


def test_empty_buffer(stream_engine: Engine) -> None:
    assert stream_engine.stable_prefix("") == 0


@pytest.mark.parametrize("seed", range(8))
def test_random_chunking_releases_the_same_redacted_text(stream_engine: Engine, seed: int) -> None:
    rng = random.Random(seed)
    parts = [example for _, example, _ in EXAMPLES]
    rng.shuffle(parts)
    text = "\n".join(parts)
    whole = stream_engine.detect(text).redacted_text
    released, buffer, index = "", "", 0
    while index < len(text):
        step = rng.randint(1, 40)
        buffer += text[index : index + step]
        index += step
        keep = stream_engine.stable_prefix(buffer)
        released += stream_engine.detect(buffer[:keep]).redacted_text or ""
        buffer = buffer[keep:]
    released += stream_engine.detect(buffer).redacted_text or ""
    assert released == whole
