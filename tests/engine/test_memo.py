"""The clean-text memo: repeated clean texts skip the scan, and nothing it skips can differ.

The memo must never change an answer: these tests drive ``Engine.detect`` and check that
every change that could make a remembered text produce a finding (a new pattern, a
removed allowlist item, a blocklist entry) is seen on the next call.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from tsz_otel import Engine, Pattern, Settings
from tsz_otel.engine.memo import MIN_CHARS, CleanTexts
from tsz_otel.engine.scanner import Scanner

CLEAN = "Plan a relaxed three day visit to Porto with a focus on food, wine and river walks."
WITH_EMAIL = "Please send the itinerary for the Porto trip to the usual address, ana@example.org."


@pytest.fixture
def scans(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every text the scanner really scanned, in order."""
    seen: list[str] = []
    real = Scanner.findings

    def spy(self: Scanner, text: str, data: bytes | None = None) -> list:  # type: ignore[type-arg]
        seen.append(text)
        return real(self, text, data)

    monkeypatch.setattr(Scanner, "findings", spy)
    return seen


def test_a_repeated_clean_text_is_scanned_once(engine: Engine, scans: list[str]) -> None:
    first = engine.detect(CLEAN)
    second = engine.detect(CLEAN)
    assert scans == [CLEAN]
    assert second.model_dump_json() == first.model_dump_json()
    assert second.redacted_text == CLEAN and not second.detections


def test_texts_with_findings_are_scanned_every_time(engine: Engine, scans: list[str]) -> None:
    answers = [engine.detect(WITH_EMAIL, rid="RID-1") for _ in range(3)]
    assert scans == [WITH_EMAIL] * 3
    assert all(a.detections[0].type == "EMAIL" for a in answers)


def test_short_texts_are_not_remembered(engine: Engine, scans: list[str]) -> None:
    short = "hello there"
    assert len(short) < MIN_CHARS
    engine.detect(short)
    engine.detect(short)
    assert scans == [short, short]


def test_a_new_pattern_sees_a_remembered_text(engine: Engine) -> None:
    assert not engine.detect(CLEAN).detections
    engine.add_pattern(Pattern(Name="CITY", Regex=r"\bPorto\b", Category="PII"))
    found = engine.detect(CLEAN)
    assert [d.type for d in found.detections] == ["CITY"]


def test_allowlisted_candidates_are_not_remembered(engine: Engine) -> None:
    engine.allowlist.add("ana@example.org")
    assert not engine.detect(WITH_EMAIL).detections
    engine.allowlist.remove("ana@example.org")
    assert [d.type for d in engine.detect(WITH_EMAIL).detections] == ["EMAIL"]


def test_the_blocklist_applies_to_remembered_texts(engine: Engine) -> None:
    assert not engine.detect(CLEAN).blocked
    engine.blocklist.add("river walks")
    answer = engine.detect(CLEAN)
    assert answer.blocked
    assert [d.type for d in answer.detections] == ["BLOCKLIST"]


def test_budget_zero_turns_the_memo_off(
    engine_factory: Callable[..., Engine], scans: list[str]
) -> None:
    engine = engine_factory(clean_cache_size=0)
    engine.detect(CLEAN)
    engine.detect(CLEAN)
    assert scans == [CLEAN, CLEAN]


def test_the_size_comes_from_the_environment() -> None:
    settings = Settings.from_env(environ={"TSZ_CLEAN_CACHE_SIZE": "1000"})
    assert settings.clean_cache_size == 1000
    with pytest.raises(ValueError):
        Settings.from_env(environ={"TSZ_CLEAN_CACHE_SIZE": "-1"})


def test_oldest_texts_are_evicted_past_the_size() -> None:
    memo = CleanTexts(size=8)
    digests = [memo.digest(f"{i:03d} {CLEAN}".encode()) for i in range(20)]
    for digest in digests:
        memo.add(digest)
        assert len(memo) <= 8
    assert memo.holds(digests[-1]) and not memo.holds(digests[0])
    assert len(memo) == 8


def test_only_keyed_digests_are_kept() -> None:
    """No text in the memo, and two memos (two processes) key the same text differently."""
    memo, other = CleanTexts(size=8), CleanTexts(size=8)
    data = CLEAN.encode()
    digest = memo.digest(data)
    memo.add(digest)
    assert digest is not None and len(digest) == 16 and data not in digest
    assert other.digest(data) != digest and not other.holds(other.digest(data))
    assert all(isinstance(key, bytes) and len(key) == 16 for key in memo._seen)


def test_short_or_disabled_texts_get_no_digest() -> None:
    assert CleanTexts(size=8).digest(b"x" * (MIN_CHARS - 1)) is None
    assert CleanTexts(size=0).digest(CLEAN.encode()) is None


def test_concurrent_detects_agree_with_a_fresh_engine(
    engine_factory: Callable[..., Engine],
) -> None:
    """Many threads filling and evicting a small memo: every answer is still right."""
    shared = engine_factory(clean_cache_size=5, placeholder_style="type")
    reference = engine_factory(clean_cache_size=0, placeholder_style="type")
    texts = [f"Day {chr(97 + i % 26)} of the Porto plan: {CLEAN}" for i in range(40)]
    texts += [WITH_EMAIL, CLEAN]
    expected = {t: reference.detect(t).model_dump_json() for t in texts}
    errors: list[str] = []

    def work(offset: int) -> None:
        for round_ in range(30):
            text = texts[(offset + round_ * 7) % len(texts)]
            if shared.detect(text).model_dump_json() != expected[text]:
                errors.append(text)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(shared._snapshot.clean) <= 5


def test_a_chat_history_is_not_scanned_again(scans: list[str]) -> None:
    """The guard's input check of turn N scans only what is new since turn N - 1."""
    from opentelemetry.sdk.trace import TracerProvider

    from tsz_otel.guard import Guard

    guard = Guard(Settings.from_env(environ={}), tracer_provider=TracerProvider())
    system = "You are a travel assistant for a small agency. Answer briefly and politely."
    history = [
        {"role": "system", "content": system},
        {"role": "user", "content": CLEAN},
    ]
    guard.check(history, "llm_input")
    answer = "Day one: the Ribeira and a port cellar; day two: a river cruise; day three: markets."
    history += [
        {"role": "assistant", "content": answer},
        {"role": "user", "content": WITH_EMAIL},
    ]
    verdict = guard.check(history, "llm_input")
    # (assistant turns are not input roles by default: TSZ_INPUT_ROLES)
    assert scans == [system, CLEAN, WITH_EMAIL]
    assert [f.finding_type for f in verdict.findings] == ["EMAIL"]
