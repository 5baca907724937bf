"""tsz-otel: inline LLM guardrails as OpenTelemetry instrumentation.

The public API is re-exported here; import from ``tsz_otel``, not from submodules.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .config import Settings
from .content import ContentHasher, ContentPolicy
from .engine import Engine
from .errors import (
    ConfigurationError,
    GuardrailBlockedError,
    GuardrailFailedError,
    InputError,
    InvalidPatternError,
    RemoteAuthError,
    RemoteBadRequestError,
    RemoteError,
    RemoteNotFoundError,
    RemoteProtocolError,
    RemoteStatusError,
    RemoteUnavailableError,
    TemplateError,
    TszError,
    UnknownGuardrailError,
)
from .guard import Detector, Guard, Verdict
from .metrics import GuardrailMetrics
from .models import (
    AllowlistItem,
    BlacklistItem,
    ConfidenceExplanation,
    DetectionResult,
    DetectRequest,
    DetectResponse,
    FormatValidator,
    Pattern,
    Template,
    TemplateImport,
    ValidatorResult,
)
from .policy import RolloutMode, parse_mode
from .processor import ScrubbingSpanProcessor
from .remote import RemoteEngine
from .scope import (
    AgentDetails,
    ApplyGuardrailScope,
    GuardrailDecisionType,
    GuardrailDetails,
    GuardrailFinding,
    GuardrailRiskSeverity,
    GuardrailTargetType,
    GuardrailTracer,
    RequestDetails,
    SpanDetails,
    UserDetails,
)
from .semconv import Scheme
from .telemetry import Telemetry, setup_telemetry
from .validators import ValidationReport, ValidatorRegistry
from .version import __version__

if TYPE_CHECKING:
    from .ai import AIClient, MemoryCache, RedisCache

_LAZY = {"AIClient": ".ai", "MemoryCache": ".ai", "RedisCache": ".ai"}
"""Public names whose modules load on first use: the AI client and its caches bring the
HTTP stack, which an application with the inline engine alone never needs."""


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


__all__ = [
    "AIClient",
    "AgentDetails",
    "AllowlistItem",
    "ApplyGuardrailScope",
    "BlacklistItem",
    "ConfidenceExplanation",
    "ConfigurationError",
    "ContentHasher",
    "ContentPolicy",
    "DetectRequest",
    "DetectResponse",
    "DetectionResult",
    "Detector",
    "Engine",
    "FormatValidator",
    "Guard",
    "GuardrailBlockedError",
    "GuardrailDecisionType",
    "GuardrailDetails",
    "GuardrailFailedError",
    "GuardrailFinding",
    "GuardrailMetrics",
    "GuardrailRiskSeverity",
    "GuardrailTargetType",
    "GuardrailTracer",
    "InputError",
    "InvalidPatternError",
    "MemoryCache",
    "Pattern",
    "RedisCache",
    "RemoteAuthError",
    "RemoteBadRequestError",
    "RemoteEngine",
    "RemoteError",
    "RemoteNotFoundError",
    "RemoteProtocolError",
    "RemoteStatusError",
    "RemoteUnavailableError",
    "RequestDetails",
    "RolloutMode",
    "Scheme",
    "ScrubbingSpanProcessor",
    "Settings",
    "SpanDetails",
    "Telemetry",
    "Template",
    "TemplateError",
    "TemplateImport",
    "TszError",
    "UnknownGuardrailError",
    "UserDetails",
    "ValidationReport",
    "ValidatorRegistry",
    "ValidatorResult",
    "Verdict",
    "__version__",
    "parse_mode",
    "setup_telemetry",
]
