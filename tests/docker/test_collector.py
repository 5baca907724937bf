"""The OpenTelemetry Collector configs: pipelines, redaction, routing and sampling.

Checked for the compose stack's collector (config.yaml, with and without the Tempo
overlay) and the deployment tiers of docs/deployment.md (agent.yaml, gateway.yaml).
Attribute names are checked against tsz_otel/semconv.py, regexes against RE2 (the
collector is Go; Go's regexp and RE2 share a syntax).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
import re2
from stack_files import (
    ALL_NAMES,
    COLLECTOR,
    CONTENT_KEYS,
    CONTEXT_KEYS,
    DOCKER,
    guardrail_attribute_names,
    load_yaml,
    merge,
    names_of,
)

from tsz_otel import semconv
from tsz_otel.scope import GuardrailDecisionType
from tsz_otel.semconv import Key

COMPONENT_KINDS = ("receivers", "processors", "exporters")


def _stack(overlay: str) -> dict[str, Any]:
    base = load_yaml(COLLECTOR / "config.yaml")
    return merge(base, load_yaml(COLLECTOR / "overlays" / f"{overlay}.yaml") or {})


CONFIGS = {
    "stack": lambda: _stack("none"),
    "stack+tempo": lambda: _stack("tempo"),
    "agent": lambda: load_yaml(COLLECTOR / "agent.yaml"),
    "gateway": lambda: load_yaml(COLLECTOR / "gateway.yaml"),
}


@pytest.fixture(params=sorted(CONFIGS))
def config(request: pytest.FixtureRequest) -> dict[str, Any]:
    loaded: dict[str, Any] = CONFIGS[request.param]()
    return loaded


def _pipelines(config: dict[str, Any]) -> dict[str, Any]:
    pipelines: dict[str, Any] = config["service"]["pipelines"]
    return pipelines


def _host_port(endpoint: str) -> tuple[str, int]:
    parsed = urlsplit(endpoint if "://" in endpoint else f"//{endpoint}")
    assert parsed.hostname is not None and parsed.port is not None, endpoint
    return parsed.hostname, parsed.port


# --------------------------------------------------------------------------- every config


def test_every_pipeline_component_is_defined(config: dict[str, Any]) -> None:
    for name, pipeline in _pipelines(config).items():
        assert pipeline["receivers"] and pipeline["exporters"], name
        for kind in COMPONENT_KINDS:
            for component in pipeline.get(kind, []):
                assert component in config[kind], f"{name}: {kind[:-1]} {component} undefined"
    for extension in config["service"].get("extensions", []):
        assert extension in config["extensions"]


def test_every_defined_component_is_used(config: dict[str, Any]) -> None:
    used = {
        component
        for pipeline in _pipelines(config).values()
        for kind in COMPONENT_KINDS
        for component in pipeline.get(kind, [])
    }
    for kind in ("receivers", "processors"):
        assert set(config[kind]) <= used, f"unused {kind}: {set(config[kind]) - used}"


def test_processor_order(config: dict[str, Any]) -> None:
    """memory_limiter first (refuse before work), batch last (after filtering/sampling)."""
    for name, pipeline in _pipelines(config).items():
        processors = pipeline["processors"]
        assert processors[0] == "memory_limiter", name
        assert processors[-1] == "batch", name


def test_receivers_listen_on_all_interfaces(config: dict[str, Any]) -> None:
    protocols = config["receivers"]["otlp"]["protocols"]
    assert _host_port(protocols["grpc"]["endpoint"]) == ("0.0.0.0", 4317)
    assert _host_port(protocols["http"]["endpoint"]) == ("0.0.0.0", 4318)


def test_file_exporters_write_json_lines_with_rotation(config: dict[str, Any]) -> None:
    files = {k: v for k, v in config["exporters"].items() if k.split("/")[0] == "file"}
    for name, exporter in files.items():
        assert exporter["format"] == "json", name
        assert exporter["path"].startswith("/var/log/tsz-otel/"), name
        assert exporter["rotation"]["max_megabytes"] > 0, name
    paths = [exporter["path"] for exporter in files.values()]
    assert len(paths) == len(set(paths)), "each signal gets its own file"


# --------------------------------------------------------------------------- redaction


def _redaction_configs() -> list[tuple[str, dict[str, Any]]]:
    stack = load_yaml(COLLECTOR / "config.yaml")
    agent = load_yaml(COLLECTOR / "agent.yaml")
    return [("stack", stack), ("agent", agent)]


@pytest.mark.parametrize(("name", "conf"), _redaction_configs())
def test_redaction_is_in_every_pipeline(name: str, conf: dict[str, Any]) -> None:
    assert "redaction" in conf["processors"]
    for pipeline_name, pipeline in _pipelines(conf).items():
        assert "redaction" in pipeline["processors"], f"{name} {pipeline_name}"


@pytest.mark.parametrize(("name", "conf"), _redaction_configs())
def test_redaction_lets_guardrail_attributes_through(name: str, conf: dict[str, Any]) -> None:
    redaction = conf["processors"]["redaction"]
    assert redaction["allow_all_keys"] is True
    ignored = set(redaction["ignored_keys"])
    assert ignored == guardrail_attribute_names()
    assert not ignored & names_of(CONTENT_KEYS), "captured content must still be scrubbed"
    assert not ignored & names_of(CONTEXT_KEYS), "user/context attributes must be scrubbed"
    assert redaction["summary"] in ("info", "silent"), "debug would list masked key names"


@pytest.mark.parametrize(("name", "conf"), _redaction_configs())
def test_redaction_configs_agree(name: str, conf: dict[str, Any]) -> None:
    stack = load_yaml(COLLECTOR / "config.yaml")["processors"]["redaction"]
    assert conf["processors"]["redaction"] == stack


SENSITIVE = [
    "card 4111 1111 1111 1111 on file",
    "card 4111-1111-1111-1111",
    "5500000000000004",
    "amex 3782 822463 10005",
    "mail jane.doe@example.com now",
    "ssn 078-05-1120",
    "AKIAIOSFODNN7EXAMPLE",
    "key sk-proj-abcdefghijklmnopqrstuvwxyz012345",
    "ghp_0123456789abcdefghijklmnopqrstuvwxyzAB",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "Authorization: Bearer abcdefghijklmnopqrstuvwx",
    "-----BEGIN RSA PRIVATE KEY-----",
    "postgres://admin:hunter2@db.internal:5432/app",
]
STRUCTURAL = [
    "EMAIL,CREDIT_CARD",
    "sha256:86e0b9e56c17cc4d12387e1949b85053fbe73bc3ce5a1188713a9d300cc6133d",
    "RID-0001",
    "0.97",
    "would mask: EMAIL",
    "apply_guardrail tsz llm_input",
    "2026-01-01T00:00:00Z",
    "gpt-4o-mini",
]


@pytest.fixture(scope="module")
def blocked_values() -> list[Any]:
    values = load_yaml(COLLECTOR / "config.yaml")["processors"]["redaction"]["blocked_values"]
    return [re2.compile(value) for value in values]


@pytest.mark.parametrize("text", SENSITIVE)
def test_blocked_values_catch_sensitive_values(blocked_values: list[Any], text: str) -> None:
    assert any(pattern.search(text) for pattern in blocked_values), text


@pytest.mark.parametrize("text", STRUCTURAL)
def test_blocked_values_leave_structural_values_alone(blocked_values: list[Any], text: str) -> None:
    assert not any(pattern.search(text) for pattern in blocked_values), text


def test_blocked_key_patterns_spare_guardrail_and_genai_keys() -> None:
    redaction = load_yaml(COLLECTOR / "config.yaml")["processors"]["redaction"]
    patterns = [re2.compile(pattern) for pattern in redaction["blocked_key_patterns"]]
    spared = guardrail_attribute_names() | {"gen_ai.usage.input_tokens", "gen_ai.request.model"}
    for key in spared:
        assert not any(pattern.fullmatch(key) for pattern in patterns), key
    for key in ("http.request.header.authorization", "db.password", "app.api_key"):
        assert any(pattern.fullmatch(key) for pattern in patterns), key


# --------------------------------------------------------------------------- stack exports


def test_stack_exports_to_jaeger_and_the_siem_file(compose: dict[str, Any]) -> None:
    config = _stack("none")
    exporters = _pipelines(config)["traces"]["exporters"]
    assert set(exporters) == {"otlp/jaeger", "file/siem"}
    host, port = _host_port(config["exporters"]["otlp/jaeger"]["endpoint"])
    jaeger = compose["services"][host]
    assert str(port) in jaeger["expose"]


def test_tempo_overlay_adds_tempo_without_dropping_exports(compose: dict[str, Any]) -> None:
    config = _stack("tempo")
    exporters = _pipelines(config)["traces"]["exporters"]
    assert set(exporters) == {"otlp/jaeger", "file/siem", "otlp/tempo"}
    host, port = _host_port(config["exporters"]["otlp/tempo"]["endpoint"])
    tempo_service = compose["services"][host]
    assert tempo_service["profiles"] == ["tempo"]
    assert str(port) in tempo_service["expose"]
    tempo = load_yaml(DOCKER / "tempo" / "tempo.yaml")
    receiver = tempo["distributor"]["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"]
    assert _host_port(receiver) == ("0.0.0.0", port)


def test_tempo_answers_traceql_metrics() -> None:
    tempo = load_yaml(DOCKER / "tempo" / "tempo.yaml")
    assert "local-blocks" in tempo["overrides"]["defaults"]["metrics_generator"]["processors"]
    assert tempo["metrics_generator"]["processor"]["local_blocks"]["filter_server_spans"] is False


# --------------------------------------------------------------------------- deployment tiers


def test_agent_routes_traces_by_trace_id() -> None:
    agent = load_yaml(COLLECTOR / "agent.yaml")
    assert _pipelines(agent)["traces"]["exporters"] == ["loadbalancing"]
    balancer = agent["exporters"]["loadbalancing"]
    assert balancer["routing_key"] == "traceID"
    assert "otlp" in balancer["protocol"]
    dns = balancer["resolver"]["dns"]
    assert dns["hostname"] and dns["port"] == 4317


def test_gateway_keeps_every_guardrail_span_for_the_siem() -> None:
    gateway = load_yaml(COLLECTOR / "gateway.yaml")
    siem = _pipelines(gateway)["traces/siem"]
    assert "tail_sampling" not in siem["processors"], "the SIEM copy is never sampled"
    assert siem["exporters"] == ["file/siem"]
    conditions = gateway["processors"]["filter/guardrail-only"]["traces"]["span"]
    operation = ALL_NAMES.span[Key.OPERATION_NAME][0]
    assert conditions == [f'attributes["{operation}"] != "{semconv.APPLY_GUARDRAIL}"']


def test_gateway_sampling_keeps_guardrail_interventions() -> None:
    gateway = load_yaml(COLLECTOR / "gateway.yaml")
    assert "tail_sampling" in _pipelines(gateway)["traces/backends"]["processors"]
    policies = gateway["processors"]["tail_sampling"]["policies"]
    decisions = {value.value for value in GuardrailDecisionType}
    by_key = {
        policy["string_attribute"]["key"]: policy["string_attribute"]["values"]
        for policy in policies
        if policy["type"] == "string_attribute"
    }
    assert set(by_key) == set(ALL_NAMES.span[Key.DECISION_TYPE]), "one policy per scheme"
    for values in by_key.values():
        assert set(values) == decisions - {"allow"}
    booleans = [p["boolean_attribute"] for p in policies if p["type"] == "boolean_attribute"]
    assert {"key": semconv.TSZ_BLOCKED, "value": True} in booleans
    assert any(p["type"] == "probabilistic" for p in policies)
