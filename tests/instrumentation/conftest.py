"""Fixtures of the instrumentation tests: the local LLM server and real clients."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tsz_otel.testing.llm_server import LLMServer


@pytest.fixture(scope="session")
def _llm_server_session() -> Iterator[LLMServer]:
    with LLMServer() as server:
        yield server


@pytest.fixture
def llm_server(_llm_server_session: LLMServer) -> Iterator[LLMServer]:
    """The shared local LLM server, with no scripts and no recorded requests."""
    _llm_server_session.reset()
    yield _llm_server_session
    _llm_server_session.reset()
