"""Every attribute, event, span and metric name tsz-otel emits: one table, three spellings.

No guardrail convention is merged upstream, and three spellings of the same ideas are
in use. This module keeps **one logical table** (:class:`Key` -> one concrete name per
scheme) and the rest of the package only ever asks for logical keys, so switching or
combining schemes is configuration (``TSZ_OTEL_SEMCONV``), not code.

Schemes (values of :class:`Scheme`; ``TSZ_OTEL_SEMCONV`` is a comma list, default ``gen_ai``):

``gen_ai``
    The names of OpenTelemetry semantic-conventions PR 3233: ``gen_ai.security.*`` and
    ``gen_ai.guardian.*`` span attributes and one ``gen_ai.security.finding`` span event
    per finding.
``microsoft``
    The same design with the ``microsoft.`` prefix, as the Agent 365 SDK's
    ``ApplyGuardrailScope`` exports it (``microsoft.security.finding`` events).
``guardrail``
    The newest ``gen_ai.guardrail.*`` proposal (semantic-conventions-genai PR 427, latest
    revision read): ``gen_ai.guardrail.component.name``, ``gen_ai.guardrail.source``,
    ``gen_ai.guardrail.result.type``/``.value`` (``tsz.decision`` / the decision),
    ``gen_ai.provider.name`` for the guardrail's own provider, and one
    ``gen_ai.guardrail.result`` span event per finding carrying the provider-native
    category (``PII``, ``SECRET`` ...). Concepts that revision dropped but an earlier
    revision of the same PR named (input hash, content modified, target id, external id)
    use that earlier ``gen_ai.guardrail.security.*`` spelling; concepts no revision has
    (guardian id and version, severity) are simply not emitted in this scheme.

Selecting two schemes (``gen_ai,microsoft``) emits every span attribute under both names
and one finding event per distinct event name, so dashboards of either keep working
during a migration. All names are "development" status upstream.

Independently of the scheme, every guardrail span also carries the ``tsz.*`` attributes of
the TSZ OpenTelemetry example (``tsz.request_id``, ``tsz.blocked``, ``tsz.reasons``,
``tsz.confidence``) plus ``tsz.action`` and ``tsz.detection_count`` as the TSZ server's own
spans name them, so TSZ dashboards work unchanged (``tsz.degraded`` and ``tsz.ai.fallbacks``
say when the guardian failed or AI scoring fell back); and every finding event carries the
``tsz.finding.*`` structural attributes (type, category, severity, offsets, count, hash),
never a value.

Lookups are precomputed: :func:`names_for` builds a :class:`Names` once per selection
(a guard or scope factory holds it), so the hot path does tuple iteration only.
"""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from opentelemetry.util.types import AttributeValue

from .errors import ConfigurationError

__all__ = [
    "APPLY_GUARDRAIL",
    "CONTENT_EVENT",
    "DECISION_RESULT_TYPE",
    "DEFAULT_SCHEMES",
    "DURATION_BUCKETS",
    "EXCEPTION_ESCAPED",
    "EXCEPTION_EVENT",
    "EXCEPTION_MESSAGE",
    "EXCEPTION_STACKTRACE",
    "EXCEPTION_TYPE",
    "FOREIGN_CONTENT_KEYS",
    "GEN_AI_OPERATION_NAME",
    "INSTRUMENTATION_NAME",
    "METRIC_BLOCKS",
    "METRIC_DURATION",
    "METRIC_FINDINGS",
    "SAFE_FOREIGN_KEYS",
    "TSZ_ACTION",
    "TSZ_AI_FALLBACKS",
    "TSZ_ATTACK_NAME",
    "TSZ_BLOCKED",
    "TSZ_CONFIDENCE",
    "TSZ_DEGRADED",
    "TSZ_DETECTION_COUNT",
    "TSZ_FINDING_ACTION",
    "TSZ_FINDING_CATEGORY",
    "TSZ_FINDING_CHAR_END",
    "TSZ_FINDING_CHAR_START",
    "TSZ_FINDING_COUNT",
    "TSZ_FINDING_END",
    "TSZ_FINDING_SEGMENT",
    "TSZ_FINDING_SEVERITY",
    "TSZ_FINDING_START",
    "TSZ_FINDING_TYPE",
    "TSZ_FINDING_VALUE_HASH",
    "TSZ_MODE",
    "TSZ_REASONS",
    "TSZ_REQUEST_ID",
    "TSZ_SCAN_SOURCE",
    "TSZ_SCRUB_COUNT",
    "TSZ_SEGMENT_COUNT",
    "Key",
    "Names",
    "Scheme",
    "names_for",
    "span_name",
]

