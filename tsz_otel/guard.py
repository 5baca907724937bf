"""Guard: the detection engine, the rollout policy and the guardrail span in one call.

::

    from tsz_otel import Guard, GuardrailBlockedError

    guard = Guard()                              # Settings.from_env(); keywords override it
    verdict = guard.check("Mail me at jane@example.com", target="llm_input", rid="RID-1")
    verdict.decision        # "allow" | "warn" | "modify" | "deny" | "audit" (str enum)
    verdict.text            # what to send downstream: redacted in mask/block mode
    verdict.response        # the TSZ DetectResponse

    verdict = await guard.acheck(messages)       # OpenAI-style chat messages
    verdict.messages        # the same structure, redacted where needed

Every call is one ``apply_guardrail {guardian} {target}`` span (child of the current
span; INTERNAL for the inline engine, CLIENT for a remote one) with one finding event per
detection, the decision, the TSZ summary attributes and the guardrail metrics
(:mod:`tsz_otel.scope`). Nothing of the text goes on it unless content capture is on.
When AI scoring fell back to the regex score (model unreachable, timed out, junk answer)
the span also has ``tsz.ai.fallbacks`` (how many) and ``tsz.degraded=true``.

Cost: everything a check shares with other checks of the same target and mode (span
name, start attributes, metric attribute sets, the clean-path summary) is built once per
guard. A clean check (nothing found) is the engine call, one span with its attributes set
at start and once at the end, one histogram record and one counter add; it builds no
finding, event or hash: ``content.input.hash`` is computed only when the evaluation has
something to report (a finding, a non-``allow`` decision, an error) and the span is
sampled.

Decisions, per rollout mode (``TSZ_MODE``, ``TSZ_INPUT_MODE``/``TSZ_OUTPUT_MODE``, the
guard's ``mode=`` or the call's ``mode=``, most specific wins), see :mod:`tsz_otel.policy`:
observe -> ``allow``/``warn`` and content untouched; mask -> ``modify`` with redacted
content; block -> ``deny`` for block-level findings, which raises
:class:`~tsz_otel.errors.GuardrailBlockedError` (message: target, request id, types;
never a value) unless ``raise_on_block=False``, which returns the deny verdict so a
streaming wrapper can choose how to halt.

Engine failures: in observe and mask mode, and in block mode with ``TSZ_FAIL_MODE=open``,
the call goes on (decision ``audit``, the original content, ``verdict.error_type`` set,
the span has status ERROR and ``error.type``); block mode with ``TSZ_FAIL_MODE=closed``
raises :class:`~tsz_otel.errors.GuardrailFailedError` (or returns a ``deny`` verdict with
``raise_on_block=False``).

Chat messages: the roles in ``settings.input_roles`` (default user, system, tool) are
scanned for the ``llm_input`` target, every role for other targets. Scanned are string
``content``, text parts of list ``content`` (``{"type": "text", "text": ...}``),
``refusal``, and ``tool_calls[].function.arguments`` (as one string). Each scanned string
is one *segment*, detected separately (as the TSZ gateway does per message);
``verdict.responses`` holds one ``DetectResponse`` per segment and ``verdict.segments``
their paths (``messages[0].content``, ``messages[2].tool_calls[0].function.arguments``).
``verdict.response`` is always one ``DetectResponse``: the segment's own for text input;
for messages a merge (all detections, offsets relative to their own segment; breakdown
summed; ``blocked``/``contains_pii`` if any; ``overall_confidence`` the maximum;
``redacted_text`` unset).

For instrumentors: ``mode=`` takes a per-call override (use
:func:`~tsz_otel.policy.parse_mode` on a header value first); ``rid=`` is recorded as
``tsz.request_id`` and used in placeholders; ``guardrails=`` adds validators to this call;
:meth:`Guard.check_output`/:meth:`Guard.acheck_output` evaluate a finished output as
``llm_output`` in a span *linked* to another span (stream-async).
"""

from __future__ import annotations

import asyncio
import copy
import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol
from urllib.parse import urlsplit

from opentelemetry.context import Context
from opentelemetry.trace import Link, Span, SpanContext, SpanKind
from opentelemetry.util.types import AttributeValue

from . import semconv
from .config import Settings
from .content import ContentHasher
from .errors import ConfigurationError, GuardrailBlockedError, GuardrailFailedError, InputError
from .metrics import MetricSet
from .models import DetectResponse, ValidatorResult, confidence_str
from .policy import (
    ALLOW,
    Assessment,
    Outcome,
    RolloutMode,
    decide,
    decide_failure,
    finding_decision,
    finding_severity,
    risk_category,
)
from .scope import (
    ApplyGuardrailScope,
    GuardrailDecisionType,
    GuardrailDetails,
    GuardrailFinding,
    GuardrailRiskSeverity,
    GuardrailTargetType,
    GuardrailTracer,
)
from .semconv import Key
from .version import __version__

