"""docker/compose.yaml: services, profiles, ports, mounts and the app image, checked by parsing.

There is no docker engine on the development machines; ``docker compose config`` runs
only where one is (the last test), everything else is checked from the files.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from stack_files import COLLECTOR, DOCKER, ROOT, load_yaml

from tsz_otel.config import ENV_VARS

DEFAULT_SERVICES = {"jaeger", "otel-collector", "redis", "app"}
TEMPO_SERVICES = {"tempo-init", "tempo", "grafana"}


def _services(compose: dict[str, Any]) -> dict[str, Any]:
    services: dict[str, Any] = compose["services"]
    return services


def _published(service: dict[str, Any]) -> list[tuple[str, int, int]]:
    """(host ip, host port, container port) of every published port."""
    result = []
    for entry in service.get("ports", []):
        parts = str(entry).split(":")
        assert len(parts) == 3, f"port {entry!r} must name the host ip (127.0.0.1:HOST:CONTAINER)"
        result.append((parts[0], int(parts[1]), int(parts[2])))
    return result


def _exposed(service: dict[str, Any]) -> set[int]:
    ports = {int(port) for port in service.get("expose", [])}
    return ports | {container for _, _, container in _published(service)}


def _env(service: dict[str, Any]) -> dict[str, Any]:
    env = service.get("environment", {})
    assert isinstance(env, dict), "environment is written as a mapping"
    return env


def _default(value: str) -> str:
    """``${VAR:-default}`` -> ``default`` (what compose uses when VAR is unset)."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value)


def test_services_and_profiles(compose: dict[str, Any]) -> None:
    services = _services(compose)
    assert set(services) == DEFAULT_SERVICES | TEMPO_SERVICES
    for name in DEFAULT_SERVICES:
        assert "profiles" not in services[name], f"{name} must start with a plain `up`"
    for name in TEMPO_SERVICES:
        assert services[name]["profiles"] == ["tempo"], name


def test_jaeger_takes_otlp_and_serves_the_ui(compose: dict[str, Any]) -> None:
    jaeger = _services(compose)["jaeger"]
    assert "jaeger" in jaeger["image"]
    assert {4317, 4318} <= _exposed(jaeger)
    assert ("127.0.0.1", 16686, 16686) in _published(jaeger)
    assert _env(jaeger)["COLLECTOR_OTLP_ENABLED"] == "true"


def test_collector_owns_the_host_otlp_ports(compose: dict[str, Any]) -> None:
    collector = _services(compose)["otel-collector"]
    assert "opentelemetry-collector-contrib" in collector["image"]
    published = _published(collector)
    assert ("127.0.0.1", 4317, 4317) in published
    assert ("127.0.0.1", 4318, 4318) in published


def test_every_published_port_is_loopback_and_unique(compose: dict[str, Any]) -> None:
    seen: dict[int, str] = {}
    for name, service in _services(compose).items():
        for host_ip, host_port, _ in _published(service):
            assert host_ip == "127.0.0.1", f"{name} publishes {host_port} beyond localhost"
            assert host_port not in seen, f"{name} and {seen.get(host_port)} both use {host_port}"
            seen[host_port] = name


def test_bind_mounts_exist(compose: dict[str, Any]) -> None:
    declared = set(compose.get("volumes", {}))
    for name, service in _services(compose).items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (DOCKER / source).exists(), f"{name}: {source} is missing"
            else:
                assert source in declared, f"{name}: named volume {source} is not declared"


def _container_path(service: dict[str, Any], container_path: str) -> Path:
    """The host file behind a path inside the container, through the bind mounts."""
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        if container_path == target or container_path.startswith(target.rstrip("/") + "/"):
            return DOCKER / source / container_path[len(target) :].lstrip("/")
    raise AssertionError(f"{container_path} is not mounted")


def test_collector_config_files_are_mounted(compose: dict[str, Any]) -> None:
    collector = _services(compose)["otel-collector"]
    configs = [arg.split("=", 1)[1] for arg in collector["command"] if arg.startswith("--config=")]
    assert len(configs) == 2
    base = _container_path(collector, configs[0])
    assert base == COLLECTOR / "config.yaml"
    assert base.is_file()
    overlay_default = _container_path(collector, _default(configs[1]))
    assert overlay_default.is_file(), "the default overlay must exist"
    tempo = configs[1].replace("${TSZ_OTELCOL_OVERLAY:-none}", "tempo")
    overlay_tempo = _container_path(collector, tempo)
    assert overlay_tempo == COLLECTOR / "overlays" / "tempo.yaml"
    assert overlay_tempo.is_file()


def test_collector_writes_the_siem_file_into_the_export_mount(
    compose: dict[str, Any], stack_collector: dict[str, Any]
) -> None:
    collector = _services(compose)["otel-collector"]
    path = stack_collector["exporters"]["file/siem"]["path"]
    host = _container_path(collector, path)
    assert host.parent == DOCKER / "siem-export"
    assert (DOCKER / "siem-export" / ".gitignore").is_file(), "the export folder ships empty"


