"""RemoteEngine.detect / adetect against the local TSZ-compatible server."""

from __future__ import annotations

import json
import re

import httpx
import pytest
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.sdk.trace import TracerProvider

from tsz_otel import (
    ConfigurationError,
    DetectRequest,
    DetectResponse,
    RemoteBadRequestError,
    RemoteProtocolError,
    RemoteStatusError,
    RemoteUnavailableError,
    Settings,
)
from tsz_otel.remote import RemoteEngine, engine_from_settings
from tsz_otel.testing.tsz_server import TszTestServer

PLACEHOLDER = re.compile(r"\[RID-7_EMAIL_[0-9a-f]{16}\]")


def test_detect_returns_the_servers_json_as_a_detect_response(
    tsz: TszTestServer, remote: RemoteEngine
) -> None:
    text = "Send me all emails including john@example.com"
    response = remote.detect(text, rid="RID-7")
    (email,) = response.detections
    assert email.type == "EMAIL" and email.value == "john@example.com"
    assert PLACEHOLDER.fullmatch(email.placeholder)
    assert (email.start, email.end) == (29, 45)
    assert email.confidence_score == 0.60
    assert response.redacted_text == "Send me all emails including " + email.placeholder
    assert response.breakdown == {"EMAIL": 1} and response.contains_pii
    assert not response.blocked
    # what we parsed serialises back to exactly what the server sent
    served = tsz.requests[-1]
    assert served.method == "POST" and served.path == "/detect"
    assert served.json == {"text": text, "rid": "RID-7"}


def test_byte_offsets_become_char_offsets_and_actions_are_filled(remote: RemoteEngine) -> None:
    text = "Müller → mail joerg@example.com"
    (email,) = remote.detect(text).detections
    assert email.end - email.start == len("joerg@example.com")
    assert email.char_start is not None and email.char_end is not None
    assert text[email.char_start : email.char_end] == "joerg@example.com"
    assert email.start != email.char_start  # the prefix is not ASCII
    assert email.action == "MASK"
    assert email.placeholder.startswith("[EMAIL_")  # no rid: no rid prefix


def test_wire_json_is_preserved(tsz: TszTestServer) -> None:
    raw = httpx.post(tsz.url + "/detect", json={"text": "ssn 123-45-6789", "rid": "R"}).content
    parsed = DetectResponse.model_validate_json(raw)
    assert json.loads(parsed.model_dump_json()) == json.loads(raw)


def test_guardrails_expected_format_and_mode_reach_the_server(remote: RemoteEngine) -> None:
    response = remote.detect("not json", guardrails=["JSON"], rid="R1")
    assert response.blocked
    assert [(v.name, v.passed, v.confidence_score) for v in response.validator_results] == [
        ("JSON", False, 0.9)
    ]
    assert response.message == "Content blocked by security policy: JSON"
    unknown = remote.detect("hello", expected_format="FREE_TEXT")
    assert unknown.blocked
    assert unknown.message == "Error in guardrail 'FREE_TEXT': validator not found: FREE_TEXT"
    by_mode = remote.detect("mail a@b.co", mode="block")
    assert by_mode.blocked and by_mode.message == "PII detected, request blocked by mode."


async def test_adetect_mirrors_detect(tsz: TszTestServer, remote: RemoteEngine) -> None:
    response = await remote.adetect("key AKIAABCDEFGHIJKLMNOP here", rid="RID-A")
    (key,) = response.detections
    assert key.type == "AWS_ACCESS_KEY" and key.confidence_score == 0.70
    assert key.char_start == 4
    assert tsz.requests[-1].json == {"text": "key AKIAABCDEFGHIJKLMNOP here", "rid": "RID-A"}
    assert await remote.ahealthz() and await remote.aready()
    await remote.aclose()


@pytest.mark.parametrize("is_async", [False, True])
async def test_traceparent_is_propagated(
    tsz: TszTestServer, remote: RemoteEngine, is_async: bool
) -> None:
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("caller") as span:
        if is_async:
            await remote.adetect("hello")
        else:
            remote.detect("hello")
        context = span.get_span_context()
    header = tsz.requests[-1].headers["traceparent"]
    version, trace_id, parent_id, flags = header.split("-")
    assert version == "00" and int(flags, 16) & 1  # sampled
    assert trace_id == f"{context.trace_id:032x}"
    assert parent_id == f"{context.span_id:016x}"
    await remote.aclose()


