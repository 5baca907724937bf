"""Paths and helpers shared by the docker/ stack tests (imported by name, not a conftest)."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from tsz_otel import semconv
from tsz_otel.semconv import Key, Scheme

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
COLLECTOR = DOCKER / "otel-collector"

# Keys that are context (identity, PII) or captured content: never "ignored" by redaction.
CONTEXT_KEYS = frozenset(
    {
        Key.CONVERSATION_ID,
        Key.CHANNEL_NAME,
        Key.CHANNEL_LINK,
        Key.TENANT_ID,
        Key.AGENT_ID,
        Key.AGENT_NAME,
        Key.AGENT_DESCRIPTION,
        Key.AGENT_VERSION,
        Key.USER_ID,
        Key.USER_EMAIL,
        Key.USER_NAME,
        Key.CLIENT_ADDRESS,
        Key.SERVER_ADDRESS,
        Key.SERVER_PORT,
        Key.ERROR_TYPE,
    }
)
CONTENT_KEYS = frozenset({Key.CONTENT_INPUT_VALUE, Key.CONTENT_OUTPUT_VALUE})
ALL_NAMES = semconv.names_for([scheme.value for scheme in Scheme])


def load_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def merge(base: Mapping[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    """The collector's ``--config`` merge: maps merge recursively, everything else replaces."""
    result = copy.deepcopy(dict(base))
    for key, value in overlay.items():
        if isinstance(value, Mapping) and isinstance(result.get(key), Mapping):
            result[key] = merge(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def names_of(keys: frozenset[Key] | set[Key]) -> set[str]:
    return {name for key in keys for name in ALL_NAMES.span[key]}


def guardrail_attribute_names() -> set[str]:
    """Every guardrail span/event key of every scheme (no context, no content) + tsz.*."""
    guardrail = set(Key) - CONTEXT_KEYS - CONTENT_KEYS
    tsz = {getattr(semconv, name) for name in semconv.__all__ if name.startswith("TSZ_")}
    return names_of(guardrail) | tsz
