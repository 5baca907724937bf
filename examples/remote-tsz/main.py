"""The chat app of the auto-instrument example, with a TSZ server as the detection backend.

``TSZ_ENGINE=remote`` and ``TSZ_BASE_URL`` make every guardrail check a ``POST /detect`` to
a TSZ (Thyris Safe Zone) server instead of the inline engine; everything else stays: the
rollout mode (``TSZ_MODE``), the ``apply_guardrail`` spans (now CLIENT spans with
``server.address``/``server.port``), masking and blocking. The W3C trace context goes
along, so the server's own spans join the caller's trace.

Offline by default: without ``TSZ_BASE_URL`` the app starts the local TSZ-compatible test
server, and without ``OPENAI_BASE_URL``/``OPENAI_API_KEY`` the local OpenAI-compatible
test server (both on 127.0.0.1, random ports).

Run: ``.venv/bin/python examples/remote-tsz/main.py`` (``TSZ_MODE=mask`` to mask).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence

import openai
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from tsz_otel_instrumentation.openai import TszOpenAIInstrumentor

from tsz_otel import GuardrailBlockedError, Settings, setup_telemetry
from tsz_otel.testing.llm_server import LLMServer
from tsz_otel.testing.tsz_server import TszTestServer

PROMPT = "Summarise my account. My card is 4111 1111 1111 1111 and my e-mail is jane@example.com."
MODEL = os.environ.get("OPENAI_MODEL", "gpt-4o-mini")


@contextlib.contextmanager
def tsz_server(configured: str | None) -> Iterator[tuple[str, TszTestServer | None]]:
    """Your TSZ server (``TSZ_BASE_URL``) when set, else a local TSZ-compatible test server."""
    if configured:
        yield configured, None
        return
    with TszTestServer() as server:
        yield server.url, server


@contextlib.contextmanager
def llm_client() -> Iterator[tuple[openai.OpenAI, LLMServer | None]]:
    """A real provider when ``OPENAI_BASE_URL``/``OPENAI_API_KEY`` are set, else the local
    OpenAI-compatible test server (it answers with the prompt it received)."""
    if os.environ.get("OPENAI_BASE_URL") or os.environ.get("OPENAI_API_KEY"):
        yield openai.OpenAI(), None
        return
    with (
        LLMServer() as server,
        openai.OpenAI(base_url=server.base_url, api_key="local-test-key") as client,
    ):
        yield client, server


def ask(client: openai.OpenAI) -> str:
    try:
        reply = client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": PROMPT}]
        )
    except GuardrailBlockedError as exc:  # block mode: nothing was sent
        return f"(blocked: {exc})"
    return str(reply.choices[0].message.content)


def describe(span: ReadableSpan) -> str:
    """Where a guardrail span's check ran and what it decided (no content, no values)."""
    attributes = span.attributes or {}
    server = f"{attributes.get('server.address')}:{attributes.get('server.port')}"
    return (
        f"{span.name}  {span.kind.name} -> {server}  "
        f"decision={attributes.get('gen_ai.security.decision.type')}  "
        f"findings={attributes.get('tsz.reasons') or '-'}"
    )


def tsz_saw(server: TszTestServer, spans: Sequence[ReadableSpan]) -> str:
    """What the local TSZ server received, and whether the calls carried our trace context."""
    calls = [r for r in server.requests if r.path == "/detect"]
    ours = {format(s.context.trace_id, "032x") for s in spans if s.context}
    # traceparent: version-traceid-spanid-flags
    seen = {r.headers.get("traceparent", "-").split("-")[1] for r in calls}
    return f"{len(calls)} x POST /detect, traceparent of this trace: {seen <= ours}"


def main() -> int:
    configured = Settings.from_env().base_url
    with tsz_server(configured) as (url, local_tsz), llm_client() as (client, local_llm):
        # the same as exporting TSZ_ENGINE=remote TSZ_BASE_URL=<url>
        settings = Settings.from_env(engine="remote", base_url=url)
        telemetry = setup_telemetry(settings, service_name="remote-tsz-demo", console=False)
        collected = InMemorySpanExporter()
        telemetry.tracer_provider.add_span_processor(SimpleSpanProcessor(collected))
        instrumentor = TszOpenAIInstrumentor()
        instrumentor.instrument(settings=settings, tracer_provider=telemetry.tracer_provider)

        print(f"TSZ server: {url}  (TSZ_MODE={settings.mode})")
        print(f"sent:       {PROMPT}")
        answer = ask(client)
        if local_llm is not None:
            received = [r.json["messages"][-1]["content"] for r in local_llm.requests]
            print(f"LLM got:    {received[-1] if received else '(nothing)'}")
        print(f"answer:     {answer}")

        instrumentor.force_flush()  # observe-mode checks run in the background
        spans = collected.get_finished_spans()
        for span in spans:
            if span.name.startswith("apply_guardrail"):
                print(f"guardrail:  {describe(span)}")
        if local_tsz is not None:
            print(f"TSZ saw:    {tsz_saw(local_tsz, spans)}")
        instrumentor.uninstrument()
        telemetry.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
