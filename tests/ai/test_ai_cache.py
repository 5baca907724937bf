"""The AI cache: in-process LRU, and Redis (a real redis-server) with outage fallback."""

from __future__ import annotations

import time

import redis

from tsz_otel import Settings
from tsz_otel.ai import MemoryCache, RedisCache, cache_from_settings, cache_key
from tsz_otel.testing.redis_server import RedisCluster, RedisServer


def test_cache_key_holds_no_raw_value_and_depends_on_every_part() -> None:
    key = cache_key("score", "EMAIL", "llama3", "john@example.com", "ctx")
    assert "john" not in key and "example" not in key
    assert key.startswith("tsz:ai:v1:score:EMAIL:llama3:")
    assert key != cache_key("score", "EMAIL", "llama3", "jane@example.com", "ctx")
    assert key != cache_key("score", "EMAIL", "other-model", "john@example.com", "ctx")
    assert key != cache_key("score", "PHONE", "llama3", "john@example.com", "ctx")
    assert key != cache_key("score", "EMAIL", "llama3", "john@example.com", "ctx", secret="k")
    assert key == cache_key("score", "EMAIL", "llama3", "john@example.com", "ctx")


def test_memory_cache_hit_miss_and_lru_eviction() -> None:
    cache = MemoryCache(ttl=60, max_entries=2)
    assert cache.get("a") is None
    cache.set("a", "1")
    cache.set("b", "2")
    assert cache.get("a") == "1"  # a is now most recently used
    cache.set("c", "3")  # evicts b
    assert cache.get("b") is None
    assert cache.get("a") == "1" and cache.get("c") == "3"
    assert len(cache) == 2


def test_memory_cache_entries_expire() -> None:
    cache = MemoryCache(ttl=60)
    cache.put("old", "x", time.time() + 0.05)
    cache.set("new", "y")
    time.sleep(0.1)
    assert cache.get("old") is None
    assert cache.get("new") == "y"


async def test_memory_cache_async_api() -> None:
    cache = MemoryCache(ttl=60)
    await cache.aset("k", "v")
    assert await cache.aget("k") == "v"
    assert await cache.aget("missing") is None


def test_cache_from_settings_picks_backend_and_ttl(redis_server: RedisServer) -> None:
    memory = cache_from_settings(Settings(cache_ttl=5))
    assert isinstance(memory, MemoryCache) and memory.ttl == 5
    shared = cache_from_settings(Settings(redis_url=redis_server.url, cache_ttl=7))
    assert isinstance(shared, RedisCache) and shared.ttl == 7
    shared.close()


def test_redis_cache_is_shared_between_instances(redis_server: RedisServer) -> None:
    writer, reader = RedisCache(redis_server.url), RedisCache(redis_server.url)
    assert reader.get("k") is None  # miss
    writer.set("k", "0.9000")
    assert reader.get("k") == "0.9000"  # hit, read from Redis (reader's local tier was empty)
    raw = redis.Redis.from_url(redis_server.url).get("k")
    assert raw is not None and raw.endswith(b" 0.9000")
    assert redis.Redis.from_url(redis_server.url).ttl("k") > 0
    writer.close()
    reader.close()


def test_redis_cache_entries_expire_in_both_tiers(redis_server: RedisServer) -> None:
    writer = RedisCache(redis_server.url, ttl=1)
    writer.set("k", "v")
    reader = RedisCache(redis_server.url, ttl=1)
    assert reader.get("k") == "v"  # mirrored locally with the writer's absolute expiry
    time.sleep(1.2)
    assert writer.get("k") is None
    assert reader.get("k") is None
    assert redis.Redis.from_url(redis_server.url).exists("k") == 0  # Redis's own TTL
    writer.close()
    reader.close()


def test_redis_outage_falls_back_without_failing_and_recovers(redis_server: RedisServer) -> None:
    cache = RedisCache(redis_server.url, retry_after=0.2)
    cache.set("before", "1")
    redis_server.kill()  # mid-run crash

    cache.set("during", "2")  # no exception
    assert cache.degraded
    assert cache.get("during") == "2"  # served by the in-process tier
    assert cache.get("before") == "1"
    assert cache.get("unknown") is None
    assert cache.failures >= 1

    redis_server.start()  # same port, empty (no persistence)
    time.sleep(0.25)  # past retry_after: the next call tries Redis again
    cache.set("after", "3")
    assert not cache.degraded
    other = RedisCache(redis_server.url)
    assert other.get("after") == "3"  # written to the recovered Redis
    cache.close()
    other.close()


