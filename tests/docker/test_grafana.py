"""Grafana provisioning and the guardrail dashboard: data sources, queries, attribute names.

Every TraceQL query of the dashboard is expanded once per scheme (the dashboard's
variables pick the scheme's names) and each attribute it references must be a name
tsz_otel/semconv.py emits in that scheme, so a renamed attribute breaks this test
instead of silently emptying a panel.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from stack_files import ALL_NAMES, DOCKER, load_yaml

from tsz_otel import semconv
from tsz_otel.semconv import Key, Scheme

DASHBOARD = DOCKER / "grafana" / "dashboards" / "tsz-guardrails.json"
ATTRIBUTE = re.compile(r"\b(span|event)\.([A-Za-z0-9_.]+)")
EVENT_NAME = re.compile(r'event:name\s*=\s*"([^"]+)"')
VARIABLE = re.compile(r"\$\{?(\w+)\}?")


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def datasources() -> list[dict[str, Any]]:
    provisioned = load_yaml(DOCKER / "grafana/provisioning/datasources/datasources.yaml")
    sources: list[dict[str, Any]] = provisioned["datasources"]
    return sources


def _variables(dashboard: dict[str, Any]) -> dict[str, dict[str, str]]:
    """variable name -> {scheme label: value}."""
    return {
        variable["name"]: {option["text"]: option["value"] for option in variable["options"]}
        for variable in dashboard["templating"]["list"]
    }


def _queries(dashboard: dict[str, Any]) -> list[str]:
    return [target["query"] for panel in dashboard["panels"] for target in panel["targets"]]


def _expand(query: str, variables: dict[str, dict[str, str]], scheme: str) -> str:
    def value(match: re.Match[str]) -> str:
        return variables[match.group(1)][scheme]

    return VARIABLE.sub(value, query)


def _event_attribute_names(scheme: str) -> set[str]:
    names = semconv.names_for([scheme])
    tsz = {getattr(semconv, n) for n in semconv.__all__ if n.startswith("TSZ_FINDING_")}
    return {name for event in names.finding_events for name in event.keys.values()} | tsz


def _span_attribute_names(scheme: str) -> set[str]:
    names = semconv.names_for([scheme])
    tsz = {getattr(semconv, n) for n in semconv.__all__ if n.startswith("TSZ_")}
    return {name for spelled in names.span.values() for name in spelled} | tsz


def test_datasources_point_at_the_compose_services(
    compose: dict[str, Any], datasources: list[dict[str, Any]]
) -> None:
    by_type = {source["type"]: source for source in datasources}
    assert set(by_type) == {"tempo", "jaeger"}
    assert by_type["tempo"]["isDefault"] is True
    tempo_port = load_yaml(DOCKER / "tempo/tempo.yaml")["server"]["http_listen_port"]
    for kind, port in (("tempo", tempo_port), ("jaeger", 16686)):
        url = urlsplit(by_type[kind]["url"])
        assert url.hostname in compose["services"], kind
        assert url.port == port, kind


def test_panels_use_provisioned_datasources(
    dashboard: dict[str, Any], datasources: list[dict[str, Any]]
) -> None:
    uids = {source["uid"] for source in datasources}
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] in uids, panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] in uids, panel["title"]


def test_layout_is_well_formed(dashboard: dict[str, Any]) -> None:
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        grid = panel["gridPos"]
        assert 0 <= grid["x"] and grid["x"] + grid["w"] <= 24, panel["title"]
    assert dashboard["uid"] and dashboard["title"]


def test_variables_offer_each_scheme_spelling(dashboard: dict[str, Any]) -> None:
    variables = _variables(dashboard)
    schemes = {scheme.value for scheme in Scheme}
    for options in variables.values():
        assert set(options) == schemes
    for scheme in schemes:
        names = semconv.names_for([scheme])
        assert variables["decision"][scheme] == "span." + names.span[Key.DECISION_TYPE][0]
        assert variables["target"][scheme] == "span." + names.span[Key.TARGET_TYPE][0]
        assert variables["finding_event"][scheme] == names.finding_events[0].name


def test_dashboard_covers_decisions_findings_and_blocks(dashboard: dict[str, Any]) -> None:
    queries = " ".join(_queries(dashboard))
    assert f'"{semconv.APPLY_GUARDRAIL}"' in queries
    assert "$decision" in queries
    assert "$finding_event" in queries
    assert f"span.{semconv.TSZ_BLOCKED} = true" in queries
    assert semconv.TSZ_REQUEST_ID in queries


@pytest.mark.parametrize("scheme", [scheme.value for scheme in Scheme])
def test_every_queried_attribute_is_emitted(dashboard: dict[str, Any], scheme: str) -> None:
    variables = _variables(dashboard)
    span_names = _span_attribute_names(scheme)
    event_names = _event_attribute_names(scheme)
    finding_events = {event.name for event in semconv.names_for([scheme]).finding_events}
    for query in _queries(dashboard):
        expanded = _expand(query, variables, scheme)
        assert "$" not in expanded, expanded
        for scope, name in ATTRIBUTE.findall(expanded):
            known = span_names if scope == "span" else event_names
            assert name in known, f"{scheme}: {scope}.{name} is not emitted ({query})"
        for event in EVENT_NAME.findall(expanded):
            assert event in finding_events, f"{scheme}: no {event} events"


def test_operation_name_filter_uses_the_semconv_key(dashboard: dict[str, Any]) -> None:
    operation = ALL_NAMES.span[Key.OPERATION_NAME][0]
    filters = [q for q in _queries(dashboard) if semconv.APPLY_GUARDRAIL in q]
    assert filters
    for query in filters:
        assert f'span.{operation} = "{semconv.APPLY_GUARDRAIL}"' in query
