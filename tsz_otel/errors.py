"""The exceptions tsz-otel raises, as one hierarchy.

Callers catch the most specific class they care about; everything derives from
:class:`TszError`, so ``except TszError`` catches all of them::

    TszError
    ├── ConfigurationError          a setting, pattern, template or validator is invalid
    │   ├── InvalidPatternError     a regex is not valid RE2 (names the pattern)
    │   ├── TemplateError           a template file or dict cannot be imported
    │   └── UnknownGuardrailError   a guardrail name matches no validator
    ├── InputError                  the text to scan cannot be scanned (too large, not text)
    ├── GuardrailBlockedError       block mode stopped a call (carries the verdict, no raw values)
    ├── GuardrailFailedError        the guardrail itself failed and fail mode is ``closed``
    └── RemoteError                 a TSZ server or AI model endpoint answered badly
        ├── RemoteUnavailableError  it could not be reached or timed out
        ├── RemoteProtocolError     it answered 2xx with a body that is not the documented shape
        └── RemoteStatusError       it answered with a non-success HTTP status
            ├── RemoteBadRequestError   400/405/413/422: the request was rejected
            ├── RemoteAuthError         401/403: admin key missing or wrong
            └── RemoteNotFoundError     404: no such object (or endpoint)

Messages never contain a detected value: they name types, counts, pattern names and
request ids only.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ConfigurationError",
    "GuardrailBlockedError",
    "GuardrailFailedError",
    "InputError",
    "InvalidPatternError",
    "RemoteAuthError",
    "RemoteBadRequestError",
    "RemoteError",
    "RemoteNotFoundError",
    "RemoteProtocolError",
    "RemoteStatusError",
    "RemoteUnavailableError",
    "TemplateError",
    "TszError",
    "UnknownGuardrailError",
]


class TszError(Exception):
    """Base class of every tsz-otel error."""


class ConfigurationError(TszError, ValueError):
    """A setting, pattern, template or validator definition is invalid."""


class InvalidPatternError(ConfigurationError):
    """A pattern's regex is not accepted (not RE2 syntax, or does not compile)."""

    def __init__(self, pattern_name: str, reason: str) -> None:
        super().__init__(f"pattern {pattern_name!r}: invalid regex: {reason}")
        self.pattern_name = pattern_name
        self.reason = reason


class TemplateError(ConfigurationError):
    """A template cannot be imported; nothing of it was applied."""


class UnknownGuardrailError(ConfigurationError):
    """A requested guardrail (validator) name is not defined, or nothing can run it."""

    def __init__(self, name: str, reason: str = "no validator of that name is defined") -> None:
        super().__init__(f"unknown guardrail {name!r}: {reason}")
        self.name = name


class InputError(TszError, ValueError):
    """The input cannot be scanned (for example larger than the configured limit)."""


class GuardrailBlockedError(TszError):
    """Block mode stopped the call.

    ``verdict`` is the guard's verdict (decision, response with findings, span
    context). The message names finding types and the request id, never a value.
    """

    def __init__(self, message: str, verdict: Any = None) -> None:
        super().__init__(message)
        self.verdict = verdict


class GuardrailFailedError(TszError):
    """The guardrail evaluation itself failed and ``TSZ_FAIL_MODE=closed``.

    ``verdict`` is the guard's ``deny`` verdict (with ``error_type``), when a guard
    raised it; the original exception is chained as ``__cause__``.
    """

    def __init__(self, message: str, verdict: Any = None) -> None:
        super().__init__(message)
        self.verdict = verdict


class RemoteError(TszError):
    """A remote TSZ server or AI model endpoint failed."""


class RemoteUnavailableError(RemoteError):
    """The remote endpoint could not be reached or did not answer in time."""


class RemoteStatusError(RemoteError):
    """The remote endpoint answered with an unexpected HTTP status.

    ``body`` keeps the start of the answer for debugging; it is never in the message,
    because a server may echo the scanned text.
    """

    def __init__(self, message: str, status_code: int, body: bytes = b"") -> None:
        super().__init__(message)
        self.status_code = status_code
        self.body = body


class RemoteProtocolError(RemoteError):
    """The remote endpoint answered 2xx, but not with the documented JSON."""


class RemoteBadRequestError(RemoteStatusError):
    """The remote endpoint rejected the request (400, 405, 413 or 422)."""


class RemoteAuthError(RemoteStatusError):
    """The remote endpoint refused the credentials (401 or 403): check ``TSZ_ADMIN_KEY``."""


class RemoteNotFoundError(RemoteStatusError):
    """The remote endpoint has no such object or route (404)."""
