"""Pydantic models of every TSZ wire shape.

A ``DetectResponse`` made by the inline engine serialises with
``model_dump_json()`` to the JSON a TSZ server returns (same keys, same order, the
same ``omitempty`` rules, confidences as two-decimal strings), and a TSZ server's
JSON parses into the same objects. Extensions that TSZ does not have are optional
and left out of the JSON when unset, so TSZ clients never see an unknown key unless
the feature that sets it is used.

Two TSZ conventions a Python user must know:

* ``start``/``end`` of a detection are **UTF-8 byte offsets**, as in TSZ (Go string
  indexing). The engine also fills ``char_start``/``char_end`` (Python ``str``
  offsets); they never go on the wire.
* Confidences are rounded half-up to two decimals (``0.945 -> "0.95"``), unlike
  Python's ``round``. Parsing accepts a string or a number.
"""

from __future__ import annotations

import datetime as _dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PrivateAttr,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)

from ._unicode import well_formed

__all__ = [
    "AllowlistItem",
    "BlacklistItem",
    "Confidence",
    "ConfidenceExplanation",
    "DetectRequest",
    "DetectResponse",
    "DetectionResult",
    "FormatValidator",
    "Pattern",
    "Template",
    "TemplateImport",
    "ValidatorResult",
    "confidence_str",
    "round_confidence",
]

_CENT = Decimal("0.01")


def round_confidence(value: float) -> float:
    """Round half-up to two decimals the way TSZ does (``math.Round(v*100)/100``).

    ``Decimal(repr(value))`` is used because binary floats make ``0.945*100`` fall
    just below ``94.5``; the shortest repr is the number the user meant.
    """
    return float(Decimal(repr(float(value))).quantize(_CENT, rounding=ROUND_HALF_UP))


def confidence_str(value: float) -> str:
    """The two-decimal string TSZ puts on the wire for a confidence."""
    return str(Decimal(repr(float(value))).quantize(_CENT, rounding=ROUND_HALF_UP))


