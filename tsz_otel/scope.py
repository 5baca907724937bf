"""The manual guardrail-span API: one ``apply_guardrail`` span per evaluation.

Use it to make any guardrail (yours, a vendor's, a remote TSZ server) a standard
OpenTelemetry signal; :class:`~tsz_otel.guard.Guard` uses it for the built-in engine::

    from tsz_otel import (
        ApplyGuardrailScope, GuardrailDecisionType, GuardrailDetails, GuardrailFinding,
        GuardrailRiskSeverity, GuardrailTargetType, GuardrailTracer,
    )

    guardrails = GuardrailTracer()          # once: Settings.from_env(), global providers
    details = GuardrailDetails(
        target_type=GuardrailTargetType.LLM_INPUT,
        guardian_name="content-filter",
        guardian_provider_name="acme.filter",
    )
    with ApplyGuardrailScope.start(details, tracer=guardrails) as scope:
        result = my_filter(text)
        for hit in result.hits:
            scope.record_finding(GuardrailFinding(
                risk_category="pii",
                risk_severity=GuardrailRiskSeverity.HIGH,
                risk_score=hit.score,
                finding_type=hit.label,
                value_hash=guardrails.hasher(hit.value),   # never the value itself
            ))
        scope.record_decision(GuardrailDecisionType.DENY, reason="pii: EMAIL")

``async with`` works the same way. What the span looks like:

* name ``apply_guardrail {guardian_name} {target_type}``; kind INTERNAL, or CLIENT when
  ``SpanDetails(kind=SpanKind.CLIENT)`` says the guardian is remote; parent = the current
  span (the LLM call being protected) unless ``SpanDetails.parent_context`` is given;
  links from ``SpanDetails.links`` (e.g. the stream a late output check belongs to).
* every attribute known at start (operation name, target, guardian id/name/provider/
  version, policy, request id, mode, agent/conversation ids) is passed to
  ``start_span`` so samplers can use it.
* one finding event per :meth:`ApplyGuardrailScope.record_finding`, in each selected
  semconv scheme (:mod:`tsz_otel.semconv`), plus ``tsz.finding.*`` structure.
* the decision (``allow``/``audit``/``deny``/``modify``/``warn``) and the TSZ summary
  (``tsz.blocked``, ``tsz.reasons``, ``tsz.confidence``, ``tsz.detection_count``; derived
  from the recorded findings when not set explicitly).
* a ``deny`` is **not** an error (status stays UNSET); a guardian failure is: status
  ERROR whose description is only the error type, ``error.type``, and an ``exception``
  event with ``exception.type`` only (the message may contain user content and is added
  only when raw content capture is switched on). An exception leaving the ``with`` block
  is recorded this way, except :class:`~tsz_otel.errors.GuardrailBlockedError` (a deny).
* the span always ends exactly once: on leaving the block, or on :meth:`end`; nothing
  is re-read from the environment mid-span.
* metrics (:mod:`tsz_otel.metrics`) are recorded when the span ends, sampled or not.

Privacy: user e-mail, user name and client address are personal data and are written
only when raw content capture is on (``TSZ_OTEL_CAPTURE_RAW=true`` and a capture mode);
``user.id`` is written always. Content goes on the span only through
:meth:`~ApplyGuardrailScope.record_content_input`/``_output`` and the rules of
:class:`~tsz_otel.content.ContentPolicy`.

A scope belongs to one thread or task at a time.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from types import TracebackType
from typing import Any, Final

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Link, Span, SpanContext, SpanKind, Status, StatusCode
from opentelemetry.util.types import AttributeValue

from . import semconv
from ._unicode import well_formed
from .config import Settings
from .content import ContentHasher, ContentPolicy, messages_to_json
from .errors import GuardrailBlockedError
from .metrics import MAX_SETS, GuardrailMetrics, MetricSet
from .models import confidence_str
from .semconv import Key, Names
from .version import __version__

__all__ = [
    "AgentDetails",
    "ApplyGuardrailScope",
    "GuardrailDecisionType",
    "GuardrailDetails",
    "GuardrailFinding",
    "GuardrailRiskSeverity",
    "GuardrailTargetType",
    "GuardrailTracer",
    "RequestDetails",
    "SpanDetails",
    "UserDetails",
]

_logger = logging.getLogger(__name__)
_logger.addHandler(logging.NullHandler())


class GuardrailDecisionType(StrEnum):
    """What the guardrail decided. ``str`` subclass: compare with plain strings freely."""

    ALLOW = "allow"
    AUDIT = "audit"
    DENY = "deny"
    MODIFY = "modify"
    WARN = "warn"


class GuardrailTargetType(StrEnum):
    """What is being guarded. An open set: any string is accepted where one is expected."""

    LLM_INPUT = "llm_input"
    LLM_OUTPUT = "llm_output"
    TOOL_CALL = "tool_call"
    TOOL_DEFINITION = "tool_definition"
    MEMORY_STORE = "memory_store"
    MEMORY_RETRIEVE = "memory_retrieve"
    KNOWLEDGE_QUERY = "knowledge_query"
    KNOWLEDGE_RESULT = "knowledge_result"
    MESSAGE = "message"


class GuardrailRiskSeverity(StrEnum):
    """Severity of one finding."""

    NONE = "none"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


_SEVERITIES: Final = frozenset(s.value for s in GuardrailRiskSeverity)


@dataclass(frozen=True, slots=True)
class GuardrailDetails:
    """What is evaluated and by whom; everything here is known when the span starts.

    ``guardian_provider_name`` is the *guardian's* vendor (``tsz`` for the built-in
    engine), never the LLM's. ``request_id`` becomes ``tsz.request_id``; ``mode`` the
    rollout mode (``tsz.mode``). ``server_address``/``server_port`` describe a remote
    guardian. ``decision_type`` may be given up front, or later with
    :meth:`ApplyGuardrailScope.record_decision`.
    """

    target_type: str
    decision_type: str | None = None
    guardian_id: str | None = None
    guardian_name: str | None = None
    guardian_provider_name: str | None = None
    guardian_version: str | None = None
    target_id: str | None = None
    decision_reason: str | None = None
    decision_code: str | None = None
    policy_id: str | None = None
    policy_name: str | None = None
    policy_version: str | None = None
    content_input_hash: str | None = None
    content_modified: bool | None = None
    external_event_id: str | None = None
    request_id: str | None = None
    mode: str | None = None
    server_address: str | None = None
    server_port: int | None = None


@dataclass(frozen=True, slots=True)
class GuardrailFinding:
    """One finding. Structure only: there is deliberately no field for the value.

    ``risk_category`` is the normalised category (``pii``, ``prompt_injection``,
    ``sensitive_info_disclosure``, ``custom:*``); ``native_category`` the guardian's own
    (``PII``, ``SECRET`` ...; used by the ``guardrail`` scheme, which keeps native
    values). ``finding_type`` is the detector's type (``EMAIL``); ``action`` the
    detector's per-finding action (``ALLOW``/``MASK``/``BLOCK``); ``start``/``end`` are
    UTF-8 byte offsets and ``char_start``/``char_end`` code-point offsets into the
    segment named by ``segment``; ``count`` how many findings of this type the
    evaluation had; ``value_hash`` a :class:`~tsz_otel.content.ContentHasher` hash.
    """

    risk_category: str
    risk_severity: str = GuardrailRiskSeverity.MEDIUM
    risk_score: float | None = None
    risk_metadata: tuple[str, ...] | None = None
    policy_decision_type: str | None = None
    policy_id: str | None = None
    policy_name: str | None = None
    policy_version: str | None = None
    finding_type: str | None = None
    native_category: str | None = None
    action: str | None = None
    start: int | None = None
    end: int | None = None
    char_start: int | None = None
    char_end: int | None = None
    count: int | None = None
    value_hash: str | None = None
    segment: str | None = None

    def __post_init__(self) -> None:
        if self.risk_score is not None and not 0.0 <= self.risk_score <= 1.0:
            raise ValueError(f"risk_score must be within 0..1, got {self.risk_score}")
        if str(self.risk_severity) not in _SEVERITIES:
            raise ValueError(
                f"risk_severity must be one of {sorted(_SEVERITIES)}, got {self.risk_severity!r}"
            )


@dataclass(frozen=True, slots=True)
class AgentDetails:
    """The agent on whose behalf the guardrail runs (``gen_ai.agent.*``)."""

    agent_id: str | None = None
    agent_name: str | None = None
    agent_description: str | None = None
    agent_version: str | None = None
    tenant_id: str | None = None


@dataclass(frozen=True, slots=True)
class RequestDetails:
    """The conversation and channel the evaluated content belongs to."""

    conversation_id: str | None = None
    channel_name: str | None = None
    channel_link: str | None = None


@dataclass(frozen=True, slots=True)
class UserDetails:
    """The human caller. Only ``user_id`` is written unless raw capture is on."""

    user_id: str | None = None
    user_email: str | None = None
    user_name: str | None = None
    user_client_ip: str | None = None


@dataclass(frozen=True, slots=True)
class SpanDetails:
    """Span plumbing: kind (CLIENT for a remote guardian), parent, links, start time (ns)."""

    kind: SpanKind | None = None
    parent_context: Context | None = None
    links: Sequence[Link] = ()
    start_time: int | None = None


# Data rows: which field of which details object becomes which logical key.
_DETAIL_ROWS: Final = (
    (Key.GUARDIAN_ID, "guardian_id"),
    (Key.GUARDIAN_NAME, "guardian_name"),
    (Key.GUARDIAN_PROVIDER, "guardian_provider_name"),
    (Key.GUARDIAN_VERSION, "guardian_version"),
    (Key.TARGET_ID, "target_id"),
    (Key.DECISION_REASON, "decision_reason"),
    (Key.DECISION_CODE, "decision_code"),
    (Key.POLICY_ID, "policy_id"),
    (Key.POLICY_NAME, "policy_name"),
    (Key.POLICY_VERSION, "policy_version"),
    (Key.CONTENT_INPUT_HASH, "content_input_hash"),
    (Key.CONTENT_MODIFIED, "content_modified"),
    (Key.EXTERNAL_EVENT_ID, "external_event_id"),
    (Key.SERVER_ADDRESS, "server_address"),
    (Key.SERVER_PORT, "server_port"),
)
_AGENT_ROWS: Final = (
    (Key.AGENT_ID, "agent_id"),
    (Key.AGENT_NAME, "agent_name"),
    (Key.AGENT_DESCRIPTION, "agent_description"),
    (Key.AGENT_VERSION, "agent_version"),
    (Key.TENANT_ID, "tenant_id"),
)
_REQUEST_ROWS: Final = (
    (Key.CONVERSATION_ID, "conversation_id"),
    (Key.CHANNEL_NAME, "channel_name"),
    (Key.CHANNEL_LINK, "channel_link"),
)
_USER_ROWS: Final = ((Key.USER_ID, "user_id"),)
_USER_PERSONAL_ROWS: Final = (
    (Key.USER_EMAIL, "user_email"),
    (Key.USER_NAME, "user_name"),
    (Key.CLIENT_ADDRESS, "user_client_ip"),
)
_FINDING_SCHEME_ROWS: Final = (
    (Key.RISK_CATEGORY, "risk_category"),
    (Key.RISK_SEVERITY, "risk_severity"),
    (Key.RISK_SCORE, "risk_score"),
    (Key.RISK_METADATA, "risk_metadata"),
    (Key.FINDING_DECISION_TYPE, "policy_decision_type"),
    (Key.POLICY_ID, "policy_id"),
    (Key.POLICY_NAME, "policy_name"),
    (Key.POLICY_VERSION, "policy_version"),
)
_FINDING_TSZ_ROWS: Final = (
    (semconv.TSZ_FINDING_TYPE, "finding_type"),
    (semconv.TSZ_FINDING_SEVERITY, "risk_severity"),
    (semconv.TSZ_FINDING_ACTION, "action"),
    (semconv.TSZ_FINDING_START, "start"),
    (semconv.TSZ_FINDING_END, "end"),
    (semconv.TSZ_FINDING_CHAR_START, "char_start"),
    (semconv.TSZ_FINDING_CHAR_END, "char_end"),
    (semconv.TSZ_FINDING_COUNT, "count"),
    (semconv.TSZ_FINDING_VALUE_HASH, "value_hash"),
    (semconv.TSZ_FINDING_SEGMENT, "segment"),
)


def _attribute_value(value: Any) -> AttributeValue:
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, tuple):
        return list(value)
    return value  # type: ignore[no-any-return]


_Compiled = tuple[tuple[str, tuple[str, ...]], ...]
_EventRows = tuple[tuple[str, tuple[tuple[str, str], ...], str | None], ...]


def _compile(names: Names, rows: Sequence[tuple[Key, str]]) -> _Compiled:
    """(field, concrete names) per row, rows without a name in the selection dropped."""
    return tuple((field, names.span[key]) for key, field in rows if names.span[key])


def _compile_events(names: Names) -> _EventRows:
    """Per finding event: its name, (attribute name, finding field) pairs, native-category
    name. Resolved once per tracer so a finding costs attribute reads only."""
    rows = []
    for event in names.finding_events:
        pairs = tuple(
            (event.keys[key], field) for key, field in _FINDING_SCHEME_ROWS if key in event.keys
        )
        rows.append((event.name, pairs, event.keys.get(Key.RISK_CATEGORY_NATIVE)))
    return tuple(rows)


def _put_rows(attributes: dict[str, AttributeValue], rows: _Compiled, source: object) -> None:
    for field, keys in rows:
        value = getattr(source, field)
        if value is not None:
            value = _attribute_value(value)
            for key in keys:
                attributes[key] = value


def _error_type(error: BaseException) -> str:
    return type(error).__qualname__


def _qualified_type(error: BaseException) -> str:
    cls = type(error)
    module = cls.__module__
    return cls.__qualname__ if module == "builtins" else f"{module}.{cls.__qualname__}"


class GuardrailTracer:
    """What every guardrail scope needs, resolved once: tracer, metrics, names, content rules.

    ``GuardrailTracer()`` reads :meth:`Settings.from_env` and the global providers; pass
    ``settings``/``tracer_provider``/``meter_provider`` to choose. Hold one per
    application (or per :class:`~tsz_otel.guard.Guard`): building it compiles the name
    table for the selected semconv schemes and creates the metric instruments.
    """

    __slots__ = (
        "_agent_rows",
        "_detail_rows",
        "_event_rows",
        "_metric_sets",
        "_personal_rows",
        "_request_rows",
        "_user_rows",
        "content",
        "hasher",
        "metrics",
        "names",
        "settings",
        "tracer",
    )

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        tracer_provider: trace.TracerProvider | None = None,
        meter_provider: Any = None,
    ) -> None:
        self.settings = settings if settings is not None else Settings.from_env()
        self.names = semconv.names_for(self.settings.semconv)
        self.tracer = trace.get_tracer(semconv.INSTRUMENTATION_NAME, __version__, tracer_provider)
        self.metrics = GuardrailMetrics(meter_provider)
        self.content = ContentPolicy.from_settings(self.settings)
        self.hasher = ContentHasher.from_settings(self.settings)
        self._detail_rows = _compile(self.names, _DETAIL_ROWS)
        self._agent_rows = _compile(self.names, _AGENT_ROWS)
        self._request_rows = _compile(self.names, _REQUEST_ROWS)
        self._user_rows = _compile(self.names, _USER_ROWS)
        self._personal_rows = _compile(self.names, _USER_PERSONAL_ROWS)
        self._event_rows = _compile_events(self.names)
        self._metric_sets: dict[tuple[str | None, ...], MetricSet] = {}

    # -- metric attribute sets, built once per distinct kind of evaluation ---------------

    def metric_set(
        self, target: str, guardian_name: str | None, provider: str | None, mode: str | None
    ) -> MetricSet:
        """The (shared) metric attribute sets of one kind of evaluation."""
        key = (target, guardian_name, provider, mode)
        found = self._metric_sets.get(key)
        if found is not None:
            return found
        names = self.names
        base: dict[str, AttributeValue] = {}
        names.put(base, Key.TARGET_TYPE, target)
        if guardian_name is not None:
            names.put(base, Key.GUARDIAN_NAME, guardian_name)
        if provider is not None:
            names.put(base, Key.GUARDIAN_PROVIDER, provider)
        if mode is not None:
            base[semconv.TSZ_MODE] = mode
        found = MetricSet(base, names.span[Key.DECISION_TYPE], names.span[Key.ERROR_TYPE])
        if len(self._metric_sets) < MAX_SETS:
            self._metric_sets[key] = found
        return found

    def details_metric_set(self, details: GuardrailDetails) -> MetricSet:
        """:meth:`metric_set` of what ``details`` describe."""
        mode = None if details.mode is None else str(details.mode)
        return self.metric_set(
            str(_attribute_value(details.target_type)),
            details.guardian_name,
            details.guardian_provider_name,
            mode,
        )

    def start_attributes(
        self,
        details: GuardrailDetails,
        agent: AgentDetails | None = None,
        request: RequestDetails | None = None,
        user: UserDetails | None = None,
    ) -> dict[str, AttributeValue]:
        """Every span attribute known before the evaluation runs (passed to ``start_span``
        so samplers see them). A new dict: the caller may add to it."""
        names = self.names
        attributes: dict[str, AttributeValue] = {}
        names.put(attributes, Key.OPERATION_NAME, semconv.APPLY_GUARDRAIL)
        attributes.update(self.details_metric_set(details).base)
        _put_rows(attributes, self._detail_rows, details)
        if details.decision_type is not None:
            names.put(attributes, Key.DECISION_TYPE, str(details.decision_type))
            names.put(attributes, Key.DECISION_RESULT_TYPE, semconv.DECISION_RESULT_TYPE)
        if details.request_id is not None:
            attributes[semconv.TSZ_REQUEST_ID] = details.request_id
        if agent is not None:
            _put_rows(attributes, self._agent_rows, agent)
        if request is not None:
            _put_rows(attributes, self._request_rows, request)
        if user is not None:
            _put_rows(attributes, self._user_rows, user)
            if self.content.raw and self.content.enabled:
                _put_rows(attributes, self._personal_rows, user)
        return attributes

    def start(
        self,
        details: GuardrailDetails,
        agent_details: AgentDetails | None = None,
        request: RequestDetails | None = None,
        user_details: UserDetails | None = None,
        span_details: SpanDetails | None = None,
    ) -> ApplyGuardrailScope:
        """Start an ``apply_guardrail`` span; use the result as a (async) context manager."""
        return ApplyGuardrailScope(
            self, details, agent_details, request, user_details, span_details
        )


class ApplyGuardrailScope:
    """One guardrail evaluation's span, metrics and summary (see the module docstring)."""

    __slots__ = (
        "_attach",
        "_decision",
        "_deferred",
        "_ended",
        "_error_type",
        "_finding_count",
        "_finding_metrics",
        "_finding_types",
        "_max_score",
        "_metrics",
        "_outcome_set",
        "_pending",
        "_span",
        "_started",
        "_token",
        "_tracer",
    )

    _decision: str | None
    _span: Span | None
    _deferred: (
        tuple[str, Mapping[str, AttributeValue], SpanKind, Context | None, Sequence[Link], int]
        | None
    )

    @staticmethod
    def start(
        details: GuardrailDetails,
        agent_details: AgentDetails | None = None,
        request: RequestDetails | None = None,
        user_details: UserDetails | None = None,
        span_details: SpanDetails | None = None,
        *,
        tracer: GuardrailTracer | None = None,
    ) -> ApplyGuardrailScope:
        """Start a scope. Without ``tracer`` a :class:`GuardrailTracer` is built from the
        environment for this one call; hot paths should pass a shared one."""
        factory = tracer if tracer is not None else GuardrailTracer()
        return ApplyGuardrailScope(
            factory, details, agent_details, request, user_details, span_details
        )

    def __init__(
        self,
        tracer: GuardrailTracer,
        details: GuardrailDetails,
        agent_details: AgentDetails | None = None,
        request: RequestDetails | None = None,
        user_details: UserDetails | None = None,
        span_details: SpanDetails | None = None,
    ) -> None:
        self._prepare(tracer, tracer.details_metric_set(details))
        attributes = tracer.start_attributes(details, agent_details, request, user_details)
        spans = span_details or SpanDetails()
        target = str(_attribute_value(details.target_type))
        self._span = tracer.tracer.start_span(
            semconv.span_name(details.guardian_name, target),
            context=spans.parent_context,
            kind=spans.kind or SpanKind.INTERNAL,
            attributes=attributes,
            links=list(spans.links),
            start_time=spans.start_time,
        )
        self._started = time.perf_counter()
        if details.decision_type is not None:
            self._decision = str(details.decision_type)

    @classmethod
    def _begin(
        cls,
        tracer: GuardrailTracer,
        name: str,
        attributes: Mapping[str, AttributeValue],
        metric: MetricSet,
        kind: SpanKind,
        parent: Context | None,
        links: Sequence[Link],
        attach: bool = True,
        defer: bool = False,
    ) -> ApplyGuardrailScope:
        """A scope from attributes its caller prepared once (the :class:`Guard`'s hot path:
        no details objects, no per-call name or attribute-table lookups). ``attach=False``:
        the ``with`` block does not make the span current (the caller knows that nothing
        in it starts spans or reads the current one). ``defer=True`` (only with
        ``attach=False``): the span is started, with its real start time, when first
        needed; :meth:`_open` starts it with the outcome's attributes too, so a clean
        evaluation hands the SDK all its attributes once."""
        self = cls.__new__(cls)
        self._prepare(tracer, metric)
        self._attach = attach
        if defer and not attach:
            self._deferred = (name, attributes, kind, parent, links, time.time_ns())
            self._span = None
        else:
            self._span = tracer.tracer.start_span(
                name, context=parent, kind=kind, attributes=attributes, links=links
            )
        self._started = time.perf_counter()
        return self

    def _open(self, attributes: Mapping[str, AttributeValue] | None = None) -> Span:
        """Start a deferred span (its start attributes, else ``attributes``, which then
        include them); the started span as is otherwise."""
        span = self._span
        if span is not None:
            return span
        deferred, self._deferred = self._deferred, None
        assert deferred is not None
        name, start, kind, parent, links, start_time = deferred
        span = self._tracer.tracer.start_span(
            name,
            context=parent,
            kind=kind,
            attributes=start if attributes is None else attributes,
            links=links,
            start_time=start_time,
        )
        self._span = span
        return span

    def _live(self) -> Span:
        span = self._span
        return span if span is not None else self._open()

    def _prepare(self, tracer: GuardrailTracer, metric: MetricSet) -> None:
        self._attach = True
        self._deferred = None
        self._tracer = tracer
        self._token: object | None = None
        self._ended = False
        self._decision = None
        self._error_type: str | None = None
        self._finding_types: dict[str, None] = {}
        self._finding_count = 0
        self._finding_metrics: Counter[tuple[str, str, str]] | None = None
        self._max_score = 0.0
        self._outcome_set = False
        self._pending: dict[str, AttributeValue] = {}
        self._metrics = metric

    def _put_decision(self, attributes: dict[str, AttributeValue], decision: str) -> None:
        names = self._tracer.names
        names.put(attributes, Key.DECISION_TYPE, decision)
        names.put(attributes, Key.DECISION_RESULT_TYPE, semconv.DECISION_RESULT_TYPE)

    # -- context management ------------------------------------------------------------

    def __enter__(self) -> ApplyGuardrailScope:
        if self._attach:
            self._token = otel_context.attach(trace.set_span_in_context(self._live()))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None:
            if self._token is not None:
                self._detach()
            if not self._ended:
                self.end()
            return
        try:
            if exc is not None and not isinstance(exc, GuardrailBlockedError):
                self.record_error(exc)
        finally:
            self._detach()
            self.end()

    async def __aenter__(self) -> ApplyGuardrailScope:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)

    def _detach(self) -> None:
        token, self._token = self._token, None
        if token is not None:
            try:
                otel_context.detach(token)  # type: ignore[arg-type]
            except Exception:  # a foreign context must not break the caller
                _logger.debug("could not detach guardrail span context", exc_info=True)

    # -- properties ----------------------------------------------------------------------

    @property
    def span(self) -> Span:
        return self._live()

    @property
    def span_context(self) -> SpanContext:
        return self._live().get_span_context()

    @property
    def is_recording(self) -> bool:
        return self._live().is_recording()

    @property
    def decision(self) -> str | None:
        return self._decision

    @property
    def ended(self) -> bool:
        return self._ended

    # -- recording ----------------------------------------------------------------------

    def record_decision(
        self, decision_type: str, reason: str | None = None, code: str | None = None
    ) -> None:
        """Set (or replace) the decision, with an optional low-cardinality reason and code.

        The reason must not contain user content: name types and counts, not values.
        """
        decision = str(decision_type)
        self._decision = decision
        attributes = self._pending
        self._put_decision(attributes, decision)
        names = self._tracer.names
        if reason is not None:
            names.put(attributes, Key.DECISION_REASON, reason)
        if code is not None:
            names.put(attributes, Key.DECISION_CODE, code)

    def record_finding(self, finding: GuardrailFinding) -> None:
        """Add one finding event per selected scheme and count it in the metrics."""
        self._finding_count += 1
        if finding.finding_type is not None:
            self._finding_types[finding.finding_type] = None
        if finding.risk_score is not None and finding.risk_score > self._max_score:
            self._max_score = finding.risk_score
        self._count_finding(finding)
        span = self._live()
        if not span.is_recording():
            return
        common: dict[str, AttributeValue] = {}
        for tsz_name, tsz_field in _FINDING_TSZ_ROWS:
            tsz_value = getattr(finding, tsz_field)
            if tsz_value is not None:
                common[tsz_name] = _attribute_value(tsz_value)
        common[semconv.TSZ_FINDING_CATEGORY] = finding.native_category or finding.risk_category
        native = finding.native_category or finding.risk_category
        for event_name, pairs, native_name in self._tracer._event_rows:
            attributes = dict(common)
            for name, field in pairs:
                value = getattr(finding, field)
                if value is not None:
                    attributes[name] = _attribute_value(value)
            if native_name is not None:
                attributes[native_name] = native
            span.add_event(event_name, attributes)

    def record_findings(self, findings: Sequence[GuardrailFinding]) -> None:
        for finding in findings:
            self.record_finding(finding)

    def _count_finding(self, finding: GuardrailFinding) -> None:
        key = (
            finding.finding_type or finding.risk_category,
            finding.native_category or finding.risk_category,
            str(finding.risk_severity),
        )
        if self._finding_metrics is None:
            self._finding_metrics = Counter()
        self._finding_metrics[key] += 1

    def record_outcome(
        self,
        *,
        blocked: bool,
        reasons: Sequence[str],
        confidence: float,
        detection_count: int,
        action: str | None = None,
        degraded: bool | None = None,
        segment_count: int | None = None,
    ) -> None:
        """Set the TSZ summary attributes explicitly (else derived from findings at end).

        ``reasons`` are detection *types*; ``action`` is the TSZ server's vocabulary
        (``ALLOW``/``MASK``/``BLOCK``/``AUDIT_ONLY``).
        """
        self._outcome_set = True
        attributes = self._pending
        attributes[semconv.TSZ_BLOCKED] = blocked
        attributes[semconv.TSZ_REASONS] = ",".join(dict.fromkeys(reasons))
        attributes[semconv.TSZ_CONFIDENCE] = confidence_str(confidence)
        attributes[semconv.TSZ_DETECTION_COUNT] = detection_count
        if action is not None:
            attributes[semconv.TSZ_ACTION] = action
        if degraded is not None:
            attributes[semconv.TSZ_DEGRADED] = degraded
        if segment_count is not None:
            attributes[semconv.TSZ_SEGMENT_COUNT] = segment_count

    def record_input_hash(self, content_hash: str) -> None:
        """The evaluated input's content hash (:class:`~tsz_otel.content.ContentHasher`),
        when it is computed after the span started, e.g. only for a recording span."""
        self._tracer.names.put(self._pending, Key.CONTENT_INPUT_HASH, content_hash)

    def record_ai_fallbacks(self, count: int) -> None:
        """``count`` AI scorings fell back to the regex score (model unreachable, timed
        out, junk answer): ``tsz.ai.fallbacks`` and ``tsz.degraded=true``."""
        if count > 0:
            self._pending[semconv.TSZ_AI_FALLBACKS] = count
            self._pending[semconv.TSZ_DEGRADED] = True

    def record_content_modified(self, modified: bool) -> None:
        """Whether the guardrail changed the content handed downstream."""
        self._tracer.names.put(self._pending, Key.CONTENT_MODIFIED, modified)

    def record_content_input(
        self,
        value: str | Sequence[Mapping[str, Any]],
        *,
        redacted: str | Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        """Capture the evaluated input, if and as the content policy allows.

        ``value`` is the raw input (used only with raw capture on); ``redacted`` the
        same input with detected values replaced. Chat messages are serialised to the
        GenAI messages JSON shape.
        """
        self._record_content(Key.CONTENT_INPUT_VALUE, value, redacted)

    def record_content_output(
        self,
        value: str | Sequence[Mapping[str, Any]],
        *,
        redacted: str | Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        """Capture the content handed downstream (same rules as the input)."""
        self._record_content(Key.CONTENT_OUTPUT_VALUE, value, redacted)

    def _record_content(
        self,
        key: Key,
        value: str | Sequence[Mapping[str, Any]],
        redacted: str | Sequence[Mapping[str, Any]] | None,
    ) -> None:
        policy = self._tracer.content
        if not policy.enabled or not self._live().is_recording():
            return
        text = policy.select(_as_text(value), None if redacted is None else _as_text(redacted))
        if text is None:
            return
        text = well_formed(text)  # an exporter cannot encode a surrogate: it would drop it
        attributes: dict[str, AttributeValue] = {}
        self._tracer.names.put(attributes, key, text)
        if policy.on_span:
            self._pending.update(attributes)
        if policy.on_event:
            self._live().add_event(semconv.CONTENT_EVENT, attributes)

    def record_error(self, error: BaseException, *, error_type: str | None = None) -> None:
        """Mark the evaluation failed: ERROR status (type only), ``error.type``, event.

        The exception message is not recorded unless raw content capture is on, because
        guardian errors routinely quote the input.
        """
        kind = error_type or _error_type(error)
        self._error_type = kind
        self._tracer.names.put(self._pending, Key.ERROR_TYPE, kind)
        span = self._live()
        if not span.is_recording():
            return
        span.set_status(Status(StatusCode.ERROR, kind))
        policy = self._tracer.content
        if policy.raw and policy.enabled:
            span.record_exception(error)
        else:
            span.add_event(
                semconv.EXCEPTION_EVENT, {semconv.EXCEPTION_TYPE: _qualified_type(error)}
            )

    # -- ending -------------------------------------------------------------------------

    def end(self, end_time: int | None = None) -> None:
        """End the span and record metrics. Idempotent; safe to call from ``finally``."""
        if self._ended:
            return
        self._ended = True
        span = self._live()
        try:
            duration = time.perf_counter() - self._started
            if span.is_recording():
                if not self._outcome_set:
                    self._derive_outcome()
                if self._pending:
                    span.set_attributes(self._pending)
            self._record_metrics(duration)
        except Exception:  # telemetry must never break the guarded call
            _logger.exception("finishing a guardrail span failed")
        finally:
            span.end(end_time)

    def _derive_outcome(self) -> None:
        self.record_outcome(
            blocked=self._decision == GuardrailDecisionType.DENY,
            reasons=list(self._finding_types),
            confidence=self._max_score,
            detection_count=self._finding_count,
        )

    def _record_metrics(self, duration: float) -> None:
        """One histogram record (plus a block, plus one add per distinct finding kind),
        with attribute sets built once per kind of evaluation."""
        instruments = self._tracer.metrics
        sets = self._metrics
        decision = self._decision
        instruments.record_evaluation(
            sets.evaluation(decision, self._error_type),
            duration,
            decision == GuardrailDecisionType.DENY,
        )
        if self._finding_metrics:
            for (kind, category, severity), count in self._finding_metrics.items():
                instruments.record_findings(sets.finding(kind, category, severity), count)

    def _settle(
        self,
        decision: str,
        attributes: Mapping[str, AttributeValue],
        confidence: str,
        segment_count: int | None,
        merged_start: tuple[Mapping[str, AttributeValue], Mapping[str, AttributeValue]]
        | None = None,
    ) -> Span:
        """Decision and TSZ summary in one step, for a caller that prepared ``attributes``
        (the decision and every summary attribute but the confidence) once: the Guard's
        clean path. A deferred span starts now with its start attributes and the summary
        together; ``merged_start`` is ``(start, start + attributes)`` when the caller has
        that merge ready (used if the span was deferred with exactly ``start``)."""
        self._decision = decision
        self._outcome_set = True
        deferred = self._deferred
        summary: dict[str, AttributeValue]
        if deferred is None:  # the span runs: the summary goes on it at the end
            summary = self._pending
            summary.update(attributes)
        elif merged_start is not None and deferred[1] is merged_start[0]:
            summary = dict(merged_start[1])
        else:  # the start attributes were extended (a request id, a target id)
            summary = {**deferred[1], **attributes}
        summary[semconv.TSZ_CONFIDENCE] = confidence
        if segment_count is not None:
            summary[semconv.TSZ_SEGMENT_COUNT] = segment_count
        return self._live() if deferred is None else self._open(summary)


def _as_text(value: str | Sequence[Mapping[str, Any]]) -> str:
    if isinstance(value, str):
        return value
    return messages_to_json(value)
