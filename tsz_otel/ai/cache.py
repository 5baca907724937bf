"""The cache of AI scores and AI_PROMPT verdicts: in-process LRU, or Redis with a local fallback.

Why a cache at all: an AI confidence or an AI_PROMPT verdict is a pure function of
(pattern or validator, model, input), and model calls are slow and paid for. TSZ writes
its cache but never reads it; here every call reads first.

Keys never contain the raw value. :func:`cache_key` joins a kind (``score``/``verdict``),
the pattern or validator name and the model with a SHA-256 digest of the inputs (keyed
with ``TSZ_OTEL_HASH_KEY`` when it is set, so short values such as card numbers cannot be
recovered by hashing candidates against a shared Redis).

Two implementations share the :class:`AICache` protocol:

* :class:`MemoryCache` (the default): an LRU of bounded size with a TTL per entry.
* :class:`RedisCache` (``TSZ_REDIS_URL``): Redis, shared by every process that points at
  it, in front of a :class:`MemoryCache`. Entries carry their absolute expiry, so both
  tiers forget an entry at the same moment. When Redis is down or slower than its
  timeout, the call falls back to the local tier without raising, the outage is marked
  for ``retry_after`` seconds (no call waits on a dead server in that window), and the
  next call after it tries Redis again, so recovery needs no action.

Both have a sync and an async API (``get``/``set`` and ``aget``/``aset``).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import threading
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from .._http import PerLoop
from .._unicode import utf8

if TYPE_CHECKING:
    from ..config import Settings

__all__ = ["AICache", "MemoryCache", "RedisCache", "cache_from_settings", "cache_key"]

_logger = logging.getLogger(__name__)
_logger.addHandler(logging.NullHandler())

KEY_PREFIX = "tsz:ai:v1"
"""Namespace of every key this module writes (TSZ's own keys have no prefix)."""


def cache_key(kind: str, name: str, model: str, *parts: str, secret: str | None = None) -> str:
    """The cache key for one AI answer: ``tsz:ai:v1:<kind>:<name>:<model>:<digest>``.

    ``parts`` are the inputs the answer depends on (the value, its masked context, a
    validator's rule); only their digest enters the key. With ``secret`` the digest is
    an HMAC, so a shared Redis does not let anyone confirm a guessed value.
    """
    material = utf8("\x1f".join(parts))
    if secret:
        digest = hmac.new(secret.encode("utf-8"), material, hashlib.sha256).hexdigest()
    else:
        digest = hashlib.sha256(material).hexdigest()
    return f"{KEY_PREFIX}:{kind}:{name}:{model}:{digest}"


@runtime_checkable
class AICache(Protocol):
    """What the AI client needs from a cache: string values with a TTL, sync and async."""

    ttl: int

    def get(self, key: str) -> str | None: ...

    def set(self, key: str, value: str) -> None: ...

    async def aget(self, key: str) -> str | None: ...

    async def aset(self, key: str, value: str) -> None: ...


class MemoryCache:
    """A thread-safe LRU with a TTL per entry; the default cache and Redis's fallback."""

    def __init__(self, ttl: int = 24 * 3600, max_entries: int = 10_000) -> None:
        if ttl <= 0 or max_entries <= 0:
            raise ValueError("ttl and max_entries must be positive")
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def get(self, key: str) -> str | None:
        now = time.time()
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            expires_at, value = entry
            if expires_at <= now:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return value

    def set(self, key: str, value: str) -> None:
        self.put(key, value, time.time() + self.ttl)

    def put(self, key: str, value: str, expires_at: float) -> None:
        """Store with an absolute expiry (used to mirror an entry read from Redis)."""
        if expires_at <= time.time():
            return
        with self._lock:
            self._entries[key] = (expires_at, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    async def aget(self, key: str) -> str | None:
        return self.get(key)

    async def aset(self, key: str, value: str) -> None:
        self.set(key, value)


def _encode(value: str, expires_at: float) -> str:
    """Redis payload: ``<absolute expiry> <value>``, so a reader knows the remaining TTL."""
    return f"{expires_at:.3f} {value}"


def _decode(raw: bytes | str) -> tuple[float, str] | None:
    text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    stamp, sep, value = text.partition(" ")
    try:
        return (float(stamp), value) if sep else None
    except ValueError:
        return None


class RedisCache:
    """Redis shared across processes, with the in-process LRU as first tier and fallback.

    ``timeout`` bounds every Redis operation (connect included); a slower Redis counts
    as down. ``retry_after`` is how long an outage is assumed to last before Redis is
    tried again. ``degraded`` is true while Redis is considered down; ``failures``
    counts the operations that fell back. With ``cluster`` the URL names one node of a
    Redis Cluster and the client follows the cluster's slot map
    (``TSZ_REDIS_CLUSTER=true``).
    """

    def __init__(
        self,
        url: str,
        ttl: int = 24 * 3600,
        *,
        timeout: float = 0.1,
        retry_after: float = 2.0,
        local: MemoryCache | None = None,
        cluster: bool = False,
    ) -> None:
        import redis  # noqa: F401 - optional dependency (the ``redis`` extra): fail here

        self.url = url
        self.ttl = ttl
        self.timeout = timeout
        self.retry_after = retry_after
        self.cluster = cluster
        self.local = local if local is not None else MemoryCache(ttl)
        self.failures = 0
        self._down_until = 0.0
        self._client: Any = None  # built on first use: a cluster client connects to build
        self._client_lock = threading.Lock()
        self._aclients: PerLoop[Any] = PerLoop(self._new_aclient)

    @property
    def degraded(self) -> bool:
        """True while Redis is being skipped after a failure."""
        return time.monotonic() < self._down_until

    def get(self, key: str) -> str | None:
        value = self.local.get(key)
        if value is not None or self.degraded:
            return value
        try:
            raw = self._sync().get(key)
        except Exception as exc:
            self._mark_down("get", exc)
            return None
        return self._mirror(key, raw)

    def set(self, key: str, value: str) -> None:
        expires_at = time.time() + self.ttl
        self.local.put(key, value, expires_at)
        if self.degraded:
            return
        try:
            self._sync().set(key, _encode(value, expires_at), ex=self.ttl)
        except Exception as exc:
            self._mark_down("set", exc)

    async def aget(self, key: str) -> str | None:
        value = self.local.get(key)
        if value is not None or self.degraded:
            return value
        try:
            raw = await asyncio.wait_for(self._aclient().get(key), self.timeout * 2)
        except Exception as exc:
            self._mark_down("get", exc)
            return None
        return self._mirror(key, raw)

    async def aset(self, key: str, value: str) -> None:
        expires_at = time.time() + self.ttl
        self.local.put(key, value, expires_at)
        if self.degraded:
            return
        try:
            await asyncio.wait_for(
                self._aclient().set(key, _encode(value, expires_at), ex=self.ttl),
                self.timeout * 2,
            )
        except Exception as exc:
            self._mark_down("set", exc)

    def ping(self) -> bool:
        """True when Redis answers now (also ends a recorded outage early)."""
        try:
            ok = bool(self._sync().ping())
        except Exception as exc:
            self._mark_down("ping", exc)
            return False
        self._down_until = 0.0
        return ok

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()

    async def aclose(self) -> None:
        client = self._aclients.pop()
        if client is not None:
            await client.aclose()

    def _sync(self) -> Any:
        """The synchronous client, built on first use (a failure is an outage like any)."""
        client = self._client
        if client is None:
            with self._client_lock:
                client = self._client
                if client is None:
                    client = self._client = _new_client(self.url, self.timeout, self.cluster)
        return client

    def _aclient(self) -> Any:
        return self._aclients.get()

    def _new_aclient(self) -> Any:
        options = _client_options(self.timeout, is_async=True)
        if self.cluster:
            from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster

            del options["retry_on_timeout"]  # not an option of the asyncio cluster client
            return AsyncRedisCluster.from_url(self.url, **options)
        import redis.asyncio as redis_async

        return redis_async.Redis.from_url(self.url, **options)

    def _mirror(self, key: str, raw: bytes | str | None) -> str | None:
        if raw is None:
            return None
        entry = _decode(raw)
        if entry is None or entry[0] <= time.time():
            return None
        self.local.put(key, entry[1], entry[0])
        return entry[1]

    def _mark_down(self, operation: str, exc: BaseException) -> None:
        self.failures += 1
        if not self.degraded:
            _logger.warning(
                "Redis cache %s failed (%s); using the in-process cache for %.1fs",
                operation,
                type(exc).__name__,
                self.retry_after,
            )
        self._down_until = time.monotonic() + self.retry_after


def _new_client(url: str, timeout: float, cluster: bool) -> Any:
    """A Redis client for ``url``; with ``cluster`` one that follows the cluster's slot
    map (``MOVED``/``ASK``), which discovers the nodes from ``url`` when it is built."""
    options = _client_options(timeout)
    if cluster:
        from redis.cluster import RedisCluster

        return RedisCluster.from_url(url, **options)
    import redis as redis_sync

    return redis_sync.Redis.from_url(url, **options)


def _client_options(timeout: float, *, is_async: bool = False) -> dict[str, Any]:
    """Client options for a cache: short timeouts and no retries (the fallback is local).

    redis-py retries ten times with backoff by default, which would turn an outage into
    seconds of latency per call.
    """
    from redis.backoff import NoBackoff

    if is_async:
        from redis.asyncio.retry import Retry as AsyncRetry

        retry: object = AsyncRetry(NoBackoff(), 0)
    else:
        from redis.retry import Retry

        retry = Retry(NoBackoff(), 0)
    return {
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        "retry": retry,
        "retry_on_timeout": False,
    }


def cache_from_settings(settings: Settings) -> MemoryCache | RedisCache:
    """``RedisCache`` when ``TSZ_REDIS_URL`` is set (a Redis Cluster with
    ``TSZ_REDIS_CLUSTER=true``), else ``MemoryCache``; TTL from settings."""
    if settings.redis_url:
        return RedisCache(settings.redis_url, settings.cache_ttl, cluster=settings.redis_cluster)
    return MemoryCache(settings.cache_ttl)