def _parse_confidence(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError("a confidence is a number or a numeric string, not a boolean")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError as exc:
            raise ValueError(f"not a confidence: {value!r}") from exc
    raise ValueError(f"not a confidence: {type(value).__name__}")


Confidence = Annotated[
    float,
    BeforeValidator(_parse_confidence),
    PlainSerializer(confidence_str, return_type=str, when_used="json-unless-none"),
]
"""A 0..1 score; a float in Python, a two-decimal string in JSON."""

UserText = Annotated[str, PlainSerializer(well_formed, return_type=str, when_used="json")]
"""A string that may hold the user's text. Python keeps it as given; JSON (which, as UTF-8,
cannot hold a surrogate code point) gets U+FFFD for each, as a TSZ server's Go encoder
writes invalid UTF-8, instead of failing to serialise. Offsets are unaffected: both forms
are one character and three UTF-8 bytes."""


def _drop_empty(data: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """Apply Go's ``omitempty`` to the named keys."""
    return {k: v for k, v in data.items() if not (k in keys and v in (None, [], {}, "", False))}


class _Wire(BaseModel):
    """Common configuration: accept field names and aliases, emit aliases."""

    model_config = ConfigDict(
        populate_by_name=True,
        serialize_by_alias=True,
        extra="ignore",
    )


class ConfidenceExplanation(_Wire):
    """How a confidence was produced. Only the parts that were used are set.

    ``source`` is ``REGEX`` (pattern and checks only), ``AI`` (model only) or
    ``HYBRID`` (both combined). The threshold fields say which thresholds decided
    the action and where they came from (``global``, ``category`` or ``pattern``).
    ``validation`` says what the structural check said (``passed``/``failed``/
    ``none``) and ``context_score`` how much nearby context words added.
    """

    source: str = "REGEX"
    regex_score: Confidence | None = None
    ai_score: Confidence | None = None
    category: str | None = None
    pattern_active: bool | None = None
    hybrid_applied: bool | None = None
    regex_hit_count: int | None = None
    validation: str | None = None
    context_score: Confidence | None = None
    block_threshold: Confidence | None = None
    allow_threshold: Confidence | None = None
    threshold_source: str | None = None
    final_score: Confidence = 0.0

    @model_serializer(mode="wrap")
    def _omit_unused(
        self, handler: SerializerFunctionWrapHandler, info: SerializationInfo
    ) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        return {k: v for k, v in data.items() if v is not None}


class DetectionResult(_Wire):
    """One detected entity. ``start``/``end`` are UTF-8 byte offsets (TSZ wire)."""

    type: str
    value: UserText
    placeholder: str
    start: int
    end: int
    confidence_score: Confidence = 0.0
    confidence_explanation: ConfidenceExplanation | None = None
    char_start: int | None = Field(default=None, exclude=True)
    char_end: int | None = Field(default=None, exclude=True)
    action: Literal["ALLOW", "MASK", "BLOCK"] | None = Field(default=None, exclude=True)

    @property
    def category(self) -> str | None:
        """The pattern category (PII, SECRET, INJECTION, BLOCKLIST, ...), if known."""
        if self.confidence_explanation is not None:
            return self.confidence_explanation.category
        return None

    @model_serializer(mode="wrap")
    def _omitempty(
        self, handler: SerializerFunctionWrapHandler, info: SerializationInfo
    ) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        return _drop_empty(data, ("confidence_explanation",))


class ValidatorResult(_Wire):
    """The outcome of one guardrail (validator) for a request."""

    name: str
    type: str
    passed: bool
    confidence_score: Confidence = 0.0
    message: str | None = Field(default=None, exclude=True)
    status: Literal["pass", "fail", "error"] | None = Field(default=None, exclude=True)
    """``error`` when the guardrail could not run (it blocks only under fail mode
    ``closed``); ``fail`` when it ran and rejected the text. Not on the wire."""


class DetectRequest(_Wire):
    """Body of ``POST /detect``."""

    text: UserText
    rid: str | None = None
    expected_format: str | None = None
    guardrails: list[str] | None = None
    mode: Literal["MASK", "BLOCK", "DETECT"] | None = None

    @model_serializer(mode="wrap")
    def _omitempty(
        self, handler: SerializerFunctionWrapHandler, info: SerializationInfo
    ) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        return _drop_empty(data, ("rid", "expected_format", "guardrails", "mode"))


class DetectResponse(_Wire):
    """Result of one detection call, in TSZ's shape and key order.

    ``detections``, ``validator_results`` and ``message`` are omitted from the
    JSON when empty, like TSZ. ``redacted_text`` is always present (TSZ echoes the
    input when nothing was found). :meth:`restore` undoes ``indexed`` placeholders
    in a later text (an LLM answer) using the mapping kept on this object; that
    mapping never goes on the wire.
    """

    redacted_text: UserText | None = None
    detections: list[DetectionResult] = Field(default_factory=list)
    validator_results: list[ValidatorResult] = Field(default_factory=list)
    breakdown: dict[str, int] = Field(default_factory=dict)
    blocked: bool = False
    contains_pii: bool = False
    overall_confidence: Confidence = 0.0
    message: UserText | None = None

    _restore_map: dict[str, str] = PrivateAttr(default_factory=dict)
    _ai_failures: dict[str, int] = PrivateAttr(default_factory=dict)
    """AI scoring fallbacks of this call by reason (``ScoreBatch.failures``: ``timeout``,
    ``unavailable``, ...); empty when no AI step ran or it fully answered. Never on the wire."""

    @model_serializer(mode="wrap")
    def _omitempty(
        self, handler: SerializerFunctionWrapHandler, info: SerializationInfo
    ) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        return _drop_empty(data, ("detections", "validator_results", "message"))

    @property
    def restore_map(self) -> dict[str, str]:
        """Placeholder -> original value, for ``indexed`` placeholders only."""
        return dict(self._restore_map)

    def restore(self, text: str) -> str:
        """Put the original values back for every known placeholder in ``text``."""
        for placeholder, original in sorted(
            self._restore_map.items(), key=lambda item: len(item[0]), reverse=True
        ):
            text = text.replace(placeholder, original)
        return text


def _canonical_keys(data: Any, names: dict[str, str]) -> Any:
    """Map keys case-insensitively onto canonical names, as Go's JSON decoder does."""
    if not isinstance(data, dict):
        return data
    return {names.get(key.lower().replace("_", ""), key): value for key, value in data.items()}


class Pattern(_Wire):
    """A regex detection rule (``POST /patterns``; Go-style keys on the wire).

    ``Regex`` uses RE2 syntax. ``BlockThreshold``/``AllowThreshold`` override the
    category and global thresholds for this pattern. ``BaseScore`` (an extension)
    sets the pattern's score before context; when unset the TSZ category score is
    used (SECRET 0.70, INJECTION 0.65, PII 0.60, other 0.45).
    """

    ID: int | None = None
    Name: str
    Regex: str
    Description: str | None = None
    Category: str = "PII"
    IsActive: bool = True
    BlockThreshold: float | None = None
    AllowThreshold: float | None = None
    BaseScore: float | None = None
    CreatedAt: _dt.datetime | None = None
    UpdatedAt: _dt.datetime | None = None

    @model_validator(mode="before")
    @classmethod
    def _case_insensitive_keys(cls, data: Any) -> Any:
        return _canonical_keys(data, _PATTERN_KEYS)

    @model_serializer(mode="wrap")
    def _omitempty(
        self, handler: SerializerFunctionWrapHandler, info: SerializationInfo
    ) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        keep_false = {"IsActive"}
        return {k: v for k, v in data.items() if v is not None or k in keep_false}


_PATTERN_KEYS = {name.lower(): name for name in Pattern.model_fields}


class FormatValidator(_Wire):
    """A guardrail: ``BUILTIN``, ``REGEX``, ``SCHEMA`` or ``AI_PROMPT``.

    ``expected_response`` is the model reply that counts as *pass* for AI_PROMPT
    (default ``YES``); a reply equal to or starting with it passes.
    """

    ID: int | None = Field(default=None, validation_alias=AliasChoices("ID", "id"))
    name: str
    type: Literal["BUILTIN", "REGEX", "SCHEMA", "AI_PROMPT"]
    rule: str = ""
    description: str | None = None
    expected_response: str | None = None

    @model_serializer(mode="wrap")
    def _omitempty(
        self, handler: SerializerFunctionWrapHandler, info: SerializationInfo
    ) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        return {k: v for k, v in data.items() if v is not None}


class AllowlistItem(_Wire):
    """A trusted value that is never reported.

    ``match`` (an extension) says how ``value`` is compared: ``exact`` (TSZ's only
    behaviour: the whole matched value, case-sensitive), ``domain`` (an e-mail or
    host whose domain is ``value`` or a subdomain of it) or ``regex`` (RE2, full
    match against the matched value).
    """

    ID: int | None = Field(default=None, validation_alias=AliasChoices("ID", "id"))
    value: str
    description: str | None = None
    match: Literal["exact", "domain", "regex"] = "exact"

    @model_serializer(mode="wrap")
    def _omitempty(
        self, handler: SerializerFunctionWrapHandler, info: SerializationInfo
    ) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if data.get("match") == "exact":
            del data["match"]
        return {k: v for k, v in data.items() if v is not None}


class BlacklistItem(_Wire):
    """A forbidden value: a hit is reported as ``BLOCKLIST`` and blocks.

    ``word_boundary`` and ``case_insensitive`` (extensions) default to TSZ's plain
    case-sensitive substring search.
    """

    ID: int | None = Field(default=None, validation_alias=AliasChoices("ID", "id"))
    value: str
    description: str | None = None
    word_boundary: bool = False
    case_insensitive: bool = False

    @model_serializer(mode="wrap")
    def _omitempty(
        self, handler: SerializerFunctionWrapHandler, info: SerializationInfo
    ) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        return _drop_empty(data, ("ID", "description", "word_boundary", "case_insensitive"))


class Template(_Wire):
    """A portable policy pack: patterns and validators (plus allow/block lists)."""

    name: str
    description: str | None = None
    patterns: list[Pattern] = Field(default_factory=list)
    validators: list[FormatValidator] = Field(default_factory=list)
    allowlist: list[AllowlistItem] = Field(default_factory=list)
    blacklist: list[BlacklistItem] = Field(default_factory=list)

    @model_serializer(mode="wrap")
    def _omitempty(
        self, handler: SerializerFunctionWrapHandler, info: SerializationInfo
    ) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        return _drop_empty(data, ("description", "allowlist", "blacklist"))


class TemplateImport(_Wire):
    """Body of ``POST /templates/import``: ``{"template": {...}}``."""

    template: Template
