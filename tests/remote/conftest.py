"""Fixtures of the remote-backend tests: a local TSZ-compatible server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tsz_otel.remote import RemoteEngine
from tsz_otel.testing.tsz_server import TszTestServer

ADMIN_KEY = "test-admin-key"


@pytest.fixture
def tsz() -> Iterator[TszTestServer]:
    """A fresh TSZ test server per test (its stored patterns are part of the test)."""
    with TszTestServer(admin_key=ADMIN_KEY) as server:
        yield server


@pytest.fixture
def remote(tsz: TszTestServer) -> Iterator[RemoteEngine]:
    with RemoteEngine(tsz.url, timeout=2.0, admin_key=ADMIN_KEY) as engine:
        yield engine
