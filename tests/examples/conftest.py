"""Fixtures of the example tests: a local OpenAI-compatible server per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tsz_otel.testing.llm_server import LLMServer


@pytest.fixture
def llm_server() -> Iterator[LLMServer]:
    """A started local LLM server on 127.0.0.1 (random port); it echoes unless scripted."""
    with LLMServer() as server:
        yield server
