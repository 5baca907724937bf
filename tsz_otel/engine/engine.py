"""The inline detection engine: ``Engine.detect(text) -> DetectResponse``.

What one call does
------------------
1. **Input.** ``text`` must be a ``str``; an empty string gives an empty response
   (not an error, unlike TSZ's HTTP 400); more than ``settings.max_text_bytes``
   UTF-8 bytes is an :class:`~tsz_otel.errors.InputError`. Lone surrogates are
   kept (encoded with ``surrogatepass``) so byte offsets never crash.
2. **Scan.** The compiled catalogue (:mod:`.scanner`) finds candidates with one
   RE2 prefilter pass and per-form windows; prompt-injection detection
   (:mod:`.injection`, when installed) adds its matches; every blocklist item
   adds ``BLOCKLIST`` hits (confidence 1.00).
3. **Score** (:mod:`.scoring`): base score, checks, context, optional AI score;
   rounded to two decimals; compared with the pattern/category/global thresholds.
   Candidates below the allow threshold are dropped, as are allowlisted values.
4. **Resolve overlaps** (:mod:`.redaction`): blocklist first, then longest,
   highest score, catalogue order.
5. **Respond** in TSZ's shape: placeholders (``settings.placeholder_style``),
   UTF-8 byte offsets ``start``/``end`` and ``str`` offsets ``char_start``/
   ``char_end``, ``action`` per detection, ``breakdown``, ``blocked``,
   ``message``, ``contains_pii`` (any detection, as TSZ), ``overall_confidence``.

Scoring model (details in :mod:`.scoring` and :mod:`.catalogue`)
---------------------------------------------------------------
``score = base -> pass_score / fail_score after checks -> + context boost ->
(regex + ai) / 2 if an AI scorer answered``. Verified high-risk findings (valid
card numbers, private keys, checksummed or marker-bearing cloud and SaaS keys,
JWTs with a decodable header) score >= 0.85 and block by default; structurally
checked PII (e-mail, phone, IBAN, SSN, IP) sits in the mask band; ambiguous
values (bare digit runs, 40-character tokens, generic secrets) start low and need
context. A failed check drops the candidate. The explanation records
``source`` (REGEX / HYBRID / AI), ``regex_score`` (after checks, before
context), ``validation``, ``context_score``, the thresholds and their
``threshold_source`` and ``final_score``.

Decisions (where TSZ is buggy or silent)
----------------------------------------
* Below-allow candidates are not reported (TSZ masks them anyway).
* Per-pattern and per-category thresholds really apply (TSZ stores and ignores them).
* Blocklist hits score 1.00 and block (TSZ scores them 0.00 and lets them pass);
  ``word_boundary``/``case_insensitive`` options exist. A blocklist hit that
  overlaps another candidate swallows it, so nothing leaks beside ``[BLOCKED]``.
* ``mode``: ``MASK`` (default, ``PII_MODE``) redacts and blocks on thresholds;
  ``BLOCK`` also blocks on any detection ("PII detected, request blocked by
  mode."); ``DETECT`` reports and decides but leaves ``redacted_text`` equal to
  the input (TSZ treats DETECT as MASK).
* Messages are de-duplicated and ordered: validators, detections, mode.
* Context words are looked for only *before* a match (streaming-friendly).
* ``tsz`` placeholders are a keyed hash of rid, type and value (stable within a
  request, not reversible) instead of TSZ's random hex.

Guardrails (validators) and AI scoring are seams: pass ``validators=`` (an
object with TSZ-style ``run``/``arun``, e.g. ``tsz_otel.validators.ValidatorRegistry``)
and ``ai=`` (an object with ``score_matches``/``ascore_matches``, e.g.
``tsz_otel.ai.AIClient``). Without a validator hook, requested guardrail names
follow ``settings.unknown_guardrail``: ``error`` raises
:class:`~tsz_otel.errors.UnknownGuardrailError`, ``fail`` reports a failed
result that blocks, ``ignore`` skips them.

Thread safety: all mutable configuration (patterns, policies) lives in one
immutable snapshot that changes are compiled into and then swapped in with one
assignment; lists swap their own states the same way. ``detect`` reads each
snapshot once, so concurrent calls never see a half-applied change.
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
import secrets
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType, ModuleType
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel

from ..config import Settings
from ..errors import (
    ConfigurationError,
    InputError,
    InvalidPatternError,
    TemplateError,
    UnknownGuardrailError,
)
from ..models import (
    ConfidenceExplanation,
    DetectionResult,
    DetectResponse,
    FormatValidator,
    Pattern,
    Template,
    ValidatorResult,
)
from .catalogue import BUILTIN_PATTERNS, Form, PatternSpec
from .lists import Allowlist, Blocklist
from .redaction import Candidate, Placeholders, redact, resolve_overlaps
from .regex import OffsetMap, compile_user_regex, encode_text
from .scanner import HoldRule, Scanner, hold_rules, stable_prefix
from .scoring import (
    BLOCKLIST,
    Thresholds,
    action_for,
    category_score,
    overall_confidence,
    resolve_thresholds,
    round2,
)
from .templates import TemplateSource, load_template
from .types import Match

__all__ = ["AIScorer", "Engine", "ValidatorHook", "ValidatorReport"]

_logger = logging.getLogger(__name__)
_logger.addHandler(logging.NullHandler())

_MODES = ("MASK", "BLOCK", "DETECT")
_MODE_MESSAGE = "PII detected, request blocked by mode."
_BLOCK_MESSAGE = "Blocked due to high confidence detection: "
_USER_MAX_LEN = 1024  # assumed longest match of a user pattern (stream hold-back)


# --------------------------------------------------------------------------- seams


class ValidatorReport(Protocol):
    """What a validator run returns (``tsz_otel.validators.ValidationReport``)."""

    @property
    def results(self) -> list[ValidatorResult]: ...

    @property
    def blocked(self) -> bool: ...

    @property
    def messages(self) -> list[str]: ...


class ValidatorHook(Protocol):
    """Runs named guardrails (``tsz_otel.validators.ValidatorRegistry``)."""

    def run(
        self,
        text: str,
        guardrails: Sequence[str] = (),
        expected_format: str | None = None,
        *,
        detections: Sequence[DetectionResult] | None = None,
    ) -> ValidatorReport: ...


class _AIScore(Protocol):
    @property
    def ai_score(self) -> float | None: ...

    @property
    def final_score(self) -> float: ...


class _AIBatch(Protocol):
    @property
    def scores(self) -> Sequence[_AIScore | None]: ...


class AIScorer(Protocol):
    """Scores ambiguous matches with a model (``tsz_otel.ai.AIClient``)."""

    def score_matches(self, text: str, matches: Sequence[Match]) -> _AIBatch: ...


# --------------------------------------------------------------------------- helpers

M = TypeVar("M", bound=BaseModel)


def _defaults(cls: type[BaseModel]) -> dict[str, Any]:
    return {
        name: field.get_default(call_default_factory=True)
        for name, field in cls.model_fields.items()
    }


_RESPONSE_DEFAULTS = _defaults(DetectResponse)


def _build(
    cls: type[M],
    defaults: Mapping[str, Any] | None,
    values: dict[str, Any],
    private: dict[str, Any] | None = None,
) -> M:
    """A model from already-valid values, without validation (the hot path).

    Like ``model_construct`` but several times cheaper; tests compare its JSON
    with validated construction. ``defaults`` fill the fields ``values`` leaves
    out (``None``: ``values`` has every field; ``None`` values then count as unset).
    """
    model = cls.__new__(cls)
    if defaults is None:
        data = values
        fields_set = {key for key, value in values.items() if value is not None}
    else:
        data = dict(defaults)
        data.update(values)
        fields_set = set(values)
    object.__setattr__(model, "__dict__", data)
    object.__setattr__(model, "__pydantic_fields_set__", fields_set)
    object.__setattr__(model, "__pydantic_extra__", None)
    object.__setattr__(model, "__pydantic_private__", private)
    return model


def _as_names(guardrails: Sequence[str] | str | None) -> tuple[str, ...]:
    """Guardrail names as a tuple (a single name given as a string counts as one)."""
    if not guardrails:
        return ()
    if isinstance(guardrails, str):
        return (guardrails,)
    return tuple(guardrails)


def _load_injection() -> ModuleType | None:
    """The injection detector module if it is installed (it is a separate component)."""
    try:
        return importlib.import_module("tsz_otel.engine.injection")
    except ModuleNotFoundError as exc:
        if exc.name == "tsz_otel.engine.injection":
            return None
        raise


def _spec_from_pattern(pattern: Pattern) -> PatternSpec:
    """A user pattern (TSZ ``Pattern``) as a catalogue row matched with RE2."""
    for label, value in (
        ("AllowThreshold", pattern.AllowThreshold),
        ("BlockThreshold", pattern.BlockThreshold),
        ("BaseScore", pattern.BaseScore),
    ):
        if value is not None and not 0.0 <= value <= 1.0:
            raise InvalidPatternError(pattern.Name, f"{label} must be between 0 and 1")
    if not pattern.Name or not pattern.Name.strip():
        raise InvalidPatternError(pattern.Name, "the pattern needs a name")
    category = (pattern.Category or "PII").upper()
    compile_user_regex(pattern.Name, pattern.Regex)  # validate now, never at detect time
    return PatternSpec(
        name=pattern.Name,
        category=category,
        forms=(Form(regex=pattern.Regex),),
        description=pattern.Description or "",
        base=pattern.BaseScore if pattern.BaseScore is not None else category_score(category),
        allow_threshold=pattern.AllowThreshold,
        block_threshold=pattern.BlockThreshold,
        active=pattern.IsActive,
        max_len=_USER_MAX_LEN,
        builtin=False,
    )


def _pattern_from_spec(spec: PatternSpec) -> Pattern:
    return Pattern(
        Name=spec.name,
        Regex=spec.regex,
        Description=spec.description,
        Category=spec.category,
        IsActive=spec.active,
        BlockThreshold=spec.block_threshold,
        AllowThreshold=spec.allow_threshold,
        BaseScore=spec.base,
    )


@dataclass(frozen=True, slots=True)
class _Policy:
    """``set_pattern_policy`` overrides for one type (``None`` = unchanged)."""

    allow: float | None = None
    block: float | None = None
    active: bool | None = None


@dataclass(frozen=True, slots=True)
class _Snapshot:
    """Everything ``detect`` reads, compiled; replaced as a whole on every change."""

    scanner: Scanner
    specs: Mapping[str, PatternSpec]
    thresholds: Mapping[str, Thresholds]
    order: Mapping[str, int]
    active_injection: frozenset[str]
    holds: tuple[HoldRule, ...]
    max_match_chars: int


# --------------------------------------------------------------------------- engine


class Engine:
    """The inline PII / secrets / prompt-injection detector with TSZ's results.

    Args:
        settings: thresholds, ``PII_MODE``, placeholder style, templates to load,
            disabled patterns and input limits (default ``Settings.from_env()``).
        validators: guardrail runner (``tsz_otel.validators.ValidatorRegistry``).
        ai: AI scorer for ambiguous matches (``tsz_otel.ai.AIClient``).
        placeholder_key: key of the ``tsz`` placeholder hash (default: random per
            engine); pass one to get the same placeholders across engines.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        validators: ValidatorHook | None = None,
        ai: AIScorer | None = None,
        placeholder_key: bytes | None = None,
    ) -> None:
        self.settings = settings if settings is not None else Settings.from_env()
        self.validators = validators
        self.ai = ai
        self.allowlist = Allowlist()
        self.blocklist = Blocklist()
        self._key = placeholder_key or secrets.token_bytes(32)
        self._lock = threading.RLock()
        self._injection = _load_injection()
        self._custom: dict[str, PatternSpec] = {}
        self._removed: set[str] = set()
        self._policies: dict[str, _Policy] = {}
        self._validator_definitions: dict[str, FormatValidator] = {}
        self._snapshot = self._compile(self._custom, self._removed, self._policies)
        for path in self.settings.templates:
            self.import_template(path)

    # ------------------------------------------------------------------ catalogue

    @property
    def injection_types(self) -> tuple[str, ...]:
        if self._injection is None:
            return ()
        return tuple(self._injection.INJECTION_TYPES)

    @property
    def types(self) -> tuple[str, ...]:
        """Every type ``detect`` can report (active patterns, then injection types)."""
        snap = self._snapshot
        names = [name for name, spec in snap.specs.items() if spec.active]
        names += [t for t in self.injection_types if t in snap.active_injection]
        return tuple(names)

    @property
    def patterns(self) -> list[Pattern]:
        """Built-in and user patterns as TSZ ``Pattern`` objects (``GET /patterns``)."""
        return [_pattern_from_spec(spec) for spec in self._snapshot.specs.values()]

    @property
    def validator_definitions(self) -> list[FormatValidator]:
        """Validators imported with templates while no validator hook is installed."""
        return list(self._validator_definitions.values())

    @property
    def max_match_chars(self) -> int:
        """Upper bound on how much text :meth:`stable_prefix` ever holds back.

        The longest match any active pattern can have (a PEM private key block,
        16 KiB) plus the widest context window a held value may depend on.
        """
        return self._snapshot.max_match_chars

    def add_pattern(self, pattern: Pattern | Mapping[str, Any]) -> Pattern:
        """Add or replace (by ``Name``) a pattern; its RE2 regex is validated first."""
        return self.add_patterns([pattern])[0]

    def add_patterns(self, patterns: Iterable[Pattern | Mapping[str, Any]]) -> list[Pattern]:
        """Add or replace several patterns, all or none."""
        models = [p if isinstance(p, Pattern) else Pattern.model_validate(p) for p in patterns]
        specs = [_spec_from_pattern(p) for p in models]
        with self._lock:
            custom = dict(self._custom)
            removed = set(self._removed)
            for spec in specs:
                custom[spec.name] = spec
                removed.discard(spec.name)
            self._apply(custom, removed, self._policies)
        return models

    def remove_pattern(self, name: str) -> None:
        """Remove a user pattern, or disable a built-in one; ``KeyError`` if unknown."""
        with self._lock:
            known = name in self._snapshot.specs or name in self.injection_types
            if not known or name in self._removed:
                raise KeyError(name)
            custom = dict(self._custom)
            custom.pop(name, None)
            removed = set(self._removed)
            if name not in {spec.name for spec in BUILTIN_PATTERNS} | set(self.injection_types):
                removed.discard(name)
            else:
                removed.add(name)
            self._apply(custom, removed, self._policies)

    def set_pattern_policy(
        self,
        name: str,
        *,
        allow_threshold: float | None = None,
        block_threshold: float | None = None,
        active: bool | None = None,
    ) -> None:
        """Per-pattern thresholds / activation for any type (TSZ's pattern policy)."""
        for label, value in (
            ("allow_threshold", allow_threshold),
            ("block_threshold", block_threshold),
        ):
            if value is not None and not 0.0 <= value <= 1.0:
                raise ConfigurationError(f"{label} for {name!r} must be between 0 and 1")
        with self._lock:
            if name not in self._snapshot.specs and name not in self.injection_types:
                raise KeyError(name)
            policies = dict(self._policies)
            old = policies.get(name, _Policy())
            policies[name] = _Policy(
                allow=allow_threshold if allow_threshold is not None else old.allow,
                block=block_threshold if block_threshold is not None else old.block,
                active=active if active is not None else old.active,
            )
            self._apply(self._custom, self._removed, policies)

    def import_template(self, source: TemplateSource) -> Template:
        """Import a TSZ template (path, dict or ``Template``), all or nothing.

        Patterns upsert by name, validators by name (into the validator hook when
        it can take them, else kept in :attr:`validator_definitions`), allow and
        block list items by value. Every regex is validated before anything is
        applied; a bad template raises :class:`~tsz_otel.errors.TemplateError`
        and changes nothing.
        """
        template = load_template(source)
        try:
            specs = [_spec_from_pattern(p) for p in template.patterns]
            Allowlist(template.allowlist)  # compiles regex items: validation only
            Blocklist(template.blacklist)
            prepared = self._prepare_validators(template.validators)
        except ConfigurationError as exc:
            raise TemplateError(f"template {template.name!r}: {exc}") from exc
        with self._lock:
            custom = dict(self._custom)
            removed = set(self._removed)
            for spec in specs:
                custom[spec.name] = spec
                removed.discard(spec.name)
            try:
                self._apply(custom, removed, self._policies)
            except ConfigurationError as exc:  # pragma: no cover - validated above
                raise TemplateError(f"template {template.name!r}: {exc}") from exc
            self.allowlist.extend(template.allowlist)
            self.blocklist.extend(template.blacklist)
            self._commit_validators(prepared, template.validators)
        return template

    def _prepare_validators(self, definitions: Sequence[FormatValidator]) -> object:
        prepare = getattr(self.validators, "prepare", None)
        if definitions and callable(prepare):
            return prepare(definitions)
        return None

    def _commit_validators(self, prepared: object, definitions: Sequence[FormatValidator]) -> None:
        commit = getattr(self.validators, "commit", None)
        if prepared is not None and callable(commit):
            commit(prepared)
            return
        for definition in definitions:
            self._validator_definitions[definition.name] = definition

    def _apply(
        self, custom: dict[str, PatternSpec], removed: set[str], policies: dict[str, _Policy]
    ) -> None:
        snapshot = self._compile(custom, removed, policies)
        self._custom, self._removed, self._policies = custom, removed, policies
        self._snapshot = snapshot

    def _compile(
        self, custom: Mapping[str, PatternSpec], removed: set[str], policies: Mapping[str, _Policy]
    ) -> _Snapshot:
        disabled = set(self.settings.disabled_patterns)
        specs: list[PatternSpec] = []
        for spec in BUILTIN_PATTERNS:
            if spec.name in removed and spec.name not in custom:
                continue
            row = custom.get(spec.name, spec)
            if spec.name in disabled and row is spec:
                row = dataclasses.replace(row, active=False)
            specs.append(row)
        builtin_names = {spec.name for spec in BUILTIN_PATTERNS}
        specs += [spec for name, spec in custom.items() if name not in builtin_names]
        specs = [self._with_policy(spec, policies.get(spec.name)) for spec in specs]
        injection = [t for t in self.injection_types if t not in removed]
        active_injection = frozenset(
            t
            for t in injection
            if t not in disabled and (policies.get(t, _Policy()).active is not False)
        )
        thresholds = {spec.name: self._thresholds(spec.category, spec) for spec in specs}
        for kind in injection:
            policy = policies.get(kind, _Policy())
            thresholds[kind] = resolve_thresholds(
                "INJECTION",
                allow=self.settings.allow_threshold,
                block=self.settings.block_threshold,
                category_blocks=self.settings.category_thresholds,
                pattern_allow=policy.allow,
                pattern_block=policy.block,
            )
        thresholds[BLOCKLIST] = self._thresholds(BLOCKLIST, None)
        order = {spec.name: index for index, spec in enumerate(specs)}
        for kind in injection:
            order[kind] = len(order)
        order[BLOCKLIST] = -1
        active = [spec for spec in specs if spec.active]
        holds = hold_rules(active, self.settings.allow_threshold)
        longest = max([spec.max_len for spec in active] or [0])
        if active_injection and self._injection is not None:
            longest = max(longest, int(getattr(self._injection, "INJECTION_MAX_CHARS", 512)))
        window = max([rule.window for rule in holds] or [0])
        return _Snapshot(
            scanner=Scanner(specs),
            specs=MappingProxyType({spec.name: spec for spec in specs}),
            thresholds=MappingProxyType(thresholds),
            order=MappingProxyType(order),
            active_injection=active_injection,
            holds=holds,
            max_match_chars=longest + window,
        )

    @staticmethod
    def _with_policy(spec: PatternSpec, policy: _Policy | None) -> PatternSpec:
        if policy is None:
            return spec
        changes: dict[str, Any] = {}
        if policy.allow is not None:
            changes["allow_threshold"] = policy.allow
        if policy.block is not None:
            changes["block_threshold"] = policy.block
        if policy.active is not None:
            changes["active"] = policy.active
        return dataclasses.replace(spec, **changes) if changes else spec

    def _thresholds(self, category: str, spec: PatternSpec | None) -> Thresholds:
        return resolve_thresholds(
            category,
            allow=self.settings.allow_threshold,
            block=self.settings.block_threshold,
            category_blocks=self.settings.category_thresholds,
            pattern_allow=spec.allow_threshold if spec else None,
            pattern_block=spec.block_threshold if spec else None,
        )

    # ------------------------------------------------------------------ detection

    def detect(
        self,
        text: str,
        rid: str | None = None,
        guardrails: Sequence[str] = (),
        mode: str | None = None,
        *,
        expected_format: str | None = None,
    ) -> DetectResponse:
        """Detect, score, decide and redact, returning TSZ's ``DetectResponse``.

        ``mode`` is the request's ``MASK``/``BLOCK``/``DETECT`` (default
        ``settings.pii_mode``); ``guardrails`` and ``expected_format`` name
        validators to run (see the module docs for the no-hook behaviour).
        """
        request_mode = self._request_mode(mode)
        snap = self._snapshot
        requested = _as_names(guardrails)
        names = self._guardrail_names(text, requested, expected_format)
        kept = self._kept(snap, text) if text else []
        detections, placeholders = self._detections(snap, text, rid, kept)
        report = self._run_validators(text, names, requested, expected_format, detections)
        return self._response(text, request_mode, detections, placeholders, report)

    async def adetect(
        self,
        text: str,
        rid: str | None = None,
        guardrails: Sequence[str] = (),
        mode: str | None = None,
        *,
        expected_format: str | None = None,
    ) -> DetectResponse:
        """Async twin of :meth:`detect`. Scanning runs inline (CPU-bound, fast);
        guardrails are awaited when the validator hook has ``arun``."""
        request_mode = self._request_mode(mode)
        snap = self._snapshot
        requested = _as_names(guardrails)
        names = self._guardrail_names(text, requested, expected_format)
        kept = self._kept(snap, text) if text else []
        detections, placeholders = self._detections(snap, text, rid, kept)
        report: ValidatorReport | list[ValidatorResult] | None
        arun = getattr(self.validators, "arun", None)
        if names and self.validators is not None and callable(arun):
            report = await arun(text, requested, expected_format, detections=tuple(detections))
        else:
            report = self._run_validators(text, names, requested, expected_format, detections)
        return self._response(text, request_mode, detections, placeholders, report)

    def stable_prefix(self, text: str) -> int:
        """How many leading characters of a growing text can be released now.

        No entity of any active pattern that could still grow (or whose meaning
        could still change) when more text is appended starts before the returned
        index, so releasing ``detect(text[:k]).redacted_text`` never releases part
        of a secret; the rest must be kept and re-scanned with what follows.
        ``len(text) - stable_prefix(text) <= max_match_chars`` always.
        """
        snap = self._snapshot
        return stable_prefix(text, snap.holds, snap.max_match_chars)

    # ------------------------------------------------------------------ pipeline

    def _request_mode(self, mode: str | None) -> str:
        chosen = (mode or self.settings.pii_mode).strip().upper()
        if chosen not in _MODES:
            raise InputError(f"unknown mode {mode!r}: expected MASK, BLOCK or DETECT")
        return chosen

    def _guardrail_names(
        self, text: object, guardrails: tuple[str, ...], expected_format: str | None
    ) -> list[str]:
        if not isinstance(text, str):
            raise InputError(f"text must be a str, not {type(text).__name__}")
        names: list[str] = []
        for raw in [expected_format or "", *guardrails]:
            name = raw.strip()
            if name and name not in names:
                names.append(name)
        if names and self.validators is None and self.settings.unknown_guardrail == "error":
            raise UnknownGuardrailError(names[0])
        return names

    def _kept(self, snap: _Snapshot, text: str) -> list[Candidate]:
        data = encode_text(text)
        if len(data) > self.settings.max_text_bytes:
            raise InputError(
                f"text is {len(data)} bytes; the limit is {self.settings.max_text_bytes} "
                "(TSZ_MAX_TEXT_BYTES)"
            )
        matches = snap.scanner.scan(text, data)
        if snap.active_injection and self._injection is not None:
            matches += [
                m for m in self._injection.find_injections(text) if m.type in snap.active_injection
            ]
        ai_scores = self._ai_scores(text, matches)
        allow = self.allowlist.snapshot()
        check_allow = bool(allow.items)
        candidates: list[Candidate] = []
        for index, match in enumerate(matches):
            candidate = self._candidate(snap, match, ai_scores[index] if ai_scores else None)
            if candidate is None:
                continue
            if check_allow and allow.allows(text[match.start : match.end]):
                continue
            candidates.append(candidate)
        if len(self.blocklist):
            candidates += [
                Candidate(BLOCKLIST, BLOCKLIST, start, end, 1.0, -1, 1.0, "none", 0.0)
                for start, end in self.blocklist.spans(text)
                if end > start
            ]
        return resolve_overlaps(candidates)

    def _ai_scores(self, text: str, matches: list[Match]) -> Sequence[Any] | None:
        if self.ai is None or not matches:
            return None
        try:
            return self.ai.score_matches(text, matches).scores
        except Exception as exc:
            _logger.warning("AI scoring failed (%s); using regex scores", type(exc).__name__)
            return None

    @staticmethod
    def _candidate(snap: _Snapshot, match: Match, ai: Any | None) -> Candidate | None:
        thresholds = snap.thresholds.get(match.type)
        if thresholds is None:
            return None
        regex_score = round2(match.score)
        source, ai_score, score = "REGEX", None, regex_score
        if ai is not None and getattr(ai, "ai_score", None) is not None:
            ai_score = round2(ai.ai_score)
            score = round2(ai.final_score)
            source = "HYBRID"
        if action_for(score, thresholds) == "ALLOW":
            return None
        return Candidate(
            match.type,
            match.category,
            match.start,
            match.end,
            score,
            snap.order.get(match.type, len(snap.order)),
            round2(match.base),
            match.validation,
            match.context,
            source,
            ai_score,
        )

    def _detections(
        self, snap: _Snapshot, text: str, rid: str | None, kept: list[Candidate]
    ) -> tuple[list[DetectionResult], Placeholders]:
        placeholders = Placeholders(self.settings.placeholder_style, rid, self._key)
        offsets = OffsetMap(text)
        detections: list[DetectionResult] = []
        for cand in kept:
            value = text[cand.start : cand.end]
            thresholds = snap.thresholds[cand.type]
            action = "BLOCK" if cand.type == BLOCKLIST else action_for(cand.score, thresholds)
            start = offsets.byte(cand.start)
            end = offsets.byte(cand.end)
            detections.append(
                _build(
                    DetectionResult,
                    None,
                    {
                        "type": cand.type,
                        "value": value,
                        "placeholder": placeholders(cand.type, value),
                        "start": start,
                        "end": end,
                        "confidence_score": cand.score,
                        "confidence_explanation": self._explanation(cand, thresholds),
                        "char_start": cand.start,
                        "char_end": cand.end,
                        "action": action,
                    },
                )
            )
        return detections, placeholders

    @staticmethod
    def _explanation(cand: Candidate, thresholds: Thresholds) -> ConfidenceExplanation:
        listed = cand.type != BLOCKLIST
        hybrid = cand.ai_score is not None
        return _build(
            ConfidenceExplanation,
            None,
            {
                "source": cand.source,
                "regex_score": cand.regex_score,
                "ai_score": cand.ai_score,
                "category": cand.category,
                "pattern_active": True,
                "hybrid_applied": True if hybrid else None,
                "regex_hit_count": None,
                "validation": cand.validation if listed else None,
                "context_score": round2(cand.context) if listed else None,
                "block_threshold": thresholds.block,
                "allow_threshold": thresholds.allow,
                "threshold_source": thresholds.source,
                "final_score": cand.score,
            },
        )

    def _run_validators(
        self,
        text: str,
        names: list[str],
        guardrails: tuple[str, ...],
        expected_format: str | None,
        detections: list[DetectionResult],
    ) -> ValidatorReport | list[ValidatorResult] | None:
        if not names:
            return None
        if self.validators is not None:
            return self.validators.run(
                text, guardrails, expected_format, detections=tuple(detections)
            )
        if self.settings.unknown_guardrail == "ignore":
            return None
        return [
            ValidatorResult(
                name=name,
                type="VALIDATOR",
                passed=False,
                confidence_score=1.0,
                message=f"Error in guardrail '{name}': validator not found: {name}",
            )
            for name in names
        ]

    def _response(
        self,
        text: str,
        mode: str,
        detections: list[DetectionResult],
        placeholders: Placeholders,
        report: ValidatorReport | list[ValidatorResult] | None,
    ) -> DetectResponse:
        messages: list[str] = []
        blocked = False
        validator_results: list[ValidatorResult] = []
        if isinstance(report, list):
            validator_results = report
            blocked = bool(report)
            messages += [r.message for r in report if r.message]
        elif report is not None:
            validator_results = list(report.results)
            blocked = bool(report.blocked)
            messages += list(report.messages)
        breakdown: dict[str, int] = {}
        for det in detections:
            breakdown[det.type] = breakdown.get(det.type, 0) + 1
            if det.action == "BLOCK":
                blocked = True
                messages.append(_BLOCK_MESSAGE + det.type)
        if mode == "BLOCK" and detections:
            blocked = True
            messages.append(_MODE_MESSAGE)
        if mode == "DETECT" or not detections:
            redacted = text
        else:
            redacted = redact(
                text, ((d.char_start or 0, d.char_end or 0, d.placeholder) for d in detections)
            )
        overall = overall_confidence(
            ((d.type, d.confidence_score) for d in detections),
            (r.confidence_score for r in validator_results),
        )
        return _build(
            DetectResponse,
            _RESPONSE_DEFAULTS,
            {
                "redacted_text": redacted,
                "detections": detections,
                "validator_results": validator_results,
                "breakdown": breakdown,
                "blocked": blocked,
                "contains_pii": bool(detections),
                "overall_confidence": overall,
                "message": "; ".join(dict.fromkeys(messages)) or None,
            },
            {"_restore_map": placeholders.restore_map},
        )