INSTRUMENTATION_NAME: Final = "tsz_otel"
"""Instrumentation scope name of every tracer and meter tsz-otel creates."""

APPLY_GUARDRAIL: Final = "apply_guardrail"
"""Value of ``gen_ai.operation.name`` and first word of every guardrail span name."""

GEN_AI_OPERATION_NAME: Final = "gen_ai.operation.name"
"""The operation attribute; the same name in every scheme."""

DECISION_RESULT_TYPE: Final = "tsz.decision"
"""``gen_ai.guardrail.result.type`` value: the result value is tsz-otel's own decision."""


class Scheme(StrEnum):
    """A spelling of the guardrail attribute names (see the module docstring)."""

    GEN_AI = "gen_ai"
    MICROSOFT = "microsoft"
    GUARDRAIL = "guardrail"


DEFAULT_SCHEMES: Final = (Scheme.GEN_AI,)


class Key(StrEnum):
    """A logical attribute of a guardrail span or finding event."""

    # span: identity and sampling-relevant attributes
    OPERATION_NAME = "operation.name"
    GUARDIAN_ID = "guardian.id"
    GUARDIAN_NAME = "guardian.name"
    GUARDIAN_PROVIDER = "guardian.provider.name"
    GUARDIAN_VERSION = "guardian.version"
    TARGET_TYPE = "target.type"
    TARGET_ID = "target.id"
    # span: outcome
    DECISION_TYPE = "decision.type"
    DECISION_RESULT_TYPE = "decision.result.type"
    DECISION_REASON = "decision.reason"
    DECISION_CODE = "decision.code"
    POLICY_ID = "policy.id"
    POLICY_NAME = "policy.name"
    POLICY_VERSION = "policy.version"
    CONTENT_INPUT_HASH = "content.input.hash"
    CONTENT_MODIFIED = "content.modified"
    EXTERNAL_EVENT_ID = "external_event_id"
    CONTENT_INPUT_VALUE = "content.input.value"
    CONTENT_OUTPUT_VALUE = "content.output.value"
    # finding event
    RISK_CATEGORY = "risk.category"
    RISK_CATEGORY_NATIVE = "risk.category.native"
    RISK_SEVERITY = "risk.severity"
    RISK_SCORE = "risk.score"
    RISK_METADATA = "risk.metadata"
    FINDING_DECISION_TYPE = "finding.decision.type"
    # context shared with other GenAI spans (same name in every scheme unless noted)
    CONVERSATION_ID = "conversation.id"
    CHANNEL_NAME = "channel.name"
    CHANNEL_LINK = "channel.link"
    TENANT_ID = "tenant.id"
    AGENT_ID = "agent.id"
    AGENT_NAME = "agent.name"
    AGENT_DESCRIPTION = "agent.description"
    AGENT_VERSION = "agent.version"
    USER_ID = "user.id"
    USER_EMAIL = "user.email"
    USER_NAME = "user.name"
    CLIENT_ADDRESS = "client.address"
    SERVER_ADDRESS = "server.address"
    SERVER_PORT = "server.port"
    ERROR_TYPE = "error.type"


_G, _M, _R = Scheme.GEN_AI, Scheme.MICROSOFT, Scheme.GUARDRAIL

