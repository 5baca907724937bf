"""setup_telemetry: OTLP endpoint rules (base URL vs signal URL) and the console fallback."""

from __future__ import annotations

import io
import json

import pytest

from tsz_otel import Settings, setup_telemetry
from tsz_otel.telemetry import metrics_endpoint, traces_endpoint
from tsz_otel.testing.otlp_receiver import OtlpReceiver


@pytest.mark.parametrize(
    ("env", "traces", "metrics"),
    [
        ({}, None, None),
        (
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"},
            "http://collector:4318/v1/traces",
            "http://collector:4318/v1/metrics",
        ),
        (
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318/prefix/"},
            "http://collector:4318/prefix/v1/traces",
            "http://collector:4318/prefix/v1/metrics",
        ),
        (
            {
                "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318",
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://traces:9999/custom",
            },
            "http://traces:9999/custom",
            "http://collector:4318/v1/metrics",
        ),
    ],
)
def test_endpoint_rules(env: dict[str, str], traces: str | None, metrics: str | None) -> None:
    settings = Settings.from_env(env)
    assert traces_endpoint(settings) == traces
    assert metrics_endpoint(settings) == metrics


def test_console_fallback_prints_spans() -> None:
    out = io.StringIO()
    telemetry = setup_telemetry(
        Settings.from_env({}), service_name="unit", console_out=out, set_global=False
    )
    assert telemetry.traces_url is None and telemetry.meter_provider is None
    with telemetry.tracer_provider.get_tracer("t").start_as_current_span("hello"):
        pass
    telemetry.shutdown()
    span = json.loads(out.getvalue())
    assert span["name"] == "hello"
    assert span["resource"]["attributes"]["service.name"] == "unit"


def test_otlp_export_to_base_url(otlp_receiver: OtlpReceiver) -> None:
    settings = Settings.from_env(
        {"OTEL_EXPORTER_OTLP_ENDPOINT": otlp_receiver.endpoint, "OTEL_SERVICE_NAME": "svc"}
    )
    telemetry = setup_telemetry(settings, set_global=False, scrub=True)
    assert telemetry.traces_url == otlp_receiver.traces_url
    with telemetry.tracer_provider.get_tracer("t").start_as_current_span("over otlp") as span:
        span.set_attribute("note", "mail jane.doe@example.com")
    telemetry.shutdown()
    (received,) = otlp_receiver.wait_for_spans(1)
    assert received.name == "over otlp"
    assert received.resource["service.name"] == "svc"
    assert "jane.doe@example.com" not in received.attributes["note"]  # scrub=True
