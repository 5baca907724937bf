"""Fixtures for the detection-engine tests (helpers and samples: ``engine_samples``)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from engine_samples import make_settings

from tsz_otel import Engine


@pytest.fixture
def engine_factory() -> Callable[..., Engine]:
    def make(**overrides: object) -> Engine:
        return Engine(make_settings(**overrides))

    return make


@pytest.fixture
def engine() -> Engine:
    return Engine(make_settings())
