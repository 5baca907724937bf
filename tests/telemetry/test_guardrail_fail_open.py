"""A guardrail that cannot run obeys TSZ_FAIL_MODE, also in block mode.

A guardrail that *fails* (ran and rejected the text) blocks; one that *errors*
(its model is unreachable) must not deny the call under ``fail_mode=open``.
"""

from __future__ import annotations

import socket

import pytest

from tsz_otel import FormatValidator, Guard, GuardrailBlockedError, Settings
from tsz_otel.remote import engine_from_settings
from tsz_otel.scope import GuardrailDecisionType


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _guard(fail_mode: str) -> Guard:
    settings = Settings(
        mode="block",
        fail_mode=fail_mode,  # type: ignore[arg-type]
        ai_model_url=f"http://127.0.0.1:{_closed_port()}/v1",
        ai_model="m",
        ai_timeout=0.5,
    )
    engine = engine_from_settings(settings)
    engine.validators.add(  # type: ignore[union-attr]
        FormatValidator(
            name="SAFE_AI", type="AI_PROMPT", rule="Safe? YES or NO", expected_response="YES"
        )
    )
    engine.validators.add_function("NEVER_OK", lambda text: False)  # type: ignore[union-attr]
    return Guard(settings, engine=engine)


def test_errored_guardrail_fails_open_in_block_mode() -> None:
    verdict = _guard("open").check("hello there", guardrails=["SAFE_AI"])
    assert verdict.decision is not GuardrailDecisionType.DENY
    assert not verdict.blocked
    assert verdict.response.validator_results[0].status == "error"


def test_errored_guardrail_fails_closed_when_configured() -> None:
    with pytest.raises(GuardrailBlockedError):
        _guard("closed").check("hello there", guardrails=["SAFE_AI"])


def test_failed_guardrail_blocks_regardless_of_fail_mode() -> None:
    with pytest.raises(GuardrailBlockedError) as info:
        _guard("open").check("hello there", guardrails=["NEVER_OK"])
    assert "NEVER_OK" in str(info.value)