__all__ = ["Detector", "Guard", "Verdict", "findings_for"]

_logger = logging.getLogger(__name__)
_logger.addHandler(logging.NullHandler())

GUARDIAN_NAME: Final = "tsz"
GUARDIAN_PROVIDER: Final = "tsz"
_ROLE_FILTERED_TARGETS: Final = frozenset({GuardrailTargetType.LLM_INPUT.value})
_TEXT_PART_KEYS: Final = ("text",)
_VALIDATOR_CATEGORY: Final = "VALIDATOR"
_ZERO_CONFIDENCE: Final = confidence_str(0.0)
_MAX_PLANS: Final = 256

Messages = Sequence[Mapping[str, Any]]
PathKey = str | int


class Detector(Protocol):
    """What a guard needs from an engine: the inline ``Engine`` or a remote client."""

    def detect(
        self,
        text: str,
        rid: str | None = None,
        guardrails: Sequence[str] = (),
        mode: str | None = None,
    ) -> DetectResponse: ...

    async def adetect(
        self,
        text: str,
        rid: str | None = None,
        guardrails: Sequence[str] = (),
        mode: str | None = None,
    ) -> DetectResponse: ...


@dataclass(slots=True, repr=False)
class Verdict:
    """The outcome of one guarded check (see the module docstring).

    ``blocked`` is true exactly when ``decision`` is ``deny`` (the call must not go
    on). ``text``/``messages`` hold what to send downstream (only the one matching the
    input kind is set). ``error_type`` is set when the guardian failed. ``findings``
    are structural (type, category, score, offsets, hash), never values; the raw
    values are only in ``response``/``responses``, which ``repr`` never prints.
    """

    decision: GuardrailDecisionType
    target: str
    mode: RolloutMode
    text: str | None
    messages: list[dict[str, Any]] | None
    response: DetectResponse
    responses: tuple[DetectResponse, ...]
    segments: tuple[str, ...]
    findings: tuple[GuardrailFinding, ...]
    span_context: SpanContext | None
    rid: str | None = None
    blocked: bool = False
    masked: bool = False
    would_block: bool = False
    would_mask: bool = False
    reason: str | None = None
    error_type: str | None = None
    blocking_types: tuple[str, ...] = ()
    failed_guardrails: tuple[str, ...] = ()
    finding_types: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return (
            f"Verdict(decision={self.decision.value!r}, target={self.target!r}, "
            f"mode={self.mode.value!r}, rid={self.rid!r}, findings={len(self.findings)}, "
            f"types={list(self.finding_types)!r}, blocked={self.blocked}, "
            f"masked={self.masked}, error_type={self.error_type!r})"
        )

    def describe(self) -> str:
        """One line for logs and error messages: decision, target, rid and types only."""
        parts = [f"guardrail {self.decision.value} on {self.target}"]
        if self.rid:
            parts.append(f"rid={self.rid}")
        if self.blocking_types:
            parts.append("blocked types: " + ", ".join(self.blocking_types))
        if self.failed_guardrails:
            parts.append("failed guardrails: " + ", ".join(self.failed_guardrails))
        if self.error_type:
            parts.append(f"guardian error: {self.error_type}")
        if not (self.blocking_types or self.failed_guardrails or self.error_type):
            if self.finding_types:
                parts.append("types: " + ", ".join(self.finding_types))
        return "; ".join(parts)


# --- segments of the input ----------------------------------------------------------------


@dataclass(slots=True)
class _Segment:
    """One scanned string: where it sits in the input and its text (internal, unshared)."""

    path: tuple[PathKey, ...]
    text: str

    @property
    def label(self) -> str:
        label = _LABELS.get(self.path)
        if label is None:
            label = _label(self.path)
            if len(_LABELS) < _MAX_LABELS:
                _LABELS[self.path] = label
        return label


_LABELS: dict[tuple[PathKey, ...], str] = {}
"""Segment labels by path: message lists are short, so the paths seen are few."""
_MAX_LABELS: Final = 4096


def _label(path: tuple[PathKey, ...]) -> str:
    if not path:
        return "text"
    out = "messages"
    for key in path:
        out += f"[{key}]" if isinstance(key, int) else f".{key}"
    return out


def _content_segments(index: int, content: Any, out: list[_Segment]) -> None:
    if isinstance(content, str):
        out.append(_Segment((index, "content"), content))
    elif isinstance(content, list):
        for part_index, part in enumerate(content):
            if not isinstance(part, Mapping):
                continue
            for key in _TEXT_PART_KEYS:
                value = part.get(key)
                if isinstance(value, str):
                    out.append(_Segment((index, "content", part_index, key), value))


def _is_message_list(content: object) -> bool:
    return isinstance(content, Sequence) and not isinstance(content, str | bytes | bytearray)


