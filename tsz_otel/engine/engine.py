"""The inline detection engine: ``Engine.detect(text) -> DetectResponse``.

What one call does
------------------
1. **Input.** ``text`` must be a ``str``; an empty string gives an empty response
   (not an error, unlike TSZ's HTTP 400); more than ``settings.max_text_bytes``
   UTF-8 bytes is an :class:`~tsz_otel.errors.InputError`. Lone surrogates are
   kept (encoded with ``surrogatepass``) so byte offsets never crash.
2. **Scan.** The compiled catalogue (:mod:`.scanner`) finds candidates with one
   RE2 prefilter pass and per-form windows; prompt-injection detection
   (:mod:`.injection`, when installed) adds its matches (only for texts its
   ``may_contain_injection`` lets through, when the module has that cheap
   test); allowlisted values are dropped here, before any AI step, so a trusted
   value is never sent to a model; every blocklist item adds ``BLOCKLIST`` hits
   (confidence 1.00).
3. **Score** (:mod:`.scoring`): base score, checks, context, optional AI score;
   rounded to two decimals; compared with the pattern/category/global thresholds.
   Candidates below the allow threshold are dropped.
4. **Resolve overlaps** (:mod:`.redaction`): blocklist first, then longest,
   highest score, catalogue order.
5. **Respond** in TSZ's shape: placeholders (``settings.placeholder_style``),
   UTF-8 byte offsets ``start``/``end`` and ``str`` offsets ``char_start``/
   ``char_end``, ``action`` per detection, ``breakdown``, ``blocked``,
   ``message``, ``contains_pii`` (any detection, as TSZ), ``overall_confidence``.

Scoring model (details in :mod:`.scoring` and :mod:`.catalogue`)
---------------------------------------------------------------
``score = base -> pass_score / fail_score after checks -> + context boost``, and
when an AI scorer answered for the candidate, the scorer's ``final_score``: with
``tsz_otel.ai.AIClient`` that is ``0.25 * regex + 0.75 * ai``
(:func:`tsz_otel.ai.prompts.combine`), not TSZ's ``(regex + ai) / 2``, which caps
a PII match below the block threshold. AI fallbacks (timeouts, bad replies) keep
the regex score and are counted on the response's private ``_ai_failures``
(``ScoreBatch.failures``) for the guard to record. Verified high-risk findings (valid
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
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from types import MappingProxyType, ModuleType
from typing import Any, Protocol, TypeVar, cast

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
from .memo import CleanTexts
from .redaction import (
    Candidate,
    Placeholders,
    place_greedily,
    placeholder_hasher,
    redact,
    resolve_overlaps,
    spans_disjoint,
)
from .regex import OffsetMap, compile_user_regex, encode_text
from .scanner import Finding, HoldRule, Scanner, hold_rules, stable_prefix
from .scoring import (
    BLOCKLIST,
    BLOCKLIST_WEIGHT,
    DETECTION_WEIGHT,
    VALIDATOR_WEIGHT,
    Thresholds,
    action_for,
    category_score,
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

_AIOutcome = tuple[Sequence[Any] | None, dict[str, int]]
"""An AI step's result: a score per match (``None``: regex scores only) and the
fallback counts by reason (``ScoreBatch.failures``)."""


def _slot_setter(name: str) -> Callable[[BaseModel, Any], None]:
    """The setter of one of ``BaseModel``'s slots (its descriptor's ``__set__``).

    Calling the descriptor directly costs half of ``object.__setattr__``, which
    looks the name up on every call; ``object.__setattr__`` remains the fallback
    should a pydantic version not keep the slot.
    """
    setter = getattr(BaseModel.__dict__.get(name), "__set__", None)
    if setter is None:  # pragma: no cover - pydantic 2.x keeps these slots

        def setter(model: BaseModel, value: Any) -> None:
            object.__setattr__(model, name, value)

    return cast("Callable[[BaseModel, Any], None]", setter)


_new = object.__new__
"""``BaseModel`` does not override ``__new__``: ``object.__new__`` without the lookup."""
_set_dict = _slot_setter("__dict__")
_set_fields_set = _slot_setter("__pydantic_fields_set__")
_set_extra = _slot_setter("__pydantic_extra__")
_set_private = _slot_setter("__pydantic_private__")


def _construct(
    cls: type[M],
    data: dict[str, Any],
    fields_set: set[str],
    private: dict[str, Any] | None = None,
) -> M:
    """A model from already-valid values, without validation (the hot path).

    What ``model_construct`` does, minus its per-field default handling: ``data``
    holds every field and ``fields_set`` the fields that count as set (those not
    ``None`` here, which is what ``exclude_unset`` and the wire shapes see). It is
    several times cheaper; tests compare the JSON with validated construction.
    """
    model = _new(cls)
    _set_dict(model, data)
    _set_fields_set(model, fields_set)
    _set_extra(model, None)
    _set_private(model, private)
    return model


_Kept = tuple[str, str, int, int, float, int, float, str, float, str, float | None]
"""A kept candidate: :class:`~tsz_otel.engine.redaction.Candidate`'s fields, in order."""


