"""The three stream modes side by side, on one answer with a card number split over chunks.

* ``final-only``: chunks reach the screen as they come; the whole answer is checked at
  the end (the guardrail span is a child of the LLM span).
* ``stream-sync``: only sanitised text reaches the screen; a hold-back buffer releases
  text only once no pattern can still extend it, so no digit of the card is ever shown.
  ``TSZ_STREAM_ON_FAIL=filter`` (default) puts a placeholder in its place and goes on;
  ``halt`` (with ``TSZ_MODE=block``) ends the stream with an error instead.
* ``stream-async``: the raw stream reaches the screen; the answer is checked in the
  background after it ended, in a span *linked* to the LLM span.

Rewriting needs ``TSZ_MODE=mask`` (or ``block``): in observe mode every stream mode
passes the text unchanged and only records. The stream mode is chosen per call with the
TSZ gateway header ``X-TSZ-Guardrails-Mode`` (``TSZ_STREAM_MODE`` sets the default).

Offline by default (the local OpenAI-compatible test server, scripted); a real provider
when ``OPENAI_BASE_URL``/``OPENAI_API_KEY`` are set. Spans go over OTLP when
``OTEL_EXPORTER_OTLP_ENDPOINT`` is set.

Run: ``TSZ_MODE=mask .venv/bin/python examples/streaming/main.py [MODE ...]``
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator, Sequence

import openai
from openai.types.chat import ChatCompletionMessageParam
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from tsz_otel_instrumentation.openai import TszOpenAIInstrumentor

from tsz_otel import GuardrailBlockedError, Settings, setup_telemetry
from tsz_otel.testing.llm_server import LLMServer

MODEL = os.environ.get("OPENAI_MODEL", "gpt-4o-mini")
CARD = "4539 1488 0343 6467"
ANSWER = f"Sure. The card on file is {CARD}, valid until next spring."
CARD_AT = ANSWER.index(CARD)
# Cut the answer inside the card number: "...is 453" "9 14" "88 03" "43 6" "467" ", ..."
SPLIT_AT = (CARD_AT - 3, CARD_AT + 3, CARD_AT + 7, CARD_AT + 12, CARD_AT + 16, CARD_AT + 19)
# The card sits in the conversation history (assistant messages are not input-checked by
# default), so a real model can repeat it without the prompt being masked first.
MESSAGES: list[ChatCompletionMessageParam] = [
    {"role": "assistant", "content": ANSWER},
    {"role": "user", "content": "Repeat your last message exactly, please."},
]
MODES = {
    "final-only": "chunks pass as they come; the whole answer is checked at the end",
    "stream-sync": "only sanitised text is released (hold-back buffer)",
    "stream-async": "raw stream; the answer is checked in the background afterwards",
}
OUTPUT_SPAN = "apply_guardrail tsz llm_output"


@contextlib.contextmanager
def llm_client() -> Iterator[openai.OpenAI]:
    """A real provider when ``OPENAI_BASE_URL``/``OPENAI_API_KEY`` are set, else the local
    test server streaming ``ANSWER`` cut at ``SPLIT_AT``."""
    if os.environ.get("OPENAI_BASE_URL") or os.environ.get("OPENAI_API_KEY"):
        yield openai.OpenAI()
        return
    with LLMServer() as server:
        server.script(reply=ANSWER, split_at=SPLIT_AT, times=None)
        with openai.OpenAI(base_url=server.base_url, api_key="local-test-key") as client:
            yield client


def stream_to_screen(client: openai.OpenAI, mode: str) -> tuple[int, int]:
    """Print the answer as it streams in; returns (chunks, chunks with no text)."""
    print("screen:  ", end="", flush=True)
    chunks = empty = 0
    try:
        with client.chat.completions.create(
            model=MODEL,
            messages=MESSAGES,
            stream=True,
            extra_headers={"X-TSZ-Guardrails-Mode": mode},  # per call; removed before sending
        ) as stream:
            for chunk in stream:
                text = chunk.choices[0].delta.content if chunk.choices else None
                chunks += 1
                empty += not text
                print(text or "", end="", flush=True)
    except GuardrailBlockedError as exc:  # stream-sync with halt: the stream ends here
        print(f" [stream halted: {exc}]", end="")
    print()
    return chunks, empty


def describe(span: ReadableSpan, llm: ReadableSpan | None) -> str:
    attributes = span.attributes or {}
    llm_id = llm.context.span_id if llm is not None and llm.context else None
    if span.parent is not None and span.parent.span_id == llm_id:
        relation = "child of the LLM span"
    elif any(link.context.span_id == llm_id for link in span.links):
        relation = "linked to the LLM span"
    else:
        relation = "unrelated to the LLM span"
    return (
        f"{span.name}  decision={attributes.get('gen_ai.security.decision.type')}  "
        f"findings={attributes.get('tsz.reasons') or '-'}  ({relation})"
    )


def main(argv: Sequence[str]) -> int:
    modes = list(argv) or list(MODES)
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        print(f"unknown stream mode(s) {unknown}; choose from {list(MODES)}", file=sys.stderr)
        return 2
    settings = Settings.from_env()
    telemetry = setup_telemetry(settings, service_name="streaming-demo", console=False)
    collected = InMemorySpanExporter()  # to print the guardrail spans below
    telemetry.tracer_provider.add_span_processor(SimpleSpanProcessor(collected))
    instrumentor = TszOpenAIInstrumentor()
    instrumentor.instrument(settings=settings, tracer_provider=telemetry.tracer_provider)
    print(f"TSZ_MODE={settings.mode}  TSZ_STREAM_ON_FAIL={settings.stream_on_fail}")
    print("The model's answer carries a card number, split over several stream chunks.")
    with llm_client() as client:
        for mode in modes:
            collected.clear()
            print(f"\n== {mode}: {MODES[mode]}")
            chunks, empty = stream_to_screen(client, mode)
            print(f"chunks:  {chunks} received, {empty} without text")
            instrumentor.force_flush()  # stream-async checks run in the background
            spans = collected.get_finished_spans()
            llm = next((s for s in spans if s.name.startswith("chat ")), None)
            for span in spans:
                if span.name == OUTPUT_SPAN:
                    print(f"span:    {describe(span, llm)}")
    instrumentor.uninstrument()
    telemetry.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