def _copied(messages: Messages) -> list[Any]:
    """A shallow copy of each message for the verdict (the caller's objects are never
    changed); an entry that is not a mapping (a malformed body) is passed on as it is."""
    return [dict(m) if isinstance(m, Mapping) else m for m in messages]


def _tool_call_segments(index: int, calls: Any, out: list[_Segment]) -> None:
    if not isinstance(calls, list | tuple):
        return  # malformed: nothing that can carry arguments
    for call_index, call in enumerate(calls):
        function = call.get("function") if isinstance(call, Mapping) else None
        arguments = function.get("arguments") if isinstance(function, Mapping) else None
        if isinstance(arguments, str):
            path = (index, "tool_calls", call_index, "function", "arguments")
            out.append(_Segment(path, arguments))


def _message_segments(messages: Messages, roles: frozenset[str] | None) -> list[_Segment]:
    segments: list[_Segment] = []
    for index, message in enumerate(messages):
        if type(message) is not dict and not isinstance(message, Mapping):
            continue
        if roles is not None and message.get("role") not in roles:
            continue
        content = message.get("content")
        if type(content) is str:
            segments.append(_Segment((index, "content"), content))
        else:
            _content_segments(index, content, segments)
        refusal = message.get("refusal")
        if isinstance(refusal, str):
            segments.append(_Segment((index, "refusal"), refusal))
        calls = message.get("tool_calls")
        if calls:
            _tool_call_segments(index, calls, segments)
    return segments


def _redacted_messages(
    messages: Messages, segments: Sequence[_Segment], texts: Sequence[str]
) -> list[dict[str, Any]]:
    """A copy of ``messages`` with each changed segment replaced; structure preserved."""
    result: list[Any] = copy.deepcopy(_copied(messages))
    for segment, text in zip(segments, texts, strict=True):
        if text == segment.text:
            continue
        container: Any = result
        for key in segment.path[:-1]:
            container = container[key]
        container[segment.path[-1]] = text
    return result


def _scanned_messages(
    messages: Messages, segments: Sequence[_Segment], texts: Sequence[str]
) -> list[dict[str, Any]]:
    """The scanned parts of ``messages`` only, with ``texts`` in place of each segment."""
    documents: dict[int, dict[str, Any]] = {}
    for segment, text in zip(segments, texts, strict=True):
        index = int(segment.path[0])
        entry = documents.setdefault(index, {"role": messages[index].get("role"), "content": []})
        if segment.path[1] == "tool_calls":
            call = messages[index]["tool_calls"][segment.path[2]]
            name = call.get("function", {}).get("name")
            function = {"name": name, "arguments": text}
            entry.setdefault("tool_calls", []).append({"id": call.get("id"), "function": function})
        else:
            entry["content"].append({"type": "text", "text": text})
    return [documents[index] for index in sorted(documents)]


def _merge(responses: Sequence[DetectResponse]) -> DetectResponse:
    if len(responses) == 1:
        return responses[0]
    breakdown: Counter[str] = Counter()
    messages: dict[str, None] = {}
    detections = []
    validators: list[ValidatorResult] = []
    for response in responses:
        breakdown.update(response.breakdown)
        detections.extend(response.detections)
        validators.extend(response.validator_results)
        if response.message:
            messages[response.message] = None
    return DetectResponse(
        redacted_text=None,
        detections=detections,
        validator_results=validators,
        breakdown=dict(breakdown),
        blocked=any(r.blocked for r in responses),
        contains_pii=any(r.contains_pii for r in responses),
        overall_confidence=max((r.overall_confidence for r in responses), default=0.0),
        message="; ".join(messages) or None,
    )


def _ai_fallback_count(responses: Sequence[DetectResponse]) -> int:
    """How many AI scorings fell back to the regex score across ``responses``.

    The engine keeps the count per reason in the private ``_ai_failures`` of a response
    (never on the wire); a response without it (a remote TSZ server's) counts nothing.
    """
    total = 0
    for response in responses:
        failures = _ai_failures(response)
        if failures:
            total += sum(int(count) for count in failures.values())
    return total


def _ai_failures(response: DetectResponse) -> Mapping[str, int] | None:
    """``response._ai_failures`` without pydantic's ``__getattr__`` (which raises, slowly,
    for a private name the model does not declare)."""
    private = getattr(response, "__pydantic_private__", None)
    if private:
        found = private.get("_ai_failures")
        if found is not None:
            return found  # type: ignore[no-any-return]
    found = getattr(response, "__dict__", {}).get("_ai_failures")
    return found if isinstance(found, Mapping) else None


# --- findings -------------------------------------------------------------------------------


def _clamp(score: float) -> float:
    return min(1.0, max(0.0, float(score)))


