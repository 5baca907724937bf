"""Fixtures of the AI tests: the local OpenAI-compatible server and a real redis-server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tsz_otel.testing.llm_server import LLMServer
from tsz_otel.testing.redis_server import RedisCluster, RedisServer, redis_server_binary


@pytest.fixture(scope="session")
def _ai_llm_session() -> Iterator[LLMServer]:
    with LLMServer() as server:
        yield server


@pytest.fixture
def llm(_ai_llm_session: LLMServer) -> Iterator[LLMServer]:
    """The shared local LLM server with no scripts and no recorded requests."""
    _ai_llm_session.reset()
    yield _ai_llm_session
    _ai_llm_session.reset()


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A fresh redis-server on 127.0.0.1 (own port, temp dir, no persistence) per test.

    Per test, because tests kill it; starting one takes a few milliseconds.
    """
    if redis_server_binary() is None:
        pytest.fail("redis-server is not installed: run scripts/system-deps.sh (make system-deps)")
    with RedisServer() as server:
        yield server


@pytest.fixture
def redis_cluster() -> Iterator[RedisCluster]:
    """A fresh three-master Redis Cluster on 127.0.0.1 per test (tests kill nodes)."""
    if redis_server_binary() is None:
        pytest.fail("redis-server is not installed: run scripts/system-deps.sh (make system-deps)")
    with RedisCluster(3) as cluster:
        yield cluster