def test_slow_redis_counts_as_down(redis_server: RedisServer) -> None:
    cache = RedisCache(redis_server.url, timeout=0.05, retry_after=5)
    admin = redis.Redis.from_url(redis_server.url)
    admin.execute_command("CLIENT", "PAUSE", "1500", "ALL")
    try:
        assert cache.get("k") is None  # times out instead of waiting 1.5 s
        assert cache.degraded
        cache.set("k", "v")  # skipped for Redis while degraded, kept locally
        assert cache.get("k") == "v"
    finally:
        admin.execute_command("CLIENT", "UNPAUSE")
    assert cache.ping()  # a probe ends the outage early
    assert not cache.degraded
    cache.close()


async def test_redis_cache_async_hit_miss_and_outage(redis_server: RedisServer) -> None:
    writer, reader = RedisCache(redis_server.url), RedisCache(redis_server.url, retry_after=0.2)
    assert await reader.aget("k") is None
    await writer.aset("k", "v")
    assert await reader.aget("k") == "v"
    redis_server.kill()
    await reader.aset("x", "y")
    assert reader.degraded
    assert await reader.aget("x") == "y"
    assert await reader.aget("nothing") is None
    redis_server.start()
    time.sleep(0.25)
    await reader.aset("z", "w")
    assert not reader.degraded
    assert writer.get("z") == "w"
    await writer.aclose()
    await reader.aclose()
    writer.close()
    reader.close()


# --------------------------------------------------------------------------- Redis Cluster


def test_a_cluster_cache_spreads_keys_over_the_nodes_and_shares_them(
    redis_cluster: RedisCluster,
) -> None:
    writer = RedisCache(redis_cluster.url, cluster=True)
    reader = RedisCache(redis_cluster.url, cluster=True)
    keys = [cache_key("score", "EMAIL", "m", f"value-{i}") for i in range(60)]
    for index, key in enumerate(keys):
        writer.set(key, f"0.{index:02d}")

    assert [reader.get(key) for key in keys] == [f"0.{i:02d}" for i in range(60)]
    per_node = [redis.Redis(port=node.port).dbsize() for node in redis_cluster.nodes]
    assert all(count > 0 for count in per_node) and sum(per_node) == 60
    assert writer.failures == reader.failures == 0
    writer.close()
    reader.close()


async def test_a_cluster_cache_async(redis_cluster: RedisCluster) -> None:
    writer = RedisCache(redis_cluster.url, cluster=True)
    reader = RedisCache(redis_cluster.url, cluster=True)
    keys = [f"async-{i}" for i in range(20)]
    for key in keys:
        await writer.aset(key, key.upper())

    assert [await reader.aget(key) for key in keys] == [k.upper() for k in keys]
    assert writer.failures == reader.failures == 0
    await writer.aclose()
    await reader.aclose()


def test_a_dead_cluster_node_falls_back_to_the_local_tier(redis_cluster: RedisCluster) -> None:
    cache = RedisCache(redis_cluster.url, cluster=True, retry_after=60)
    keys = [f"k{i}" for i in range(30)]
    for key in keys:
        cache.set(key, "v")
    redis_cluster.kill(1)

    fresh = RedisCache(redis_cluster.url, cluster=True, retry_after=60)
    assert [fresh.get(key) for key in keys].count("v") < len(keys)  # a third is gone
    assert fresh.failures >= 1 and fresh.degraded
    assert [cache.get(key) for key in keys] == ["v"] * len(keys)  # the local tier answers
    cache.set("after", "x")  # no exception, kept locally
    assert cache.get("after") == "x"
    cache.close()
    fresh.close()


def test_the_cluster_switch_comes_from_the_environment(redis_cluster: RedisCluster) -> None:
    environ = {"TSZ_REDIS_URL": redis_cluster.url, "TSZ_REDIS_CLUSTER": "true"}
    cache = cache_from_settings(Settings.from_env(environ))
    assert isinstance(cache, RedisCache) and cache.cluster
    cache.set("from-env", "1")
    assert RedisCache(redis_cluster.url, cluster=True).get("from-env") == "1"
    cache.close()
