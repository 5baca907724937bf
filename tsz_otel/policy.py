"""Rollout policy: from the engine's findings and the rollout mode to one decision.

The three phases (``TSZ_MODE``, per target ``TSZ_INPUT_MODE``/``TSZ_OUTPUT_MODE``):

=========  ====================================================  ========================
mode       what happens to the call                              decision
=========  ====================================================  ========================
observe    nothing; findings are recorded                        ``warn`` if something
                                                                 would have been masked
                                                                 or blocked, else
                                                                 ``allow``
mask       detected values replaced before they go downstream    ``modify`` if anything
                                                                 was replaced (``warn``
                                                                 if only a block-level
                                                                 finding that masking
                                                                 cannot fix), ``allow``
block      the call is stopped for block-level findings; other   ``deny``; else as mask
           findings are masked (phases are cumulative)
=========  ====================================================  ========================

Block-level ("would block") means any of: a detection whose action is ``BLOCK`` (its
confidence reached the block threshold of its pattern, category or the global one), a
``BLOCKLIST`` hit, a failed guardrail (validator), or the engine's own ``blocked`` flag
(e.g. ``PII_MODE=BLOCK``). "Would mask" means the engine's redacted text differs from
the input.

An engine failure is decided by :func:`decide_failure`: ``audit`` (the call goes on
unchecked and the span records the error; fail-open) unless the mode is ``block`` and
``TSZ_FAIL_MODE=closed``, which gives ``deny``.

Reasons and codes are low-cardinality and name detection types only, never values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from .models import DetectionResult, DetectResponse
from .scope import GuardrailDecisionType, GuardrailRiskSeverity

__all__ = [
    "ALLOW",
    "CLEAN",
    "Assessment",
    "Outcome",
    "RolloutMode",
    "decide",
    "decide_failure",
    "finding_decision",
    "finding_severity",
    "is_blocking",
    "parse_mode",
    "risk_category",
]

_D = GuardrailDecisionType
_S = GuardrailRiskSeverity


class RolloutMode(StrEnum):
    """The rollout phase applied to one evaluation."""

    OBSERVE = "observe"
    MASK = "mask"
    BLOCK = "block"


def parse_mode(value: str | None) -> RolloutMode | None:
    """A mode from untrusted text (a header value), or ``None`` when it names none.

    Case and surrounding space are ignored; anything else (including TSZ's stream modes
    such as ``final-only``) yields ``None``, so callers fall back to the configured mode.
    """
    if value is None:
        return None
    try:
        return RolloutMode(value.strip().lower())
    except ValueError:
        return None


BLOCKLIST: Final = "BLOCKLIST"

# Native category -> normalised risk category (OWASP LLM Top-10 style vocabulary).
_RISK_CATEGORY: Final = {
    "PII": "pii",
    "SECRET": "sensitive_info_disclosure",
    "INJECTION": "prompt_injection",
    BLOCKLIST: "custom:blocklist",
    "VALIDATOR": "custom:validator",
}

_SEVERITY_RANK: Final = {s: i for i, s in enumerate(_S)}
_SEVERITY_BY_ACTION: Final = {"BLOCK": _S.HIGH, "MASK": _S.MEDIUM, "ALLOW": _S.LOW}
_SEVERITY_FLOOR: Final = {"SECRET": _S.MEDIUM, "INJECTION": _S.MEDIUM, BLOCKLIST: _S.HIGH}
_CRITICAL_SCORE: Final = 0.95


def risk_category(native: str | None) -> str:
    """The normalised risk category of a native one (``SECRET`` -> ``sensitive_info_...``)."""
    if not native:
        return "custom:unknown"
    return _RISK_CATEGORY.get(native.upper(), f"custom:{native.lower()}")


def finding_severity(action: str | None, score: float, category: str | None) -> _S:
    """Severity from the finding's action, confidence and category (data-driven).

    A block-level finding is ``high`` (``critical`` at confidence >= 0.95), a masked one
    ``medium``, an allowed one ``low``; secrets, injections and blocklist hits have a
    floor (``medium``/``medium``/``high``).
    """
    severity = _SEVERITY_BY_ACTION.get(action or "MASK", _S.MEDIUM)
    if severity is _S.HIGH and score >= _CRITICAL_SCORE:
        severity = _S.CRITICAL
    floor = _SEVERITY_FLOOR.get((category or "").upper())
    if floor is not None and _SEVERITY_RANK[floor] > _SEVERITY_RANK[severity]:
        severity = floor
    return severity


def is_blocking(detection: DetectionResult) -> bool:
    """Whether a detection is block-level (action BLOCK or a blocklist hit)."""
    return (
        detection.action == "BLOCK"
        or detection.type == BLOCKLIST
        or (detection.category or "").upper() == BLOCKLIST
    )


@dataclass(frozen=True, slots=True)
class Assessment:
    """What the engine's responses say, independent of the rollout mode."""

    would_block: bool
    would_mask: bool
    blocking_types: tuple[str, ...]
    masking_types: tuple[str, ...]
    failed_guardrails: tuple[str, ...]
    finding_types: tuple[str, ...]

    @classmethod
    def of(cls, responses: Sequence[DetectResponse], originals: Sequence[str]) -> Assessment:
        """Assess per-segment responses; ``originals`` are the scanned texts, in order."""
        for response in responses:
            if response.detections or response.validator_results or response.blocked:
                break
        else:
            return CLEAN
        blocking: dict[str, None] = {}
        masking: dict[str, None] = {}
        failed: dict[str, None] = {}
        types: dict[str, None] = {}
        engine_blocked = False
        for response, original in zip(responses, originals, strict=True):
            engine_blocked = engine_blocked or response.blocked
            changed = response.redacted_text is not None and response.redacted_text != original
            for detection in response.detections:
                types[detection.type] = None
                if is_blocking(detection):
                    blocking[detection.type] = None
                if changed:
                    masking[detection.type] = None
            for result in response.validator_results:
                # a guardrail that could not run blocks only through response.blocked,
                # which the engine sets per TSZ_FAIL_MODE; a real fail always blocks
                if not result.passed and result.status != "error":
                    failed[result.name] = None
        would_block = engine_blocked or bool(blocking) or bool(failed)
        return cls(
            would_block=would_block,
            would_mask=bool(masking),
            blocking_types=tuple(blocking),
            masking_types=tuple(masking),
            failed_guardrails=tuple(failed),
            finding_types=tuple(types),
        )

    def block_reasons(self) -> str:
        """Types and guardrails that make this block-level, for messages and reasons."""
        parts = list(self.blocking_types) + [f"guardrail:{g}" for g in self.failed_guardrails]
        return ",".join(parts) or "policy"