_start_of = itemgetter(2)


def _byte_offsets(text: str, kept: Sequence[_Kept]) -> list[int]:
    """UTF-8 byte offsets of every kept candidate's start and end, in that order.

    Kept candidates come in text order without overlaps, so the offsets only grow:
    each is the previous one plus the length of the text between them, encoded
    (one C-level pass over the text in pieces). An out-of-order list (not made
    by the engine) falls back to :class:`~tsz_otel.engine.regex.OffsetMap`.
    """
    out: list[int] = []
    char = byte = 0
    for candidate in kept:
        for offset in (candidate[2], candidate[3]):
            if offset < char:
                offsets = OffsetMap(text)
                return [offsets.byte(o) for k in kept for o in (k[2], k[3])]
            byte += len(encode_text(text[char:offset]))
            char = offset
            out.append(byte)
    return out


def _as_kept(cand: Candidate) -> _Kept:
    return (
        cand.type,
        cand.category,
        cand.start,
        cand.end,
        cand.score,
        cand.order,
        cand.regex_score,
        cand.validation,
        cand.context,
        cand.source,
        cand.ai_score,
    )


def _greedy_key(kept: _Kept) -> tuple[int, float, int, int]:
    return (kept[2] - kept[3], -kept[4], kept[5], kept[2])


def _greedy(kept: Sequence[_Kept]) -> list[_Kept]:
    """:func:`~tsz_otel.engine.redaction.resolve_overlaps` of candidates without
    blocklist hits, on the tuples themselves.

    Without blocklist hits it is only its greedy step (longest, highest score,
    catalogue order, leftmost; a candidate overlapping one kept is dropped), so
    the tuples need not become ``Candidate`` objects and back; the sort is
    stable on the same input order, so ties fall the same way.
    """
    return place_greedily([], [], sorted(kept, key=_greedy_key), _SPAN_OF_KEPT)


_SPAN_OF_KEPT = itemgetter(2, 3)


def _explanation_template(limits: Thresholds) -> dict[str, Any]:
    """The explanation fields one type's detections share; copied per detection.

    A plain regex-path detection then sets only its scores, category and
    validation (blocklist hits leave validation and context unset; AI-scored
    ones also set source, ai_score and hybrid_applied).
    """
    return {
        "source": "REGEX",
        "regex_score": None,
        "ai_score": None,
        "category": None,
        "pattern_active": True,
        "hybrid_applied": None,
        "regex_hit_count": None,
        "validation": None,
        "context_score": None,
        "block_threshold": limits.block,
        "allow_threshold": limits.allow,
        "threshold_source": limits.source,
        "final_score": 0.0,
    }


_DETECTION_FIELDS = frozenset(DetectionResult.model_fields)
"""A built detection sets every field (none is ``None``)."""
_RESPONSE_FIELDS = frozenset(DetectResponse.model_fields)
_EXPLANATION_FIELDS: Mapping[tuple[bool, bool], frozenset[str]] = MappingProxyType(
    {
        (listed, hybrid): frozenset(ConfidenceExplanation.model_fields)
        - {"regex_hit_count"}
        - (set() if hybrid else {"ai_score", "hybrid_applied"})
        - (set() if listed else {"validation", "context_score"})
        for listed in (True, False)
        for hybrid in (True, False)
    }
)
"""The explanation fields that are set (not ``None``), by (not a blocklist hit, AI used)."""