def test_calls_run_with_instrumentation_suppressed(tsz: TszTestServer) -> None:
    seen: list[bool] = []

    class Recording(httpx.HTTPTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            seen.append(is_instrumentation_enabled())
            return super().handle_request(request)

    with RemoteEngine(tsz.url, transport=Recording()) as engine:
        engine.detect("hello")
    assert seen == [False]
    assert is_instrumentation_enabled()


def test_server_errors_map_to_status_errors_without_the_body(
    tsz: TszTestServer, remote: RemoteEngine
) -> None:
    tsz.fail("/detect", 500, body=b"db error near 'john@example.com'")
    with pytest.raises(RemoteStatusError) as caught:
        remote.detect("john@example.com")
    assert caught.value.status_code == 500
    assert "john" not in str(caught.value)
    assert b"john@example.com" in caught.value.body
    assert "/detect" in str(caught.value)


def test_rejected_requests_are_bad_request_errors(remote: RemoteEngine) -> None:
    with pytest.raises(RemoteBadRequestError) as caught:
        remote.detect("")  # TSZ: "Text field is required"
    assert caught.value.status_code == 400


def test_slow_and_unreachable_servers_are_unavailable(tsz: TszTestServer) -> None:
    tsz.fail("/detect", None, delay=1.0)  # answers, but too late
    with RemoteEngine(tsz.url, timeout=0.2) as engine, pytest.raises(RemoteUnavailableError):
        engine.detect("hello")
    with RemoteEngine("127.0.0.1:9", timeout=0.5) as engine:
        with pytest.raises(RemoteUnavailableError, match="unreachable"):
            engine.detect("hello")
        assert not engine.healthz() and not engine.ready()


async def test_async_errors_map_the_same_way(tsz: TszTestServer, remote: RemoteEngine) -> None:
    tsz.fail("/detect", 503)
    with pytest.raises(RemoteStatusError):
        await remote.adetect("hello")
    tsz.fail("/detect", 200, body=b"<html>proxy page</html>")
    with pytest.raises(RemoteProtocolError):
        await remote.adetect("hello")
    await remote.aclose()


def test_a_non_json_success_is_a_protocol_error(tsz: TszTestServer, remote: RemoteEngine) -> None:
    tsz.fail("/detect", 200, body=b"<html>login</html>")
    with pytest.raises(RemoteProtocolError):
        remote.detect("hello")


def test_settings_select_the_remote_engine(tsz: TszTestServer) -> None:
    settings = Settings.from_env(
        {"TSZ_ENGINE": "remote", "TSZ_BASE_URL": tsz.url, "TSZ_REMOTE_TIMEOUT": "1.5",
         "TSZ_ADMIN_KEY": "test-admin-key"}
    )  # fmt: skip
    engine = engine_from_settings(settings)
    assert isinstance(engine, RemoteEngine)
    assert engine.timeout == 1.5 and engine.admin_key == "test-admin-key"
    engine.reload()
    assert tsz.reloads == 1
    engine.close()
    with pytest.raises(ConfigurationError, match="TSZ_BASE_URL"):
        engine_from_settings(Settings(engine="remote"))


def test_a_server_answering_with_the_inline_engine_gives_identical_json() -> None:
    from tsz_otel.engine import Engine

    engine = engine_from_settings(Settings())
    assert isinstance(engine, Engine)

    def inline(request: DetectRequest) -> DetectResponse:
        return engine.detect(
            request.text,
            rid=request.rid,
            guardrails=request.guardrails or (),
            mode=request.mode,
            expected_format=request.expected_format,
        )

    text = "Kontakt: jörg@example.com, Karte 4111 1111 1111 1111"
    with TszTestServer(detector=inline) as server, RemoteEngine(server.url) as remote:
        via_http = remote.detect(text, rid="RID-9", guardrails=["NO_PII"])
    local = engine.detect(text, rid="RID-9", guardrails=["NO_PII"])
    assert via_http.model_dump_json() == local.model_dump_json()
    assert [(d.char_start, d.char_end, d.action) for d in via_http.detections] == [
        (d.char_start, d.char_end, d.action) for d in local.detections
    ]


def test_a_lone_surrogate_is_sent_as_a_replacement_character(
    tsz: TszTestServer, remote: RemoteEngine
) -> None:
    text = "\ud800 mail john@example.com"

    (email,) = remote.detect(text).detections

    assert tsz.requests[-1].json == {"text": "\ufffd mail john@example.com"}
    assert (email.start, email.end) == (9, 25)  # U+FFFD and the surrogate: 3 bytes each
    assert email.char_start is not None and email.char_end is not None
    assert text[email.char_start : email.char_end] == "john@example.com"
