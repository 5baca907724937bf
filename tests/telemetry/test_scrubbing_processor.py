"""ScrubbingSpanProcessor: what reaches the wrapped exporter, for each action and list."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode

from tsz_otel import DetectResponse, ScrubbingSpanProcessor, Settings

EMAIL = "jane.doe@example.com"
CARD = "4111 1111 1111 1111"
MESSAGES = f'[{{"role": "user", "content": "Mail {EMAIL} about card {CARD}"}}]'

Build = Callable[..., tuple[TracerProvider, InMemorySpanExporter]]


@pytest.fixture
def build(settings_for: Callable[..., Settings]) -> Iterator[Build]:
    providers: list[TracerProvider] = []

    def make(**options: Any) -> tuple[TracerProvider, InMemorySpanExporter]:
        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        options.setdefault("settings", settings_for())
        if options.pop("with_provider", False):
            options["tracer_provider"] = provider
        provider.add_span_processor(
            ScrubbingSpanProcessor(SimpleSpanProcessor(exporter), **options)
        )
        providers.append(provider)
        return provider, exporter

    yield make
    for provider in providers:
        provider.shutdown()


def _only(exporter: InMemorySpanExporter, name: str | None = None) -> ReadableSpan:
    spans = [s for s in exporter.get_finished_spans() if name is None or s.name == name]
    assert len(spans) == 1
    return spans[0]


def test_masks_values_in_attributes_events_status_and_name(build: Build) -> None:
    provider, exporter = build()
    tracer = provider.get_tracer("other-instrumentation")
    with tracer.start_as_current_span(f"lookup {EMAIL}") as span:
        span.set_attribute("gen_ai.input.messages", MESSAGES)
        span.set_attribute("http.url", f"https://api.example.org/users/{EMAIL}")
        span.set_attribute("gen_ai.request.model", "gpt-4o-mini")
        span.set_attribute("tags", ["plain", f"owner {EMAIL}"])
        span.set_attribute("retries", 3)
        span.add_event("note", {"detail": f"card {CARD} declined"})
        span.record_exception(ValueError(f"bad address {EMAIL}"))
        span.set_status(Status(StatusCode.ERROR, f"failed for {EMAIL}"))
    out = _only(exporter)
    dump = out.to_json()
    assert EMAIL not in dump
    assert CARD not in dump and CARD.replace(" ", "") not in dump
    attributes = dict(out.attributes or {})
    assert attributes["gen_ai.request.model"] == "gpt-4o-mini"
    assert attributes["retries"] == 3
    assert attributes["tags"][0] == "plain"
    assert attributes["http.url"].startswith("https://api.example.org/users/")
    assert attributes["tsz.scrub.count"] >= 6
    assert out.status.status_code is StatusCode.ERROR
    assert out.name.startswith("lookup ")
    exception = next(e for e in out.events if e.name == "exception")
    assert exception.attributes is not None
    assert exception.attributes["exception.type"] == "ValueError"
    assert "bad address" in str(exception.attributes["exception.message"])


def test_clean_spans_are_forwarded_untouched(build: Build) -> None:
    forwarded: list[ReadableSpan] = []

    class Capture(SimpleSpanProcessor):
        def on_end(self, span: ReadableSpan) -> None:
            forwarded.append(span)

    provider = TracerProvider()
    provider.add_span_processor(
        ScrubbingSpanProcessor(Capture(InMemorySpanExporter()), settings=Settings.from_env({}))
    )
    with provider.get_tracer("t").start_as_current_span("chat gpt-4o") as span:
        span.set_attribute("gen_ai.operation.name", "chat")
        span.set_attribute("gen_ai.usage.input_tokens", 12)
        span.set_attribute("note", "nothing sensitive here at all")
        original = span
    (out,) = forwarded
    assert "tsz.scrub.count" not in (out.attributes or {})
    assert out.context == original.get_span_context()
    assert dict(out.attributes or {})["note"] == "nothing sensitive here at all"


def test_hash_action_keeps_values_correlatable(build: Build) -> None:
    provider, exporter = build(action="hash")
    with provider.get_tracer("t").start_as_current_span("s") as span:
        span.set_attribute("a", f"from {EMAIL}")
        span.set_attribute("b", f"to {EMAIL}")
    attributes = dict(_only(exporter).attributes or {})
    digest = hashlib.sha256(EMAIL.encode()).hexdigest()
    assert attributes["a"] == f"from [EMAIL:sha256:{digest}]"
    assert attributes["b"] == f"to [EMAIL:sha256:{digest}]"


def test_drop_action_removes_attributes(build: Build) -> None:
    provider, exporter = build(action="drop")
    with provider.get_tracer("t").start_as_current_span("s") as span:
        span.set_attribute("a", f"from {EMAIL}")
        span.set_attribute("keep", "fine value")
        span.set_attribute("list", ["x", f"to {EMAIL}"])
    attributes = dict(_only(exporter).attributes or {})
    assert "a" not in attributes and "list" not in attributes
    assert attributes["keep"] == "fine value"


def test_allow_and_deny_lists(build: Build) -> None:
    provider, exporter = build(allow_keys=["debug.*"], deny_keys=["user.secret_note", "session.*"])
    with provider.get_tracer("t").start_as_current_span("s") as span:
        span.set_attribute("debug.payload", f"trusted {EMAIL}")
        span.set_attribute("user.secret_note", "no detectable value but private")
        span.set_attribute("session.token", "abc")
        span.set_attribute("other", f"x {EMAIL}")
    attributes = dict(_only(exporter).attributes or {})
    assert attributes["debug.payload"] == f"trusted {EMAIL}"  # allow-listed: not scanned
    assert attributes["user.secret_note"] == "[REDACTED]"
    assert attributes["session.token"] == "[REDACTED]"
    assert EMAIL not in attributes["other"]


def test_engine_failure_fails_closed(build: Build) -> None:
    class Broken:
        def detect(
            self,
            text: str,
            rid: str | None = None,
            guardrails: Sequence[str] = (),
            mode: str | None = None,
        ) -> DetectResponse:
            raise RuntimeError("boom")

        async def adetect(
            self,
            text: str,
            rid: str | None = None,
            guardrails: Sequence[str] = (),
            mode: str | None = None,
        ) -> DetectResponse:
            raise RuntimeError("boom")

    provider, exporter = build(engine=Broken())
    with provider.get_tracer("t").start_as_current_span("s") as span:
        span.set_attribute("payload", f"something {EMAIL}")
    attributes = dict(_only(exporter).attributes or {})
    assert attributes["payload"] == "[REDACTED]"


def test_own_guardrail_attributes_are_not_rescanned(build: Build) -> None:
    provider, exporter = build()
    with provider.get_tracer("t").start_as_current_span("apply_guardrail tsz llm_input") as span:
        span.set_attribute("gen_ai.security.decision.reason", "would mask: EMAIL")
        span.set_attribute("tsz.request_id", "RID-OTEL-12345678")
    out = _only(exporter)
    assert "tsz.scrub.count" not in (out.attributes or {})


def test_findings_from_other_instrumentations(build: Build) -> None:
    provider, exporter = build(emit_findings=True, with_provider=True)
    tracer = provider.get_tracer("openai-v2")
    with tracer.start_as_current_span("chat gpt-4o") as span:
        span.set_attribute("gen_ai.operation.name", "chat")
        span.set_attribute("gen_ai.input.messages", MESSAGES)
        chat_context = span.get_span_context()
    chat = _only(exporter, "chat gpt-4o")
    guard = _only(exporter, "apply_guardrail tsz llm_input")
    assert EMAIL not in chat.to_json() and EMAIL not in guard.to_json()
    assert guard.parent is not None and guard.parent.span_id == chat_context.span_id
    attributes = dict(guard.attributes or {})
    assert attributes["tsz.scan.source"] == "span_processor"
    assert attributes["gen_ai.security.decision.type"] == "warn"
    types = {(e.attributes or {}).get("tsz.finding.type") for e in guard.events}
    assert {"EMAIL", "CREDIT_CARD"} <= types
    segments = {(e.attributes or {}).get("tsz.finding.segment") for e in guard.events}
    assert segments == {"gen_ai.input.messages"}


def test_scrub_text_helper(settings_for: Callable[..., Settings]) -> None:
    processor = ScrubbingSpanProcessor(
        SimpleSpanProcessor(InMemorySpanExporter()), settings=settings_for()
    )
    scrubbed = processor.scrub_text(f"write to {EMAIL}")
    assert scrubbed is not None and EMAIL not in scrubbed
    assert processor.scrub_text("short") == "short"
    with pytest.raises(ValueError, match="action"):
        ScrubbingSpanProcessor(SimpleSpanProcessor(InMemorySpanExporter()), action="nuke")  # type: ignore[arg-type]


@pytest.mark.parametrize("action", ["mask", "hash", "drop"])
def test_bytes_attributes_are_scanned_as_text(build: Build, action: str) -> None:
    provider, exporter = build(action=action, deny_keys=["raw.secret"])
    binary = bytes(range(256))
    with provider.get_tracer("t").start_as_current_span("s") as span:
        span.set_attribute("http.request.body", f'{{"to": "{EMAIL}"}}'.encode())
        span.set_attribute("blob", binary)
        span.set_attribute("raw.secret", b"private")
    out = _only(exporter)
    attributes = dict(out.attributes or {})
    assert EMAIL not in repr(attributes)
    assert attributes["blob"] == binary  # nothing detected: forwarded as it came
    if action == "drop":
        assert "http.request.body" not in attributes and "raw.secret" not in attributes
    else:
        assert attributes["http.request.body"].startswith('{"to": "[EMAIL')
    if action == "hash":
        assert attributes["raw.secret"] == "sha256:" + hashlib.sha256(b"private").hexdigest()
