"""stream-sync never leaks a value split across chunks, at ANY split position.

Upstream TSZ releases everything that does not match *yet*, so a card number streamed as
``"4111", " 1111", ...`` reaches the client 12 digits out of 16. Here every secret type is
streamed through the real openai SDK and the local server, cut into two chunks at every
position of the answer (and once character by character); the text the caller receives
must equal the engine's redaction of the whole answer, so not one character of the value
gets through.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import openai
import pytest
from instr_support import Instrument
from opentelemetry.sdk.trace import TracerProvider
from tsz_otel_instrumentation.openai import TszOpenAIInstrumentor

from tsz_otel.config import Settings
from tsz_otel.guard import Guard
from tsz_otel.testing.llm_server import LLMServer

SETTINGS = {"mode": "mask", "stream_mode": "stream-sync", "placeholder_style": "type"}

# type -> (text before, value, text after): every secret and PII type of the catalogue
# that the default policy masks (MAC_ADDRESS is below the allow threshold by design; the
# injection types are not values). The fixture checks each is detected as its type.
_PEM_BODY = (
    "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gunVTLw7onLRnrq0/IzW7yWR7Qk"
    "rmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxKLxoS2tFczGkPLPgizskuemMghRniWaoLcyehkd3qqGElvW/V"
    "DL5AaWTg0nLVkjRo9z+40RQzuVaE8AkAFmxZzow3x+VJYKdjykkJ0iT9wCS0DRTXu269V264Vf/3jvredZiKRkgw"
    "lL9xNAwxXFg0x/XFw005UWVRIkdgcKWTjpBP2dPwVZ4WWC+9aGVd+Gyn1o0CLelf4rEjGoXbAAEgAqeGUxrcIlbj"
    "XfbcmwIDAQAB"
)
SAMPLES: dict[str, tuple[str, str, str]] = {
    "PRIVATE_KEY": (
        "key:\n",
        f"-----BEGIN RSA PRIVATE KEY-----\n{_PEM_BODY}\n-----END RSA PRIVATE KEY-----",
        "\nend",
    ),
    "URL_WITH_CREDENTIALS": ("db at ", "https://admin:s3cr3tPass@db.example.com/x", " now"),
    "JWT": (
        "token ",
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
        " ok",
    ),
    "AWS_ACCESS_KEY": ("key ", "AKIAIOSFODNN7EXAMPLE", " end"),
    "AWS_SECRET_KEY": (
        "aws_secret_access_key = ",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        " end",
    ),
    "GITHUB_TOKEN": ("use ", "ghp_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8", " here"),
    "OPENAI_API_KEY": (
        "key ",
        "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb7cDe0fGh3iJk6lMn9oPq2rSt5u",
        " end",
    ),
    "SLACK_TOKEN": ("slack ", "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx", " end"),
    "STRIPE_KEY": ("stripe ", "sk_live_4eC39HqLyjWDarjtT1zdp7dc", " end"),
    "GOOGLE_API_KEY": ("maps ", "AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY", " end"),
    "GENERIC_API_KEY": ("api_key=", "Zx9Qw8Er7Ty6Ui5Op4As3Df2Gh1Jk0Lm", " end"),
    "EMAIL": ("Write to ", "jane.doe@example.com", " today."),
    "CREDIT_CARD": ("Card: ", "4111 1111 1111 1111", " ok"),
    "IBAN": ("IBAN ", "GB82WEST12345698765432", " thanks"),
    "US_SSN": ("my ssn is ", "536-22-1437", " ok"),
    "PHONE_NUMBER": ("call ", "+44 20 7946 0958", " now"),
    "IP_ADDRESS": ("client ip ", "185.23.101.7", " seen"),
    "UK_NINO": ("national insurance ", "AB123456C", " ok"),
    "TCKN": ("kimlik ", "10000000146", " ok"),
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


class _AsyncOnlyEngine:
    """The real engine whose ``detect`` must not be called: an async stream scans with
    ``adetect`` (a remote engine or AI scoring would otherwise block the event loop)."""

    def __init__(self, engine: Any) -> None:
        self._engine = engine
        self.async_scans = 0

    def detect(self, text: str, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("sync detect called from an async stream")

    async def adetect(self, text: str, *args: Any, **kwargs: Any) -> Any:
        self.async_scans += 1
        return await self._engine.adetect(text, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:  # stable_prefix, max_match_chars
        return getattr(self._engine, name)


@pytest.fixture
def async_only(
    guard_for: Callable[..., Guard], tracer_provider: TracerProvider, meter_provider: Any
) -> Iterator[_AsyncOnlyEngine]:
    """The openai instrumentor over a guard whose engine only allows ``adetect``."""
    engine = _AsyncOnlyEngine(guard_for(**SETTINGS).engine)
    guard = Guard(
        Settings.from_env({}, **SETTINGS),
        engine=engine,
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
    )
    instrumentor = TszOpenAIInstrumentor()
    instrumentor.instrument(guard=guard, tracer_provider=tracer_provider)
    yield engine
    instrumentor.uninstrument()


@pytest.mark.parametrize("kind", ["CREDIT_CARD", "EMAIL", "AWS_ACCESS_KEY", "US_SSN"])
async def test_async_stream_scans_with_adetect_and_never_leaks(
    kind: str,
    llm_server: LLMServer,
    async_only: _AsyncOnlyEngine,
    expected_for: Callable[[str, str], str],
) -> None:
    before, value, after = SAMPLES[kind]
    text = before + value + after
    expected = expected_for(kind, text)
    client = openai.AsyncOpenAI(base_url=llm_server.base_url, api_key="k", max_retries=0)
    for position in [*range(1, len(text)), 0]:  # 0: one character per chunk
        if position:
            llm_server.script(reply=text, split_at=[position])
        else:
            llm_server.script(reply=text, chunk_size=1)
        scans = async_only.async_scans
        stream = await client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "go"}], stream=True
        )
        received = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
        assert received == expected, f"{kind}: split at {position} gave {received!r}"
        assert async_only.async_scans > scans + 1  # hold-back windows, not only the checks
