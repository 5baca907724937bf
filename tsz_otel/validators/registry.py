"""The validator registry: where guardrails are defined, and how a request runs them.

Definitions come from three places, all through the same all-or-nothing door:

* the built-ins (``JSON``, ``XML``, ``NO_PII``, ``NO_SECRETS``, ``NO_INJECTION``,
  ``TOXIC_LANGUAGE``), present unless ``builtins=False``;
* templates (``import_template``; TSZ's ``{"template": {...}}`` body, a ``Template``, or a
  JSON/YAML file, read by :func:`tsz_otel.engine.templates.load_template`), whose
  validators upsert by name, every field replaced (TSZ keeps a stale
  ``expected_response``);
* code: ``add(FormatValidator(...))``, ``add_function(name, fn)`` or any object that
  satisfies :class:`~tsz_otel.validators.base.Validator`.

Each batch is compiled completely before it is applied (:meth:`prepare` then
:meth:`commit`), so a template with one bad regex changes nothing. The engine uses the
same two steps to import a template's patterns and validators as one unit.

A request names its guardrails in ``expected_format`` and ``guardrails`` (TSZ runs the
union; here ``expected_format`` first, then ``guardrails`` in order, duplicates
dropped, so results come out in a stable order rather than TSZ's random map order).
A name with no validator follows ``TSZ_UNKNOWN_GUARDRAIL``: ``error`` raises
:class:`~tsz_otel.errors.UnknownGuardrailError` before anything runs, ``fail`` reports
it as a blocking error result (TSZ's behaviour), ``ignore`` skips it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import ValidationError

from ..config import Settings
from ..engine.templates import TemplateSource, load_template
from ..errors import ConfigurationError, TemplateError, UnknownGuardrailError
from ..models import DetectionResult, DetectResponse, FormatValidator
from .base import Check, CheckContext, GuardrailOutcome, ValidationReport, Validator
from .kinds import BUILTINS, AIPromptValidator, FunctionValidator, compile_validator

if TYPE_CHECKING:
    from ..ai import AIClient, Verdict

__all__ = ["Detector", "PreparedValidators", "ValidatorRegistry"]

_logger = logging.getLogger(__name__)
_logger.addHandler(logging.NullHandler())

_TYPES = ("BUILTIN", "REGEX", "SCHEMA", "AI_PROMPT")
_UNKNOWN_TYPE = "VALIDATOR"
"""``ValidatorResult.type`` for a name with no validator (what TSZ reports)."""


class Detector(Protocol):
    """What NO_PII / NO_SECRETS / NO_INJECTION need: the engine's ``detect``."""

    def detect(self, text: str) -> DetectResponse: ...


@dataclass(frozen=True, slots=True)
class _Entry:
    definition: FormatValidator
    validator: Validator


@dataclass(frozen=True, slots=True)
class PreparedValidators:
    """A compiled batch, ready to :meth:`ValidatorRegistry.commit` (cannot fail any more)."""

    entries: tuple[_Entry, ...]

    @property
    def names(self) -> list[str]:
        return [entry.definition.name for entry in self.entries]


def _builtin_entries() -> dict[str, _Entry]:
    entries = {}
    for name in BUILTINS:
        definition = FormatValidator(name=name, type="BUILTIN", description="built-in")
        entries[name] = _Entry(definition, compile_validator(definition))
    return entries


