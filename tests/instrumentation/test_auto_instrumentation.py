"""``opentelemetry-instrument python app.py``: the entry points load, the app is guarded
with no code change, and the spans reach an OTLP receiver."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tsz_otel.testing.llm_server import LLMServer
from tsz_otel.testing.otlp_receiver import OtlpReceiver, ReceivedSpan

CARD = "4111 1111 1111 1111"

APP = """
import os

import openai

client = openai.OpenAI(base_url=os.environ["LLM_BASE_URL"], api_key="k", max_retries=0)
client.chat.completions.create(
    model="auto-model", messages=[{"role": "user", "content": "card 4111 1111 1111 1111"}]
)
stream = client.chat.completions.create(
    model="auto-model", messages=[{"role": "user", "content": "hi"}], stream=True
)
print("ANSWER:" + "".join(c.choices[0].delta.content or "" for c in stream if c.choices))
"""


def _env(receiver: OtlpReceiver, server: LLMServer, disabled: str, mode: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TSZ_", "OTEL_"))}
    env.update(
        {
            "OTEL_SERVICE_NAME": "auto-app",
            "OTEL_TRACES_EXPORTER": "otlp",
            "OTEL_METRICS_EXPORTER": "none",
            "OTEL_LOGS_EXPORTER": "none",
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
            "OTEL_BSP_SCHEDULE_DELAY": "50",
            "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": disabled,
            "TSZ_MODE": mode,
            "TSZ_STREAM_MODE": "stream-sync",
            "LLM_BASE_URL": server.base_url,
        }
    )
    if mode == "observe":  # background checks, which must still be exported at exit
        env["TSZ_OBSERVE_ASYNC"] = "true"
    return env


def _by_id(spans: list[ReceivedSpan]) -> dict[str, ReceivedSpan]:
    return {s.span_id: s for s in spans}


OURS = "tsz_otel_instrumentation"
OFFICIAL = "opentelemetry.instrumentation.genai.openai"


@pytest.mark.parametrize(
    ("disabled", "llm_scope", "mode"),
    [
        ("openai", OURS, "mask"),  # the official instrumentation switched off
        ("", OFFICIAL, "mask"),  # both loaded: the official one owns the LLM span
        ("openai", OURS, "observe"),  # checks run in the background: flushed at exit
    ],
    ids=["tsz_only", "with_official", "observe"],
)
def test_opentelemetry_instrument_guards_an_unchanged_app(
    disabled: str,
    llm_scope: str,
    mode: str,
    tmp_path: Path,
    llm_server: LLMServer,
    otlp_receiver: OtlpReceiver,
) -> None:
    app = tmp_path / "app.py"
    app.write_text(APP)
    llm_server.script(path="/chat/completions")  # echo for the first call
    llm_server.script(reply=f"Yours is {CARD}.", chunk_size=3, path="/chat/completions")
    launcher = Path(sys.executable).parent / "opentelemetry-instrument"
    result = subprocess.run(
        [str(launcher), sys.executable, str(app)],
        env=_env(otlp_receiver, llm_server, disabled, mode),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    answer = result.stdout.split("ANSWER:", 1)[1].strip()
    first = str(llm_server.requests[0].json)
    if mode == "observe":
        assert answer == f"Yours is {CARD}." and CARD in first
    else:
        assert answer.startswith("Yours is ") and "4111" not in answer
        assert "4111" not in first and "card " in first

    guards = otlp_receiver.wait_for_spans(
        4, timeout=30, predicate=lambda s: s.name.startswith("apply_guardrail")
    )
    everything = _by_id(otlp_receiver.spans())
    llm_spans = [s for s in everything.values() if s.name == "chat auto-model"]
    assert len(llm_spans) == 2
    assert all(s.scope_name.startswith(llm_scope) for s in llm_spans)
    for guard in guards:
        assert everything[guard.parent_span_id].name == "chat auto-model"
        assert guard.resource["service.name"] == "auto-app"
    decisions = sorted(s.attributes["gen_ai.security.decision.type"] for s in guards)
    if mode == "observe":  # nothing masked: the echo of the first prompt has the card too
        assert decisions == ["allow", "warn", "warn", "warn"]
    else:
        assert decisions == ["allow", "allow", "modify", "modify"]
    assert all(CARD not in str(s.attributes) for s in everything.values())
