"""One settings object, built from the environment.

Every tunable of tsz-otel is a field of :class:`Settings`. ``Settings.from_env()``
reads ``os.environ`` (or a mapping you pass) once; components take a ``Settings``
and never read the environment themselves, so a test or an application can build
one explicitly and keyword arguments override it (``Settings.from_env(mode="mask")``).

Names follow TSZ where TSZ has one (``CONFIDENCE_ALLOW_THRESHOLD``,
``CONFIDENCE_BLOCK_THRESHOLD``, ``CONFIDENCE_<CATEGORY>_THRESHOLD``, ``PII_MODE``,
``THYRIS_AI_*`` aliases) and the OpenTelemetry ones where they exist
(``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``); the rest are ``TSZ_*``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import ConfigurationError

__all__ = ["ENV_VARS", "Settings"]

Mode = Literal["observe", "mask", "block"]
PlaceholderStyle = Literal["tsz", "type", "indexed"]
CaptureContent = Literal["NO_CONTENT", "SPAN_ONLY", "EVENT_ONLY", "SPAN_AND_EVENT"]
StreamMode = Literal["final-only", "stream-sync", "stream-async"]
StreamOnFail = Literal["filter", "halt"]


# field name -> environment variables that set it, first found wins.
ENV_VARS: dict[str, tuple[str, ...]] = {
    # engine
    "allow_threshold": ("CONFIDENCE_ALLOW_THRESHOLD",),
    "block_threshold": ("CONFIDENCE_BLOCK_THRESHOLD",),
    "pii_mode": ("PII_MODE",),
    "placeholder_style": ("TSZ_PLACEHOLDER_STYLE",),
    "templates": ("TSZ_TEMPLATES",),
    "disabled_patterns": ("TSZ_DISABLED_PATTERNS",),
    "max_text_bytes": ("TSZ_MAX_TEXT_BYTES",),
    "clean_cache_size": ("TSZ_CLEAN_CACHE_SIZE",),
    # policy and telemetry
    "mode": ("TSZ_MODE",),
    "input_mode": ("TSZ_INPUT_MODE",),
    "output_mode": ("TSZ_OUTPUT_MODE",),
    "fail_mode": ("TSZ_FAIL_MODE",),
    "guardrails": ("TSZ_GUARDRAILS",),
    "semconv": ("TSZ_OTEL_SEMCONV",),
    "capture_content": (
        "TSZ_OTEL_CAPTURE_CONTENT",
        "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT",
    ),
    "capture_raw": ("TSZ_OTEL_CAPTURE_RAW",),
    "hash_key": ("TSZ_OTEL_HASH_KEY",),
    "service_name": ("OTEL_SERVICE_NAME",),
    "otlp_endpoint": ("OTEL_EXPORTER_OTLP_ENDPOINT",),
    "otlp_traces_endpoint": ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",),
    "otlp_metrics_endpoint": ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",),
    # instrumentors
    "input_roles": ("TSZ_INPUT_ROLES",),
    "stream_mode": ("TSZ_STREAM_MODE",),
    "stream_on_fail": ("TSZ_STREAM_ON_FAIL",),
    "restore_output": ("TSZ_RESTORE_OUTPUT",),
    "http_hosts": ("TSZ_HTTP_HOSTS",),
    "http_paths": ("TSZ_HTTP_PATHS",),
    "observe_async": ("TSZ_OBSERVE_ASYNC",),
    "engine": ("TSZ_ENGINE",),
    "base_url": ("TSZ_BASE_URL",),
    "admin_key": ("TSZ_ADMIN_KEY",),
    "remote_timeout": ("TSZ_REMOTE_TIMEOUT",),
    # validators, AI and cache
    "unknown_guardrail": ("TSZ_UNKNOWN_GUARDRAIL",),
    "ai_scoring": ("TSZ_AI_SCORING",),
    "ai_model_url": ("TSZ_AI_MODEL_URL", "THYRIS_AI_MODEL_URL"),
    "ai_api_key": ("TSZ_AI_API_KEY", "THYRIS_AI_API_KEY"),
    "ai_model": ("TSZ_AI_MODEL", "THYRIS_AI_MODEL"),
    "ai_timeout": ("TSZ_AI_TIMEOUT",),
    "ai_max_calls": ("TSZ_AI_MAX_CALLS",),
    "cache_ttl": ("TSZ_CACHE_TTL",),
    "redis_url": ("TSZ_REDIS_URL",),
    "redis_cluster": ("TSZ_REDIS_CLUSTER",),
}

_CATEGORY_PREFIX = "CONFIDENCE_"
_CATEGORY_SUFFIX = "_THRESHOLD"
_GLOBAL_THRESHOLD_VARS = {"CONFIDENCE_ALLOW_THRESHOLD", "CONFIDENCE_BLOCK_THRESHOLD"}
_LIST_FIELDS = {
    "templates",
    "disabled_patterns",
    "guardrails",
    "semconv",
    "input_roles",
    "http_hosts",
    "http_paths",
}


class Settings(BaseModel):
    """Every setting of tsz-otel, with its default. Immutable once built."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # engine
    allow_threshold: float = Field(0.30, ge=0.0, le=1.0)
    block_threshold: float = Field(0.85, ge=0.0, le=1.0)
    category_thresholds: dict[str, float] = Field(default_factory=dict)
    pii_mode: Literal["MASK", "BLOCK"] = "MASK"
    placeholder_style: PlaceholderStyle = "tsz"
    templates: tuple[str, ...] = ()
    disabled_patterns: tuple[str, ...] = ()
    max_text_bytes: int = Field(16 * 1024 * 1024, gt=0)
    clean_cache_size: int = Field(16384, ge=0)
    # policy and telemetry
    mode: Mode = "observe"
    input_mode: Mode | None = None
    output_mode: Mode | None = None
    fail_mode: Literal["open", "closed"] = "open"
    guardrails: tuple[str, ...] = ()
    semconv: tuple[str, ...] = ("gen_ai",)
    capture_content: CaptureContent = "NO_CONTENT"
    capture_raw: bool = False
    hash_key: str | None = None
    service_name: str | None = None
    otlp_endpoint: str | None = None
    otlp_traces_endpoint: str | None = None
    otlp_metrics_endpoint: str | None = None
    # instrumentors
    input_roles: tuple[str, ...] = ("user", "system", "tool")
    stream_mode: StreamMode = "final-only"
    stream_on_fail: StreamOnFail = "filter"
    restore_output: bool = False
    http_hosts: tuple[str, ...] = ()  # httpx instrumentor: only these hosts (empty: any)
    http_paths: tuple[str, ...] = ()  # httpx instrumentor: extra "<path suffix>=<format>"
    # instrumentors: observe-mode checks on a worker thread. Off by default: with the inline
    # engine the checks are CPU work under the GIL, so a worker saves no time (measured:
    # same or more CPU per call, equal or worse wall clock, p99 tail from GIL hand-offs) and
    # it moves the guardrail spans after the call. Worth turning on for a remote engine or
    # AI scoring, whose checks wait on the network (benchmarks/bench_instrumentation.py).
    observe_async: bool = False
    engine: Literal["inline", "remote"] = "inline"
    base_url: str | None = None
    admin_key: str | None = None
    remote_timeout: float = Field(5.0, gt=0)
    # validators, AI and cache
    unknown_guardrail: Literal["error", "fail", "ignore"] = "error"
    ai_scoring: Literal["off", "ambiguous", "all"] = "off"
    ai_model_url: str | None = None
    ai_api_key: str | None = None
    ai_model: str | None = None
    ai_timeout: float = Field(2.0, gt=0)
    ai_max_calls: int = Field(16, ge=0)
    cache_ttl: int = Field(24 * 3600, gt=0)
    redis_url: str | None = None
    redis_cluster: bool = False

    @field_validator(
        "mode",
        "input_mode",
        "output_mode",
        "fail_mode",
        "engine",
        "ai_scoring",
        "unknown_guardrail",
        "placeholder_style",
        "stream_mode",
        "stream_on_fail",
        mode="before",
    )
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("pii_mode", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("capture_content", mode="before")
    @classmethod
    def _capture_mode(cls, value: Any) -> Any:
        """Accept the GenAI enum values and the older ``true``/``false``."""
        if isinstance(value, bool):
            return "SPAN_AND_EVENT" if value else "NO_CONTENT"
        if isinstance(value, str):
            text = value.strip().upper()
            if text in {"TRUE", "1", "YES", "ON"}:
                return "SPAN_AND_EVENT"
            if text in {"FALSE", "0", "NO", "OFF", ""}:
                return "NO_CONTENT"
            return text
        return value

    @field_validator("category_thresholds", mode="before")
    @classmethod
    def _upper_categories(cls, value: Any) -> Any:
        if isinstance(value, Mapping):
            return {str(k).upper(): v for k, v in value.items()}
        return value

    def mode_for(self, target: str) -> Mode:
        """The rollout mode for a guard target (input targets vs output targets)."""
        if target.endswith(("output", "result")) or target == "memory_retrieve":
            return self.output_mode or self.mode
        return self.input_mode or self.mode

    def captures_on_span(self) -> bool:
        return self.capture_content in ("SPAN_ONLY", "SPAN_AND_EVENT")

    def captures_on_event(self) -> bool:
        return self.capture_content in ("EVENT_ONLY", "SPAN_AND_EVENT")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Build settings from ``environ`` (default ``os.environ``), then ``overrides``.

        Unparsable values are a :class:`ConfigurationError` naming the variable,
        not a silent fallback to the default.
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        source: dict[str, str] = {}
        for field, names in ENV_VARS.items():
            for name in names:
                raw = env.get(name)
                if raw is not None and raw.strip() != "":
                    values[field] = _split(raw) if field in _LIST_FIELDS else raw.strip()
                    source[field] = name
                    break
        categories = _category_thresholds(env)
        if categories:
            values["category_thresholds"] = categories
        values.update(overrides)
        try:
            return cls(**values)
        except ValidationError as exc:
            raise ConfigurationError(_describe(exc, source)) from exc


def _split(raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def _category_thresholds(env: Mapping[str, str]) -> dict[str, str]:
    """``CONFIDENCE_<CATEGORY>_THRESHOLD`` variables, keyed by category."""
    found: dict[str, str] = {}
    for name, raw in env.items():
        if (
            name.startswith(_CATEGORY_PREFIX)
            and name.endswith(_CATEGORY_SUFFIX)
            and name not in _GLOBAL_THRESHOLD_VARS
            and raw.strip()
        ):
            category = name[len(_CATEGORY_PREFIX) : -len(_CATEGORY_SUFFIX)]
            if category:
                found[category.upper()] = raw.strip()
    return found


def _describe(exc: ValidationError, source: Mapping[str, str]) -> str:
    parts = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else "?"
        where = source.get(field, field)
        parts.append(f"{where}: {error['msg']}")
    return "invalid settings: " + "; ".join(parts)
