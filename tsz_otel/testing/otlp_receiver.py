"""A real OTLP/HTTP receiver on 127.0.0.1, for tests, examples and benchmarks.

It accepts what an OpenTelemetry SDK exporter sends (``POST /v1/traces``,
``/v1/metrics``, ``/v1/logs``; protobuf or JSON bodies; gzip/deflate encoding), decodes
them with ``opentelemetry-proto`` and keeps both the decoded requests and the raw bytes,
so a test can assert on spans *and* prove that some string never left the process::

    from tsz_otel.testing.otlp_receiver import OtlpReceiver

    with OtlpReceiver() as receiver:
        exporter = OTLPSpanExporter(endpoint=receiver.traces_url)
        ...                                   # produce and flush spans
        (span,) = receiver.wait_for_spans(1)
        assert span.name == "apply_guardrail tsz llm_input"
        assert b"4111 1111" not in receiver.raw_bytes()

``receiver.endpoint`` is the base URL to put in ``OTEL_EXPORTER_OTLP_ENDPOINT`` (a child
process then exports to ``{endpoint}/v1/traces``). ``respond_with(503, times=2)`` makes
the next requests fail, to test exporter retries and fail-open paths. The pytest fixture
``otlp_receiver`` (``tests/conftest.py``) yields a started receiver and stops it.

Requires the ``otlp`` extra (``opentelemetry-proto``). Binds to 127.0.0.1 only.
"""

from __future__ import annotations

import gzip
import json
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final

from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from ._managed import Managed

__all__ = [
    "OtlpReceiver",
    "ReceivedEvent",
    "ReceivedLink",
    "ReceivedMetric",
    "ReceivedPoint",
    "ReceivedRequest",
    "ReceivedSpan",
    "attributes_to_dict",
]

TRACES_PATH: Final = "/v1/traces"
METRICS_PATH: Final = "/v1/metrics"
LOGS_PATH: Final = "/v1/logs"

_SPAN_KINDS: Final = {
    0: "UNSPECIFIED",
    1: "INTERNAL",
    2: "SERVER",
    3: "CLIENT",
    4: "PRODUCER",
    5: "CONSUMER",
}
_STATUS_CODES: Final = {0: "UNSET", 1: "OK", 2: "ERROR"}

# path -> (request class, response class)
_ROUTES: Final[dict[str, tuple[type[Message], type[Message]]]] = {
    TRACES_PATH: (ExportTraceServiceRequest, ExportTraceServiceResponse),
    METRICS_PATH: (ExportMetricsServiceRequest, ExportMetricsServiceResponse),
    LOGS_PATH: (ExportLogsServiceRequest, ExportLogsServiceResponse),
}
_DECOMPRESS: Final[dict[str, Callable[[bytes], bytes]]] = {
    "gzip": gzip.decompress,
    "deflate": zlib.decompress,
    "identity": lambda body: body,
    "": lambda body: body,
}


def _any_value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [_any_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return attributes_to_dict(value.kvlist_value.values)
    return getattr(value, kind)


def attributes_to_dict(attributes: Iterator[KeyValue] | Any) -> dict[str, Any]:
    """OTLP ``KeyValue`` list -> plain dict (arrays become lists)."""
    return {kv.key: _any_value(kv.value) for kv in attributes}


@dataclass(frozen=True, slots=True)
class ReceivedRequest:
    """One export request as received: path, headers, decompressed body."""

    path: str
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True, slots=True)
class ReceivedEvent:
    name: str
    attributes: dict[str, Any]
    time_unix_nano: int


@dataclass(frozen=True, slots=True)
class ReceivedLink:
    trace_id: str
    span_id: str
    attributes: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ReceivedSpan:
    """A decoded span. Ids are lowercase hex; ``parent_span_id`` is ``""`` for roots;
    ``kind`` is ``INTERNAL``/``CLIENT``/...; ``status_code`` ``UNSET``/``OK``/``ERROR``."""

    name: str
    kind: str
    trace_id: str
    span_id: str
    parent_span_id: str
    attributes: dict[str, Any]
    events: list[ReceivedEvent]
    links: list[ReceivedLink]
    status_code: str
    status_message: str
    start_time_unix_nano: int
    end_time_unix_nano: int
    resource: dict[str, Any]
    scope_name: str
    scope_version: str

    def events_named(self, name: str) -> list[ReceivedEvent]:
        return [event for event in self.events if event.name == name]


@dataclass(frozen=True, slots=True)
class ReceivedPoint:
    """One metric data point: ``value`` for sums/gauges, ``count``/``sum`` for histograms."""

    attributes: dict[str, Any]
    value: float | None = None
    count: int | None = None
    sum: float | None = None
    bucket_counts: tuple[int, ...] = ()
    explicit_bounds: tuple[float, ...] = ()