# The one table: logical key -> (gen_ai, microsoft, guardrail) name; None = not in that scheme.
_TABLE: Final[dict[Key, tuple[str | None, str | None, str | None]]] = {
    Key.OPERATION_NAME: (GEN_AI_OPERATION_NAME,) * 3,
    Key.GUARDIAN_ID: ("gen_ai.guardian.id", "microsoft.guardian.id", None),
    Key.GUARDIAN_NAME: (
        "gen_ai.guardian.name",
        "microsoft.guardian.name",
        "gen_ai.guardrail.component.name",
    ),
    Key.GUARDIAN_PROVIDER: (
        "gen_ai.guardian.provider.name",
        "microsoft.guardian.provider.name",
        "gen_ai.provider.name",
    ),
    Key.GUARDIAN_VERSION: ("gen_ai.guardian.version", "microsoft.guardian.version", None),
    Key.TARGET_TYPE: (
        "gen_ai.security.target.type",
        "microsoft.security.target.type",
        "gen_ai.guardrail.source",
    ),
    Key.TARGET_ID: (
        "gen_ai.security.target.id",
        "microsoft.security.target.id",
        "gen_ai.guardrail.target.id",
    ),
    Key.DECISION_TYPE: (
        "gen_ai.security.decision.type",
        "microsoft.security.decision.type",
        "gen_ai.guardrail.result.value",
    ),
    Key.DECISION_RESULT_TYPE: (None, None, "gen_ai.guardrail.result.type"),
    Key.DECISION_REASON: (
        "gen_ai.security.decision.reason",
        "microsoft.security.decision.reason",
        "gen_ai.guardrail.result.reason",
    ),
    Key.DECISION_CODE: ("gen_ai.security.decision.code", "microsoft.security.decision.code", None),
    Key.POLICY_ID: (
        "gen_ai.security.policy.id",
        "microsoft.security.policy.id",
        "gen_ai.guardrail.policy.id",
    ),
    Key.POLICY_NAME: ("gen_ai.security.policy.name", "microsoft.security.policy.name", None),
    Key.POLICY_VERSION: (
        "gen_ai.security.policy.version",
        "microsoft.security.policy.version",
        "gen_ai.guardrail.policy.version",
    ),
    Key.CONTENT_INPUT_HASH: (
        "gen_ai.security.content.input.hash",
        "microsoft.security.content.input.hash",
        "gen_ai.guardrail.security.content.input.hash",
    ),
    Key.CONTENT_MODIFIED: (
        "gen_ai.security.content.modified",
        "microsoft.security.content.modified",
        "gen_ai.guardrail.security.content.modified",
    ),
    Key.EXTERNAL_EVENT_ID: (
        "gen_ai.security.external_event_id",
        "microsoft.security.external_event_id",
        "gen_ai.guardrail.security.external_finding_id",
    ),
    Key.CONTENT_INPUT_VALUE: (
        "gen_ai.security.content.input.value",
        "microsoft.security.content.input.value",
        "gen_ai.guardrail.content.input.value",
    ),
    Key.CONTENT_OUTPUT_VALUE: (
        "gen_ai.security.content.output.value",
        "microsoft.security.content.output.value",
        "gen_ai.guardrail.content.output.value",
    ),
    Key.RISK_CATEGORY: ("gen_ai.security.risk.category", "microsoft.security.risk.category", None),
    Key.RISK_CATEGORY_NATIVE: (None, None, "gen_ai.guardrail.risk.category"),
    Key.RISK_SEVERITY: ("gen_ai.security.risk.severity", "microsoft.security.risk.severity", None),
    Key.RISK_SCORE: (
        "gen_ai.security.risk.score",
        "microsoft.security.risk.score",
        "gen_ai.guardrail.risk.score",
    ),
    Key.RISK_METADATA: ("gen_ai.security.risk.metadata", "microsoft.security.risk.metadata", None),
    Key.FINDING_DECISION_TYPE: (
        "gen_ai.security.policy.decision.type",
        "microsoft.security.policy.decision.type",
        None,
    ),
    Key.CONVERSATION_ID: ("gen_ai.conversation.id",) * 3,
    Key.CHANNEL_NAME: (None, "microsoft.channel.name", None),
    Key.CHANNEL_LINK: (None, "microsoft.channel.link", None),
    Key.TENANT_ID: (None, "microsoft.tenant.id", None),
    Key.AGENT_ID: ("gen_ai.agent.id",) * 3,
    Key.AGENT_NAME: ("gen_ai.agent.name",) * 3,
    Key.AGENT_DESCRIPTION: ("gen_ai.agent.description",) * 3,
    Key.AGENT_VERSION: ("gen_ai.agent.version",) * 3,
    Key.USER_ID: ("user.id",) * 3,
    Key.USER_EMAIL: ("user.email",) * 3,
    Key.USER_NAME: ("user.name",) * 3,
    Key.CLIENT_ADDRESS: ("client.address",) * 3,
    Key.SERVER_ADDRESS: ("server.address",) * 3,
    Key.SERVER_PORT: ("server.port",) * 3,
    Key.ERROR_TYPE: ("error.type",) * 3,
}

_SCHEME_COLUMN: Final = {_G: 0, _M: 1, _R: 2}

# Finding-event name per scheme.
_FINDING_EVENT: Final = {
    _G: "gen_ai.security.finding",
    _M: "microsoft.security.finding",
    _R: "gen_ai.guardrail.result",
}

# Keys that belong on finding events (the rest are span attributes).
_EVENT_KEYS: Final = frozenset(
    {
        Key.RISK_CATEGORY,
        Key.RISK_CATEGORY_NATIVE,
        Key.RISK_SEVERITY,
        Key.RISK_SCORE,
        Key.RISK_METADATA,
        Key.FINDING_DECISION_TYPE,
        Key.POLICY_ID,
        Key.POLICY_NAME,
        Key.POLICY_VERSION,
    }
)

