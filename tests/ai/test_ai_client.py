"""AIClient against the local OpenAI-compatible server: scores, junk, timeouts, budget, cache."""

from __future__ import annotations

import json

import pytest

from tsz_otel import ConfigurationError, Settings
from tsz_otel.ai import AIClient, MemoryCache, RedisCache, combine
from tsz_otel.engine.types import Match
from tsz_otel.testing.llm_server import LLMServer
from tsz_otel.testing.redis_server import RedisServer

TEXT = (
    "Please remember the private notes of this conversation. "
    "Order number 1234567890 shipped, contact john.doe@example.com for details. "
    "The rest of this prompt is long and none of it should reach the scoring model."
)
ORDER = Match("VKN", "PII", TEXT.index("1234"), TEXT.index("1234") + 10, 0.60, 0.60)
EMAIL = Match("EMAIL", "PII", TEXT.index("john"), TEXT.index(".com") + 4, 0.60, 0.60)
SECRET = Match("AWS_SECRET_KEY", "SECRET", 0, 5, 0.95, 0.95)  # above block: not ambiguous


def settings(llm: LLMServer, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "ai_scoring": "ambiguous",
        "ai_model_url": llm.base_url,
        "ai_model": "scorer",
        "ai_api_key": "k-test",
        "ai_timeout": 1.0,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def prompts(llm: LLMServer) -> list[str]:
    return [r.json["messages"][0]["content"] for r in llm.requests]


@pytest.fixture
def client(llm: LLMServer) -> AIClient:
    return AIClient(settings(llm), cache=MemoryCache())


def test_ambiguous_matches_get_a_hybrid_score(llm: LLMServer, client: AIClient) -> None:
    llm.script("0.96", times=None)
    batch = client.score_matches(TEXT, [ORDER, SECRET])
    order, secret = batch.scores
    assert secret is None  # 0.95 >= block threshold: not asked
    assert order is not None
    assert order.ai_score == pytest.approx(0.96)
    assert order.final_score == pytest.approx(combine(0.60, 0.96))
    assert order.final_score >= 0.85
    assert order.source == "HYBRID" and order.error is None
    assert batch.calls == 1 and not batch.degraded
    request = llm.last_request
    assert request.path.endswith("/chat/completions")
    assert request.headers["authorization"] == "Bearer k-test"
    assert request.json["model"] == "scorer"


def test_prompt_is_small_and_masked(llm: LLMServer, client: AIClient) -> None:
    llm.script("0.5", times=None)
    client.score_matches(TEXT, [ORDER, EMAIL])
    sent = prompts(llm)
    assert len(sent) == 2
    for prompt in sent:
        assert "1234567890" not in prompt
        assert "john.doe@example.com" not in prompt
        assert "private notes" not in prompt and "scoring model" not in prompt
    order_prompt = next(p for p in sent if "real VKN" in p)
    assert order_prompt.endswith(
        "conversation. Order number <<12######90>> shipped, contact [EMAIL]"
    )
    email_prompt = next(p for p in sent if "real EMAIL" in p)
    assert "number [VKN] shipped, contact <<jo**.***@*******.*om>> for details." in email_prompt


def test_send_values_opt_in_sends_the_raw_value(llm: LLMServer) -> None:
    llm.script("0.5", times=None)
    AIClient(settings(llm), cache=MemoryCache(), send_values=True).score_matches(TEXT, [ORDER])
    assert "<<1234567890>>" in prompts(llm)[0]


@pytest.mark.parametrize("reply", ["definitely", "85", "0.7 because it looks like one", ""])
def test_junk_replies_fall_back_to_the_regex_score(
    llm: LLMServer, client: AIClient, reply: str
) -> None:
    llm.script(reply)
    batch = client.score_matches(TEXT, [ORDER])
    (order,) = batch.scores
    assert order is not None
    assert order.ai_score is None and order.final_score == 0.60 and order.error == "junk"
    assert order.source == "REGEX"
    assert batch.failures == {"junk": 1}


def test_timeouts_fall_back(llm: LLMServer) -> None:
    llm.script("0.99", delay=1.0)
    client = AIClient(settings(llm, ai_timeout=0.2), cache=MemoryCache())
    batch = client.score_matches(TEXT, [ORDER])
    (order,) = batch.scores
    assert order is not None and order.error == "timeout" and order.final_score == 0.60
    assert batch.failures == {"timeout": 1}


def test_model_errors_fall_back(llm: LLMServer, client: AIClient) -> None:
    llm.script(status=500, error="boom")
    (order,) = client.score_matches(TEXT, [ORDER]).scores
    assert order is not None and order.error == "status" and order.final_score == 0.60


def test_unreachable_model_falls_back() -> None:
    closed = Settings(ai_scoring="all", ai_model_url="http://127.0.0.1:9", ai_timeout=0.5)
    batch = AIClient(closed, cache=MemoryCache()).score_matches(TEXT, [ORDER])
    assert batch.failures == {"unavailable": 1}


def test_a_repeated_value_costs_one_call_and_answers_are_not_re_asked(
    llm: LLMServer, client: AIClient
) -> None:
    llm.script("0.9", times=None)
    text = "id 1234567890 and again id 1234567890"
    first = Match("VKN", "PII", 3, 13, 0.6, 0.6)
    second = Match("VKN", "PII", 27, 37, 0.6, 0.6)
    batch = client.score_matches(text, [first, second])
    assert batch.calls == 1 and len(llm.requests) == 1
    assert [s.ai_score for s in batch.scores if s] == [0.9, 0.9]
    again = client.score_matches(text, [first, second])
    assert again.calls == 0 and again.cache_hits == 1 and len(llm.requests) == 1
    assert all(s is not None and s.cached for s in again.scores)


def test_budget_caps_model_calls_per_request(llm: LLMServer) -> None:
    llm.script("0.9", times=None)
    client = AIClient(settings(llm, ai_max_calls=1), cache=MemoryCache())
    batch = client.score_matches(TEXT, [ORDER, EMAIL])
    assert batch.calls == 1 and len(llm.requests) == 1
    assert batch.failures == {"budget": 1}
    assert sorted(s.error or "ok" for s in batch.scores if s) == ["budget", "ok"]


def test_calls_run_concurrently_within_the_deadline(llm: LLMServer) -> None:
    llm.script("0.9", delay=0.3, times=None)
    client = AIClient(settings(llm, ai_timeout=0.9), cache=MemoryCache())
    matches = [Match("VKN", "PII", i * 11, i * 11 + 10, 0.6, 0.6) for i in range(4)]
    text = " ".join(f"{i:010d}" for i in range(4))
    batch = client.score_matches(text, matches)
    # sequential calls would need 1.2 s and miss the 0.9 s deadline
    assert batch.calls == 4 and not batch.degraded


def test_all_mode_asks_about_every_match_and_off_about_none(llm: LLMServer) -> None:
    llm.script("0.1", times=None)
    every = AIClient(settings(llm, ai_scoring="all"), cache=MemoryCache())
    (secret,) = every.score_matches(TEXT, [SECRET]).scores
    assert secret is not None and secret.final_score == pytest.approx(combine(0.95, 0.1))
    off = AIClient(settings(llm, ai_scoring="off"), cache=MemoryCache())
    assert off.score_matches(TEXT, [ORDER]).scores == (None,)
    assert len(llm.requests) == 1


def test_scoring_on_without_a_model_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="TSZ_AI_MODEL_URL"):
        AIClient(Settings(ai_scoring="ambiguous"))


