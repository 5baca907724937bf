"""The vocabulary of guardrails (validators): a check's outcome and a request's report.

A validator answers ``pass``, ``fail`` (the content breaks the rule) or ``error`` (the
validator could not decide: model unreachable, engine missing). What TSZ derives from it
is kept exactly, as data:

=========  ======================  ===============================================
status     ``confidence_score``    message
=========  ======================  ===============================================
pass       0.70                    (none)
fail       0.90                    ``Content blocked by security policy: <NAME>``
error      1.00                    ``Error in guardrail '<NAME>': <reason>``
=========  ======================  ===============================================

A ``fail`` always blocks (``DetectResponse.blocked``; the policy layer only stops the
call in block mode). An ``error`` blocks only with ``TSZ_FAIL_MODE=closed``; TSZ always
blocks on errors, which turns a model outage into an outage of the application. Reasons
never contain the checked text or a detected value.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

from ..models import ValidatorResult

if TYPE_CHECKING:
    from ..models import DetectionResult

__all__ = [
    "CONFIDENCE",
    "Check",
    "CheckContext",
    "GuardrailOutcome",
    "Status",
    "ValidationReport",
    "Validator",
]

Status = Literal["pass", "fail", "error"]

CONFIDENCE: dict[Status, float] = {"pass": 0.7, "fail": 0.9, "error": 1.0}
"""TSZ's ``confidence_score`` of a validator result, by status."""


@dataclass(frozen=True, slots=True)
class Check:
    """What one validator said about one text. ``reason`` is value-free."""

    status: Status
    reason: str | None = None

    @classmethod
    def of(cls, passed: bool, reason: str | None = None) -> Check:
        return cls("pass" if passed else "fail", None if passed else reason)


class CheckContext:
    """What a validator may use besides the text: the engine's detections, computed once.

    ``detections`` is either the list the engine already has for this text, or a
    callable that computes it on first use (so a request with no NO_* guardrail never
    pays for a second scan). ``allow_threshold`` decides which detections count.
    """

    __slots__ = ("_detections", "_source", "allow_threshold")

    def __init__(
        self,
        detections: Sequence[DetectionResult]
        | Callable[[], Sequence[DetectionResult]]
        | None = None,
        allow_threshold: float = 0.30,
    ) -> None:
        self._source = detections
        self._detections: Sequence[DetectionResult] | None = None
        self.allow_threshold = allow_threshold

    def counts(self, detection: DetectionResult) -> bool:
        """Whether a detection is a finding: its action is not ALLOW (when the engine set
        one, per-pattern thresholds included), else its score reaches the allow threshold."""
        if detection.action is not None:
            return detection.action != "ALLOW"
        return detection.confidence_score >= self.allow_threshold

    def detections(self) -> Sequence[DetectionResult] | None:
        """The detections of the text, or ``None`` when no engine is available."""
        if self._detections is None and self._source is not None:
            self._detections = self._source() if callable(self._source) else self._source
        return self._detections


@runtime_checkable
class Validator(Protocol):
    """A guardrail that can be run on a text. ``type`` is BUILTIN, REGEX, SCHEMA, AI_PROMPT."""

    @property
    def name(self) -> str: ...

    @property
    def type(self) -> str: ...

    def check(self, text: str, context: CheckContext) -> Check: ...


@dataclass(frozen=True, slots=True)
class GuardrailOutcome:
    """One guardrail's result for a request, with whether it blocks."""

    name: str
    type: str
    status: Status
    reason: str | None
    blocks: bool

    @property
    def confidence(self) -> float:
        return CONFIDENCE[self.status]

    @property
    def message(self) -> str | None:
        """TSZ's message for a failing or erroring guardrail (``None`` on pass)."""
        if self.status == "fail":
            return f"Content blocked by security policy: {self.name}"
        if self.status == "error":
            return f"Error in guardrail '{self.name}': {self.reason or 'error'}"
        return None

    def to_result(self) -> ValidatorResult:
        """The wire ``ValidatorResult`` (its excluded ``message`` carries the reason)."""
        return ValidatorResult(
            name=self.name,
            type=self.type,
            passed=self.status == "pass",
            confidence_score=self.confidence,
            message=self.message,
            status=self.status,
        )


@dataclass(frozen=True, slots=True)
class ValidationReport:
    """Every guardrail outcome of one request, in request order."""

    outcomes: tuple[GuardrailOutcome, ...] = ()

    @property
    def results(self) -> list[ValidatorResult]:
        """``DetectResponse.validator_results``."""
        return [outcome.to_result() for outcome in self.outcomes]

    @property
    def blocked(self) -> bool:
        return any(outcome.blocks for outcome in self.outcomes)

    @property
    def messages(self) -> list[str]:
        """Messages of the blocking outcomes, for ``DetectResponse.message``."""
        return [o.message for o in self.outcomes if o.blocks and o.message]

    @property
    def failed(self) -> tuple[GuardrailOutcome, ...]:
        """Outcomes that did not pass (fail or error), blocking or not: findings to record."""
        return tuple(o for o in self.outcomes if o.status != "pass")
