"""stream-sync never leaks a value split across chunks, at ANY split position.

Upstream TSZ releases everything that does not match *yet*, so a card number streamed as
``"4111", " 1111", ...`` reaches the client 12 digits out of 16. Here every secret type is
streamed through the real openai SDK and the local server, cut into two chunks at every
position of the answer (and once character by character); the text the caller receives
must equal the engine's redaction of the whole answer, so not one character of the value
gets through.
"""

from __future__ import annotations

from collections.abc import Callable

import openai
import pytest
from instr_support import Instrument

from tsz_otel.guard import Guard
from tsz_otel.testing.llm_server import LLMServer

SETTINGS = {"mode": "mask", "stream_mode": "stream-sync", "placeholder_style": "type"}

# type -> (text before, value, text after): one row per secret/PII type the engine masks.
SAMPLES: dict[str, tuple[str, str, str]] = {
    "EMAIL": ("Write to ", "jane.doe@example.com", " today."),
    "CREDIT_CARD": ("Card: ", "4111 1111 1111 1111", " ok"),
    "AWS_ACCESS_KEY": ("key ", "AKIAIOSFODNN7EXAMPLE", " end"),
}


def _stream(client: openai.OpenAI) -> str:
    stream = client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "go"}], stream=True
    )
    return "".join(c.choices[0].delta.content or "" for c in stream if c.choices)


@pytest.fixture
def client(llm_server: LLMServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=llm_server.base_url, api_key="k", max_retries=0)


@pytest.fixture
def expected_for(guard_for: Callable[..., Guard]) -> Callable[[str, str], str]:
    """The whole answer redacted by the engine; checks the sample is found as its type."""
    engine = guard_for(**SETTINGS).engine

    def expected(kind: str, text: str) -> str:
        response = engine.detect(text)
        assert kind in {d.type for d in response.detections}, f"{kind} sample not detected"
        assert response.redacted_text is not None
        return response.redacted_text

    return expected


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_no_split_position_leaks(
    kind: str,
    client: openai.OpenAI,
    llm_server: LLMServer,
    instrument_openai: Instrument,
    expected_for: Callable[[str, str], str],
) -> None:
    before, value, after = SAMPLES[kind]
    text = before + value + after
    expected = expected_for(kind, text)
    assert value not in expected
    instrument_openai(**SETTINGS)
    for position in range(1, len(text)):
        llm_server.script(reply=text, split_at=[position])
        received = _stream(client)
        assert received == expected, f"{kind}: split at {position} gave {received!r}"
    llm_server.script(reply=text, chunk_size=1)
    assert _stream(client) == expected, f"{kind}: one character per chunk"