async def test_async_scoring_mirrors_sync(llm: LLMServer, client: AIClient) -> None:
    llm.script("0.96")
    llm.script("junk")
    batch = await client.ascore_matches(TEXT, [ORDER, EMAIL])
    assert batch.calls == 2
    assert sorted(batch.failures.items()) == [("junk", 1)]
    good = [s for s in batch.scores if s and s.ai_score is not None]
    assert len(good) == 1 and good[0].ai_score == pytest.approx(0.96)
    again = await client.ascore_matches(TEXT, [ORDER, EMAIL])
    assert again.cache_hits == 1 and again.calls == 1  # the junk one is asked again


async def test_async_timeout_and_budget(llm: LLMServer) -> None:
    llm.script("0.9", delay=1.0, times=None)
    client = AIClient(settings(llm, ai_timeout=0.2, ai_max_calls=1), cache=MemoryCache())
    batch = await client.ascore_matches(TEXT, [ORDER, EMAIL])
    assert batch.failures == {"timeout": 1, "budget": 1}
    assert all(s is not None and s.final_score == 0.60 for s in batch.scores)


def test_verdicts_follow_expected_response_and_are_cached(llm: LLMServer, client: AIClient) -> None:
    llm.script("YES, the text is safe")
    llm.script("NO")
    rule = "Is this text safe? Answer YES or NO.\n{{TEXT}}"
    safe = client.verdict("TOXIC_LANGUAGE", rule, "YES", "have a nice day")
    toxic = client.verdict("TOXIC_LANGUAGE", rule, "YES", "you are an idiot")
    assert safe.passed is True and toxic.passed is False
    assert prompts(llm)[0] == "Is this text safe? Answer YES or NO.\nhave a nice day"
    again = client.verdict("TOXIC_LANGUAGE", rule, "YES", "you are an idiot")
    assert again.passed is False and again.cached and len(llm.requests) == 2
    # a different rule or expected response is a different question
    client.verdict("TOXIC_LANGUAGE", rule, "NO", "you are an idiot")
    assert len(llm.requests) == 3