def findings_for(
    response: DetectResponse,
    *,
    hasher: ContentHasher,
    mode: RolloutMode,
    masked: bool,
    segment: str | None = None,
) -> list[GuardrailFinding]:
    """Structural findings of one response: one per detection and per failed guardrail.

    Values are hashed with ``hasher``; nothing else of them is kept.
    """
    counts = Counter(d.type for d in response.detections)
    findings: list[GuardrailFinding] = []
    for detection in response.detections:
        score = _clamp(detection.confidence_score)
        category = detection.category
        findings.append(
            GuardrailFinding(
                risk_category=risk_category(category),
                risk_severity=finding_severity(detection.action, score, category),
                risk_score=score,
                policy_decision_type=finding_decision(detection, mode, masked),
                finding_type=detection.type,
                native_category=category,
                action=detection.action,
                start=detection.start,
                end=detection.end,
                char_start=detection.char_start,
                char_end=detection.char_end,
                count=counts[detection.type],
                value_hash=hasher(detection.value),
                segment=segment,
            )
        )
    for result in response.validator_results:
        if result.passed:
            continue
        blocks = result.status != "error" or response.blocked
        decision = GuardrailDecisionType.DENY if mode is RolloutMode.BLOCK and blocks else None
        findings.append(
            GuardrailFinding(
                risk_category=risk_category(_VALIDATOR_CATEGORY),
                risk_severity=GuardrailRiskSeverity.HIGH,
                risk_score=_clamp(result.confidence_score),
                policy_decision_type=decision or GuardrailDecisionType.WARN,
                finding_type=result.name,
                native_category=_VALIDATOR_CATEGORY,
                action="BLOCK",
                count=1,
                segment=segment,
            )
        )
    return findings


# --- the guard ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Profile:
    """What every check of one (target, mode) shares, built once per guard.

    ``start``: the span attributes known before any check (never mutated: copied per
    call). ``clean``: the decision and summary attributes of a check that found nothing
    (all but ``tsz.confidence``). ``hash_keys``/``target_id_keys``: the selected
    spellings of those attributes. ``start_clean``: ``start`` and ``clean`` together,
    for a clean check whose span starts once its outcome is known.
    """

    name: str
    start: Mapping[str, AttributeValue]
    metric: MetricSet
    clean: Mapping[str, AttributeValue]
    hash_keys: tuple[str, ...]
    target_id_keys: tuple[str, ...]
    start_clean: Mapping[str, AttributeValue]


@dataclass(slots=True)
class _Call:
    """Everything one check carries from start to verdict."""

    scope: ApplyGuardrailScope
    target: str
    mode: RolloutMode
    rid: str | None
    guardrails: tuple[str, ...]
    text: str | None
    messages: Messages | None
    segments: list[_Segment]
    profile: _Profile


def _link(item: Link | SpanContext | Span) -> Link:
    if isinstance(item, Link):
        return item
    if isinstance(item, SpanContext):
        return Link(item)
    return Link(item.get_span_context())


