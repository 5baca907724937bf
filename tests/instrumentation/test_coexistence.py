"""Side by side with the official ``opentelemetry-instrumentation-genai-openai``: its
``chat {model}`` span is the parent of the guardrail spans and no second LLM span is made,
whichever instrumentor was installed first."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import openai
import pytest
from instr_support import GUARD_INPUT, GUARD_OUTPUT, Instrument, Spans
from opentelemetry.instrumentation.genai.openai import OpenAIInstrumentor
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider

from tsz_otel.testing.llm_server import LLMServer

CARD = "4111 1111 1111 1111"
OFFICIAL_SCOPE = "opentelemetry.instrumentation.genai.openai"


@pytest.fixture
def official(tracer_provider: TracerProvider) -> Iterator[Callable[[], None]]:
    instrumentor = OpenAIInstrumentor()

    def install() -> None:
        instrumentor.instrument(tracer_provider=tracer_provider)

    yield install
    if instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.uninstrument()


@pytest.fixture(params=["official_first", "tsz_first"])
def both(
    request: pytest.FixtureRequest,
    official: Callable[[], None],
    instrument_openai: Instrument,
) -> None:
    if request.param == "official_first":
        official()
        instrument_openai(mode="mask", stream_mode="stream-sync")
    else:
        instrument_openai(mode="mask", stream_mode="stream-sync")
        official()


@pytest.fixture
def client(llm_server: LLMServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=llm_server.base_url, api_key="k", max_retries=0)


def _only_llm_span(spans: Spans, name: str) -> ReadableSpan:
    llm_spans = spans.llm()
    assert [s.name for s in llm_spans] == [name]
    assert llm_spans[0].instrumentation_scope is not None
    assert llm_spans[0].instrumentation_scope.name == OFFICIAL_SCOPE
    return llm_spans[0]


def _children_of(spans: Spans, parent: ReadableSpan, *names: str) -> None:
    for name in names:
        child = spans.one(name)
        assert child.parent is not None and child.parent.span_id == parent.context.span_id


@pytest.mark.usefixtures("both")
def test_chat_whole_answer(client: openai.OpenAI, llm_server: LLMServer, spans: Spans) -> None:
    llm_server.script(reply=f"It is {CARD}")
    answer = client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": f"card {CARD}"}]
    )
    assert "4111" not in (answer.choices[0].message.content or "")
    assert "4111" not in llm_server.last_request.text
    _children_of(spans, _only_llm_span(spans, "chat m"), GUARD_INPUT, GUARD_OUTPUT)


@pytest.mark.usefixtures("both")
def test_chat_stream(client: openai.OpenAI, llm_server: LLMServer, spans: Spans) -> None:
    llm_server.script(reply=f"It is {CARD} ok", chunk_size=2)
    stream = client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    assert isinstance(stream, openai.Stream)
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text.startswith("It is ") and text.endswith(" ok") and "4111" not in text
    _children_of(spans, _only_llm_span(spans, "chat m"), GUARD_INPUT, GUARD_OUTPUT)


@pytest.mark.usefixtures("both")
def test_responses_and_embeddings(client: openai.OpenAI, spans: Spans) -> None:
    client.responses.create(model="m", input=f"card {CARD}")
    _children_of(spans, _only_llm_span(spans, "chat m"), GUARD_INPUT, GUARD_OUTPUT)
    spans.clear()
    client.embeddings.create(model="e", input=f"card {CARD}")
    _children_of(spans, _only_llm_span(spans, "embeddings e"), GUARD_INPUT)
