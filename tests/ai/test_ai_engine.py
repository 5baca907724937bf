"""The AI client plugged into the inline engine (the engine's AI-score seam)."""

from __future__ import annotations

import pytest

from tsz_otel import Settings
from tsz_otel.ai import AIClient, MemoryCache, combine
from tsz_otel.engine import Engine
from tsz_otel.engine.scoring import round2
from tsz_otel.remote import engine_from_settings
from tsz_otel.testing.llm_server import LLMServer

TEXT = "Please write to john.doe@example.com about the refund."


def ai_engine(llm: LLMServer, **overrides: object) -> tuple[Engine, AIClient]:
    values: dict[str, object] = {
        "ai_scoring": "ambiguous",
        "ai_model_url": llm.base_url,
        "ai_timeout": 0.5,
    }
    settings = Settings(**{**values, **overrides})  # type: ignore[arg-type]
    client = AIClient(settings, cache=MemoryCache())
    return Engine(settings, ai=client), client


def test_a_confident_model_lifts_an_ambiguous_match_to_block(llm: LLMServer) -> None:
    engine, _ = ai_engine(llm)
    regex_only = Engine(Settings()).detect(TEXT).detections[0]
    assert regex_only.action == "MASK"  # in the ambiguous band without AI
    llm.script("1.0")
    response = engine.detect(TEXT)
    (email,) = response.detections
    explanation = email.confidence_explanation
    assert explanation is not None
    assert explanation.source == "HYBRID" and explanation.ai_score == 1.0
    assert email.confidence_score == round2(combine(regex_only.confidence_score, 1.0))
    assert email.action == "BLOCK" and response.blocked
    prompt = llm.last_request.json["messages"][0]["content"]
    assert "john.doe@example.com" not in prompt and "refund" in prompt


def test_a_doubtful_model_dismisses_a_match(llm: LLMServer) -> None:
    engine, _ = ai_engine(llm)
    llm.script("0.0")
    response = engine.detect(TEXT)
    assert response.detections == []  # combined score fell under the allow threshold


@pytest.mark.parametrize("script", [{"reply": "not a number"}, {"status": 500},
                                    {"reply": "1.0", "delay": 1.0}])  # fmt: skip
def test_model_failures_keep_the_regex_score(llm: LLMServer, script: dict[str, object]) -> None:
    engine, _ = ai_engine(llm)
    llm.script(**script)  # type: ignore[arg-type]
    (email,) = engine.detect(TEXT).detections
    assert email.confidence_explanation is not None
    assert email.confidence_explanation.source == "REGEX"
    assert email.confidence_explanation.ai_score is None
    assert email.action == "MASK"


def test_repeated_texts_cost_one_model_call(llm: LLMServer) -> None:
    engine, _ = ai_engine(llm)
    llm.script("0.9", times=None)
    first = engine.detect(TEXT)
    for _ in range(5):
        assert engine.detect(TEXT).detections[0].confidence_score == (
            first.detections[0].confidence_score
        )
    assert len(llm.requests) == 1


def test_engine_from_settings_shares_one_ai_client(llm: LLMServer) -> None:
    settings = Settings(ai_scoring="ambiguous", ai_model_url=llm.base_url)
    engine = engine_from_settings(settings)
    assert isinstance(engine, Engine) and isinstance(engine.ai, AIClient)
    assert engine.validators is not None
    assert engine.validators._ai_client() is engine.ai  # type: ignore[attr-defined]
    no_scoring = engine_from_settings(Settings(ai_model_url=llm.base_url))
    assert isinstance(no_scoring, Engine) and no_scoring.ai is None
