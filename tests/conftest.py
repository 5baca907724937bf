"""Fixtures shared by every test area. Area-specific fixtures live in the area's conftest."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tsz_otel.testing.otlp_receiver import OtlpReceiver


@pytest.fixture
def otlp_receiver() -> Iterator[OtlpReceiver]:
    """A started OTLP/HTTP receiver on 127.0.0.1 (random port), stopped after the test.

    Point an exporter at ``otlp_receiver.traces_url`` / ``.metrics_url``, or a child
    process at ``OTEL_EXPORTER_OTLP_ENDPOINT=otlp_receiver.endpoint``; read back with
    ``wait_for_spans``, ``spans()``, ``wait_for_metric`` and ``raw_bytes()``.
    """
    with OtlpReceiver() as receiver:
        yield receiver
