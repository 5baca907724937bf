"""REGEX, SCHEMA and AI_PROMPT validators, and the registry: loading, unknown names, reports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tsz_otel import (
    ConfigurationError,
    FormatValidator,
    Settings,
    TemplateError,
    UnknownGuardrailError,
)
from tsz_otel.ai import AIClient, MemoryCache
from tsz_otel.engine.templates import load_template
from tsz_otel.testing.llm_server import LLMServer
from tsz_otel.validators import Check, ValidatorRegistry, template_path

PERSON_SCHEMA = json.dumps(
    {
        "type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0}},
        "required": ["name", "age"],
    }
)


def statuses(registry: ValidatorRegistry, text: str, names: list[str], **kw: object) -> list[str]:
    return [o.status for o in registry.run(text, names, **kw).outcomes]  # type: ignore[arg-type]


# -- REGEX ---------------------------------------------------------------------------


def test_regex_must_match_somewhere_and_anchors_work() -> None:
    registry = ValidatorRegistry(
        validators=[
            FormatValidator(name="HAS_TICKET", type="REGEX", rule=r"TICKET-\d{4}"),
            FormatValidator(name="NUMERIC", type="REGEX", rule=r"^[0-9]+$"),
        ]
    )
    assert statuses(registry, "see TICKET-1234 please", ["HAS_TICKET"]) == ["pass"]
    assert statuses(registry, "no ticket", ["HAS_TICKET"]) == ["fail"]
    assert statuses(registry, "12345", ["NUMERIC"]) == ["pass"]
    assert statuses(registry, "123a45", ["NUMERIC"]) == ["fail"]


@pytest.mark.parametrize("rule", [r"(?=lookahead)x", r"(a)\1", "(unclosed", ""])
def test_regex_outside_re2_is_refused_at_load(rule: str) -> None:
    with pytest.raises(ConfigurationError, match="BAD"):
        ValidatorRegistry(validators=[{"name": "BAD", "type": "REGEX", "rule": rule}])


# -- SCHEMA --------------------------------------------------------------------------


@pytest.fixture
def schema_registry() -> ValidatorRegistry:
    return ValidatorRegistry(
        validators=[{"name": "JSON_PERSON", "type": "SCHEMA", "rule": PERSON_SCHEMA}]
    )


def test_schema_by_name_and_by_expected_format(schema_registry: ValidatorRegistry) -> None:
    good = '{"name": "Ada", "age": 36}'
    assert statuses(schema_registry, good, ["JSON_PERSON"]) == ["pass"]
    report = schema_registry.run(good, expected_format="JSON_PERSON")
    assert [(o.name, o.type, o.status) for o in report.outcomes] == [
        ("JSON_PERSON", "SCHEMA", "pass")
    ]


def test_schema_violations_fail_without_echoing_values(
    schema_registry: ValidatorRegistry,
) -> None:
    (result,) = schema_registry.run(
        '{"name": "Ada Lovelace", "age": -7}', expected_format="JSON_PERSON"
    ).outcomes
    assert result.status == "fail" and result.blocks
    assert result.reason == "1 schema violation(s): $.age (minimum)"
    (missing,) = schema_registry.run('{"name": "secret-name"}', ["JSON_PERSON"]).outcomes
    assert missing.reason is not None and "secret-name" not in missing.reason
    (not_json,) = schema_registry.run("name: Ada", ["JSON_PERSON"]).outcomes
    assert not_json.status == "fail" and not_json.reason == "content is not valid JSON"


@pytest.mark.parametrize("rule", ["not json", '{"type": "no-such-type"}', ""])
def test_invalid_schema_is_refused_at_load(rule: str) -> None:
    with pytest.raises(ConfigurationError, match="S"):
        ValidatorRegistry(validators=[{"name": "S", "type": "SCHEMA", "rule": rule}])


# -- AI_PROMPT -----------------------------------------------------------------------


def ai_registry(llm: LLMServer, **settings: object) -> ValidatorRegistry:
    values: dict[str, object] = {
        "ai_model_url": llm.base_url,
        "ai_model": "judge",
        "ai_timeout": 0.5,
    }
    config = Settings(**{**values, **settings})  # type: ignore[arg-type]
    return ValidatorRegistry(
        config,
        ai=AIClient(config, cache=MemoryCache()),
        validators=[
            {
                "name": "POLITE",
                "type": "AI_PROMPT",
                "rule": "Is this message polite? Answer YES or NO.\n{{TEXT}}",
                "expected_response": "YES",
            },
            {"name": "NOT_SPAM", "type": "AI_PROMPT", "rule": "Spam? SAFE or SPAM"},
        ],
    )


def test_ai_prompt_pass_and_fail_follow_expected_response(llm: LLMServer) -> None:
    registry = ai_registry(llm)
    llm.script("Yes.")
    (polite,) = registry.run("thank you kindly", ["POLITE"]).outcomes
    assert polite.status == "pass" and polite.confidence == 0.7
    llm.script("NO")
    (rude,) = registry.run("go away", ["POLITE"]).outcomes
    assert rude.status == "fail" and rude.blocks and rude.confidence == 0.9
    assert llm.last_request.json["messages"][0]["content"].endswith("\ngo away")
    llm.script("SAFE")  # NOT_SPAM has no expected_response: YES is the passing answer
    assert statuses(registry, "hi", ["NOT_SPAM"]) == ["fail"]


@pytest.mark.parametrize(("fail_mode", "blocks"), [("open", False), ("closed", True)])
def test_ai_prompt_model_errors_follow_fail_mode(
    llm: LLMServer, fail_mode: str, blocks: bool
) -> None:
    registry = ai_registry(llm, fail_mode=fail_mode)
    llm.script(status=500)
    (result,) = registry.run("text", ["POLITE"]).outcomes
    assert result.status == "error" and result.blocks is blocks
    assert result.message == "Error in guardrail 'POLITE': AI model call failed (status)"
    llm.script("YES", delay=1.0)
    (late,) = registry.run("other text", ["POLITE"]).outcomes
    assert late.status == "error" and late.reason == "AI model call failed (timeout)"


def test_ai_prompt_without_a_model_is_an_error_not_a_crash() -> None:
    registry = ValidatorRegistry(
        Settings(), validators=[{"name": "P", "type": "AI_PROMPT", "rule": "ok?"}]
    )
    (result,) = registry.run("text", ["P"]).outcomes
    assert result.status == "error" and result.reason == "AI model call failed (not_configured)"


async def test_async_run_asks_ai_validators_concurrently(llm: LLMServer) -> None:
    registry = ai_registry(llm, ai_timeout=0.5)
    llm.script("YES", delay=0.3, times=None)
    report = await registry.arun('{"a": 1}', ["POLITE", "NOT_SPAM", "JSON"])
    # the 0.5 s deadline is one budget for both questions: one after the other they
    # would need 0.6 s and the second would time out; together they fit
    assert [o.status for o in report.outcomes] == ["pass", "pass", "pass"]


def test_sync_run_asks_ai_validators_concurrently(llm: LLMServer) -> None:
    registry = ai_registry(llm, ai_timeout=0.5)
    llm.script("YES", delay=0.3, times=None)
    assert statuses(registry, "x", ["POLITE", "NOT_SPAM"]) == ["pass", "pass"]


def test_ai_verdicts_are_cached(llm: LLMServer) -> None:
    registry = ai_registry(llm)
    llm.script("YES", times=None)
    registry.run("same text", ["POLITE"])
    registry.run("same text", ["POLITE"])
    assert len(llm.requests) == 1


def test_packaged_ai_toxicity_template_replaces_the_word_list(llm: LLMServer) -> None:
    registry = ai_registry(llm)
    assert statuses(registry, "you are an idiot", ["TOXIC_LANGUAGE"]) == ["fail"]  # offline
    assert registry.import_template(template_path("toxic-language-ai")) == ["TOXIC_LANGUAGE"]
    llm.script("SAFE")
    (result,) = registry.run("you are an idiot", ["TOXIC_LANGUAGE"]).outcomes
    assert result.type == "AI_PROMPT" and result.status == "pass"
    assert "you are an idiot" in llm.last_request.json["messages"][0]["content"]


# -- the registry --------------------------------------------------------------------


def test_results_follow_request_order_without_duplicates() -> None:
    registry = ValidatorRegistry()
    report = registry.run("{}", ["XML", "JSON", "XML", " "], expected_format="JSON")
    assert [(r.name, r.type, r.passed) for r in report.results] == [
        ("JSON", "BUILTIN", True),
        ("XML", "BUILTIN", False),
    ]
    assert [r.confidence_score for r in report.results] == [0.7, 0.9]
    assert report.blocked
    assert report.messages == ["Content blocked by security policy: XML"]
    assert report.results[1].model_dump_json() == (
        '{"name":"XML","type":"BUILTIN","passed":false,"confidence_score":"0.90"}'
    )


def test_unknown_guardrail_error_mode_raises_before_running() -> None:
    registry = ValidatorRegistry(Settings(unknown_guardrail="error"))
    with pytest.raises(UnknownGuardrailError, match="FREE_TEXT"):
        registry.run("text", ["JSON"], expected_format="FREE_TEXT")


def test_unknown_guardrail_fail_mode_blocks_like_tsz() -> None:
    report = ValidatorRegistry(Settings(unknown_guardrail="fail")).run("t", ["NOPE"])
    (result,) = report.results
    assert (result.name, result.type, result.passed, result.confidence_score) == (
        "NOPE",
        "VALIDATOR",
        False,
        1.0,
    )
    assert report.blocked
    assert report.messages == ["Error in guardrail 'NOPE': validator not found: NOPE"]


def test_unknown_guardrail_ignore_mode_skips() -> None:
    report = ValidatorRegistry(Settings(unknown_guardrail="ignore")).run("{}", ["NOPE", "JSON"])
    assert [r.name for r in report.results] == ["JSON"] and not report.blocked


def test_template_import_is_all_or_nothing(tmp_path: Path) -> None:
    registry = ValidatorRegistry()
    bad = {
        "template": {
            "name": "Pack",
            "validators": [
                {"name": "GOOD", "type": "REGEX", "rule": "ok"},
                {"name": "JSON", "type": "REGEX", "rule": "x"},
                {"name": "BROKEN", "type": "REGEX", "rule": "(?<=x)y"},
            ],
        }
    }
    with pytest.raises(TemplateError, match="BROKEN"):
        registry.import_template(bad)
    assert "GOOD" not in registry
    assert statuses(registry, "{}", ["JSON"]) == ["pass"]  # the built-in is untouched


def test_template_upsert_replaces_every_field(tmp_path: Path) -> None:
    registry = ValidatorRegistry()
    first = {"name": "V", "type": "AI_PROMPT", "rule": "a?", "expected_response": "YES"}
    registry.import_template({"name": "one", "validators": [first]})
    second = {**first, "rule": "b?", "expected_response": "SAFE"}
    path = tmp_path / "pack.json"
    path.write_text(json.dumps({"template": {"name": "two", "validators": [second]}}))
    assert registry.import_template(path) == ["V"]
    (definition,) = [d for d in registry.definitions() if d.name == "V"]
    assert (definition.rule, definition.expected_response) == ("b?", "SAFE")


def test_templates_load_from_yaml(tmp_path: Path) -> None:
    path = tmp_path / "pack.yaml"
    path.write_text(
        "name: yaml pack\nvalidators:\n  - name: DIGITS\n    type: REGEX\n    rule: '^[0-9]+$'\n"
    )
    registry = ValidatorRegistry()
    registry.import_template(path)
    assert statuses(registry, "123", ["DIGITS"]) == ["pass"]


@pytest.mark.parametrize(
    "source", [{"validators": []}, {"name": "x", "validators": [{"name": "V", "type": "NOPE"}]}]
)
def test_malformed_templates_are_template_errors(source: dict[str, object]) -> None:
    with pytest.raises(TemplateError):
        load_template(source)


def test_missing_template_file_is_a_template_error(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="cannot be read"):
        ValidatorRegistry().import_template(tmp_path / "absent.json")


def test_validators_from_code() -> None:
    registry = ValidatorRegistry(builtins=False)
    registry.add_function("SHORT", lambda text: len(text) < 10)
    registry.add_function("NO_TABS", lambda text: Check.of("\t" not in text, "tab found"))
    assert registry.names() == ["SHORT", "NO_TABS"]
    assert statuses(registry, "hi\tthere", ["SHORT", "NO_TABS"]) == ["pass", "fail"]
    assert registry.remove("SHORT") and not registry.remove("SHORT")
    with pytest.raises(ConfigurationError):
        registry.add({"name": "X", "type": "BUILTIN", "rule": "NO_SUCH_BUILTIN"})


def test_builtin_alias_by_rule() -> None:
    registry = ValidatorRegistry()
    registry.add({"name": "ORDER_IS_JSON", "type": "BUILTIN", "rule": "JSON"})
    assert statuses(registry, "[1]", ["ORDER_IS_JSON"]) == ["pass"]


def test_a_raising_validator_is_an_error_result() -> None:
    registry = ValidatorRegistry(builtins=False)

    def boom(text: str) -> bool:
        raise RuntimeError(text)

    registry.add_function("BOOM", boom)
    (result,) = registry.run("secret text", ["BOOM"]).outcomes
    assert result.status == "error" and result.reason == "validator raised RuntimeError"
    assert "secret" not in (result.message or "")


def test_packaged_tsz_default_validators_load_with_pass_meaning_acceptable(
    llm: LLMServer,
) -> None:
    registry = ai_registry(llm)
    names = registry.import_template(template_path("tsz-default-validators"))
    assert {"EMAIL", "UUID", "NUMERIC", "JSON_PERSON", "PROMPT_INJECTION", "PCI_STRICT"} <= set(
        names
    )
    assert statuses(registry, "Ada@Example.org", ["EMAIL"]) == ["pass"]
    assert statuses(registry, "Ada@Example.org and more", ["EMAIL"]) == ["fail"]
    assert statuses(registry, '{"name": "Ada", "age": 36}', ["JSON_PERSON"]) == ["pass"]
    llm.script("CLEAN")
    llm.script("FOUND")
    assert statuses(registry, "hello there", ["PII_PASSPORT"]) == ["pass"]
    assert statuses(registry, "passport X1234567", ["PII_PASSPORT"]) == ["fail"]
    with pytest.raises(FileNotFoundError):
        template_path("no-such-template")
