"""Scores, thresholds (global / category / pattern), actions and the decision fields."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pytest
from engine_samples import GITHUB_PAT, make_settings, values

from tsz_otel import Engine, Pattern
from tsz_otel.engine import Match
from tsz_otel.engine.scoring import (
    Thresholds,
    action_for,
    category_score,
    combine_ai,
    overall_confidence,
    resolve_thresholds,
    round2,
)
from tsz_otel.models import round_confidence

CARD = "My card is 4111 1111 1111 1111"
EMAIL = "write to jane.doe@example.com"


def test_round2_is_round_confidence() -> None:
    rng = random.Random(7)
    samples = [k / 1000 for k in range(1001)] + [0.945, 0.125, 0.285, 0.6 + 0.2, 0.15 + 0.2]
    samples += [(round(rng.random(), 2) + round(rng.random(), 2)) / 2 for _ in range(20000)]
    samples += [rng.random() for _ in range(20000)]
    for value in samples:
        assert round2(value) == round_confidence(value), value


def test_tsz_category_scores() -> None:
    assert [category_score(c) for c in ("SECRET", "injection", "PII", "TOPIC")] == [
        0.70,
        0.65,
        0.60,
        0.45,
    ]


@pytest.mark.parametrize(
    ("score", "allow", "block", "action"),
    [
        (0.29, 0.30, 0.85, "ALLOW"),
        (0.30, 0.30, 0.85, "MASK"),
        (0.84, 0.30, 0.85, "MASK"),
        (0.85, 0.30, 0.85, "BLOCK"),
        (0.10, 0.90, 0.50, "MASK"),  # allow > block: TSZ's safety fallback
        (0.00, 0.00, 0.00, "BLOCK"),
    ],
)
def test_resolve_action_boundaries(score: float, allow: float, block: float, action: str) -> None:
    assert action_for(score, Thresholds(allow, block, "global")) == action


def test_threshold_precedence() -> None:
    plain = resolve_thresholds("PII", allow=0.3, block=0.85, category_blocks={})
    assert plain == Thresholds(0.3, 0.85, "global")
    category = resolve_thresholds("pii", allow=0.3, block=0.85, category_blocks={"PII": 0.6})
    assert category == Thresholds(0.3, 0.6, "category")
    pattern = resolve_thresholds(
        "PII", allow=0.3, block=0.85, category_blocks={"PII": 0.6}, pattern_block=0.95
    )
    assert pattern == Thresholds(0.3, 0.95, "pattern")
    allow_only = resolve_thresholds(
        "PII", allow=0.3, block=0.85, category_blocks={}, pattern_allow=0.1
    )
    assert allow_only == Thresholds(0.1, 0.85, "pattern")


def test_overall_confidence_weights() -> None:
    assert overall_confidence([]) == 0.0
    # TSZ's audit example: EMAIL 0.60 plus two erroring validators (1.0 each)
    assert overall_confidence([("EMAIL", 0.6)], [1.0, 1.0]) == 0.90
    # a blocklist hit weighs 2
    assert overall_confidence([("BLOCKLIST", 1.0), ("EMAIL", 0.4)]) == 0.80


def test_combine_ai() -> None:
    assert combine_ai(0.6, None) == (0.6, "REGEX")
    assert combine_ai(0.6, 0.95) == (0.78, "HYBRID")  # TSZ's documented example
    assert combine_ai(None, 0.9) == (0.9, "AI")


def test_verified_high_risk_findings_block_by_default(engine: Engine) -> None:
    response = engine.detect(f"{CARD} and token {GITHUB_PAT}")
    assert {d.type: d.action for d in response.detections} == {
        "CREDIT_CARD": "BLOCK",
        "GITHUB_TOKEN": "BLOCK",
    }
    assert response.blocked
    assert response.message == (
        "Blocked due to high confidence detection: CREDIT_CARD; "
        "Blocked due to high confidence detection: GITHUB_TOKEN"
    )


def test_pii_with_checks_is_masked_not_blocked(engine: Engine) -> None:
    response = engine.detect(EMAIL)
    (detection,) = response.detections
    assert detection.action == "MASK"
    assert not response.blocked and response.message is None
    assert response.contains_pii and response.breakdown == {"EMAIL": 1}


def test_explanation_records_how_the_score_was_made(engine: Engine) -> None:
    (detection,) = engine.detect("SSN: 536-22-8726").detections
    explanation = detection.confidence_explanation
    assert explanation is not None
    assert explanation.model_dump(mode="json") == {
        "source": "REGEX",
        "regex_score": "0.55",
        "category": "PII",
        "pattern_active": True,
        "validation": "passed",
        "context_score": "0.25",
        "block_threshold": "0.85",
        "allow_threshold": "0.30",
        "threshold_source": "global",
        "final_score": "0.80",
    }
    assert detection.confidence_score == 0.80


def test_global_thresholds_apply(engine_factory: Callable[..., Engine]) -> None:
    strict = engine_factory(block_threshold=0.6)
    assert strict.detect(EMAIL).detections[0].action == "BLOCK"
    lax = engine_factory(allow_threshold=0.8)
    assert lax.detect(EMAIL).detections == []  # 0.75 is below the allow threshold


def test_category_threshold_is_a_block_threshold(engine_factory: Callable[..., Engine]) -> None:
    engine = engine_factory(category_thresholds={"PII": 0.6})
    (detection,) = engine.detect(EMAIL).detections
    assert detection.action == "BLOCK"
    assert detection.confidence_explanation is not None
    assert detection.confidence_explanation.threshold_source == "category"
    assert detection.confidence_explanation.block_threshold == 0.6
    relaxed = engine_factory(category_thresholds={"PII": 0.99})
    assert relaxed.detect(CARD).detections[0].action == "MASK"


def test_category_threshold_from_the_environment() -> None:
    from tsz_otel import Settings

    settings = Settings.from_env(
        {"CONFIDENCE_SECRET_THRESHOLD": "0.99", "CONFIDENCE_ALLOW_THRESHOLD": "0.2"}
    )
    engine = Engine(settings)
    (detection,) = engine.detect(f"token {GITHUB_PAT}").detections
    assert detection.action == "MASK"
    assert detection.confidence_explanation is not None
    assert detection.confidence_explanation.allow_threshold == 0.2


def test_pattern_thresholds_really_apply(engine: Engine) -> None:
    engine.add_pattern(
        Pattern(Name="EMPLOYEE_ID", Regex=r"\bEMP-\d{6}\b", Category="HR", BlockThreshold=0.4)
    )
    (detection,) = engine.detect("badge EMP-123456").detections
    assert (detection.type, detection.confidence_score, detection.action) == (
        "EMPLOYEE_ID",
        0.45,
        "BLOCK",
    )
    assert detection.confidence_explanation is not None
    assert detection.confidence_explanation.threshold_source == "pattern"
    engine.add_pattern(
        Pattern(Name="EMPLOYEE_ID", Regex=r"\bEMP-\d{6}\b", Category="HR", AllowThreshold=0.5)
    )
    assert engine.detect("badge EMP-123456").detections == []


def test_set_pattern_policy_for_a_builtin(engine: Engine) -> None:
    engine.set_pattern_policy("EMAIL", block_threshold=0.5)
    assert engine.detect(EMAIL).detections[0].action == "BLOCK"
    engine.set_pattern_policy("EMAIL", active=False)
    assert engine.detect(EMAIL).detections == []
    assert "EMAIL" not in engine.types
    with pytest.raises(KeyError):
        engine.set_pattern_policy("NO_SUCH_TYPE", allow_threshold=0.1)


def test_pattern_base_score_and_category_default(engine: Engine) -> None:
    engine.add_pattern(Pattern(Name="PROJECT", Regex=r"\bPRJ-\d{4}\b", Category="SECRET"))
    engine.add_pattern(Pattern(Name="TICKET", Regex=r"\bTKT-\d{4}\b", BaseScore=0.9))
    response = engine.detect("PRJ-1234 and TKT-5678")
    assert [(d.type, d.confidence_score) for d in response.detections] == [
        ("PROJECT", 0.70),
        ("TICKET", 0.90),
    ]


def test_context_words_raise_ambiguous_values(engine: Engine) -> None:
    assert values(engine.detect("ref 536228726"), "US_SSN") == []
    assert values(engine.detect("SSN 536228726"), "US_SSN") == ["536228726"]
    assert values(engine.detect("call 2125551234"), "PHONE_NUMBER") == ["2125551234"]
    assert engine.detect("id 2125551234").detections == []


def test_pii_mode_block_blocks_any_detection(engine_factory: Callable[..., Engine]) -> None:
    engine = engine_factory(pii_mode="BLOCK")
    response = engine.detect(EMAIL)
    assert response.blocked
    assert response.message == "PII detected, request blocked by mode."
    assert engine.detect("nothing here").blocked is False


def test_request_mode_overrides_the_setting(engine: Engine) -> None:
    assert engine.detect(EMAIL, mode="BLOCK").blocked
    detect_only = engine.detect(EMAIL, mode="DETECT")
    assert detect_only.redacted_text == EMAIL and detect_only.detections
    masked = engine.detect(EMAIL, mode="mask")
    assert masked.redacted_text != EMAIL


@dataclass(frozen=True)
class _Score:
    ai_score: float | None
    final_score: float


@dataclass(frozen=True)
class _Batch:
    scores: tuple[_Score | None, ...]


class _FakeAI:
    """An AI scorer that answers 0.95 for e-mails and nothing else."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def score_matches(self, text: str, matches: Sequence[Match]) -> _Batch:
        out: list[_Score | None] = []
        for match in matches:
            self.asked.append(match.type)
            if match.type == "EMAIL":
                out.append(_Score(0.95, (round2(match.score) + 0.95) / 2))
            else:
                out.append(None)
        return _Batch(tuple(out))


def test_ai_score_makes_a_hybrid_explanation() -> None:
    ai = _FakeAI()
    engine = Engine(make_settings(), ai=ai)
    response = engine.detect(f"{EMAIL} and {CARD}")
    email, card = response.detections
    assert email.confidence_explanation is not None and card.confidence_explanation is not None
    assert email.confidence_explanation.source == "HYBRID"
    assert email.confidence_explanation.ai_score == 0.95
    assert email.confidence_score == round2((0.75 + 0.95) / 2)
    assert card.confidence_explanation.source == "REGEX"
    assert ai.asked == ["CREDIT_CARD", "EMAIL"] or sorted(ai.asked) == ["CREDIT_CARD", "EMAIL"]


def test_a_failing_ai_scorer_never_breaks_detection() -> None:
    class Broken:
        def score_matches(self, text: str, matches: Sequence[Match]) -> _Batch:
            raise RuntimeError("model down")

    engine = Engine(make_settings(), ai=Broken())
    (detection,) = engine.detect(EMAIL).detections
    assert detection.confidence_explanation is not None
    assert detection.confidence_explanation.source == "REGEX"
