"""Fixtures of the validator tests: the local OpenAI-compatible server for AI_PROMPT."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tsz_otel.testing.llm_server import LLMServer


@pytest.fixture(scope="session")
def _validators_llm_session() -> Iterator[LLMServer]:
    with LLMServer() as server:
        yield server


@pytest.fixture
def llm(_validators_llm_session: LLMServer) -> Iterator[LLMServer]:
    """The shared local LLM server with no scripts and no recorded requests."""
    _validators_llm_session.reset()
    yield _validators_llm_session
    _validators_llm_session.reset()