def _as_names(guardrails: Sequence[str] | str | None) -> tuple[str, ...]:
    """Guardrail names as a tuple (a single name given as a string counts as one)."""
    if not guardrails:
        return ()
    if type(guardrails) is tuple:
        return guardrails
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
    """Everything ``detect`` reads, compiled; replaced as a whole on every change.

    ``types`` holds, per reportable type, its thresholds, its catalogue order and
    its explanation template (one lookup per match; see :func:`_explanation_template`).
    """

    scanner: Scanner
    specs: Mapping[str, PatternSpec]
    types: Mapping[str, tuple[Thresholds, int, dict[str, Any]]]
    active_injection: frozenset[str]
    holds: tuple[HoldRule, ...]
    max_match_chars: int
    clean: CleanTexts
    """Texts with no candidate under this snapshot (see :mod:`.memo`)."""


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
        self._hasher = placeholder_hasher(self._key)
        self._lock = threading.RLock()
        self._injection = _load_injection()
        self._injection_gate: Callable[[str], bool] | None = getattr(
            self._injection, "may_contain_injection", None
        )
        self._custom: dict[str, PatternSpec] = {}
        self._removed: set[str] = set()
        self._policies: dict[str, _Policy] = {}
        self._validator_definitions: dict[str, FormatValidator] = {}
        self._snapshot = self._compile(self._custom, self._removed, self._policies)
        for path in self.settings.templates:
            self.import_template(path)

    @property
    def settings(self) -> Settings:
        """The engine's settings (a frozen model: assign a new one to change them; the
        thresholds, disabled patterns and memo size then apply from the next call)."""
        return self._settings

    @settings.setter
    def settings(self, settings: Settings) -> None:
        # the settings ``detect`` reads on every call, as plain attributes (reading
        # a pydantic model's attribute costs several times more)
        self._settings = settings
        self._pii_mode = settings.pii_mode
        self._max_text_bytes = settings.max_text_bytes
        self._placeholder_style = settings.placeholder_style
        if getattr(self, "_snapshot", None) is not None:  # after __init__: recompile
            with self._lock:
                self._snapshot = self._compile(self._custom, self._removed, self._policies)

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
            types=MappingProxyType(
                {
                    kind: (limits, order.get(kind, len(order)), _explanation_template(limits))
                    for kind, limits in thresholds.items()
                }
            ),
            active_injection=active_injection,
            holds=holds,
            max_match_chars=longest + window,
            clean=CleanTexts(self.settings.clean_cache_size),
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
        request_mode, snap, requested, names, found = self._start(
            text, mode, guardrails, expected_format
        )
        scores, failures = self._ai_scores(text, found)
        kept = self._kept(snap, text, found, scores) if found or self._lists_may_hit(text) else []
        if not kept and not names:  # the common case for clean text
            return _clean_response(text, failures)
        detections, summary = self._detections(snap, text, rid, kept)
        report = self._run_validators(text, names, requested, expected_format, detections)
        return self._response(text, request_mode, detections, summary, report, failures)

    async def adetect(
        self,
        text: str,
        rid: str | None = None,
        guardrails: Sequence[str] = (),
        mode: str | None = None,
        *,
        expected_format: str | None = None,
    ) -> DetectResponse:
        """Async twin of :meth:`detect`. Scanning runs inline (CPU-bound, fast); the AI
        scorer (``ascore_matches``) and guardrails (the validator hook's ``arun``) are
        awaited when they have async forms, so the event loop is never blocked on I/O."""
        request_mode, snap, requested, names, found = self._start(
            text, mode, guardrails, expected_format
        )
        scores, failures = await self._aai_scores(text, found)
        kept = self._kept(snap, text, found, scores) if found or self._lists_may_hit(text) else []
        if not kept and not names:
            return _clean_response(text, failures)
        detections, summary = self._detections(snap, text, rid, kept)
        report: ValidatorReport | list[ValidatorResult] | None
        arun = getattr(self.validators, "arun", None)
        if names and self.validators is not None and callable(arun):
            report = await arun(text, requested, expected_format, detections=tuple(detections))
        else:
            report = self._run_validators(text, names, requested, expected_format, detections)
        return self._response(text, request_mode, detections, summary, report, failures)

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

    def _start(
        self,
        text: str,
        mode: str | None,
        guardrails: Sequence[str],
        expected_format: str | None,
    ) -> tuple[str, _Snapshot, tuple[str, ...], list[str], list[Finding]]:
        """What :meth:`detect` and :meth:`adetect` do before the AI step: the request's
        mode, the snapshot, the requested and effective guardrail names, the candidates."""
        request_mode = self._request_mode(mode)
        snap = self._snapshot
        requested = _as_names(guardrails)
        names = self._guardrail_names(text, requested, expected_format)
        found = self._findings(snap, text) if text else []
        return request_mode, snap, requested, names, found

    def _lists_may_hit(self, text: str) -> bool:
        """Whether a text without candidates still needs :meth:`_kept` (blocklist hits)."""
        return bool(text) and len(self.blocklist) > 0

    def _request_mode(self, mode: str | None) -> str:
        if not mode:
            mode = self._pii_mode
        if mode in _MODES:
            return mode
        chosen = mode.strip().upper()
        if chosen not in _MODES:
            raise InputError(f"unknown mode {mode!r}: expected MASK, BLOCK or DETECT")
        return chosen

    def _guardrail_names(
        self, text: object, guardrails: tuple[str, ...], expected_format: str | None
    ) -> list[str]:
        if not isinstance(text, str):
            raise InputError(f"text must be a str, not {type(text).__name__}")
        if not guardrails and not expected_format:
            return []
        names: list[str] = []
        for raw in [expected_format or "", *guardrails]:
            name = raw.strip()
            if name and name not in names:
                names.append(name)
        if names and self.validators is None and self.settings.unknown_guardrail == "error":
            raise UnknownGuardrailError(names[0], _NO_RUNNER)
        return names

    def _findings(self, snap: _Snapshot, text: str) -> list[Finding]:
        """Scanner and injection candidates of ``text``, allowlisted values removed.

        Allowlisted values go before the AI step, so a trusted value is never
        sent to a model. A text with no candidate at all is remembered in the
        snapshot's :class:`~tsz_otel.engine.memo.CleanTexts`, so the same text
        (a system prompt, the earlier turns of a chat) is not scanned again.
        """
        data = encode_text(text)
        if len(data) > self._max_text_bytes:
            raise InputError(
                f"text is {len(data)} bytes; the limit is {self.settings.max_text_bytes} "
                "(TSZ_MAX_TEXT_BYTES)"
            )
        clean = snap.clean
        digest = clean.digest(data)
        if clean.holds(digest):
            return []
        found = snap.scanner.findings(text, data)
        injection = self._injection
        if snap.active_injection and injection is not None:
            gate = self._injection_gate
            if gate is None or gate(text):
                active = snap.active_injection
                found += [
                    (m.type, m.category, m.start, m.end, m.score, m.base, m.validation, m.context)
                    for m in injection.find_injections(text)
                    if m.type in active
                ]
        if not found:
            clean.add(digest)
            return found
        allow = self.allowlist.snapshot()
        if allow.items:
            found = [f for f in found if not allow.allows(text[f[2] : f[3]])]
        return found

    def _kept(
        self, snap: _Snapshot, text: str, found: list[Finding], ai_scores: Sequence[Any] | None
    ) -> list[_Kept]:
        """Scored candidates that reach their allow threshold, overlaps resolved.

        The regex score (and the AI score, if any) is rounded to two decimals
        before the thresholds see it; a candidate whose action would be ALLOW
        (``allow <= block`` and ``score < allow``, see
        :func:`~tsz_otel.engine.scoring.action_for`) is dropped here. Candidates
        are tuples in :class:`~tsz_otel.engine.redaction.Candidate`'s field order;
        only when two or more remain do they become ``Candidate`` objects for
        :func:`~tsz_otel.engine.redaction.resolve_overlaps`.
        """
        kept: list[_Kept] = []
        types = snap.types
        for index, (kind, category, start, end, raw, base, validation, context) in enumerate(found):
            info = types.get(kind)
            if info is None:
                continue
            thresholds = info[0]
            score = regex_score = round2(raw)
            source, ai_score = "REGEX", None
            ai = ai_scores[index] if ai_scores else None
            if ai is not None and getattr(ai, "ai_score", None) is not None:
                ai_score = round2(ai.ai_score)
                score = round2(ai.final_score)
                source = "HYBRID"
            if score < thresholds.allow <= thresholds.block:
                continue  # ALLOW: not a finding
            kept.append(
                (
                    kind,
                    category,
                    start,
                    end,
                    score,
                    info[1],
                    regex_score if base == raw else round2(base),
                    validation,
                    context,
                    source,
                    ai_score,
                )
            )
        if len(self.blocklist):
            kept += [
                (BLOCKLIST, BLOCKLIST, start, end, 1.0, -1, 1.0, "none", 0.0, "REGEX", None)
                for start, end in self.blocklist.spans(text)
                if end > start
            ]
        if len(kept) < 2:
            return kept
        ordered = sorted(kept, key=_start_of)
        if spans_disjoint((k[0], k[2], k[3]) for k in ordered):
            return ordered  # what resolve_overlaps returns when there is nothing to resolve
        if not len(self.blocklist):
            return _greedy(kept)
        return [_as_kept(c) for c in resolve_overlaps([Candidate(*k) for k in kept])]

    def _ai_scores(self, text: str, found: list[Finding]) -> _AIOutcome:
        """The AI scorer's score per candidate and its fallback counts (``None`` without AI)."""
        if self.ai is None or not found:
            return None, {}
        matches = [Match(*finding) for finding in found]
        try:
            batch = self.ai.score_matches(text, matches)
        except Exception as exc:  # the AI step must never break detection
            return _ai_error(exc, matches)
        return batch.scores, _ai_failures(batch)

    async def _aai_scores(self, text: str, found: list[Finding]) -> _AIOutcome:
        """:meth:`_ai_scores` without blocking the event loop (``ascore_matches``)."""
        ascore = getattr(self.ai, "ascore_matches", None)
        if not found or not callable(ascore):
            return self._ai_scores(text, found)
        matches = [Match(*finding) for finding in found]
        try:
            batch = await ascore(text, matches)
        except Exception as exc:  # the AI step must never break detection
            return _ai_error(exc, matches)
        return batch.scores, _ai_failures(batch)

    def _detections(
        self, snap: _Snapshot, text: str, rid: str | None, kept: list[_Kept]
    ) -> tuple[list[DetectionResult], _Summary]:
        """The detections of the kept candidates (in text order), and their summary.

        Models are built without validation (:func:`_construct`): every value here
        is already of the field's type, and this runs per finding. An
        explanation is its type's template merged with the detection's own values
        (cheaper than building a 13-key dict). The summary (breakdown, blocking
        types, the weighted confidence sum, the redaction spans) is gathered in
        the same pass, so the response never reads the models back.
        """
        placeholders = Placeholders(self._placeholder_style, rid, self._key, self._hasher)
        place = placeholders.__call__
        byte_offsets = None if text.isascii() else _byte_offsets(text, kept)
        types = snap.types
        breakdown: dict[str, int] = {}
        blocking: list[str] = []
        spans: list[tuple[int, int, str]] = []
        total = weight = 0.0
        detections: list[DetectionResult] = []
        for index, (
            kind,
            category,
            start,
            end,
            score,
            _,
            regex_score,
            validation,
            context,
            source,
            ai,
        ) in enumerate(kept):
            value = text[start:end]
            limits, _, template = types[kind]
            if kind != BLOCKLIST:
                listed = True
                action = action_for(score, limits)
                share = DETECTION_WEIGHT
                fields = {
                    **template,
                    "regex_score": regex_score,
                    "category": category,
                    "final_score": score,
                    "validation": validation,
                    "context_score": round2(context) if context else 0.0,
                }
            else:
                listed = False
                action = "BLOCK"
                share = BLOCKLIST_WEIGHT
                fields = {
                    **template,
                    "regex_score": regex_score,
                    "category": category,
                    "final_score": score,
                }
            hybrid = ai is not None
            if hybrid:
                fields["source"] = source
                fields["ai_score"] = ai
                fields["hybrid_applied"] = True
            explanation = _construct(
                ConfidenceExplanation, fields, set(_EXPLANATION_FIELDS[listed, hybrid])
            )
            placeholder = place(kind, value)
            detection = _construct(
                DetectionResult,
                {
                    "type": kind,
                    "value": value,
                    "placeholder": placeholder,
                    "start": start if byte_offsets is None else byte_offsets[2 * index],
                    "end": end if byte_offsets is None else byte_offsets[2 * index + 1],
                    "confidence_score": score,
                    "confidence_explanation": explanation,
                    "char_start": start,
                    "char_end": end,
                    "action": action,
                },
                set(_DETECTION_FIELDS),
            )
            detections.append(detection)
            breakdown[kind] = breakdown.get(kind, 0) + 1
            if action == "BLOCK":
                blocking.append(kind)
            total += share * score
            weight += share
            spans.append((start, end, placeholder))
        return detections, (placeholders.restore_map, breakdown, blocking, spans, total, weight)

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
        summary: _Summary,
        report: ValidatorReport | list[ValidatorResult] | None,
        ai_failures: dict[str, int],
    ) -> DetectResponse:
        """TSZ's response: decision, messages, breakdown, redaction, overall confidence.

        ``overall_confidence`` is :func:`~tsz_otel.engine.scoring.overall_confidence`
        (detections weigh 1, blocklist hits 2, validator results 1.5): the
        detections' part was summed in :meth:`_detections`, in the same order.
        """
        restore_map, breakdown, blocking, spans, total, weight = summary
        private = {"_restore_map": restore_map, "_ai_failures": ai_failures}
        if not detections and report is None:
            return _construct(DetectResponse, _empty_response(text), set(_RESPONSE_FIELDS), private)
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
        if blocking:
            blocked = True
            messages += [_BLOCK_MESSAGE + kind for kind in blocking]
        for result in validator_results:
            total += VALIDATOR_WEIGHT * result.confidence_score
            weight += VALIDATOR_WEIGHT
        if mode == "BLOCK" and detections:
            blocked = True
            messages.append(_MODE_MESSAGE)
        redacted = text if mode == "DETECT" or not detections else redact(text, spans)
        return _construct(
            DetectResponse,
            {
                "redacted_text": redacted,
                "detections": detections,
                "validator_results": validator_results,
                "breakdown": breakdown,
                "blocked": blocked,
                "contains_pii": bool(detections),
                "overall_confidence": round2(total / weight) if weight else 0.0,
                "message": "; ".join(dict.fromkeys(messages)) or None if messages else None,
            },
            set(_RESPONSE_FIELDS),
            private,
        )


