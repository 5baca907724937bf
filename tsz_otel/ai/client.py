"""AI confidence scores and AI_PROMPT verdicts: cached, concurrent, bounded, never failing.

:class:`AIClient` is what the engine and the validators talk to. For one request it

1. picks the matches worth asking about (``TSZ_AI_SCORING``: ``off``, ``ambiguous`` =
   regex score in ``[allow, block)``, or ``all``),
2. builds one small masked prompt per distinct (pattern, value) (see
   :mod:`tsz_otel.ai.prompts`), so a value repeated in a text costs one question,
3. reads the cache for each; only misses go to the model,
4. asks the model concurrently: at most ``max_calls`` questions per request (the rest
   fall back at once), all within ``deadline`` seconds (``TSZ_AI_TIMEOUT`` by default),
5. writes successful answers to the cache, and
6. returns the combined score per match, or the regex score with the reason the AI
   part failed (``timeout``, ``unavailable``, ``status``, ``protocol``, ``junk``,
   ``budget``), counted in :attr:`ScoreBatch.failures` for the span.

A score is cached per (pattern, model, value), TSZ's idempotency rule: the context of
the first occurrence that was asked about decides for later ones. A verdict is cached per
(validator, model, rule, expected response, text). Failures are never cached, so a model
that comes back is asked again.

Nothing here raises because a model misbehaved; only a bad configuration raises.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import httpx

from ..config import Settings
from ..errors import (
    ConfigurationError,
    RemoteError,
    RemoteProtocolError,
    RemoteStatusError,
    RemoteUnavailableError,
)
from .cache import AICache, cache_from_settings, cache_key
from .model import ModelClient
from .prompts import (
    combine,
    mask_value,
    masked_context,
    parse_score,
    reply_passes,
    score_prompt,
    verdict_prompt,
)

if TYPE_CHECKING:
    from ..engine.types import Match

__all__ = ["AIClient", "AIScore", "ScoreBatch", "Verdict"]

_PASS, _FAIL = "PASS", "FAIL"


@dataclass(frozen=True, slots=True)
class AIScore:
    """The confidence of one match after the AI step.

    ``ai_score`` is ``None`` when the model gave no usable answer; ``error`` then says
    why and ``final_score`` is the regex score.
    """

    regex_score: float
    ai_score: float | None
    final_score: float
    error: str | None = None
    cached: bool = False

    @property
    def source(self) -> Literal["HYBRID", "REGEX"]:
        """``HYBRID`` when the AI score entered the result, else ``REGEX``."""
        return "HYBRID" if self.ai_score is not None else "REGEX"


@dataclass(frozen=True, slots=True)
class ScoreBatch:
    """The AI step of one request: a score per input match (``None`` = not asked)."""

    scores: tuple[AIScore | None, ...]
    calls: int = 0
    cache_hits: int = 0
    failures: Mapping[str, int] = field(default_factory=dict)

    @property
    def degraded(self) -> bool:
        """True when at least one match fell back to its regex score."""
        return bool(self.failures)


@dataclass(frozen=True, slots=True)
class Verdict:
    """An AI_PROMPT outcome: ``passed`` is ``None`` when the model gave no usable answer."""

    passed: bool | None
    error: str | None = None
    cached: bool = False


@dataclass(frozen=True, slots=True)
class _Job:
    """One question for the model; ``read`` turns a reply into the cached value.

    ``prompt`` is built only on a cache miss: a hit costs the key's hash, not the
    masking and context work.
    """

    key: str
    prompt: Callable[[], str]
    read: Callable[[str], str | None]


@dataclass(slots=True)
class _Outcome:
    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    hits: set[str] = field(default_factory=set)
    calls: int = 0


class AIClient:
    """Scores and verdicts from an OpenAI-compatible model, with a cache (thread-safe).

    Args:
        settings: thresholds, ``ai_*``, ``cache_ttl``, ``redis_url``, ``hash_key``.
        model: the model client; default from ``settings`` (``None`` if no URL is set).
        cache: default :func:`~tsz_otel.ai.cache.cache_from_settings`.
        max_calls: model questions per request at most (``TSZ_AI_MAX_CALLS``).
        deadline: seconds one request may spend on the model (default ``ai_timeout``).
        context_chars: context characters sent on each side of a value.
        send_values: send raw values instead of their masked shape (TSZ's behaviour).
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        model: ModelClient | None = None,
        cache: AICache | None = None,
        max_calls: int | None = None,
        deadline: float | None = None,
        context_chars: int = 40,
        send_values: bool = False,
        max_workers: int = 8,
    ) -> None:
        self.settings = settings or Settings()
        self.model = model if model is not None else ModelClient.from_settings(self.settings)
        if self.settings.ai_scoring != "off" and self.model is None:
            raise ConfigurationError(
                "TSZ_AI_SCORING is on but no model is configured: set TSZ_AI_MODEL_URL"
            )
        self.cache = cache if cache is not None else cache_from_settings(self.settings)
        self.max_calls = self.settings.ai_max_calls if max_calls is None else max_calls
        self.deadline = self.settings.ai_timeout if deadline is None else deadline
        self.context_chars = context_chars
        self.send_values = send_values
        self._max_workers = max_workers
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    @property
    def model_name(self) -> str:
        return self.model.model if self.model is not None else "-"

    # -- scoring ---------------------------------------------------------------------

    def wants(self, score: float, category: str | None = None) -> bool:
        """Whether ``TSZ_AI_SCORING`` asks the model about a match with this regex score."""
        mode = self.settings.ai_scoring
        if mode == "off" or self.model is None:
            return False
        if mode == "all":
            return True
        block = self.settings.category_thresholds.get(
            (category or "").upper(), self.settings.block_threshold
        )
        return self.settings.allow_threshold <= score < block

    def score_matches(
        self,
        text: str,
        matches: Sequence[Match],
        *,
        select: Callable[[Match], bool] | None = None,
    ) -> ScoreBatch:
        """AI-combined scores for ``matches`` found in ``text`` (``select`` overrides
        :meth:`wants` to choose which matches are asked about)."""
        plan = self._plan_scores(text, matches, select)
        return self._scores(matches, plan, self._resolve(_unique(plan)))

    async def ascore_matches(
        self,
        text: str,
        matches: Sequence[Match],
        *,
        select: Callable[[Match], bool] | None = None,
    ) -> ScoreBatch:
        """Async twin of :meth:`score_matches`."""
        plan = self._plan_scores(text, matches, select)
        return self._scores(matches, plan, await self._aresolve(_unique(plan)))

    def _plan_scores(
        self, text: str, matches: Sequence[Match], select: Callable[[Match], bool] | None
    ) -> list[_Job | None]:
        chosen = select or (lambda m: self.wants(m.score, m.category))
        return [
            self._score_job(text, matches, i) if chosen(match) else None
            for i, match in enumerate(matches)
        ]

    def _score_job(self, text: str, matches: Sequence[Match], index: int) -> _Job:
        match = matches[index]
        value = text[match.start : match.end]

        def prompt() -> str:
            others = [(m.start, m.end, m.type) for j, m in enumerate(matches) if j != index]
            before, after = masked_context(text, match.start, match.end, others, self.context_chars)
            shown = value if self.send_values else mask_value(value)
            return score_prompt(
                match.type, match.category, shown, before, after, masked=not self.send_values
            )

        key = cache_key("score", match.type, self.model_name, value, secret=self.settings.hash_key)
        return _Job(key, prompt, _read_score)

    def _scores(
        self, matches: Sequence[Match], plan: list[_Job | None], out: _Outcome
    ) -> ScoreBatch:
        scores: list[AIScore | None] = []
        failures: Counter[str] = Counter()
        for match, job in zip(matches, plan, strict=True):
            if job is None:
                scores.append(None)
            elif job.key in out.values:
                ai = float(out.values[job.key])
                scores.append(
                    AIScore(match.score, ai, combine(match.score, ai), None, job.key in out.hits)
                )
            else:
                error = out.errors[job.key]
                failures[error] += 1
                scores.append(AIScore(match.score, None, match.score, error))
        return ScoreBatch(tuple(scores), out.calls, len(out.hits), dict(failures))

    # -- AI_PROMPT verdicts ------------------------------------------------------------

    def verdicts(self, checks: Sequence[tuple[str, str, str | None, str]]) -> list[Verdict]:
        """Verdicts for ``(validator name, rule, expected_response, text)`` checks, run
        concurrently under the same budget as scores."""
        jobs = [self._verdict_job(*check) for check in checks]
        return self._verdict_list(jobs, self._resolve(_unique(jobs)))

    async def averdicts(self, checks: Sequence[tuple[str, str, str | None, str]]) -> list[Verdict]:
        """Async twin of :meth:`verdicts`."""
        jobs = [self._verdict_job(*check) for check in checks]
        return self._verdict_list(jobs, await self._aresolve(_unique(jobs)))

    def verdict(self, name: str, rule: str, expected: str | None, text: str) -> Verdict:
        """The verdict of one AI_PROMPT validator on ``text``."""
        return self.verdicts([(name, rule, expected, text)])[0]

    async def averdict(self, name: str, rule: str, expected: str | None, text: str) -> Verdict:
        """Async twin of :meth:`verdict`."""
        return (await self.averdicts([(name, rule, expected, text)]))[0]

    def _verdict_job(self, name: str, rule: str, expected: str | None, text: str) -> _Job:
        key = cache_key(
            "verdict", name, self.model_name, rule, expected or "", text,
            secret=self.settings.hash_key,
        )  # fmt: skip
        return _Job(key, lambda: verdict_prompt(rule, text), _verdict_reader(expected))

    @staticmethod
    def _verdict_list(jobs: list[_Job], out: _Outcome) -> list[Verdict]:
        return [
            Verdict(out.values[job.key] == _PASS, None, job.key in out.hits)
            if job.key in out.values
            else Verdict(None, out.errors[job.key])
            for job in jobs
        ]

    # -- the shared engine: cache, budget, concurrency ---------------------------------

    def _triage(
        self, jobs: list[_Job], cached: Sequence[str | None]
    ) -> tuple[_Outcome, list[_Job]]:
        """Sort jobs into cache hits, over-budget fallbacks and questions to ask."""
        out = _Outcome()
        misses: list[_Job] = []
        for job, value in zip(jobs, cached, strict=True):
            if value is not None:
                out.values[job.key] = value
                out.hits.add(job.key)
            elif self.model is None:
                out.errors[job.key] = "not_configured"
            else:
                misses.append(job)
        for job in misses[self.max_calls :]:
            out.errors[job.key] = "budget"
        asked = misses[: self.max_calls]
        out.calls = len(asked)
        return out, asked

    def _resolve(self, jobs: list[_Job]) -> _Outcome:
        out, asked = self._triage(jobs, [self.cache.get(job.key) for job in jobs])
        if not asked:
            return out
        pool = self._executor()
        futures = {pool.submit(self._ask, job): job for job in asked}
        done, late = concurrent.futures.wait(futures, timeout=self.deadline)
        for future in late:
            future.cancel()
            out.errors[futures[future].key] = "timeout"
        for future in done:
            self._record(out, futures[future], *future.result())
        return out

    async def _aresolve(self, jobs: list[_Job]) -> _Outcome:
        cached = [await self.cache.aget(job.key) for job in jobs]
        out, asked = self._triage(jobs, cached)
        if not asked:
            return out
        tasks = {asyncio.ensure_future(self._aask(job)): job for job in asked}
        done, late = await asyncio.wait(tasks, timeout=self.deadline)
        for task in late:
            task.cancel()
            out.errors[tasks[task].key] = "timeout"
        await asyncio.gather(*late, return_exceptions=True)
        for task in done:
            self._record(out, tasks[task], *task.result())
        return out

    def _ask(self, job: _Job) -> tuple[str | None, str | None]:
        assert self.model is not None
        try:
            reply = self.model.complete(job.prompt())
        except RemoteError as exc:
            return None, _failure_kind(exc)
        value = job.read(reply)
        if value is None:
            return None, "junk"
        self.cache.set(job.key, value)
        return value, None

    async def _aask(self, job: _Job) -> tuple[str | None, str | None]:
        assert self.model is not None
        try:
            reply = await self.model.acomplete(job.prompt())
        except RemoteError as exc:
            return None, _failure_kind(exc)
        value = job.read(reply)
        if value is None:
            return None, "junk"
        await self.cache.aset(job.key, value)
        return value, None

    @staticmethod
    def _record(out: _Outcome, job: _Job, value: str | None, error: str | None) -> None:
        if value is not None:
            out.values[job.key] = value
        else:
            out.errors[job.key] = error or "error"

    def _executor(self) -> concurrent.futures.ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = concurrent.futures.ThreadPoolExecutor(
                    self._max_workers, thread_name_prefix="tsz-ai"
                )
            return self._pool

    def close(self) -> None:
        """Release the worker threads and the model's HTTP connections."""
        with self._pool_lock:
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None
        if self.model is not None:
            self.model.close()

    async def aclose(self) -> None:
        self.close()
        if self.model is not None:
            await self.model.aclose()


def _unique(jobs: Sequence[_Job | None]) -> list[_Job]:
    """Distinct jobs by key, in first-seen order: a repeated value costs one question."""
    seen: dict[str, _Job] = {}
    for job in jobs:
        if job is not None and job.key not in seen:
            seen[job.key] = job
    return list(seen.values())


def _read_score(reply: str) -> str | None:
    score = parse_score(reply)
    return None if score is None else f"{score:.4f}"


def _verdict_reader(expected: str | None) -> Callable[[str], str | None]:
    def read(reply: str) -> str | None:
        if not reply.strip():
            return None
        return _PASS if reply_passes(reply, expected) else _FAIL

    return read


_FAILURE_KINDS: tuple[tuple[type[RemoteError], str], ...] = (
    (RemoteProtocolError, "protocol"),
    (RemoteStatusError, "status"),
    (RemoteUnavailableError, "unavailable"),
)


def _failure_kind(exc: RemoteError) -> str:
    """A short, value-free name for why a model call failed."""
    if isinstance(exc.__cause__, httpx.TimeoutException):
        return "timeout"
    for cls, kind in _FAILURE_KINDS:
        if isinstance(exc, cls):
            return kind
    return "error"