# --- scheme-independent tsz.* names ---------------------------------------------------

TSZ_REQUEST_ID: Final = "tsz.request_id"
TSZ_BLOCKED: Final = "tsz.blocked"
TSZ_REASONS: Final = "tsz.reasons"
TSZ_CONFIDENCE: Final = "tsz.confidence"
TSZ_ACTION: Final = "tsz.action"
TSZ_DETECTION_COUNT: Final = "tsz.detection_count"
TSZ_MODE: Final = "tsz.mode"
TSZ_DEGRADED: Final = "tsz.degraded"
TSZ_AI_FALLBACKS: Final = "tsz.ai.fallbacks"
"""How many AI confidence scorings of one evaluation fell back to the regex score."""
TSZ_SEGMENT_COUNT: Final = "tsz.segment_count"
TSZ_ATTACK_NAME: Final = "tsz.attack_name"
TSZ_SCAN_SOURCE: Final = "tsz.scan.source"
TSZ_SCRUB_COUNT: Final = "tsz.scrub.count"

TSZ_FINDING_TYPE: Final = "tsz.finding.type"
TSZ_FINDING_CATEGORY: Final = "tsz.finding.category"
TSZ_FINDING_SEVERITY: Final = "tsz.finding.severity"
TSZ_FINDING_ACTION: Final = "tsz.finding.action"
TSZ_FINDING_START: Final = "tsz.finding.start"
TSZ_FINDING_END: Final = "tsz.finding.end"
TSZ_FINDING_CHAR_START: Final = "tsz.finding.char_start"
TSZ_FINDING_CHAR_END: Final = "tsz.finding.char_end"
TSZ_FINDING_COUNT: Final = "tsz.finding.count"
TSZ_FINDING_VALUE_HASH: Final = "tsz.finding.value_hash"
TSZ_FINDING_SEGMENT: Final = "tsz.finding.segment"

CONTENT_EVENT: Final = "tsz.guardrail.content"
"""Span event carrying captured content when capture mode is EVENT_ONLY/SPAN_AND_EVENT."""

EXCEPTION_EVENT: Final = "exception"
EXCEPTION_TYPE: Final = "exception.type"
EXCEPTION_MESSAGE: Final = "exception.message"
EXCEPTION_STACKTRACE: Final = "exception.stacktrace"
EXCEPTION_ESCAPED: Final = "exception.escaped"

# --- metrics --------------------------------------------------------------------------

METRIC_DURATION: Final = "gen_ai.client.apply_guardrail.duration"
METRIC_FINDINGS: Final = "tsz.guardrail.findings"
METRIC_BLOCKS: Final = "tsz.guardrail.blocks"

DURATION_BUCKETS: Final = (
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.02,
    0.04,
    0.08,
    0.16,
    0.32,
    0.64,
    1.28,
    2.56,
    5.12,
    10.24,
    20.48,
    40.96,
    81.92,
)
"""Seconds. The proposal's 0.01..81.92 doubling buckets, extended down for inline engines."""

# --- other instrumentations' attributes (scrubbing processor) -------------------------

FOREIGN_CONTENT_KEYS: Final = MappingProxyType(
    {
        "gen_ai.input.messages": "llm_input",
        "gen_ai.system_instructions": "llm_input",
        "gen_ai.prompt": "llm_input",
        "gen_ai.output.messages": "llm_output",
        "gen_ai.completion": "llm_output",
        "llm.input_messages": "llm_input",
        "llm.output_messages": "llm_output",
        "llm.prompts": "llm_input",
        "input.value": "llm_input",
        "output.value": "llm_output",
        "traceloop.entity.input": "llm_input",
        "traceloop.entity.output": "llm_output",
        "gen_ai.tool.call.arguments": "tool_call",
        "gen_ai.tool.call.result": "tool_call",
    }
)
"""Attribute-name prefixes where GenAI instrumentations put message content, and the
guardrail target a finding in them belongs to (``gen_ai.prompt.0.content`` matches
``gen_ai.prompt``)."""

