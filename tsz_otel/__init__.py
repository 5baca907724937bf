"""tsz-otel: inline LLM guardrails as OpenTelemetry instrumentation.

The public API is re-exported here; import from ``tsz_otel``, not from submodules.
"""

from __future__ import annotations

from .config import Settings
from .errors import (
    ConfigurationError,
    GuardrailBlockedError,
    GuardrailFailedError,
    InputError,
    InvalidPatternError,
    RemoteError,
    RemoteStatusError,
    RemoteUnavailableError,
    TemplateError,
    TszError,
    UnknownGuardrailError,
)
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
from .version import __version__

__all__ = [
    "AllowlistItem",
    "BlacklistItem",
    "ConfidenceExplanation",
    "ConfigurationError",
    "DetectRequest",
    "DetectResponse",
    "DetectionResult",
    "FormatValidator",
    "GuardrailBlockedError",
    "GuardrailFailedError",
    "InputError",
    "InvalidPatternError",
    "Pattern",
    "RemoteError",
    "RemoteStatusError",
    "RemoteUnavailableError",
    "Settings",
    "Template",
    "TemplateError",
    "TemplateImport",
    "TszError",
    "UnknownGuardrailError",
    "ValidatorResult",
    "__version__",
]
