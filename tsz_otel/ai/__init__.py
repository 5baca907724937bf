"""AI confidence scoring and AI_PROMPT verdicts over an OpenAI-compatible model, with a cache.

* :class:`AIClient` — what the engine and validators use: selects ambiguous matches, sends
  small masked prompts concurrently under a per-request budget, combines scores with the
  documented hybrid rule (:func:`combine`) and never fails the caller.
* :class:`ModelClient` — the HTTP client for ``<TSZ_AI_MODEL_URL>/chat/completions``.
* :class:`MemoryCache` / :class:`RedisCache` — where answers are kept (``TSZ_REDIS_URL``,
  ``TSZ_CACHE_TTL``); :func:`cache_key` never contains a raw value.
"""

from __future__ import annotations

from .cache import AICache, MemoryCache, RedisCache, cache_from_settings, cache_key
from .client import AIClient, AIScore, ScoreBatch, Verdict
from .model import ModelClient
from .prompts import AI_WEIGHT, combine

__all__ = [
    "AI_WEIGHT",
    "AICache",
    "AIClient",
    "AIScore",
    "MemoryCache",
    "ModelClient",
    "RedisCache",
    "ScoreBatch",
    "Verdict",
    "cache_from_settings",
    "cache_key",
    "combine",
]