SAFE_FOREIGN_KEYS: Final = frozenset(
    {
        GEN_AI_OPERATION_NAME,
        "gen_ai.provider.name",
        "gen_ai.system",
        "gen_ai.request.model",
        "gen_ai.response.model",
        "gen_ai.response.id",
        "gen_ai.response.finish_reasons",
        "gen_ai.output.type",
        "gen_ai.token.type",
        "http.method",
        "http.request.method",
        "http.status_code",
        "http.response.status_code",
        "http.flavor",
        "network.protocol.version",
        "server.address",
        "telemetry.sdk.name",
        "telemetry.sdk.language",
        "telemetry.sdk.version",
        "otel.status_code",
        "openinference.span.kind",
        TSZ_REQUEST_ID,
        TSZ_REASONS,
        TSZ_CONFIDENCE,
        TSZ_ACTION,
        TSZ_MODE,
        TSZ_FINDING_TYPE,
        TSZ_FINDING_CATEGORY,
        TSZ_FINDING_SEVERITY,
        TSZ_FINDING_ACTION,
        TSZ_FINDING_VALUE_HASH,
        TSZ_FINDING_SEGMENT,
        TSZ_SCAN_SOURCE,
        EXCEPTION_TYPE,
    }
)
"""Keys whose string values are structural (names, ids, enums), never user content, so
the scrubbing processor does not spend a scan on them. Guardrail-table keys other than
the content values are added by :func:`Names.structural_keys`."""


def span_name(guardian_name: str | None, target_type: str) -> str:
    """``apply_guardrail {guardian} {target}``, or ``apply_guardrail {target}``."""
    if guardian_name:
        return f"{APPLY_GUARDRAIL} {guardian_name} {target_type}"
    return f"{APPLY_GUARDRAIL} {target_type}"


@dataclass(frozen=True, slots=True)
class _EventNames:
    """One scheme's finding event: its name and its logical-key -> name map."""

    name: str
    keys: MappingProxyType[Key, str]


@dataclass(frozen=True, slots=True)
class Names:
    """The concrete names for one selection of schemes, computed once.

    ``span[key]`` is the tuple of span-attribute names a logical key is written under
    (empty when no selected scheme has it); ``finding_events`` has one entry per
    distinct finding-event name.
    """

    schemes: tuple[Scheme, ...]
    span: MappingProxyType[Key, tuple[str, ...]]
    finding_events: tuple[_EventNames, ...]

    def put(
        self, attributes: MutableMapping[str, AttributeValue], key: Key, value: AttributeValue
    ) -> None:
        """Write ``value`` under every selected spelling of ``key``."""
        for name in self.span[key]:
            attributes[name] = value

    def structural_keys(self) -> frozenset[str]:
        """Every span/event name of this selection that never holds user content."""
        content = {Key.CONTENT_INPUT_VALUE, Key.CONTENT_OUTPUT_VALUE}
        names = {name for key, names in self.span.items() if key not in content for name in names}
        return frozenset(names) | SAFE_FOREIGN_KEYS


def _parse_schemes(schemes: Iterable[str]) -> tuple[Scheme, ...]:
    chosen: list[Scheme] = []
    for raw in schemes:
        text = raw.strip().lower()
        if not text:
            continue
        try:
            scheme = Scheme(text)
        except ValueError:
            valid = ", ".join(s.value for s in Scheme)
            raise ConfigurationError(
                f"TSZ_OTEL_SEMCONV: unknown scheme {raw!r} (valid: {valid})"
            ) from None
        if scheme not in chosen:
            chosen.append(scheme)
    return tuple(chosen) or DEFAULT_SCHEMES


def names_for(schemes: Iterable[str] = DEFAULT_SCHEMES) -> Names:
    """Build the name lookup for a selection of schemes (``settings.semconv``).

    Raises :class:`ConfigurationError` for an unknown scheme; an empty selection means
    the default (``gen_ai``).
    """
    chosen = _parse_schemes(schemes)
    columns = [_SCHEME_COLUMN[s] for s in chosen]
    span: dict[Key, tuple[str, ...]] = {}
    for key, row in _TABLE.items():
        unique: dict[str, None] = {}
        for column in columns:
            name = row[column]
            if name is not None:
                unique[name] = None
        span[key] = tuple(unique)
    events: dict[str, dict[Key, str]] = {}
    for scheme in chosen:
        column = _SCHEME_COLUMN[scheme]
        mapping = events.setdefault(_FINDING_EVENT[scheme], {})
        for key in _EVENT_KEYS:
            name = _TABLE[key][column]
            if name is not None:
                mapping[key] = name
    return Names(
        schemes=chosen,
        span=MappingProxyType(span),
        finding_events=tuple(
            _EventNames(name, MappingProxyType(keys)) for name, keys in events.items()
        ),
    )
