"""Optional one-call OpenTelemetry setup: OTLP/HTTP when configured, console otherwise.

tsz-otel works with whatever providers the application configures; this helper is for
scripts, examples and applications that have none::

    from tsz_otel.telemetry import setup_telemetry

    telemetry = setup_telemetry(service_name="my-app")   # reads Settings.from_env()
    ...
    telemetry.shutdown()                                  # flush before exit

Where spans go (the OpenTelemetry exporter specification's rules):

* ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` set: spans are POSTed to exactly that URL;
* else ``OTEL_EXPORTER_OTLP_ENDPOINT`` set: it is a **base URL**, and spans go to
  ``{base}/v1/traces`` (metrics to ``{base}/v1/metrics``); ``http://collector:4318``
  works as is, the seed example's mistake of needing ``/v1/traces`` in the base is gone;
* else (and ``console=True``): spans are printed to stdout as JSON, one per line group,
  in the order they end.

The OTLP/HTTP exporter is a base dependency. Headers, timeouts,
compression and certificates are left to the exporter's own ``OTEL_EXPORTER_OTLP_*``
variables. The service name is ``OTEL_SERVICE_NAME`` when set, else ``service_name``.
With ``scrub=True`` the export pipeline is wrapped in
:class:`~tsz_otel.processor.ScrubbingSpanProcessor`.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)

from .config import Settings
from .errors import ConfigurationError

if TYPE_CHECKING:
    from opentelemetry.sdk.metrics.export import MetricExporter

__all__ = ["Telemetry", "metrics_endpoint", "setup_telemetry", "traces_endpoint"]

_TRACES_PATH = "v1/traces"
_METRICS_PATH = "v1/metrics"
_OTLP_HINT = "OTLP export needs opentelemetry-exporter-otlp-proto-http (a dependency of tsz-otel)"


def _signal_url(base: str, path: str) -> str:
    return base + path if base.endswith("/") else f"{base}/{path}"


def traces_endpoint(settings: Settings) -> str | None:
    """The OTLP/HTTP traces URL the settings select, or ``None`` for no OTLP export."""
    if settings.otlp_traces_endpoint:
        return settings.otlp_traces_endpoint
    if settings.otlp_endpoint:
        return _signal_url(settings.otlp_endpoint, _TRACES_PATH)
    return None


def metrics_endpoint(settings: Settings) -> str | None:
    """The OTLP/HTTP metrics URL the settings select, or ``None``."""
    if settings.otlp_metrics_endpoint:
        return settings.otlp_metrics_endpoint
    if settings.otlp_endpoint:
        return _signal_url(settings.otlp_endpoint, _METRICS_PATH)
    return None


@dataclass(slots=True)
class Telemetry:
    """The providers :func:`setup_telemetry` built and where they export."""

    tracer_provider: TracerProvider
    meter_provider: MeterProvider | None
    traces_url: str | None
    metrics_url: str | None

    def force_flush(self, timeout_millis: int = 10_000) -> None:
        self.tracer_provider.force_flush(timeout_millis)
        if self.meter_provider is not None:
            self.meter_provider.force_flush(timeout_millis)

    def shutdown(self) -> None:
        """Flush and stop exporting (call before the process exits)."""
        self.tracer_provider.shutdown()
        if self.meter_provider is not None:
            self.meter_provider.shutdown()


def _otlp_span_exporter(url: str) -> SpanExporter:
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError as exc:
        raise ConfigurationError(_OTLP_HINT) from exc
    return OTLPSpanExporter(endpoint=url)


def _otlp_metric_exporter(url: str) -> MetricExporter:
    try:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    except ImportError as exc:
        raise ConfigurationError(_OTLP_HINT) from exc
    return OTLPMetricExporter(endpoint=url)


def _span_processor(url: str | None, out: TextIO) -> SpanProcessor:
    if url is not None:
        return BatchSpanProcessor(_otlp_span_exporter(url))
    return SimpleSpanProcessor(ConsoleSpanExporter(out=out))


def setup_telemetry(
    settings: Settings | None = None,
    *,
    service_name: str = "tsz-otel",
    console: bool = True,
    metrics_enabled: bool = True,
    scrub: bool = False,
    set_global: bool = True,
    console_out: TextIO | None = None,
    metric_interval_millis: int = 60_000,
) -> Telemetry:
    """Build tracer (and meter) providers per the module docstring.

    ``console=False`` exports nothing when no OTLP endpoint is set. Metrics are
    exported only over OTLP (``metrics_enabled=False`` turns them off). With
    ``set_global`` the providers become the global ones.
    """
    settings = settings if settings is not None else Settings.from_env()
    resource = Resource.create({SERVICE_NAME: settings.service_name or service_name})
    tracer_provider = TracerProvider(resource=resource)
    url = traces_endpoint(settings)
    if url is not None or console:
        processor = _span_processor(url, console_out or sys.stdout)
        if scrub:
            from .processor import ScrubbingSpanProcessor

            processor = ScrubbingSpanProcessor(processor, settings=settings)
        tracer_provider.add_span_processor(processor)
    meter_provider: MeterProvider | None = None
    metrics_url = metrics_endpoint(settings) if metrics_enabled else None
    if metrics_url is not None:
        reader = PeriodicExportingMetricReader(
            _otlp_metric_exporter(metrics_url), export_interval_millis=metric_interval_millis
        )
        meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
    if set_global:
        trace.set_tracer_provider(tracer_provider)
        if meter_provider is not None:
            metrics.set_meter_provider(meter_provider)
    return Telemetry(tracer_provider, meter_provider, url, metrics_url)