class ValidatorRegistry:
    """Named guardrails and the code that runs them for a request. Thread-safe.

    Args:
        settings: ``unknown_guardrail``, ``fail_mode``, ``allow_threshold`` and the AI
            settings used when an AI_PROMPT validator runs.
        ai: the client for AI_PROMPT validators (default: built on first use).
        detector: the engine, for NO_* validators when the caller passes no detections.
        builtins: start with the built-in validators.
        validators: definitions to add at once (all-or-nothing).
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        ai: AIClient | None = None,
        detector: Detector | None = None,
        builtins: bool = True,
        validators: Iterable[FormatValidator | Mapping[str, Any]] = (),
    ) -> None:
        self.settings = settings or Settings()
        self.detector = detector
        self._ai = ai
        self._lock = threading.Lock()
        self._entries: Mapping[str, _Entry] = MappingProxyType(
            _builtin_entries() if builtins else {}
        )
        self.add(*validators)

    # -- definitions -------------------------------------------------------------------

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def names(self) -> list[str]:
        return list(self._entries)

    def definitions(self) -> list[FormatValidator]:
        """Every definition, as ``GET /validators`` lists them."""
        return [entry.definition for entry in self._entries.values()]

    def prepare(
        self, definitions: Iterable[FormatValidator | Mapping[str, Any] | Validator]
    ) -> PreparedValidators:
        """Compile a batch; raises :class:`ConfigurationError` naming the first bad one."""
        return PreparedValidators(tuple(_entry(item) for item in definitions))

    def commit(self, prepared: PreparedValidators) -> None:
        """Apply a prepared batch: upsert by name, atomically for concurrent readers."""
        if not prepared.entries:
            return
        with self._lock:
            entries = dict(self._entries)
            entries.update((e.definition.name, e) for e in prepared.entries)
            self._entries = MappingProxyType(entries)

    def add(self, *definitions: FormatValidator | Mapping[str, Any] | Validator) -> None:
        """Add or replace validators, all or none."""
        self.commit(self.prepare(definitions))

    def add_function(self, name: str, fn: Callable[[str], bool | Check]) -> None:
        """Add a validator written in Python: ``fn(text)`` is True (or a passing Check)."""
        self.add(FunctionValidator(name, fn))

    def remove(self, name: str) -> bool:
        """Remove a validator (built-ins too); returns whether it existed."""
        with self._lock:
            if name not in self._entries:
                return False
            entries = dict(self._entries)
            del entries[name]
            self._entries = MappingProxyType(entries)
            return True

    def import_template(self, template: TemplateSource) -> list[str]:
        """Import a template's validators (all or none); returns their names.

        ``template`` is what :func:`tsz_otel.engine.templates.load_template` reads (a
        path, a dict or a ``Template``). Raises :class:`TemplateError` when the template
        or any validator in it is bad. (``Engine.import_template`` imports a template's
        patterns and validators together, through :meth:`prepare` and :meth:`commit`.)
        """
        loaded = load_template(template)
        try:
            prepared = self.prepare(loaded.validators)
        except ConfigurationError as exc:
            raise TemplateError(f"template {loaded.name!r}: {exc}") from exc
        self.commit(prepared)
        return prepared.names

    # -- running -----------------------------------------------------------------------

    def run(
        self,
        text: str,
        guardrails: Sequence[str] = (),
        expected_format: str | None = None,
        *,
        detections: Sequence[DetectionResult] | None = None,
    ) -> ValidationReport:
        """Run the named guardrails on ``text``; ``detections`` are the engine's, if known."""
        plan = self._plan(guardrails, expected_format)
        questions = self._questions(plan, text)
        verdicts = self._ai_client().verdicts(questions) if questions else []
        return self._report(plan, text, detections, verdicts)

    async def arun(
        self,
        text: str,
        guardrails: Sequence[str] = (),
        expected_format: str | None = None,
        *,
        detections: Sequence[DetectionResult] | None = None,
    ) -> ValidationReport:
        """Async twin of :meth:`run` (AI_PROMPT questions are awaited concurrently)."""
        plan = self._plan(guardrails, expected_format)
        questions = self._questions(plan, text)
        verdicts = await self._ai_client().averdicts(questions) if questions else []
        return self._report(plan, text, detections, verdicts)

    def _plan(
        self, guardrails: Sequence[str], expected_format: str | None
    ) -> list[tuple[str, Validator | None]]:
        """The requested names in order, each with its validator (None when unknown)."""
        entries = self._entries  # one snapshot for the whole request
        plan: list[tuple[str, Validator | None]] = []
        for raw in [expected_format or "", *guardrails]:
            name = raw.strip()
            if not name or any(name == seen for seen, _ in plan):
                continue
            entry = entries.get(name)
            if entry is None:
                if self.settings.unknown_guardrail == "error":
                    raise UnknownGuardrailError(name)
                if self.settings.unknown_guardrail == "ignore":
                    _logger.debug("ignoring unknown guardrail %r", name)
                    continue
            plan.append((name, entry.validator if entry else None))
        return plan

    @staticmethod
    def _questions(
        plan: list[tuple[str, Validator | None]], text: str
    ) -> list[tuple[str, str, str | None, str]]:
        return [
            (v.name, v.rule, v.expected_response, text)
            for _, v in plan
            if isinstance(v, AIPromptValidator)
        ]

    def _report(
        self,
        plan: list[tuple[str, Validator | None]],
        text: str,
        detections: Sequence[DetectionResult] | None,
        verdicts: list[Verdict],
    ) -> ValidationReport:
        context = CheckContext(
            detections if detections is not None else self._detections_of(text),
            self.settings.allow_threshold,
        )
        answers = iter(verdicts)
        outcomes = []
        for name, validator in plan:
            if validator is None:
                outcomes.append(
                    GuardrailOutcome(
                        name, _UNKNOWN_TYPE, "error", f"validator not found: {name}", True
                    )
                )
                continue
            if isinstance(validator, AIPromptValidator):
                check = _verdict_check(next(answers))
            else:
                check = _safe_check(validator, text, context)
            outcomes.append(self._outcome(name, validator.type, check))
        return ValidationReport(tuple(outcomes))

    def _outcome(self, name: str, kind: str, check: Check) -> GuardrailOutcome:
        blocks = check.status == "fail" or (
            check.status == "error" and self.settings.fail_mode == "closed"
        )
        return GuardrailOutcome(name, kind, check.status, check.reason, blocks)

    def _detections_of(self, text: str) -> Callable[[], Sequence[DetectionResult]] | None:
        detector = self.detector
        if detector is None:
            return None
        return lambda: detector.detect(text).detections

    def _ai_client(self) -> AIClient:
        with self._lock:
            if self._ai is None:
                from ..ai import AIClient

                self._ai = AIClient(self.settings.model_copy(update={"ai_scoring": "off"}))
            return self._ai