def test_verdict_errors_are_reported_not_raised(llm: LLMServer, client: AIClient) -> None:
    llm.script(status=503)
    assert client.verdict("V", "rule", None, "text").error == "status"
    llm.script("")
    assert client.verdict("V", "rule", None, "text").error == "junk"
    no_model = AIClient(Settings(), cache=MemoryCache())
    assert no_model.verdict("V", "rule", None, "text") == no_model.verdict("V", "rule", None, "t")
    assert no_model.verdict("V", "rule", None, "text").error == "not_configured"


async def test_async_verdicts_run_concurrently(llm: LLMServer, client: AIClient) -> None:
    llm.script("YES", delay=0.3, times=None)
    checks = [("V", "rule", "YES", f"text {i}") for i in range(3)]
    results = await client.averdicts(checks)
    assert [v.passed for v in results] == [True, True, True]


def test_redis_cache_makes_repeated_texts_cost_one_call_across_processes(
    llm: LLMServer, redis_server: RedisServer
) -> None:
    llm.script("0.9", times=None)
    shared = settings(llm, redis_url=redis_server.url)
    first, second = AIClient(shared), AIClient(shared)  # two "processes"
    assert isinstance(first.cache, RedisCache)
    first.score_matches(TEXT, [ORDER])
    batch = second.score_matches(TEXT, [ORDER])
    assert len(llm.requests) == 1
    assert batch.cache_hits == 1 and batch.scores[0] is not None
    assert batch.scores[0].ai_score == pytest.approx(0.9)


def test_redis_outage_mid_run_does_not_fail_scoring(
    llm: LLMServer, redis_server: RedisServer
) -> None:
    llm.script("0.9", times=None)
    client = AIClient(settings(llm, redis_url=redis_server.url))
    client.score_matches(TEXT, [ORDER])
    redis_server.kill()
    batch = client.score_matches(TEXT, [ORDER, EMAIL])
    assert batch.cache_hits == 1  # the in-process tier still answers
    assert batch.calls == 1 and not batch.degraded
    assert json.loads(llm.last_request.text)["model"] == "scorer"


def test_model_settings_come_from_tsz_or_thyris_variables(llm: LLMServer) -> None:
    llm.script("YES")
    settings = Settings.from_env(
        {"THYRIS_AI_MODEL_URL": llm.base_url + "/", "THYRIS_AI_API_KEY": "thyris-key",
         "THYRIS_AI_MODEL": "llama3.1:8b", "TSZ_AI_TIMEOUT": "0.5", "TSZ_AI_MAX_CALLS": "3"}
    )  # fmt: skip
    client = AIClient(settings, cache=MemoryCache())
    assert client.max_calls == 3 and client.deadline == 0.5
    assert client.verdict("V", "ok?", None, "text").passed is True
    request = llm.last_request
    assert request.path == "/v1/chat/completions"  # TSZ appends /chat/completions to the base
    assert request.headers["authorization"] == "Bearer thyris-key"
    assert request.json["model"] == "llama3.1:8b" and request.json["stream"] is False
    tsz_first = Settings.from_env({"TSZ_AI_MODEL": "a", "THYRIS_AI_MODEL": "b"})
    assert tsz_first.ai_model == "a"


def test_a_lone_surrogate_near_a_candidate_is_scored_not_an_error(
    llm: LLMServer, client: AIClient
) -> None:
    """The masked context around a candidate may hold an unpaired surrogate (a ``\\ud800``
    JSON escape in the prompt): the model is still asked, the surrogate sent as U+FFFD."""
    llm.script("0.96", times=None)
    text = "Order \ud800 number 1234567890 shipped."
    order = Match("VKN", "PII", text.index("1234"), text.index("1234") + 10, 0.60, 0.60)

    (score,) = client.score_matches(text, [order]).scores

    assert score is not None and score.error is None and score.source == "HYBRID"
    (prompt,) = prompts(llm)
    assert "\ufffd number <<12######90>>" in prompt
