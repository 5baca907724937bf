"""The shipped OTLP/HTTP test receiver: decoding, encodings, errors, failure injection."""

from __future__ import annotations

import gzip

import httpx
import pytest
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

from tsz_otel.testing.otlp_receiver import OtlpReceiver


def _request(name: str = "s1") -> ExportTraceServiceRequest:
    span = Span(
        name=name,
        kind=Span.SPAN_KIND_CLIENT,
        trace_id=bytes(range(16)),
        span_id=bytes(range(8)),
        attributes=[
            KeyValue(key="k", value=AnyValue(string_value="v")),
            KeyValue(key="n", value=AnyValue(int_value=3)),
        ],
    )
    return ExportTraceServiceRequest(
        resource_spans=[ResourceSpans(scope_spans=[ScopeSpans(spans=[span])])]
    )


def test_protobuf_gzip_and_json_bodies_are_decoded(otlp_receiver: OtlpReceiver) -> None:
    body = _request("proto").SerializeToString()
    with httpx.Client() as client:
        plain = client.post(
            otlp_receiver.traces_url,
            content=body,
            headers={"Content-Type": "application/x-protobuf"},
        )
        zipped = client.post(
            otlp_receiver.traces_url,
            content=gzip.compress(_request("gzip").SerializeToString()),
            headers={"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"},
        )
        as_json = client.post(
            otlp_receiver.traces_url,
            content=json_format.MessageToJson(_request("json")),
            headers={"Content-Type": "application/json"},
        )
    assert (plain.status_code, zipped.status_code, as_json.status_code) == (200, 200, 200)
    spans = otlp_receiver.wait_for_spans(3)
    assert [s.name for s in spans] == ["proto", "gzip", "json"]
    assert spans[0].kind == "CLIENT"
    assert spans[0].trace_id == bytes(range(16)).hex()
    assert spans[0].attributes == {"k": "v", "n": 3}
    assert b"gzip" in otlp_receiver.raw_bytes()  # stored decompressed


def test_errors_and_failure_injection(otlp_receiver: OtlpReceiver) -> None:
    with httpx.Client() as client:
        assert client.post(otlp_receiver.endpoint + "/v1/other", content=b"").status_code == 404
        assert client.post(otlp_receiver.traces_url, content=b"\xff\x00garbage").status_code == 400
        otlp_receiver.respond_with(503, times=1)
        body = _request().SerializeToString()
        assert client.post(otlp_receiver.traces_url, content=body).status_code == 503
        assert client.post(otlp_receiver.traces_url, content=body).status_code == 200
    assert len(otlp_receiver.spans()) == 1
    otlp_receiver.clear()
    assert otlp_receiver.spans() == []


def test_wait_times_out_with_a_count() -> None:
    with OtlpReceiver() as receiver, pytest.raises(TimeoutError, match="received 0"):
        receiver.wait_for_spans(1, timeout=0.05)


def test_only_loopback_addresses() -> None:
    with pytest.raises(ValueError, match="loopback"):
        OtlpReceiver(host="0.0.0.0")
