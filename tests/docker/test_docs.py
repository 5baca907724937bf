"""docs/deployment.md and docker/README.md stay true to the files and settings they describe.

Every YAML snippet that says ``# from docker/...`` must be an excerpt of that file (same
keys, same values; lists of scalars equal, lists of mappings matched item by item), and
every ``TSZ_*``/``OTEL_*`` variable the pages name must be a real setting or a standard
OpenTelemetry variable.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from stack_files import ROOT, load_yaml

from tsz_otel.config import ENV_VARS

DEPLOYMENT = ROOT / "docs" / "deployment.md"
DOCKER_README = ROOT / "docker" / "README.md"
SNIPPET = re.compile(r"```yaml\n(.*?)```", re.DOTALL)
SOURCE = re.compile(r"^\s*# from (\S+)")
# Standard SDK variables the pages may name besides tsz-otel's own settings.
OTEL_STANDARD = {"OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_SERVICE_NAME"}
# Variables of the compose stack itself (interpolated by compose, not read by tsz-otel).
COMPOSE_ONLY = {"TSZ_OTELCOL_OVERLAY", "TSZ_EXAMPLE", "TSZ_UID", "TSZ_GID"}


def _excerpt_of(part: Any, whole: Any, where: str) -> None:
    if isinstance(part, dict):
        assert isinstance(whole, dict), where
        for key, value in part.items():
            assert key in whole, f"{where}.{key} is not in the file"
            _excerpt_of(value, whole[key], f"{where}.{key}")
    elif isinstance(part, list) and any(isinstance(item, dict) for item in part):
        assert isinstance(whole, list), where
        remaining = list(whole)
        for item in part:
            for index, candidate in enumerate(remaining):
                try:
                    _excerpt_of(item, candidate, where)
                except AssertionError:
                    continue
                del remaining[: index + 1]
                break
            else:
                raise AssertionError(f"{where}: {item!r} is not in the file (in order)")
    else:
        assert part == whole, f"{where}: {part!r} != {whole!r}"


def _snippets(path: Path) -> list[tuple[str, Any]]:
    found = []
    for block in SNIPPET.findall(path.read_text(encoding="utf-8")):
        source = SOURCE.match(block)
        if source:
            found.append((source.group(1), yaml.safe_load(block)))
    return found


def test_deployment_snippets_are_excerpts_of_shipped_files() -> None:
    snippets = _snippets(DEPLOYMENT)
    sources = {source for source, _ in snippets}
    assert sources == {"docker/otel-collector/agent.yaml", "docker/otel-collector/gateway.yaml"}
    assert len(snippets) >= 5
    for source, snippet in snippets:
        _excerpt_of(snippet, load_yaml(ROOT / source), source)


def test_excerpt_check_catches_drift() -> None:
    whole = {"a": {"b": [1, 2], "c": [{"k": 1, "v": 2}, {"k": 3}]}}
    _excerpt_of({"a": {"c": [{"k": 3}]}}, whole, "x")
    for wrong in ({"a": {"b": [1]}}, {"a": {"c": [{"k": 4}]}}, {"a": {"d": 1}}):
        with pytest.raises(AssertionError):
            _excerpt_of(wrong, whole, "x")


@pytest.mark.parametrize("page", [DEPLOYMENT, DOCKER_README], ids=["deployment", "docker"])
def test_named_variables_exist(page: Path) -> None:
    settings = {name for names in ENV_VARS.values() for name in names}
    named = set(re.findall(r"\b((?:TSZ|OTEL)_[A-Z0-9_]+)\b", page.read_text(encoding="utf-8")))
    unknown = named - settings - OTEL_STANDARD - COMPOSE_ONLY
    assert not unknown, f"{page.name} names variables that nothing reads: {sorted(unknown)}"


def test_docker_readme_commands_match_the_stack() -> None:
    readme = DOCKER_README.read_text(encoding="utf-8")
    compose = load_yaml(ROOT / "docker" / "compose.yaml")
    assert "docker compose up -d" in readme
    assert "TSZ_OTELCOL_OVERLAY=tempo docker compose --profile tempo up -d" in readme
    for service in ("jaeger", "grafana"):
        port = compose["services"][service]["ports"][0].split(":")[1]
        assert f"http://localhost:{port}" in readme, service
    siem_path = "docker/siem-export/guardrail-spans.jsonl"
    assert f"tsz-otel report {siem_path}" in readme