CLEAN: Final = Assessment(
    would_block=False,
    would_mask=False,
    blocking_types=(),
    masking_types=(),
    failed_guardrails=(),
    finding_types=(),
)
"""The assessment of responses with no detection, no guardrail result and no block."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """The decision for one evaluation and what it means for the call.

    ``mask``: hand the redacted content downstream. ``deny``: stop the call.
    ``action``: the TSZ server vocabulary for ``tsz.action``.
    """

    decision: GuardrailDecisionType
    mask: bool
    deny: bool
    action: str
    reason: str | None = None
    code: str | None = None


ALLOW: Final = Outcome(_D.ALLOW, mask=False, deny=False, action="ALLOW")
"""The outcome of an evaluation that found nothing to mask or block (shared instance)."""


def decide(assessment: Assessment, mode: RolloutMode) -> Outcome:
    """Apply a rollout mode to an assessment (see the module table)."""
    a = assessment
    if not (a.would_block or a.would_mask):
        return ALLOW
    if mode is RolloutMode.BLOCK and a.would_block:
        reason = f"blocked: {a.block_reasons()}"
        return Outcome(_D.DENY, a.would_mask, True, "BLOCK", reason, "tsz.block")
    masked = ",".join(a.masking_types)
    if mode is not RolloutMode.OBSERVE and a.would_mask:
        return Outcome(_D.MODIFY, True, False, "MASK", f"masked: {masked}", "tsz.mask")
    if a.would_block:
        reason = f"would block: {a.block_reasons()}"
        return Outcome(_D.WARN, False, False, "AUDIT_ONLY", reason, "tsz.would_block")
    reason = f"would mask: {masked}"
    return Outcome(_D.WARN, False, False, "AUDIT_ONLY", reason, "tsz.would_mask")


def decide_failure(mode: RolloutMode, fail_mode: str, error_type: str) -> Outcome:
    """The decision when the guardian itself failed (``error_type`` names the error)."""
    if mode is RolloutMode.BLOCK and fail_mode == "closed":
        reason = f"guardian error {error_type}: fail-closed"
        return Outcome(_D.DENY, False, True, "BLOCK", reason, "tsz.fail_closed")
    reason = f"guardian error {error_type}: fail-open"
    return Outcome(_D.AUDIT, False, False, "ALLOW", reason, "tsz.fail_open")


def finding_decision(
    detection: DetectionResult, mode: RolloutMode, masked: bool
) -> GuardrailDecisionType:
    """The decision this one finding contributes under ``mode`` (per-finding event value).

    ``masked``: whether this evaluation's content is being replaced downstream.
    """
    if is_blocking(detection):
        if mode is RolloutMode.BLOCK:
            return _D.DENY
        return _D.MODIFY if masked else _D.WARN
    if detection.action == "ALLOW":
        return _D.ALLOW
    return _D.MODIFY if masked else _D.WARN