def _server(base_url: str | None) -> tuple[str | None, int | None]:
    if not base_url:
        return None, None
    parts = urlsplit(base_url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.hostname, port


class Guard:
    """Engine + policy + ``apply_guardrail`` span in one call (see the module docstring).

    ``Guard()`` builds :class:`~tsz_otel.config.Settings` from the environment; keyword
    ``overrides`` (any ``Settings`` field) replace single settings; ``mode=`` sets the
    rollout mode of every target (it also clears ``input_mode``/``output_mode`` unless
    those are given too). ``engine=`` takes any :class:`Detector` (default: the inline
    ``Engine(settings)``); ``tracer_provider``/``meter_provider`` default to the global
    ones; ``guardian_name`` is the name in span names and metrics; ``span_kind``
    overrides INTERNAL/CLIENT.

    A guard is immutable after construction and safe to share between threads and
    asyncio tasks.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        engine: Detector | None = None,
        mode: RolloutMode | str | None = None,
        tracer_provider: Any = None,
        meter_provider: Any = None,
        guardian_name: str = GUARDIAN_NAME,
        guardian_provider_name: str = GUARDIAN_PROVIDER,
        span_kind: SpanKind | None = None,
        **overrides: Any,
    ) -> None:
        self._settings = _resolve_settings(settings, mode, overrides)
        self._engine = engine if engine is not None else _default_engine(self._settings)
        self._tracer = GuardrailTracer(
            self._settings, tracer_provider=tracer_provider, meter_provider=meter_provider
        )
        remote = _is_remote(self._settings, self._engine)
        self._attach = remote or _may_start_spans(self._settings, self._engine)
        self._kind = span_kind or (SpanKind.CLIENT if remote else SpanKind.INTERNAL)
        base_url = getattr(self._engine, "base_url", None) or self._settings.base_url
        self._server = _server(base_url) if remote else (None, None)
        self._guardian_name = guardian_name
        self._guardian_provider = guardian_provider_name
        self._guardian_id = "tsz-otel.remote" if remote else "tsz-otel.inline"
        self._roles = frozenset(self._settings.input_roles)
        self._guardrails: tuple[str, ...] = tuple(self._settings.guardrails)
        self._capture_on = self._tracer.content.enabled
        self._modes: dict[str, RolloutMode] = {}
        self._profiles: dict[tuple[str, RolloutMode], _Profile] = {}
        self._plans: dict[tuple[str, RolloutMode | str | None], tuple[RolloutMode, _Profile]] = {}

    # -- properties ---------------------------------------------------------------------

    @property
    def settings(self) -> Settings:
        return self._settings

    @property
    def engine(self) -> Detector:
        return self._engine

    @property
    def tracer(self) -> GuardrailTracer:
        """The scope factory this guard uses (its hasher, names and content policy)."""
        return self._tracer

    def mode_for(self, target: str, override: RolloutMode | str | None = None) -> RolloutMode:
        """The rollout mode a check of ``target`` runs in (``override`` wins)."""
        if override is not None:
            return _coerce_mode(override)
        mode = self._modes.get(target)
        if mode is None:  # one entry per distinct target: a handful
            mode = self._modes[target] = RolloutMode(self._settings.mode_for(str(target)))
        return mode

    def _profile(self, target: str, mode: RolloutMode) -> _Profile:
        """The shared parts of a (target, mode) check; one entry per distinct pair."""
        profile = self._profiles.get((target, mode))
        if profile is None:
            profile = self._profiles[(target, mode)] = self._build_profile(target, mode)
        return profile

    def _plan(self, target: str, mode: RolloutMode | str | None) -> tuple[RolloutMode, _Profile]:
        """:meth:`mode_for` and :meth:`_profile` of a check in one lookup (the hot path)."""
        found = self._plans.get((target, mode))
        if found is None:
            resolved = self.mode_for(target, mode)
            found = (resolved, self._profile(target, resolved))
            if len(self._plans) < _MAX_PLANS:
                self._plans[(target, mode)] = found
        return found

    def _build_profile(self, target: str, mode: RolloutMode) -> _Profile:
        tracer = self._tracer
        names = tracer.names
        address, port = self._server
        details = GuardrailDetails(
            target_type=target,
            guardian_id=self._guardian_id,
            guardian_name=self._guardian_name,
            guardian_provider_name=self._guardian_provider,
            guardian_version=__version__,
            mode=mode.value,
            server_address=address,
            server_port=port,
        )
        clean: dict[str, AttributeValue] = {}
        names.put(clean, Key.DECISION_TYPE, ALLOW.decision.value)
        names.put(clean, Key.DECISION_RESULT_TYPE, semconv.DECISION_RESULT_TYPE)
        names.put(clean, Key.CONTENT_MODIFIED, False)
        clean[semconv.TSZ_BLOCKED] = False
        clean[semconv.TSZ_REASONS] = ""
        clean[semconv.TSZ_DETECTION_COUNT] = 0
        clean[semconv.TSZ_ACTION] = ALLOW.action
        start = tracer.start_attributes(details)
        return _Profile(
            name=semconv.span_name(self._guardian_name, target),
            start=start,
            metric=tracer.details_metric_set(details),
            clean=clean,
            hash_keys=names.span[Key.CONTENT_INPUT_HASH],
            target_id_keys=names.span[Key.TARGET_ID],
            start_clean={**start, **clean},
        )

    # -- sync and async twins -----------------------------------------------------------

    def check(
        self,
        content: str | Messages,
        target: str = GuardrailTargetType.LLM_INPUT,
        *,
        rid: str | None = None,
        guardrails: Sequence[str] | None = None,
        mode: RolloutMode | str | None = None,
        raise_on_block: bool = True,
        parent: Context | None = None,
        links: Sequence[Link | SpanContext | Span] = (),
        target_id: str | None = None,
    ) -> Verdict:
        """Evaluate ``content`` (a text or chat messages) for ``target``; see the module."""
        call = self._begin(content, target, rid, guardrails, mode, parent, links, target_id)
        cause: Exception | None = None
        with call.scope:
            try:
                detect, segments = self._engine.detect, call.segments
                if len(segments) == 1:  # the common case, without a comprehension
                    responses = [detect(segments[0].text, rid=rid, guardrails=call.guardrails)]
                else:
                    responses = [
                        detect(s.text, rid=rid, guardrails=call.guardrails) for s in segments
                    ]
            except Exception as exc:  # fail-open/closed is decided by policy, not here
                verdict, cause = self._failed(call, exc), exc
            else:
                verdict = self._finished(call, responses)
        return self._enforce(verdict, raise_on_block, cause)

    async def acheck(
        self,
        content: str | Messages,
        target: str = GuardrailTargetType.LLM_INPUT,
        *,
        rid: str | None = None,
        guardrails: Sequence[str] | None = None,
        mode: RolloutMode | str | None = None,
        raise_on_block: bool = True,
        parent: Context | None = None,
        links: Sequence[Link | SpanContext | Span] = (),
        target_id: str | None = None,
    ) -> Verdict:
        """The async twin of :meth:`check`."""
        call = self._begin(content, target, rid, guardrails, mode, parent, links, target_id)
        cause: Exception | None = None
        async with call.scope:
            try:
                responses = await self._adetect_all(call)
            except Exception as exc:  # fail-open/closed is decided by policy, not here
                verdict, cause = self._failed(call, exc), exc
            else:
                verdict = self._finished(call, responses)
        return self._enforce(verdict, raise_on_block, cause)

    async def _adetect_all(self, call: _Call) -> list[DetectResponse]:
        """Every segment's response; several segments concurrently (a remote engine or AI
        scoring waits on the network), one without a task and its context copy."""
        detect, rid, guardrails = self._engine.adetect, call.rid, call.guardrails
        if len(call.segments) == 1:
            return [await detect(call.segments[0].text, rid=rid, guardrails=guardrails)]
        pending = (detect(s.text, rid=rid, guardrails=guardrails) for s in call.segments)
        return list(await asyncio.gather(*pending))

    def check_output(
        self,
        content: str | Messages,
        *,
        link_to: Link | SpanContext | Span | None = None,
        parent: Context | None = None,
        rid: str | None = None,
        guardrails: Sequence[str] | None = None,
        mode: RolloutMode | str | None = None,
        raise_on_block: bool = True,
    ) -> Verdict:
        """Evaluate a finished output as ``llm_output`` in a span linked to ``link_to``.

        For stream-async: the stream was already delivered; this records what it
        contained. ``parent`` defaults to the current context; pass
        ``opentelemetry.context.Context()`` to start a new trace.
        """
        links = () if link_to is None else (link_to,)
        return self.check(
            content,
            GuardrailTargetType.LLM_OUTPUT,
            rid=rid,
            guardrails=guardrails,
            mode=mode,
            raise_on_block=raise_on_block,
            parent=parent,
            links=links,
        )

    async def acheck_output(
        self,
        content: str | Messages,
        *,
        link_to: Link | SpanContext | Span | None = None,
        parent: Context | None = None,
        rid: str | None = None,
        guardrails: Sequence[str] | None = None,
        mode: RolloutMode | str | None = None,
        raise_on_block: bool = True,
    ) -> Verdict:
        """The async twin of :meth:`check_output`."""
        links = () if link_to is None else (link_to,)
        return await self.acheck(
            content,
            GuardrailTargetType.LLM_OUTPUT,
            rid=rid,
            guardrails=guardrails,
            mode=mode,
            raise_on_block=raise_on_block,
            parent=parent,
            links=links,
        )

    # -- the shared, I/O-free steps -----------------------------------------------------

    def _begin(
        self,
        content: str | Messages,
        target: str,
        rid: str | None,
        guardrails: Sequence[str] | None,
        mode: RolloutMode | str | None,
        parent: Context | None,
        links: Sequence[Link | SpanContext | Span],
        target_id: str | None,
    ) -> _Call:
        if type(target) is not str:
            target = str(target)
        found = self._plans.get((target, mode))
        resolved, profile = found if found is not None else self._plan(target, mode)
        if isinstance(content, str):
            text: str | None = content
            messages: Messages | None = None
            segments = [_Segment((), content)]
        else:
            if type(content) is not list and not _is_message_list(content):
                raise InputError(
                    "content must be a str or a sequence of chat messages, "
                    f"not {type(content).__name__}"
                )
            text, messages = None, content
            roles = self._roles if target in _ROLE_FILTERED_TARGETS else None
            segments = _message_segments(content, roles)
        attributes = profile.start  # never mutated: copied when something is added
        if target_id is not None or rid is not None:
            attributes = dict(attributes)
            if target_id is not None:
                for key in profile.target_id_keys:
                    attributes[key] = target_id
            if rid is not None:
                attributes[semconv.TSZ_REQUEST_ID] = rid
        scope = ApplyGuardrailScope._begin(
            self._tracer,
            profile.name,
            attributes,
            profile.metric,
            self._kind,
            parent,
            [_link(item) for item in links] if links else (),
            self._attach,
            not self._attach,  # nothing needs the span before the outcome: start it then
        )
        chosen = self._guardrails if guardrails is None else tuple(guardrails)
        return _Call(scope, target, resolved, rid, chosen, text, messages, segments, profile)

    def _finished(self, call: _Call, responses: Sequence[DetectResponse]) -> Verdict:
        for response in responses:
            if response.detections or response.validator_results or response.blocked:
                return self._reported(call, responses)
        return self._clean(call, responses)

    def _clean(self, call: _Call, responses: Sequence[DetectResponse]) -> Verdict:
        """Nothing detected, no guardrail result, no block: no findings, hashes or events
        to build, the content goes on unchanged, the prepared summary in one update."""
        segments = call.segments
        if len(responses) == 1:
            merged = responses[0]
        else:
            merged = _merge(responses) if responses else DetectResponse(redacted_text=call.text)
        scope = call.scope
        messages = call.messages
        confidence = merged.overall_confidence
        profile = call.profile
        span = scope._settle(
            ALLOW.decision.value,
            profile.clean,
            _ZERO_CONFIDENCE if confidence == 0.0 else confidence_str(confidence),
            len(segments) if messages is not None else None,
            (profile.start, profile.start_clean),
        )
        if self._capture_on:
            redacted = [
                r.redacted_text if r.redacted_text is not None else s.text
                for r, s in zip(responses, segments, strict=True)
            ]
            self._capture(call, ALLOW, redacted, call.text)
        # an inline engine without a model (not _attach) has no AI scoring to fall back from
        fallbacks = _ai_fallback_count(responses) if self._attach else 0
        if fallbacks:
            scope.record_ai_fallbacks(fallbacks)
        copied = None if messages is None else _copied(messages)
        return Verdict(
            ALLOW.decision,
            call.target,
            call.mode,
            call.text,
            copied,
            merged,
            tuple(responses),
            (segments[0].label,) if len(segments) == 1 else tuple([s.label for s in segments]),
            (),
            span.get_span_context(),
            call.rid,
        )

    def _reported(self, call: _Call, responses: Sequence[DetectResponse]) -> Verdict:
        """Something was detected (or a guardrail ran): the full assessment."""
        originals = [s.text for s in call.segments]
        assessment = Assessment.of(responses, originals)
        outcome = decide(assessment, call.mode)
        if assessment.finding_types or assessment.failed_guardrails or outcome is not ALLOW:
            findings = self._findings(call, responses, outcome.mask)
        else:  # nothing detected: no findings, hashes or events to build
            findings = ()
        redacted = [
            r.redacted_text if r.redacted_text is not None else s.text
            for r, s in zip(responses, call.segments, strict=True)
        ]
        merged = _merge(responses) if responses else DetectResponse(redacted_text=call.text)
        out_text, out_messages = self._downstream(call, redacted, outcome.mask)
        self._record(call, outcome, findings, merged, redacted, out_text)
        fallbacks = _ai_fallback_count(responses)
        if fallbacks:
            call.scope.record_ai_fallbacks(fallbacks)
        return Verdict(
            decision=outcome.decision,
            target=call.target,
            mode=call.mode,
            text=out_text,
            messages=out_messages,
            response=merged,
            responses=tuple(responses),
            segments=tuple([s.label for s in call.segments]),
            findings=findings,
            span_context=call.scope.span_context,
            rid=call.rid,
            blocked=outcome.deny,
            masked=outcome.mask,
            would_block=assessment.would_block,
            would_mask=assessment.would_mask,
            reason=outcome.reason,
            blocking_types=assessment.blocking_types,
            failed_guardrails=assessment.failed_guardrails,
            finding_types=assessment.finding_types,
        )

    def _findings(
        self, call: _Call, responses: Sequence[DetectResponse], masked: bool
    ) -> tuple[GuardrailFinding, ...]:
        hasher = self._tracer.hasher
        return tuple(
            finding
            for response, segment in zip(responses, call.segments, strict=True)
            for finding in findings_for(
                response, hasher=hasher, mode=call.mode, masked=masked, segment=segment.label
            )
        )

    def _downstream(
        self, call: _Call, redacted: Sequence[str], mask: bool
    ) -> tuple[str | None, list[dict[str, Any]] | None]:
        if call.messages is None:
            return (redacted[0] if mask else call.text), None
        if mask:
            return None, _redacted_messages(call.messages, call.segments, redacted)
        return None, _copied(call.messages)

    def _record(
        self,
        call: _Call,
        outcome: Outcome,
        findings: Sequence[GuardrailFinding],
        merged: DetectResponse,
        redacted: Sequence[str],
        out_text: str | None,
    ) -> None:
        scope = call.scope
        segment_count = len(call.segments) if call.messages is not None else None
        if findings or outcome is not ALLOW:
            self._record_input_hash(call)
            scope.record_findings(findings)
            scope.record_decision(outcome.decision, outcome.reason, outcome.code)
            scope.record_content_modified(outcome.mask)
            scope.record_outcome(
                blocked=outcome.deny,
                reasons=[f.finding_type or f.risk_category for f in findings],
                confidence=merged.overall_confidence,
                detection_count=len(merged.detections),
                action=outcome.action,
                segment_count=segment_count,
            )
        else:  # the clean path: the prepared attributes, in one update
            confidence = merged.overall_confidence
            text = _ZERO_CONFIDENCE if confidence == 0.0 else confidence_str(confidence)
            scope._settle(ALLOW.decision.value, call.profile.clean, text, segment_count)
        if self._capture_on:
            self._capture(call, outcome, redacted, out_text)

    def _capture(
        self, call: _Call, outcome: Outcome, redacted: Sequence[str], out_text: str | None
    ) -> None:
        """Content capture (when on), by the content policy's rules."""
        scope = call.scope
        if call.messages is not None:
            # Only scanned segments are captured: a message the guard did not scan (a role
            # outside input_roles) was never redacted and must not reach telemetry.
            originals = [s.text for s in call.segments]
            raw = _scanned_messages(call.messages, call.segments, originals)
            masked = _scanned_messages(call.messages, call.segments, redacted)
            scope.record_content_input(raw, redacted=masked)
            if outcome.mask:
                scope.record_content_output(masked, redacted=masked)
        elif call.text is not None:
            scope.record_content_input(call.text, redacted=redacted[0])
            if outcome.mask and out_text is not None:
                scope.record_content_output(out_text, redacted=out_text)

    def _record_input_hash(self, call: _Call) -> None:
        """``content.input.hash``, for a recording span with something to report: a clean
        evaluation skips hashing its input (the hash only correlates reported content)."""
        if not (call.scope.is_recording and call.profile.hash_keys):
            return
        hasher = self._tracer.hasher
        if call.text is not None:
            digest = hasher(call.text)
        else:
            digest = hasher.document([s.text for s in call.segments])
        call.scope.record_input_hash(digest)

    def _failed(self, call: _Call, error: Exception) -> Verdict:
        error_type = type(error).__qualname__
        outcome = decide_failure(call.mode, self._settings.fail_mode, error_type)
        scope = call.scope
        self._record_input_hash(call)
        scope.record_error(error)
        scope.record_decision(outcome.decision, outcome.reason, outcome.code)
        scope.record_outcome(
            blocked=outcome.deny,
            reasons=(),
            confidence=0.0,
            detection_count=0,
            action=outcome.action,
            degraded=True,
        )
        _logger.warning(
            "guardrail evaluation of %s failed (%s); %s",
            call.target,
            error_type,
            "fail-closed: denied" if outcome.deny else "fail-open: continuing unchecked",
        )
        messages = None if call.messages is None else _copied(call.messages)
        return Verdict(
            decision=outcome.decision,
            target=call.target,
            mode=call.mode,
            text=call.text,
            messages=messages,
            response=DetectResponse(redacted_text=call.text),
            responses=(),
            segments=tuple(s.label for s in call.segments),
            findings=(),
            span_context=scope.span_context,
            rid=call.rid,
            blocked=outcome.deny,
            reason=outcome.reason,
            error_type=error_type,
        )

    def _enforce(
        self, verdict: Verdict, raise_on_block: bool, cause: Exception | None = None
    ) -> Verdict:
        if not verdict.blocked or not raise_on_block:
            return verdict
        if verdict.error_type is not None:
            raise GuardrailFailedError(
                verdict.describe() + "; TSZ_FAIL_MODE=closed", verdict
            ) from cause
        raise GuardrailBlockedError(verdict.describe(), verdict)


