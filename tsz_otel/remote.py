"""A TSZ (Thyris Safe Zone) server as the detection backend, over httpx.

:class:`RemoteEngine` has the inline engine's interface (``detect`` / ``adetect`` return
a :class:`~tsz_otel.models.DetectResponse`), so the guard and the instrumentors work the
same with either; ``TSZ_ENGINE=remote`` plus ``TSZ_BASE_URL`` selects it
(:func:`engine_from_settings`). It also is a client for the management API: patterns,
allowlist, blacklist, validators, template import, ``/healthz``, ``/ready``,
``/admin/reload`` and the pattern policy (``X-ADMIN-KEY``, ``TSZ_ADMIN_KEY``).

Three rules for every call:

* **Trace context goes along.** The current context is injected with the configured
  OpenTelemetry propagator (W3C ``traceparent`` by default), so the server's spans join
  the caller's trace; the CLIENT span around a remote guardrail is the guard layer's.
* **We do not trace or scan ourselves.** Calls run under ``suppress_instrumentation()``,
  so HTTP instrumentations (tsz-otel's included) skip them.
* **Failures are one hierarchy.** Unreachable or too slow:
  :class:`~tsz_otel.errors.RemoteUnavailableError`; an HTTP error status:
  :class:`~tsz_otel.errors.RemoteStatusError` or its 400/401/404 subclasses; 2xx with a
  body that is not the documented JSON: :class:`~tsz_otel.errors.RemoteProtocolError`.
  Messages name the endpoint and status, never a body. Whether a failure fails the
  application is the guard's fail-open/closed decision, not this module's.

A remote response is completed the way the inline engine's is: ``char_start`` /
``char_end`` (``str`` offsets) are derived from TSZ's UTF-8 byte offsets, and
``action`` from the local thresholds, so policy code needs no special case.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from opentelemetry import propagate
from pydantic import BaseModel, TypeAdapter, ValidationError

from .config import Settings
from .engine.regex import OffsetMap
from .engine.scoring import BLOCKLIST, Action, action_for, resolve_thresholds
from .engine.templates import TemplateSource, load_template
from .errors import ConfigurationError, RemoteError, RemoteProtocolError
from .models import (
    AllowlistItem,
    BlacklistItem,
    DetectionResult,
    DetectRequest,
    DetectResponse,
    FormatValidator,
    Pattern,
    TemplateImport,
)

if TYPE_CHECKING:
    import httpx

    from .engine import Engine

__all__ = ["RemoteEngine", "engine_from_settings"]

M = TypeVar("M", bound=BaseModel)

_ADMIN_HEADER = "X-ADMIN-KEY"


class RemoteEngine:
    """Detection and management against one TSZ server.

    Args:
        base_url: the server, e.g. ``http://tsz.internal:8080`` (no trailing path).
        timeout: seconds per request (connect, read, write); ``TSZ_REMOTE_TIMEOUT``.
        admin_key: sent as ``X-ADMIN-KEY`` on ``/admin/*`` calls; ``TSZ_ADMIN_KEY``.
        settings: thresholds used to fill ``DetectionResult.action``.
        headers: extra headers for every call (an API gateway token, for example).
        transport / async_transport: httpx transports (tests, proxies, mTLS).
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 5.0,
        admin_key: str | None = None,
        settings: Settings | None = None,
        headers: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
        async_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not base_url:
            raise ConfigurationError("RemoteEngine needs a base URL (TSZ_BASE_URL)")
        if "://" not in base_url:
            base_url = "http://" + base_url
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.admin_key = admin_key
        self.settings = settings or Settings()
        from ._http import HttpClients  # httpx loads when a remote engine is made

        self._http = HttpClients(
            timeout=timeout,
            base_url=self.base_url,
            headers=headers,
            transport=transport,
            async_transport=async_transport,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> RemoteEngine:
        """The engine for ``TSZ_BASE_URL``, ``TSZ_REMOTE_TIMEOUT`` and ``TSZ_ADMIN_KEY``."""
        if not settings.base_url:
            raise ConfigurationError("TSZ_ENGINE=remote needs TSZ_BASE_URL")
        return cls(
            settings.base_url,
            timeout=settings.remote_timeout,
            admin_key=settings.admin_key,
            settings=settings,
        )

    # -- detection -------------------------------------------------------------------

    def detect(
        self,
        text: str,
        rid: str | None = None,
        guardrails: Sequence[str] = (),
        mode: str | None = None,
        *,
        expected_format: str | None = None,
    ) -> DetectResponse:
        """``POST /detect``: the server's ``DetectResponse`` for ``text``."""
        body = _detect_body(text, rid, guardrails, mode, expected_format)
        response = self._send("POST", "/detect", body)
        return self._completed(text, _parse(response, DetectResponse, "/detect"))

    async def adetect(
        self,
        text: str,
        rid: str | None = None,
        guardrails: Sequence[str] = (),
        mode: str | None = None,
        *,
        expected_format: str | None = None,
    ) -> DetectResponse:
        """Async twin of :meth:`detect`."""
        body = _detect_body(text, rid, guardrails, mode, expected_format)
        response = await self._asend("POST", "/detect", body)
        return self._completed(text, _parse(response, DetectResponse, "/detect"))

    # -- health ----------------------------------------------------------------------

    def healthz(self) -> bool:
        """Liveness: True when ``GET /healthz`` answers 200 (False when unreachable)."""
        return self._probe("/healthz")

    def ready(self) -> bool:
        """Readiness: True when ``GET /ready`` answers 200 (database and Redis reachable)."""
        return self._probe("/ready")

    async def ahealthz(self) -> bool:
        return await self._aprobe("/healthz")

    async def aready(self) -> bool:
        return await self._aprobe("/ready")

    # -- management --------------------------------------------------------------------

    def list_patterns(self) -> list[Pattern]:
        return _parse_list(self._send("GET", "/patterns"), Pattern, "/patterns")

    def create_pattern(self, pattern: Pattern | Mapping[str, Any]) -> Pattern:
        body = _dump(Pattern, pattern)
        return _parse(self._send("POST", "/patterns", body), Pattern, "/patterns")

    def delete_pattern(self, pattern_id: int) -> None:
        self._send("DELETE", f"/patterns/{int(pattern_id)}")

    def list_allowlist(self) -> list[AllowlistItem]:
        return _parse_list(self._send("GET", "/allowlist"), AllowlistItem, "/allowlist")

    def add_allowlist(self, item: AllowlistItem | Mapping[str, Any] | str) -> AllowlistItem:
        body = _dump(AllowlistItem, {"value": item} if isinstance(item, str) else item)
        return _parse(self._send("POST", "/allowlist", body), AllowlistItem, "/allowlist")

    def delete_allowlist(self, item_id: int) -> None:
        self._send("DELETE", f"/allowlist/{int(item_id)}")

    def list_blacklist(self) -> list[BlacklistItem]:
        return _parse_list(self._send("GET", "/blacklist"), BlacklistItem, "/blacklist")

    def add_blacklist(self, item: BlacklistItem | Mapping[str, Any] | str) -> BlacklistItem:
        body = _dump(BlacklistItem, {"value": item} if isinstance(item, str) else item)
        return _parse(self._send("POST", "/blacklist", body), BlacklistItem, "/blacklist")

    def delete_blacklist(self, item_id: int) -> None:
        self._send("DELETE", f"/blacklist/{int(item_id)}")

    def list_validators(self) -> list[FormatValidator]:
        return _parse_list(self._send("GET", "/validators"), FormatValidator, "/validators")

    def create_validator(self, validator: FormatValidator | Mapping[str, Any]) -> FormatValidator:
        body = _dump(FormatValidator, validator)
        return _parse(self._send("POST", "/validators", body), FormatValidator, "/validators")

    def delete_validator(self, validator_id: int) -> None:
        self._send("DELETE", f"/validators/{int(validator_id)}")

    def import_template(self, template: TemplateSource) -> str:
        """``POST /templates/import``; returns the imported template's name.

        Accepts a :class:`Template`, a dict (bare or ``{"template": ...}``) or a file.
        """
        body = TemplateImport(template=load_template(template)).model_dump(mode="json")
        answer = _json(self._send("POST", "/templates/import", body), "/templates/import")
        name = answer.get("name") if isinstance(answer, dict) else None
        return str(name) if name is not None else body["template"]["name"]

    def reload(self) -> None:
        """``POST /admin/reload`` (``X-ADMIN-KEY``): the server drops its caches."""
        self._send("POST", "/admin/reload", admin=True)

    def update_pattern_policy(
        self,
        pattern_id: int,
        *,
        block_threshold: float | None = None,
        allow_threshold: float | None = None,
    ) -> Any:
        """``POST /admin/patterns/policy`` (``X-ADMIN-KEY``); returns the server's answer."""
        body: dict[str, Any] = {"pattern_id": int(pattern_id)}
        if block_threshold is not None:
            body["block_threshold"] = block_threshold
        if allow_threshold is not None:
            body["allow_threshold"] = allow_threshold
        response = self._send("POST", "/admin/patterns/policy", body, admin=True)
        return _json(response, "/admin/patterns/policy") if response.content else None

    # -- lifecycle -------------------------------------------------------------------

    def close(self) -> None:
        self._http.close()

    async def aclose(self) -> None:
        """Close this event loop's async connections (the sync client stays usable)."""
        await self._http.aclose()

    def __enter__(self) -> RemoteEngine:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self) -> RemoteEngine:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
        self.close()

    # -- plumbing --------------------------------------------------------------------

    def _request_headers(self, admin: bool) -> dict[str, str]:
        headers: dict[str, str] = {}
        propagate.inject(headers)
        if admin and self.admin_key:
            headers[_ADMIN_HEADER] = self.admin_key
        return headers

    def _send(
        self, method: str, path: str, body: Any = None, *, admin: bool = False
    ) -> httpx.Response:
        headers = self._request_headers(admin)
        return self._http.send(method, path, f"TSZ {method} {path}", json=body, headers=headers)

    async def _asend(
        self, method: str, path: str, body: Any = None, *, admin: bool = False
    ) -> httpx.Response:
        headers = self._request_headers(admin)
        what = f"TSZ {method} {path}"
        return await self._http.asend(method, path, what, json=body, headers=headers)

    def _probe(self, path: str) -> bool:
        try:
            self._send("GET", path)
        except RemoteError:
            return False
        return True

    async def _aprobe(self, path: str) -> bool:
        try:
            await self._asend("GET", path)
        except RemoteError:
            return False
        return True

    def _completed(self, text: str, response: DetectResponse) -> DetectResponse:
        """Fill what the wire does not carry: ``str`` offsets and the action."""
        offsets = OffsetMap(text)
        for detection in sorted(response.detections, key=lambda d: d.start):
            detection.char_start = offsets.char(detection.start)
            detection.char_end = offsets.char(detection.end)
            detection.action = self._action(detection)
        return response

    def _action(self, detection: DetectionResult) -> Action:
        """The inline engine's action rule with the local global/category thresholds
        (the server's per-pattern thresholds are not known here)."""
        if detection.type == BLOCKLIST:
            return "BLOCK"
        thresholds = resolve_thresholds(
            detection.category or "",
            allow=self.settings.allow_threshold,
            block=self.settings.block_threshold,
            category_blocks=self.settings.category_thresholds,
        )
        return action_for(detection.confidence_score, thresholds)


def engine_from_settings(settings: Settings) -> Engine | RemoteEngine:
    """The engine ``TSZ_ENGINE`` selects, ready to use.

    ``remote``: a :class:`RemoteEngine` for ``TSZ_BASE_URL``. ``inline``: an
    :class:`~tsz_otel.engine.Engine` wired with a
    :class:`~tsz_otel.validators.ValidatorRegistry` (built-in guardrails, template
    validators, NO_* checks on the engine's own detections) and, when
    ``TSZ_AI_MODEL_URL`` is set, one :class:`~tsz_otel.ai.AIClient` shared by AI_PROMPT
    guardrails and (``TSZ_AI_SCORING`` not ``off``) the hybrid confidence.
    """
    if settings.engine == "remote":
        return RemoteEngine.from_settings(settings)
    from .engine import Engine
    from .validators import ValidatorRegistry

    ai = None
    if settings.ai_model_url:
        from .ai import AIClient  # the HTTP stack loads only with a model to call

        ai = AIClient(settings)
    registry = ValidatorRegistry(settings, ai=ai)
    scorer = ai if settings.ai_scoring != "off" else None
    engine = Engine(settings, validators=registry, ai=scorer)
    registry.detector = engine
    return engine


def _detect_body(
    text: str,
    rid: str | None,
    guardrails: Sequence[str],
    mode: str | None,
    expected_format: str | None,
) -> dict[str, Any]:
    request = DetectRequest(
        text=text,
        rid=rid,
        expected_format=expected_format,
        guardrails=list(guardrails) or None,
        mode=mode.upper() if mode else None,
    )
    data: dict[str, Any] = request.model_dump(mode="json")
    return data


def _dump(model: type[M], value: M | Mapping[str, Any]) -> Any:
    """Validate locally first, so a bad object fails here with a clear message."""
    try:
        item = value if isinstance(value, model) else model.model_validate(value)
    except ValidationError as exc:
        fields = ", ".join(str(e["loc"][0]) for e in exc.errors() if e["loc"])
        raise ConfigurationError(f"invalid {model.__name__}: {fields}") from exc
    return item.model_dump(mode="json", exclude_none=True)


def _json(response: httpx.Response, what: str) -> Any:
    try:
        return json.loads(response.content)
    except ValueError as exc:
        raise RemoteProtocolError(f"TSZ {what}: answer is not JSON") from exc


def _parse(response: httpx.Response, model: type[M], what: str) -> M:
    try:
        return model.model_validate_json(response.content)
    except ValidationError as exc:
        raise RemoteProtocolError(f"TSZ {what}: answer is not a {model.__name__}") from exc


def _parse_list(response: httpx.Response, model: type[M], what: str) -> list[M]:
    try:
        return TypeAdapter(list[model]).validate_json(response.content or b"[]")  # type: ignore[valid-type]
    except ValidationError as exc:
        raise RemoteProtocolError(f"TSZ {what}: answer is not a list of {model.__name__}") from exc