_Summary = tuple[
    dict[str, str], dict[str, int], list[str], list[tuple[int, int, str]], float, float
]
"""What the response needs from the detections, gathered while building them: the
placeholder restore map, the breakdown, the types of BLOCK detections (in order),
the (start, end, placeholder) spans to redact, and the weighted confidence sum and
weight of the detections."""


_NO_RUNNER = (
    "this Engine has no validator runner: build it with "
    "validators=ValidatorRegistry(settings), or with "
    "tsz_otel.remote.engine_from_settings(settings)"
)


def _clean_response(text: str, ai_failures: dict[str, int]) -> DetectResponse:
    """The response to a text with nothing to report and no guardrail to run."""
    return _construct(
        DetectResponse,
        _empty_response(text),
        set(_RESPONSE_FIELDS),
        {"_restore_map": {}, "_ai_failures": ai_failures},
    )


def _empty_response(text: str) -> dict[str, Any]:
    """The response fields of a call with no detection and no guardrail."""
    return {
        "redacted_text": text,
        "detections": [],
        "validator_results": [],
        "breakdown": {},
        "blocked": False,
        "contains_pii": False,
        "overall_confidence": 0.0,
        "message": None,
    }


def _ai_failures(batch: object) -> dict[str, int]:
    """``ScoreBatch.failures`` (reason -> count) of an AI scorer's batch, if it has one."""
    failures = getattr(batch, "failures", None)
    return {str(reason): int(count) for reason, count in failures.items()} if failures else {}


def _ai_error(exc: Exception, matches: Sequence[Match]) -> _AIOutcome:
    """A scorer that raised: regex scores for all, counted as ``error`` fallbacks."""
    _logger.warning("AI scoring failed (%s); using regex scores", type(exc).__name__)
    return None, {"error": len(matches)}