def _coerce_mode(value: RolloutMode | str) -> RolloutMode:
    try:
        return RolloutMode(str(value).strip().lower())
    except ValueError:
        valid = ", ".join(m.value for m in RolloutMode)
        raise ConfigurationError(f"unknown rollout mode {value!r} (valid: {valid})") from None


def _resolve_settings(
    settings: Settings | None, mode: RolloutMode | str | None, overrides: dict[str, Any]
) -> Settings:
    updates = dict(overrides)
    if mode is not None:
        updates["mode"] = _coerce_mode(mode).value
        updates.setdefault("input_mode", None)
        updates.setdefault("output_mode", None)
    if settings is None:
        return Settings.from_env(**updates)
    if not updates:
        return settings
    return Settings(**{**settings.model_dump(), **updates})


def _is_remote(settings: Settings, engine: Detector) -> bool:
    """A remote guardian gets CLIENT spans and ``server.*`` attributes."""
    from .remote import RemoteEngine

    return settings.engine == "remote" or isinstance(engine, RemoteEngine)


def _may_start_spans(settings: Settings, engine: Detector) -> bool:
    """Whether detection may do I/O whose instrumentation starts spans (then the
    guardrail span is made current while it runs, to be their parent): anything but the
    inline engine without an AI model (AI scoring and AI guardrails call one)."""
    from .engine import Engine
    from .validators import ValidatorRegistry

    if type(engine) is not Engine or engine.ai is not None:
        return True
    if settings.ai_model_url or engine.settings.ai_model_url:
        return True
    return engine.validators is not None and not isinstance(engine.validators, ValidatorRegistry)


def _default_engine(settings: Settings) -> Detector:
    """The engine ``TSZ_ENGINE`` selects (inline, or a remote TSZ server)."""
    from .remote import engine_from_settings  # imported late: engines are heavy to import

    engine: Detector = engine_from_settings(settings)
    return engine
