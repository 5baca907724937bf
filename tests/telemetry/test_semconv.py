"""The name table: one logical key, one spelling per scheme, combinable."""

from __future__ import annotations

import pytest

from tsz_otel import ConfigurationError
from tsz_otel.semconv import Key, Scheme, names_for, span_name


@pytest.mark.parametrize(
    ("scheme", "decision", "target", "guardian", "event"),
    [
        (
            "gen_ai",
            "gen_ai.security.decision.type",
            "gen_ai.security.target.type",
            "gen_ai.guardian.name",
            "gen_ai.security.finding",
        ),
        (
            "microsoft",
            "microsoft.security.decision.type",
            "microsoft.security.target.type",
            "microsoft.guardian.name",
            "microsoft.security.finding",
        ),
        (
            "guardrail",
            "gen_ai.guardrail.result.value",
            "gen_ai.guardrail.source",
            "gen_ai.guardrail.component.name",
            "gen_ai.guardrail.result",
        ),
    ],
)
def test_each_scheme_spells_the_same_keys(
    scheme: str, decision: str, target: str, guardian: str, event: str
) -> None:
    names = names_for([scheme])
    assert names.span[Key.DECISION_TYPE] == (decision,)
    assert names.span[Key.TARGET_TYPE] == (target,)
    assert names.span[Key.GUARDIAN_NAME] == (guardian,)
    assert [e.name for e in names.finding_events] == [event]
    assert names.span[Key.OPERATION_NAME] == ("gen_ai.operation.name",)


def test_two_schemes_emit_both_names_and_both_events() -> None:
    names = names_for(["gen_ai", "microsoft"])
    assert names.span[Key.DECISION_TYPE] == (
        "gen_ai.security.decision.type",
        "microsoft.security.decision.type",
    )
    # shared names are not duplicated
    assert names.span[Key.OPERATION_NAME] == ("gen_ai.operation.name",)
    assert [e.name for e in names.finding_events] == [
        "gen_ai.security.finding",
        "microsoft.security.finding",
    ]
    gen_ai, microsoft = names.finding_events
    assert gen_ai.keys[Key.RISK_SEVERITY] == "gen_ai.security.risk.severity"
    assert microsoft.keys[Key.RISK_SEVERITY] == "microsoft.security.risk.severity"


def test_guardrail_scheme_keeps_native_category_and_drops_severity() -> None:
    (event,) = names_for(["guardrail"]).finding_events
    assert event.keys[Key.RISK_CATEGORY_NATIVE] == "gen_ai.guardrail.risk.category"
    assert Key.RISK_CATEGORY not in event.keys
    assert Key.RISK_SEVERITY not in event.keys


def test_put_writes_every_spelling() -> None:
    names = names_for(["gen_ai", "guardrail"])
    attributes: dict[str, object] = {}
    names.put(attributes, Key.GUARDIAN_PROVIDER, "tsz")  # type: ignore[arg-type]
    assert attributes == {"gen_ai.guardian.provider.name": "tsz", "gen_ai.provider.name": "tsz"}
    names.put(attributes, Key.GUARDIAN_ID, "x")  # type: ignore[arg-type]
    assert "gen_ai.guardian.id" in attributes  # guardrail scheme has none: nothing extra


def test_unknown_scheme_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="TSZ_OTEL_SEMCONV"):
        names_for(["gen_ai", "opentracing"])


def test_empty_selection_means_default_and_case_is_ignored() -> None:
    assert names_for([]).schemes == (Scheme.GEN_AI,)
    assert names_for([" Microsoft ", "GEN_AI", "microsoft"]).schemes == (
        Scheme.MICROSOFT,
        Scheme.GEN_AI,
    )


def test_structural_keys_exclude_content_values() -> None:
    keys = names_for(["gen_ai", "microsoft", "guardrail"]).structural_keys()
    assert "gen_ai.security.decision.type" in keys
    assert "gen_ai.security.content.input.value" not in keys
    assert "microsoft.security.content.output.value" not in keys
    assert "gen_ai.guardrail.content.input.value" not in keys


def test_span_name() -> None:
    assert span_name("tsz", "llm_input") == "apply_guardrail tsz llm_input"
    assert span_name(None, "tool_call") == "apply_guardrail tool_call"