def _entry(item: FormatValidator | Mapping[str, Any] | Validator) -> _Entry:
    if isinstance(item, FormatValidator | Mapping):
        definition = _definition(item)
        return _Entry(definition, compile_validator(definition))
    if isinstance(item, Validator):
        kind = item.type if item.type in _TYPES else "BUILTIN"
        definition = FormatValidator.model_validate(
            {"name": item.name, "type": kind, "description": "defined in code"}
        )
        return _Entry(definition, item)
    raise ConfigurationError(f"not a validator definition: {type(item).__name__}")


def _definition(item: FormatValidator | Mapping[str, Any]) -> FormatValidator:
    if isinstance(item, FormatValidator):
        return item
    try:
        return FormatValidator.model_validate(item)
    except ValidationError as exc:
        name = item.get("name", "?")
        fields = ", ".join(str(e["loc"][0]) for e in exc.errors() if e["loc"])
        raise ConfigurationError(f"validator {name!r}: invalid fields: {fields}") from exc


def _safe_check(validator: Validator, text: str, context: CheckContext) -> Check:
    """Run one validator; an exception is an ``error`` result, not a failed request."""
    try:
        return validator.check(text, context)
    except Exception as exc:
        _logger.warning("guardrail %r raised %s", validator.name, type(exc).__name__)
        return Check("error", f"validator raised {type(exc).__name__}")


def _verdict_check(verdict: Verdict) -> Check:
    if verdict.passed is None:
        return Check("error", f"AI model call failed ({verdict.error or 'error'})")
    return Check.of(verdict.passed, "model answer is not the expected response")