def test_app_image_sends_to_the_collector(compose: dict[str, Any]) -> None:
    services = _services(compose)
    app = services["app"]
    assert (DOCKER / app["build"]["context"]).resolve() == ROOT
    assert (ROOT / app["build"]["dockerfile"]).is_file()
    env = _env(app)
    endpoint = urlsplit(env["OTEL_EXPORTER_OTLP_ENDPOINT"])
    assert endpoint.hostname == "otel-collector"
    assert endpoint.port == 4318
    assert env["OTEL_EXPORTER_OTLP_PROTOCOL"] == "http/protobuf"
    assert urlsplit(env["TSZ_REDIS_URL"]).hostname == "redis"
    assert set(app["depends_on"]) <= set(services)


def test_app_tsz_variables_are_real_settings(compose: dict[str, Any]) -> None:
    known = {name for names in ENV_VARS.values() for name in names}
    env = _env(_services(compose)["app"])
    tsz = {name for name in env if name.startswith("TSZ_") and name != "TSZ_EXAMPLE"}
    assert tsz, "the app is configured through TSZ_* settings"
    assert tsz <= known, f"not settings: {sorted(tsz - known)}"


def test_provider_credentials_pass_through_only_when_set(compose: dict[str, Any]) -> None:
    env = _env(_services(compose)["app"])
    # A null value passes the shell's variable through, and leaves it unset otherwise
    # (an empty OPENAI_BASE_URL would break the OpenAI client).
    assert env["OPENAI_BASE_URL"] is None
    assert env["OPENAI_API_KEY"] is None


def test_depends_on_names_existing_services(compose: dict[str, Any]) -> None:
    services = _services(compose)
    for name, service in services.items():
        assert set(service.get("depends_on", [])) <= set(services), name


def test_grafana_mounts_match_provisioning(compose: dict[str, Any]) -> None:
    grafana = _services(compose)["grafana"]
    provider = load_yaml(DOCKER / "grafana/provisioning/dashboards/dashboards.yaml")
    path = provider["providers"][0]["options"]["path"]
    assert _container_path(grafana, path) == DOCKER / "grafana/dashboards"
    home = _env(grafana)["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert _container_path(grafana, home).is_file()


# --------------------------------------------------------------------------- the app image


def _dockerfile() -> list[tuple[str, str]]:
    """(instruction, argument) pairs, continuation lines joined, comments dropped."""
    text = (DOCKER / "app.Dockerfile").read_text(encoding="utf-8")
    text = re.sub(r"\\\n", " ", text)
    pairs = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            instruction, _, argument = line.partition(" ")
            pairs.append((instruction.upper(), argument.strip()))
    return pairs


def test_dockerfile_installs_tsz_otel_with_existing_extras() -> None:
    pairs = _dockerfile()
    base = next(argument for instruction, argument in pairs if instruction == "FROM")
    major, minor = re.match(r"python:(\d+)\.(\d+)", base).groups()  # type: ignore[union-attr]
    assert (int(major), int(minor)) >= (3, 11)
    run = " ".join(argument for instruction, argument in pairs if instruction == "RUN")
    extras = re.search(r'pip install "/src\[([a-z,]+)\]"', run)
    assert extras, "the image installs tsz-otel from the build context"
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    available = set(pyproject["project"]["optional-dependencies"])
    assert "otlp" in extras.group(1).split(",")
    assert set(extras.group(1).split(",")) <= available


def test_dockerfile_defaults_match_compose(compose: dict[str, Any]) -> None:
    env_lines = " ".join(arg for instruction, arg in _dockerfile() if instruction == "ENV")
    defaults = dict(re.findall(r"([A-Z_]+)=(\S+)", env_lines))
    app_env = _env(_services(compose)["app"])
    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_SERVICE_NAME"):
        assert defaults[name] == app_env[name], name
    assert defaults["TSZ_EXAMPLE"] == _default(app_env["TSZ_EXAMPLE"])
    assert defaults["TSZ_MODE"] == _default(app_env["TSZ_MODE"])
    assert any(i == "USER" and a != "root" for i, a in _dockerfile()), "runs as a non-root user"


def test_dockerfile_runs_an_example() -> None:
    cmd = next(argument for instruction, argument in _dockerfile() if instruction == "CMD")
    assert "examples/${TSZ_EXAMPLE}/main.py" in cmd
    example = ROOT / "examples" / "monitoring-demo" / "main.py"
    if not example.is_file():
        pytest.skip("examples/monitoring-demo/main.py is not written yet (issue 6 examples)")
    assert example.is_file()


def test_build_context_leaves_out_local_state() -> None:
    ignore = (DOCKER / "app.Dockerfile.dockerignore").read_text(encoding="utf-8").split()
    for entry in (".git", ".venv", "docker/siem-export"):
        assert entry in ignore


# --------------------------------------------------------------------------- docker itself


def _compose_cli() -> list[str] | None:
    """``docker compose`` when a CLI with the plugin and a reachable engine exist."""
    docker = shutil.which("docker")
    if docker is None:
        return None
    for probe in ([docker, "compose", "version"], [docker, "info"]):
        result = subprocess.run(probe, capture_output=True, timeout=30, check=False)
        if result.returncode != 0:
            return None
    return [docker, "compose"]


def test_docker_compose_config_accepts_the_file() -> None:
    cli = _compose_cli()
    if cli is None:
        pytest.skip("no docker engine with the compose plugin here; the file is parsed above")
    for profile in ([], ["--profile", "tempo"]):
        result = subprocess.run(
            [*cli, "-f", str(DOCKER / "compose.yaml"), *profile, "config", "--quiet"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
