"""The scanner's shortcuts find exactly what a plain regex scan finds.

Every built-in form is located cheaply (a prefilter set, literal searches, RE2
locators, byte-class runs, windows around occurrences) instead of running its
regex over the whole text. These tests run the plain ``finditer`` over the whole
text as the reference, for every form, on the shared dev texts, on long texts
(where the windowed paths are taken) and on random texts built from entity-ish
pieces, and require the same spans.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from engine_samples import GOOGLE_KEY, OPENAI_LEGACY, OPENAI_PROJECT, STRIPE_LIVE, STRIPE_WEBHOOK

from tsz_otel.config import Settings
from tsz_otel.engine.catalogue import BUILTIN_PATTERNS
from tsz_otel.engine.regex import encode_text
from tsz_otel.engine.scanner import CompiledForm, Finding, Scanner, _Texts

ALLOW = Settings().allow_threshold
DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"

PIECES = (
    "4111 1111 1111 1111", "4111-1111-1111-1111", "378282246310005", "123-45-6789",
    "123 45 6789", "123456789", "10.0.0.1", "192.168.001.1", "fe80::1", "2001:db8::8a2e:370:7334",
    "00:1A:2B:3C:4D:5E", "0012.3456.789a", "GB82 WEST 1234 5698 7654 32", "DE89370400440532013000",
    "AB 12 34 56 C", "10000000146", "+1 (415) 555-0132", "(020) 7946 0958", "415.555.0132",
    "020 7946 0958", "jane.doe@example.com", "a@b.co", "postgres://user:pa55@db.local:5432/x",
    "https://example.com/a?b=c", "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "aws_secret_access_key=", "secret", "api_key: ", "token=", "password = 'Tr0ub4dor&3x'",
    "Bearer abcdefghijklmnopqrstuvwx", "ghp_" + "a" * 36, "github_pat_11ABCDEFG",
    "sk-abcdefgh12345678",
    "xoxb-123-456-abc", "sk_live_abcdefgh", "whsec_abc", "AIzaSyA-1234567890abcdefghijklmno",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln", "-----BEGIN RSA PRIVATE KEY-----\nMIIB\n"
    "-----END RSA PRIVATE KEY-----", "v1.2.3", "2024-01-15", "order #12345678", "é", "中文",
    "😀", " ", "\n", ", ", ":", "=", "-", ".", "key", "Key", "KEY", "pwd:", "0", "12", "999",
    GOOGLE_KEY, OPENAI_LEGACY, OPENAI_PROJECT, STRIPE_LIVE, STRIPE_WEBHOOK,
)  # fmt: skip


def _raw_spans(form: CompiledForm, text: str) -> list[tuple[int, int]]:
    """What the form's regex finds scanning the whole text."""
    rx = form._builtin
    assert rx is not None
    group = form.form.group
    spans = []
    for m in rx.finditer(text):
        span = m.span() if group == 0 else m.span(group if group > 0 else (m.lastindex or 0))
        spans.append(span)
    return spans


def _evaluated(form: CompiledForm, text: str, spans: list[tuple[int, int]]) -> list[Finding]:
    """The findings that can reach the default allow threshold (the rest are dropped
    before anyone sees them: AWS_SECRET_KEY's trigger is its context words, without
    which a 40-character run scores below it)."""
    out: list[Finding] = []
    for start, end in spans:
        if end > start:
            form.row.evaluate(text, start, end, out)
    return [f for f in out if f[4] >= ALLOW]


def _reference(form: CompiledForm, text: str) -> list[Finding]:
    """The form's findings by the definition: its regex over the whole text, then checks.

    (A trigger need not contain every raw regex match, only every match that can
    survive the checks: the IPv6 regex also matches ``00:00``, which its check drops.)
    """
    return _evaluated(form, text, _raw_spans(form, text))


def _shortcut(scanner: Scanner, form: CompiledForm, text: str) -> list[Finding]:
    """The form's findings the way the scanner gets them (none when the prefilter skips it)."""
    data = encode_text(text)
    if form not in scanner.candidate_forms(data):
        return []
    return _evaluated(form, text, form.spans(_Texts(text, data)))


def _dev_texts() -> Iterator[str]:
    for name in ("pii_dev.jsonl", "injection_dev.jsonl"):
        path = DATA / name
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    yield json.loads(line)["text"]


def _random_texts(count: int, seed: int) -> Iterator[str]:
    rng = random.Random(seed)
    for _ in range(count):
        parts = [rng.choice(PIECES) for _ in range(rng.randint(1, 60))]
        joiners = [rng.choice(("", " ", "  ", "\n", ",", "x")) for _ in parts]
        yield "".join(p + j for p, j in zip(parts, joiners, strict=True))


@pytest.fixture(scope="module")
def scanner() -> Scanner:
    return Scanner([spec for spec in BUILTIN_PATTERNS if spec.forms and spec.active])


def _forms(scanner: Scanner) -> list[CompiledForm]:
    return [form for row in scanner.rows for form in row.forms if form._builtin is not None]


def _assert_same(scanner: Scanner, texts: list[str]) -> None:
    mismatches = []
    for text in texts:
        for form in _forms(scanner):
            expected = _reference(form, text)
            got = _shortcut(scanner, form, text)
            if got != expected:
                mismatches.append((form.row.spec.name, form.form.trigger, text[:80], got, expected))
    assert not mismatches, mismatches[:5]


def test_dev_texts(scanner: Scanner) -> None:
    texts = list(_dev_texts())
    if not texts:
        pytest.skip("../shared/data is not beside the repository")
    _assert_same(scanner, texts)


def test_dev_texts_joined_into_long_texts(scanner: Scanner) -> None:
    """Texts over every form's ``scan_below`` take the windowed paths."""
    texts = list(_dev_texts())
    if not texts:
        pytest.skip("../shared/data is not beside the repository")
    rng = random.Random(7)
    rng.shuffle(texts)
    joined = ["\n".join(texts[i : i + 8]) for i in range(0, len(texts), 8)]
    _assert_same(scanner, joined)


@pytest.mark.parametrize("seed", range(6))
def test_random_texts(scanner: Scanner, seed: int) -> None:
    _assert_same(scanner, list(_random_texts(150, seed)))


def test_reference_is_not_trivial(scanner: Scanner) -> None:
    """The reference finds something for every form on the pieces (the test can fail)."""
    text = " | ".join(PIECES)
    found = {form.row.spec.name for form in _forms(scanner) if _raw_spans(form, text)}
    missing = {spec.name for spec in BUILTIN_PATTERNS if spec.forms and spec.active} - found
    assert not missing
    assert re.search("4111", text)
