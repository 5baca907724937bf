"""Session fixtures for the docker/ stack tests: the main files, parsed once."""

from __future__ import annotations

from typing import Any

import pytest
from stack_files import COLLECTOR, DOCKER, load_yaml


@pytest.fixture(scope="session")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = load_yaml(DOCKER / "compose.yaml")
    return data


@pytest.fixture(scope="session")
def stack_collector() -> dict[str, Any]:
    data: dict[str, Any] = load_yaml(COLLECTOR / "config.yaml")
    return data
