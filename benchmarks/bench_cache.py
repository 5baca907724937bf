"""The AI-score cache doing its job: repeated texts cost one model call; hits are cheap.

Set-up: the local OpenAI-compatible server (``tsz_otel.testing.llm_server``) answers
every scoring question with ``0.9``; a real ``redis-server`` runs on 127.0.0.1 (started
here, persistence off). The text holds one ambiguous match (regex score 0.60), so with
``TSZ_AI_SCORING=ambiguous`` every ``AIClient.score_matches`` call wants one AI score.

Measured:

* **model calls**: the same text scored N times by one client (in-process cache), and
  by two clients sharing Redis (two processes' view). Goal: exactly one call each.
* **hit path**: wall-clock µs of ``RedisCache.get`` for a key that only Redis holds
  (the in-process tier is emptied before every call, untimed), of a whole
  ``score_matches`` answered that way, and of the in-process LRU hit, with the model
  round trip (a miss) for scale. Goal: the Redis hit path adds < 200 µs per request.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any

from benchmarks._common import median, percentile
from tsz_otel import Settings
from tsz_otel.ai import AIClient, MemoryCache, RedisCache
from tsz_otel.engine.types import Match
from tsz_otel.testing.llm_server import LLMServer
from tsz_otel.testing.redis_server import RedisServer, redis_server_binary

TITLE = "AI score cache"

TEXT = "Your order number 1234567890 shipped today; reply with questions."
MATCH = Match("VKN", "PII", TEXT.index("1234"), TEXT.index("1234") + 10, 0.60, 0.60)
TARGET_HIT_US = 200.0


def _settings(llm: LLMServer, redis_url: str | None = None) -> Settings:
    return Settings(
        ai_scoring="ambiguous",
        ai_model_url=llm.base_url,
        ai_model="bench-scorer",
        ai_timeout=5.0,
        redis_url=redis_url,
    )


def _timed(call: Callable[[], Any], before: Callable[[], Any], n: int) -> list[float]:
    """µs per ``call()``, with ``before()`` run untimed ahead of each call (after a warm-up)."""
    for _ in range(max(5, n // 10)):
        before()
        call()
    samples = []
    gc.disable()
    try:
        for _ in range(n):
            before()
            started = time.perf_counter_ns()
            call()
            samples.append((time.perf_counter_ns() - started) / 1000)
    finally:
        gc.enable()
    return samples


def _row(name: str, samples: list[float]) -> dict[str, Any]:
    return {
        "table": "hit path (µs)",
        "path": name,
        "calls": len(samples),
        "median": median(samples),
        "p99": percentile(samples, 0.99),
    }


def _calls_rows(llm: LLMServer, redis: RedisServer | None, repeats: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    llm.reset()
    llm.script("0.9", times=None)
    client = AIClient(_settings(llm), cache=MemoryCache())
    for _ in range(repeats):
        client.score_matches(TEXT, [MATCH])
    rows.append({"table": "model calls", "setup": "one client, in-process LRU",
                 "texts scored": repeats, "model calls": len(llm.requests)})  # fmt: skip
    client.close()
    if redis is not None:
        llm.reset()
        llm.script("0.9", times=None)
        first = AIClient(_settings(llm, redis.url))
        second = AIClient(_settings(llm, redis.url))
        for i in range(repeats):
            (first if i % 2 == 0 else second).score_matches(TEXT, [MATCH])
        rows.append({"table": "model calls", "setup": "two clients sharing Redis",
                     "texts scored": repeats, "model calls": len(llm.requests)})  # fmt: skip
        first.close()
        second.close()
    return rows


def _latency_rows(llm: LLMServer, redis: RedisServer | None, n: int) -> list[dict[str, Any]]:
    rows = []
    llm.reset()
    llm.script("0.9", times=None)
    memory = MemoryCache()
    memory.set("k", "0.9000")
    rows.append(_row("in-process LRU get (hit)", _timed(lambda: memory.get("k"), lambda: 0, n)))
    if redis is not None:
        cache = RedisCache(redis.url)
        cache.set("k", "0.9000")
        cache.get("k")  # connect
        redis_get = _timed(lambda: cache.get("k"), cache.local.clear, n)
        rows.append(_row("RedisCache.get, Redis hit", redis_get))
        client = AIClient(_settings(llm, redis.url), cache=cache)
        client.score_matches(TEXT, [MATCH])  # fill Redis
        hit = _timed(lambda: client.score_matches(TEXT, [MATCH]), cache.local.clear, n)
        rows.append(_row("score_matches, Redis hit (added per request)", hit))
        cache.close()
    miss_client = AIClient(_settings(llm), cache=MemoryCache(max_entries=1))
    texts = iter(range(10**9))

    def miss() -> None:
        value = f"{next(texts):010d}"
        text = TEXT.replace("1234567890", value)
        miss_client.score_matches(text, [MATCH])

    misses = _timed(miss, lambda: 0, max(3, n // 20))
    rows.append(_row("score_matches, miss (model round trip)", misses))
    miss_client.close()
    return rows


def _targets(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    targets = []
    for row in rows:
        if row.get("table") == "model calls":
            targets.append({"table": "targets", "target": f"repeated texts, {row['setup']}",
                            "goal": "1 model call", "measured": row["model calls"],
                            "met": row["model calls"] == 1})  # fmt: skip
        if row.get("path") == "score_matches, Redis hit (added per request)":
            targets.append({"table": "targets", "target": "Redis hit path added latency",
                            "goal": f"median < {TARGET_HIT_US:.0f} µs",
                            "measured": f"{row['median']:.0f} µs",
                            "met": row["median"] < TARGET_HIT_US})  # fmt: skip
    return targets


def run(smoke: bool) -> list[dict[str, Any]]:
    repeats, samples = (5, 20) if smoke else (200, 2000)
    redis = RedisServer().start() if redis_server_binary() else None
    try:
        with LLMServer() as llm:
            rows = _calls_rows(llm, redis, repeats) + _latency_rows(llm, redis, samples)
    finally:
        if redis is not None:
            redis.stop()
    if redis is None:
        rows.append({"table": "model calls", "setup": "Redis: redis-server not installed",
                     "texts scored": 0, "model calls": 0})  # fmt: skip
    return rows + _targets(rows)
