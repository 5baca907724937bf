"""Allowlist (exact / domain / regex) and blocklist (substring, word boundary, case)."""

from __future__ import annotations

import threading

import pytest
from engine_samples import values

from tsz_otel import (
    AllowlistItem,
    BlacklistItem,
    ConfigurationError,
    Engine,
    InvalidPatternError,
)


def test_allowlist_exact_value_is_not_reported(engine: Engine) -> None:
    text = "write to support@company.com or jane@company.com"
    engine.allowlist.add("support@company.com")
    assert values(engine.detect(text), "EMAIL") == ["jane@company.com"]
    assert "support@company.com" in engine.allowlist
    assert engine.allowlist.remove("support@company.com")
    assert len(values(engine.detect(text), "EMAIL")) == 2


def test_allowlist_exact_is_case_sensitive_like_tsz(engine: Engine) -> None:
    engine.allowlist.add("support@company.com")
    assert values(engine.detect("SUPPORT@company.com"), "EMAIL") == ["SUPPORT@company.com"]


def test_allowlist_domain_covers_subdomains_emails_and_urls(engine: Engine) -> None:
    engine.allowlist.add(AllowlistItem(value="Company.com", match="domain"))
    text = (
        "a@company.com b@eu.company.com c@notcompany.com "
        "https://bot:pw123@git.company.com/x https://bot:pw123@evil.com/x"
    )
    response = engine.detect(text)
    assert values(response, "EMAIL") == ["c@notcompany.com"]
    assert values(response, "URL_WITH_CREDENTIALS") == ["https://bot:pw123@evil.com/x"]


def test_allowlist_regex_is_a_full_match(engine: Engine) -> None:
    engine.allowlist.add(AllowlistItem(value=r"test\+\d+@example\.com", match="regex"))
    response = engine.detect("test+1@example.com test+1@example.com.evil.io x@example.com")
    assert values(response, "EMAIL") == ["test+1@example.com.evil.io", "x@example.com"]


def test_allowlist_rejects_an_invalid_regex(engine: Engine) -> None:
    with pytest.raises(InvalidPatternError):
        engine.allowlist.add(AllowlistItem(value="(?<=x)y", match="regex"))
    assert len(engine.allowlist) == 0


def test_blocklist_hit_blocks_with_confidence_one(engine: Engine) -> None:
    engine.blocklist.add("project-titan")
    response = engine.detect("status of project-titan please")
    (detection,) = response.detections
    assert (
        detection.type,
        detection.placeholder,
        detection.confidence_score,
        detection.action,
    ) == (
        "BLOCKLIST",
        "[BLOCKED]",
        1.0,
        "BLOCK",
    )
    assert response.blocked
    assert response.message == "Blocked due to high confidence detection: BLOCKLIST"
    assert response.redacted_text == "status of [BLOCKED] please"
    assert response.overall_confidence == 1.0
    assert response.breakdown == {"BLOCKLIST": 1}


def test_blocklist_default_is_case_sensitive_substring(engine: Engine) -> None:
    engine.blocklist.add("titan")
    response = engine.detect("titanic Titan titan")
    assert [d.value for d in response.detections] == ["titan", "titan"]


def test_blocklist_word_boundary_and_case_insensitive(engine: Engine) -> None:
    engine.blocklist.add(BlacklistItem(value="titan", word_boundary=True, case_insensitive=True))
    response = engine.detect("titanic, TITAN and Titan's (titan)")
    assert [d.value for d in response.detections] == ["TITAN", "Titan", "titan"]


def test_blocklist_absorbs_an_overlapping_secret(engine: Engine) -> None:
    engine.blocklist.add("acme")
    text = "use https://bot:s3cret99@git.acme.io/repo now"
    response = engine.detect(text)
    (detection,) = response.detections
    assert detection.type == "BLOCKLIST"
    assert detection.value == "https://bot:s3cret99@git.acme.io/repo"
    assert "s3cret99" not in (response.redacted_text or "")
    assert response.redacted_text == "use [BLOCKED] now"


def test_overlapping_blocklist_items_merge(engine: Engine) -> None:
    engine.blocklist.add("abc")
    engine.blocklist.add("bcd")
    response = engine.detect("x abcd y")
    assert [d.value for d in response.detections] == ["abcd"]
    assert response.redacted_text == "x [BLOCKED] y"


def test_blocklist_blocks_in_every_mode(engine: Engine) -> None:
    engine.blocklist.add("forbidden")
    assert engine.detect("a forbidden word", mode="DETECT").blocked


def test_blocklist_rejects_empty_values(engine: Engine) -> None:
    with pytest.raises(ConfigurationError):
        engine.blocklist.add("")


def test_list_updates_are_atomic_under_concurrent_detection(engine: Engine) -> None:
    stop = threading.Event()
    errors: list[BaseException] = []

    def detect() -> None:
        try:
            while not stop.is_set():
                response = engine.detect("mail jane@example.com about project-titan")
                kinds = {d.type for d in response.detections}
                assert kinds <= {"EMAIL", "BLOCKLIST"}
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    workers = [threading.Thread(target=detect) for _ in range(3)]
    for worker in workers:
        worker.start()
    for index in range(200):
        engine.blocklist.add(f"term{index}")
        engine.allowlist.add(f"value{index}@example.com")
        if index % 2:
            engine.blocklist.add("project-titan")
        else:
            engine.blocklist.remove("project-titan")
    stop.set()
    for worker in workers:
        worker.join(timeout=60)
    assert not errors
    assert len(engine.blocklist) >= 200