@dataclass(frozen=True, slots=True)
class ReceivedMetric:
    name: str
    unit: str
    kind: str
    points: list[ReceivedPoint] = field(default_factory=list)
    scope_name: str = ""


def _spans_of(request: ExportTraceServiceRequest) -> Iterator[ReceivedSpan]:
    for resource_spans in request.resource_spans:
        resource = attributes_to_dict(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                yield ReceivedSpan(
                    name=span.name,
                    kind=_SPAN_KINDS.get(span.kind, str(span.kind)),
                    trace_id=span.trace_id.hex(),
                    span_id=span.span_id.hex(),
                    parent_span_id=span.parent_span_id.hex(),
                    attributes=attributes_to_dict(span.attributes),
                    events=[
                        ReceivedEvent(e.name, attributes_to_dict(e.attributes), e.time_unix_nano)
                        for e in span.events
                    ],
                    links=[
                        ReceivedLink(
                            link.trace_id.hex(),
                            link.span_id.hex(),
                            attributes_to_dict(link.attributes),
                        )
                        for link in span.links
                    ],
                    status_code=_STATUS_CODES.get(span.status.code, str(span.status.code)),
                    status_message=span.status.message,
                    start_time_unix_nano=span.start_time_unix_nano,
                    end_time_unix_nano=span.end_time_unix_nano,
                    resource=resource,
                    scope_name=scope_spans.scope.name,
                    scope_version=scope_spans.scope.version,
                )


def _number(point: Any) -> float:
    kind = point.WhichOneof("value")
    return float(getattr(point, kind)) if kind else 0.0


def _metric_points(metric: Any) -> tuple[str, list[ReceivedPoint]]:
    kind = metric.WhichOneof("data") or ""
    data = getattr(metric, kind) if kind else None
    points: list[ReceivedPoint] = []
    if data is None:
        return kind, points
    for point in data.data_points:
        attributes = attributes_to_dict(point.attributes)
        if kind in ("sum", "gauge"):
            points.append(ReceivedPoint(attributes, value=_number(point)))
        elif kind == "histogram":
            points.append(
                ReceivedPoint(
                    attributes,
                    count=point.count,
                    sum=point.sum,
                    bucket_counts=tuple(point.bucket_counts),
                    explicit_bounds=tuple(point.explicit_bounds),
                )
            )
        else:
            points.append(ReceivedPoint(attributes, count=getattr(point, "count", None)))
    return kind, points


def _metrics_of(request: ExportMetricsServiceRequest) -> Iterator[ReceivedMetric]:
    for resource_metrics in request.resource_metrics:
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                kind, points = _metric_points(metric)
                yield ReceivedMetric(
                    metric.name, metric.unit, kind, points, scope_metrics.scope.name
                )


class _Handler(BaseHTTPRequestHandler):
    """Decodes one export request and hands it to the owning receiver."""

    protocol_version = "HTTP/1.1"
    receiver: OtlpReceiver  # set on the per-receiver subclass

    def do_POST(self) -> None:
        route = _ROUTES.get(self.path.split("?", 1)[0])
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if route is None:
            self._reply(404, b"", "text/plain")
            return
        encoding = (self.headers.get("Content-Encoding") or "").strip().lower()
        decompress = _DECOMPRESS.get(encoding)
        if decompress is None:
            self._reply(415, b"unsupported content-encoding", "text/plain")
            return
        try:
            raw = decompress(body)
            message = self._decode(route[0], raw)
        except (DecodeError, json_format.ParseError, OSError, zlib.error, ValueError):
            self._reply(400, b"undecodable OTLP body", "text/plain")
            return
        status = self.receiver._accept(self.path, dict(self.headers.items()), raw, message)
        if status != 200:
            self._reply(status, b"", "text/plain")
            return
        self._reply(200, route[1]().SerializeToString(), "application/x-protobuf")

    def _decode(self, cls: type[Message], raw: bytes) -> Message:
        message = cls()
        if "json" in (self.headers.get("Content-Type") or ""):
            json_format.Parse(raw.decode("utf-8"), message)
        else:
            message.ParseFromString(raw)
        return message

    def _reply(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Silence per-request logging on stderr."""


class OtlpReceiver(Managed):
    """An OTLP/HTTP receiver in a background thread (see the module docstring).

    Thread-safe: the server thread appends, tests read through the accessor methods,
    which return copies.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the test receiver binds to a loopback address only")
        self._host = host
        self._port = port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._changed = threading.Condition()
        self._requests: list[ReceivedRequest] = []
        self._traces: list[ExportTraceServiceRequest] = []
        self._metrics: list[ExportMetricsServiceRequest] = []
        self._logs: list[ExportLogsServiceRequest] = []
        self._failures: list[int] = []

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> OtlpReceiver:
        if self._server is not None:
            return self
        handler = type("_BoundHandler", (_Handler,), {"receiver": self})
        server = ThreadingHTTPServer((self._host, self._port), handler)
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="otlp-receiver",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    # -- addresses ----------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("receiver is not started")
        return int(self._server.server_address[1])

    @property
    def endpoint(self) -> str:
        """Base URL, for ``OTEL_EXPORTER_OTLP_ENDPOINT``."""
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self.port}"

    @property
    def traces_url(self) -> str:
        return self.endpoint + TRACES_PATH

    @property
    def metrics_url(self) -> str:
        return self.endpoint + METRICS_PATH

    @property
    def logs_url(self) -> str:
        return self.endpoint + LOGS_PATH

    # -- failure injection --------------------------------------------------------------

    def respond_with(self, status: int, times: int = 1) -> None:
        """Answer the next ``times`` export requests with ``status`` (and store nothing)."""
        with self._changed:
            self._failures.extend([status] * times)

    # -- called by the handler ----------------------------------------------------------

    def _accept(self, path: str, headers: dict[str, str], raw: bytes, message: Message) -> int:
        with self._changed:
            if self._failures:
                return self._failures.pop(0)
            self._requests.append(ReceivedRequest(path, headers, raw))
            if isinstance(message, ExportTraceServiceRequest):
                self._traces.append(message)
            elif isinstance(message, ExportMetricsServiceRequest):
                self._metrics.append(message)
            elif isinstance(message, ExportLogsServiceRequest):
                self._logs.append(message)
            self._changed.notify_all()
        return 200

    # -- reading ------------------------------------------------------------------------

    @property
    def requests(self) -> list[ReceivedRequest]:
        with self._changed:
            return list(self._requests)

    def raw_bytes(self) -> bytes:
        """Every decompressed body received so far, concatenated (for leak checks)."""
        with self._changed:
            return b"".join(r.body for r in self._requests)

    def decoded_text(self) -> str:
        """Every received message as protobuf JSON text (strings unescaped), concatenated.

        Complements :meth:`raw_bytes` for leak checks: it shows strings the way a backend
        would display them.
        """
        with self._changed:
            messages: list[Message] = [*self._traces, *self._metrics, *self._logs]
        return "\n".join(
            json.dumps(json_format.MessageToDict(m), ensure_ascii=False) for m in messages
        )

    @property
    def trace_requests(self) -> list[ExportTraceServiceRequest]:
        with self._changed:
            return list(self._traces)

    @property
    def metric_requests(self) -> list[ExportMetricsServiceRequest]:
        with self._changed:
            return list(self._metrics)

    @property
    def log_requests(self) -> list[ExportLogsServiceRequest]:
        with self._changed:
            return list(self._logs)

    def spans(self) -> list[ReceivedSpan]:
        """Every span received so far, in arrival order."""
        return [span for request in self.trace_requests for span in _spans_of(request)]

    def metrics(self) -> list[ReceivedMetric]:
        """Every metric received so far (one entry per metric per export)."""
        return [metric for request in self.metric_requests for metric in _metrics_of(request)]

    def latest_metric(self, name: str) -> ReceivedMetric | None:
        """The most recent export of metric ``name`` (cumulative temporality: the total)."""
        found = [m for m in self.metrics() if m.name == name]
        return found[-1] if found else None

    def wait_for_spans(
        self,
        count: int = 1,
        timeout: float = 10.0,
        predicate: Callable[[ReceivedSpan], bool] | None = None,
    ) -> list[ReceivedSpan]:
        """Block until ``count`` spans (matching ``predicate``) arrived; return them.

        Raises ``TimeoutError`` naming how many arrived, so a failing test says why.
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                spans = [
                    span
                    for request in self._traces
                    for span in _spans_of(request)
                    if predicate is None or predicate(span)
                ]
                if len(spans) >= count:
                    return spans
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"expected {count} spans, received {len(spans)}")
                self._changed.wait(remaining)

    def wait_for_metric(self, name: str, timeout: float = 10.0) -> ReceivedMetric:
        """Block until metric ``name`` arrived; return its latest export."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [
                    m for request in self._metrics for m in _metrics_of(request) if m.name == name
                ]
                if found:
                    return found[-1]
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"metric {name!r} not received")
                self._changed.wait(remaining)

    def clear(self) -> None:
        with self._changed:
            self._requests.clear()
            self._traces.clear()
            self._metrics.clear()
            self._logs.clear()
