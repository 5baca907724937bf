"""A local TSZ-compatible server on 127.0.0.1, for the remote backend's tests and examples.

It answers the documented TSZ HTTP API with the documented JSON: ``/detect`` (including
upstream's random ``[RID_NAME_hex16]`` placeholders, UTF-8 byte offsets, two-decimal
string confidences and ``[BLOCKED]`` for blacklist hits), the CRUD endpoints for
patterns, allowlist, blacklist and validators, ``/templates/import``, ``/healthz``,
``/ready``, ``/admin/reload`` and ``/admin/patterns/policy`` (both need ``X-ADMIN-KEY``).

By default ``/detect`` is computed the way a TSZ server computes it, from the patterns
stored in this server (seeded with a few of TSZ's default rows): RE2 matching on UTF-8
bytes, exact allowlist, literal blacklist, TSZ's regex scores per category, longest-
leftmost overlap resolution, guardrails through a :class:`~tsz_otel.validators.
ValidatorRegistry`, and TSZ's ``overall_confidence``. Upstream's documented bugs are not
reproduced: blacklist hits score 1.0 and block, per-pattern thresholds apply, a template
import is all-or-nothing and an invalid regex is refused. Pass ``detector=`` to answer
``/detect`` with anything else, for example the inline engine::

    server = TszTestServer(detector=lambda req: engine.detect(req.text, rid=req.rid))

Tests can make the server misbehave (:meth:`TszTestServer.fail`), mark it not ready,
and read every request it received (headers included, e.g. ``traceparent``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hmac
import itertools
import json
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import re2
from pydantic import BaseModel, ValidationError

from ..config import Settings
from ..engine.redaction import BLOCKED
from ..engine.scoring import (
    BLOCKLIST,
    action_for,
    category_score,
    overall_confidence,
    resolve_thresholds,
)
from ..errors import ConfigurationError
from ..models import (
    AllowlistItem,
    BlacklistItem,
    ConfidenceExplanation,
    DetectionResult,
    DetectRequest,
    DetectResponse,
    FormatValidator,
    Pattern,
    TemplateImport,
)
from ..validators import ValidatorRegistry
from ._managed import Managed
from ._serve import serve_until_interrupted

__all__ = ["SEED_PATTERNS", "Fault", "ServedRequest", "TszTestServer"]

_HOST = "127.0.0.1"
JSON = dict[str, Any]
Reply = tuple[int, str, bytes]

SEED_PATTERNS: tuple[tuple[str, str, str], ...] = (
    ("EMAIL", "PII", r"(?i)[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}"),
    ("US_SSN", "PII", r"\b\d{3}-\d{2}-\d{4}\b"),
    ("CREDIT_CARD", "PII", r"\b(?:\d[ -]*?){13,16}\b"),
    ("IBAN_TR", "PII", r"\bTR\d{2}\s?(\d{4}\s?){5}\d{2}\b"),
    ("AWS_ACCESS_KEY", "SECRET", r"\bAKIA[0-9A-Z]{16}\b"),
    ("PRIVATE_KEY_HEADER", "SECRET", r"-----BEGIN (?:RSA|DSA|EC|PGP) PRIVATE KEY-----"),
    ("PROMPT_INJECTION_SIMPLE", "INJECTION",
     r"(?i)(ignore previous instructions|forget all prior instructions)"),
)  # fmt: skip
"""Default pattern rows (name, category, RE2 regex), as a TSZ database is seeded."""


@dataclass(frozen=True, slots=True)
class ServedRequest:
    """A request the server received. Header names are lower-cased."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass(slots=True)
class Fault:
    """A scripted misbehaviour for requests whose path ends with ``path``."""

    path: str
    status: int | None = 500
    body: bytes = b"internal error"
    delay: float = 0.0
    times: int | None = 1


@dataclass(slots=True)
class _Compiled:
    pattern: Pattern
    regex: Any


@dataclass(slots=True)
class _State:
    lock: threading.RLock = field(default_factory=threading.RLock)
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    patterns: dict[int, _Compiled] = field(default_factory=dict)
    allowlist: dict[int, AllowlistItem] = field(default_factory=dict)
    blacklist: dict[int, BlacklistItem] = field(default_factory=dict)
    validators: dict[int, FormatValidator] = field(default_factory=dict)
    requests: list[ServedRequest] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    reloads: int = 0


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _compile(pattern: Pattern) -> _Compiled:
    try:
        return _Compiled(pattern, re2.compile(pattern.Regex.encode("utf-8")))
    except re2.error as exc:
        raise ConfigurationError(f"pattern {pattern.Name!r}: invalid regex") from exc


def _dumps(value: Any) -> bytes:
    if isinstance(value, BaseModel):
        return value.model_dump_json(exclude_none=True).encode()
    if isinstance(value, list):
        return b"[" + b",".join(_dumps(v) for v in value) + b"]"
    return json.dumps(value).encode()


def _ok(value: Any, status: int = 200) -> Reply:
    return status, "application/json", _dumps(value)


def _error(status: int, message: str) -> Reply:
    return status, "application/json", json.dumps({"error": message}).encode()


def _text(status: int, message: str) -> Reply:
    return status, "text/plain; charset=utf-8", message.encode()


class _Detector:
    """``/detect`` the TSZ way, over the server's stored rows (see the module docstring)."""

    def __init__(self, state: _State, settings: Settings, registry: ValidatorRegistry) -> None:
        self.state = state
        self.settings = settings
        self.registry = registry

    def detect(self, text: str) -> DetectResponse:
        """Detection without guardrails (what NO_* validators ask for)."""
        return self.respond(DetectRequest(text=text))

    def respond(self, request: DetectRequest) -> DetectResponse:
        report = self.registry.run(request.text, request.guardrails or (), request.expected_format)
        data = request.text.encode("utf-8", "surrogatepass")
        kept = _overlap_filter(self._candidates(data, request.rid))
        messages = list(report.messages)
        blocked = report.blocked
        for detection in kept:
            if detection.action == "BLOCK":
                blocked = True
                messages.append(f"Blocked due to high confidence detection: {detection.type}")
        mode = request.mode or self.settings.pii_mode
        if mode == "BLOCK" and kept:
            blocked = True
            messages.append("PII detected, request blocked by mode.")
        breakdown: dict[str, int] = {}
        for detection in kept:
            breakdown[detection.type] = breakdown.get(detection.type, 0) + 1
        return DetectResponse(
            redacted_text=_redact(data, kept),
            detections=kept,
            validator_results=report.results,
            breakdown=breakdown,
            blocked=blocked,
            contains_pii=bool(kept),
            overall_confidence=overall_confidence(
                ((d.type, d.confidence_score) for d in kept),
                (r.confidence_score for r in report.results),
            ),
            message="; ".join(messages) or None,
        )

    def _candidates(self, data: bytes, rid: str | None) -> list[DetectionResult]:
        with self.state.lock:
            blacklist = list(self.state.blacklist.values())
            patterns = [c for c in self.state.patterns.values() if c.pattern.IsActive]
            allowed = {item.value for item in self.state.allowlist.values()}
        found: list[DetectionResult] = []
        for item in blacklist:
            needle = item.value.encode("utf-8")
            for start in _occurrences(data, needle):
                span = (start, start + len(needle))
                found.append(_result(BLOCKLIST, item.value, BLOCKED, span, 1.0, "BLOCK"))
        for compiled in patterns:
            for match in compiled.regex.finditer(data):
                start, end = match.span()
                value = data[start:end].decode("utf-8", "replace")
                if end == start or value in allowed:
                    continue
                found.append(self._pattern_result(compiled.pattern, value, start, end, rid))
        return found

    def _pattern_result(
        self, pattern: Pattern, value: str, start: int, end: int, rid: str | None
    ) -> DetectionResult:
        score = category_score(pattern.Category)
        explanation = ConfidenceExplanation(
            source="HYBRID",
            regex_score=score,
            category=pattern.Category,
            pattern_active=True,
            final_score=score,
        )
        thresholds = resolve_thresholds(
            pattern.Category,
            allow=self.settings.allow_threshold,
            block=self.settings.block_threshold,
            category_blocks=self.settings.category_thresholds,
            pattern_allow=pattern.AllowThreshold,
            pattern_block=pattern.BlockThreshold,
        )
        action = action_for(score, thresholds)
        placeholder = _placeholder(pattern.Name, rid)
        return _result(pattern.Name, value, placeholder, (start, end), score, action, explanation)


def _result(
    kind: str,
    value: str,
    placeholder: str,
    span: tuple[int, int],
    score: float,
    action: Any,
    explanation: ConfidenceExplanation | None = None,
) -> DetectionResult:
    return DetectionResult(
        type=kind,
        value=value,
        placeholder=placeholder,
        start=span[0],
        end=span[1],
        confidence_score=score,
        confidence_explanation=explanation,
        action=action,
    )


def _occurrences(data: bytes, needle: bytes) -> Iterator[int]:
    """Non-overlapping occurrences of ``needle`` in ``data`` (TSZ's blacklist scan)."""
    if not needle:
        return
    start = data.find(needle)
    while start >= 0:
        yield start
        start = data.find(needle, start + len(needle))


def _placeholder(name: str, rid: str | None) -> str:
    tag = secrets.token_hex(8)
    return f"[{rid}_{name}_{tag}]" if rid else f"[{name}_{tag}]"


def _overlap_filter(candidates: list[DetectionResult]) -> list[DetectionResult]:
    """Leftmost first, longest first on ties; keep a candidate only past the last kept."""
    ordered = sorted(candidates, key=lambda d: (d.start, -d.end))
    kept: list[DetectionResult] = []
    for candidate in ordered:
        if not kept or candidate.start >= kept[-1].end:
            kept.append(candidate)
    return kept


def _redact(data: bytes, kept: list[DetectionResult]) -> str:
    out, cursor = [], 0
    for detection in kept:
        out.append(data[cursor : detection.start])
        out.append(detection.placeholder.encode("utf-8"))
        cursor = detection.end
    out.append(data[cursor:])
    return b"".join(out).decode("utf-8", "surrogatepass")


class TszTestServer(Managed):
    """The server. ``with TszTestServer() as tsz: RemoteEngine(tsz.url) ...``.

    Args:
        admin_key: the ``X-ADMIN-KEY`` the admin endpoints accept (``None``: always 401,
            like TSZ with an empty ``ADMIN_API_KEY``).
        settings: thresholds and ``pii_mode`` of the emulated server.
        detector: answers ``/detect`` instead of the built-in emulation.
        seed: start with :data:`SEED_PATTERNS` and the JSON/XML validator rows.
    """

    def __init__(
        self,
        *,
        admin_key: str | None = "test-admin-key",
        settings: Settings | None = None,
        detector: Callable[[DetectRequest], DetectResponse] | None = None,
        seed: bool = True,
        port: int = 0,
    ) -> None:
        self.admin_key = admin_key
        self.settings = (settings or Settings()).model_copy(
            update={"unknown_guardrail": "fail", "fail_mode": "closed"}
        )
        self.ready = True
        self._state = _State()
        self._registry = ValidatorRegistry(self.settings)
        self._emulation = _Detector(self._state, self.settings, self._registry)
        self._registry.detector = self._emulation
        self._detector = detector or self._emulation.respond
        self._server = ThreadingHTTPServer((_HOST, port), _handler_class(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None
        if seed:
            self._seed()

    # -- lifecycle -------------------------------------------------------------------

    @property
    def port(self) -> int:
        port: int = self._server.server_address[1]
        return port

    @property
    def url(self) -> str:
        return f"http://{_HOST}:{self.port}"

    def start(self) -> TszTestServer:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="tsz-test-server",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(10)
            self._thread = None
        self._server.server_close()

    # -- test controls ---------------------------------------------------------------

    @property
    def requests(self) -> list[ServedRequest]:
        with self._state.lock:
            return list(self._state.requests)

    @property
    def reloads(self) -> int:
        """How many times ``/admin/reload`` succeeded."""
        return self._state.reloads

    def fail(
        self,
        path: str,
        status: int | None = 500,
        *,
        body: bytes = b"internal error",
        delay: float = 0.0,
        times: int | None = 1,
    ) -> None:
        """Make the next ``times`` requests to ``...path`` answer ``status`` after ``delay``
        (``status=None``: answer normally, only late)."""
        with self._state.lock:
            self._state.faults.append(Fault(path, status, body, delay, times))

    # -- request handling (called from server threads) --------------------------------

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        with self._state.lock:
            self._state.requests.append(ServedRequest(method, path, headers, body))
            fault = self._take_fault(path)
        if fault is not None:
            time.sleep(fault.delay)
            if fault.status is not None:
                return fault.status, "text/plain", fault.body
        for route_method, route, handler in _ROUTES:
            found = route.fullmatch(path)
            if found is not None:
                if route_method != method:
                    continue
                return handler(self, headers, body, *found.groups())
        if any(route.fullmatch(path) for _, route, _ in _ROUTES):
            return _text(405, "Method Not Allowed")
        return _text(404, "404 page not found")

    def _take_fault(self, path: str) -> Fault | None:
        for index, fault in enumerate(self._state.faults):
            if path.endswith(fault.path):
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        del self._state.faults[index]
                return fault
        return None

    def _seed(self) -> None:
        for name, category, regex in SEED_PATTERNS:
            self._store_pattern(Pattern(Name=name, Regex=regex, Category=category))
        for name in ("JSON", "XML"):
            self._store_validator(FormatValidator(name=name, type="BUILTIN"))

    def _store_pattern(self, pattern: Pattern) -> Pattern:
        compiled = _compile(pattern)
        with self._state.lock:
            existing = next(
                (i for i, c in self._state.patterns.items() if c.pattern.Name == pattern.Name),
                None,
            )
            pattern_id = existing if existing is not None else next(self._state.ids)
            stamp = _now()
            compiled.pattern = pattern.model_copy(
                update={"ID": pattern_id, "CreatedAt": stamp, "UpdatedAt": stamp}
            )
            self._state.patterns[pattern_id] = compiled
            return compiled.pattern

    def _store_validator(self, validator: FormatValidator) -> FormatValidator:
        self._registry.add(validator)
        with self._state.lock:
            existing = next(
                (i for i, v in self._state.validators.items() if v.name == validator.name), None
            )
            validator_id = existing if existing is not None else next(self._state.ids)
            stored = validator.model_copy(update={"ID": validator_id})
            self._state.validators[validator_id] = stored
            return stored

    def _admin(self, headers: dict[str, str]) -> bool:
        given = headers.get("x-admin-key", "")
        return bool(self.admin_key) and hmac.compare_digest(given, self.admin_key or "")

    # -- endpoints ---------------------------------------------------------------------

    def _healthz(self, headers: dict[str, str], body: bytes) -> Reply:
        return _text(200, "UP")

    def _ready(self, headers: dict[str, str], body: bytes) -> Reply:
        return _text(200, "READY") if self.ready else _text(503, "Redis not ready")

    def _detect(self, headers: dict[str, str], body: bytes) -> Reply:
        try:
            data = json.loads(body)
        except ValueError:
            return _text(400, "invalid character in request body")
        if not isinstance(data, dict) or not data.get("text"):
            return _error(400, "Text field is required")
        if data.get("mode") not in (None, "", "MASK", "BLOCK", "DETECT"):
            return _error(400, "Invalid mode")
        try:
            request = DetectRequest.model_validate({k: v for k, v in data.items() if v != ""})
        except ValidationError:
            return _error(400, "Invalid request body")
        return 200, "application/json", self._detector(request).model_dump_json().encode()

    def _list(self, kind: str) -> Callable[[dict[str, str], bytes], Reply]:
        def handler(headers: dict[str, str], body: bytes) -> Reply:
            with self._state.lock:
                return _ok(list(getattr(self._state, kind).values()))

        return handler

    def _list_patterns(self, headers: dict[str, str], body: bytes) -> Reply:
        with self._state.lock:
            return _ok([compiled.pattern for compiled in self._state.patterns.values()])

    def _create_pattern(self, headers: dict[str, str], body: bytes) -> Reply:
        try:
            pattern = Pattern.model_validate_json(body)
            return _ok(self._store_pattern(pattern), 201)
        except (ValidationError, ConfigurationError) as exc:
            return _error(400, type(exc).__name__)

    def _create_item(self, kind: str, model: type[AllowlistItem] | type[BlacklistItem]) -> Any:
        def handler(headers: dict[str, str], body: bytes) -> Reply:
            try:
                item = model.model_validate_json(body)
            except ValidationError:
                return _text(400, "Invalid request body")
            with self._state.lock:
                item_id = next(self._state.ids)
                stored = item.model_copy(update={"ID": item_id})
                getattr(self._state, kind)[item_id] = stored
            return _ok(stored, 201)

        return handler

    def _create_validator(self, headers: dict[str, str], body: bytes) -> Reply:
        try:
            return _ok(self._store_validator(FormatValidator.model_validate_json(body)), 201)
        except (ValidationError, ConfigurationError):
            return _text(400, "Failed to create validator")

    def _delete(self, kind: str) -> Callable[[dict[str, str], bytes, str], Reply]:
        def handler(headers: dict[str, str], body: bytes, raw_id: str) -> Reply:
            with self._state.lock:
                removed = getattr(self._state, kind).pop(int(raw_id), None)
            if removed is None:
                return _text(404, "Not found")
            if isinstance(removed, FormatValidator):
                self._registry.remove(removed.name)
            return 204, "text/plain", b""

        return handler

    def _import_template(self, headers: dict[str, str], body: bytes) -> Reply:
        try:
            template = TemplateImport.model_validate_json(body).template
            compiled = [_compile(p) for p in template.patterns]
            prepared = self._registry.prepare(template.validators)
        except (ValidationError, ConfigurationError):
            return _text(400, "Invalid request body")
        for item in compiled:
            self._store_pattern(item.pattern)
        self._registry.commit(prepared)
        for validator in template.validators:
            self._store_validator(validator)
        return _ok({"message": "Template imported successfully", "name": template.name})

    def _reload(self, headers: dict[str, str], body: bytes) -> Reply:
        if not self._admin(headers):
            return _text(401, "Unauthorized")
        with self._state.lock:
            self._state.reloads += 1
        return _ok({"status": "ok", "message": "All caches cleared"})

    def _policy(self, headers: dict[str, str], body: bytes) -> Reply:
        if not self._admin(headers):
            return _text(401, "Unauthorized")
        try:
            data = json.loads(body)
            pattern_id = int(data["pattern_id"])
        except (ValueError, KeyError, TypeError):
            return _text(400, "Invalid request body")
        with self._state.lock:
            compiled = self._state.patterns.get(pattern_id)
            if compiled is None:
                return _text(404, "Pattern not found")
            compiled.pattern = compiled.pattern.model_copy(
                update={
                    "BlockThreshold": data.get("block_threshold", compiled.pattern.BlockThreshold),
                    "AllowThreshold": data.get("allow_threshold", compiled.pattern.AllowThreshold),
                    "UpdatedAt": _now(),
                }
            )
            return _ok(compiled.pattern)


_Handler = Callable[..., Reply]


def _bound(name: str, *args: Any) -> _Handler:
    """A route target: the server's method ``name`` (a factory when ``args`` are given)."""

    def call(server: TszTestServer, headers: dict[str, str], body: bytes, *groups: str) -> Reply:
        method = getattr(server, name)
        target = method(*args) if args else method
        result: Reply = target(headers, body, *groups)
        return result

    return call


_ID = r"/(\d+)"
_ROUTES: tuple[tuple[str, re.Pattern[str], _Handler], ...] = tuple(
    (method, re.compile(path), handler)
    for method, path, handler in (
        ("GET", "/healthz", _bound("_healthz")),
        ("GET", "/ready", _bound("_ready")),
        ("POST", "/detect", _bound("_detect")),
        ("GET", "/patterns", _bound("_list_patterns")),
        ("POST", "/patterns", _bound("_create_pattern")),
        ("DELETE", "/patterns" + _ID, _bound("_delete", "patterns")),
        ("GET", "/allowlist", _bound("_list", "allowlist")),
        ("POST", "/allowlist", _bound("_create_item", "allowlist", AllowlistItem)),
        ("DELETE", "/allowlist" + _ID, _bound("_delete", "allowlist")),
        ("GET", "/blacklist", _bound("_list", "blacklist")),
        ("POST", "/blacklist", _bound("_create_item", "blacklist", BlacklistItem)),
        ("DELETE", "/blacklist" + _ID, _bound("_delete", "blacklist")),
        ("GET", "/validators", _bound("_list", "validators")),
        ("POST", "/validators", _bound("_create_validator")),
        ("DELETE", "/validators" + _ID, _bound("_delete", "validators")),
        ("POST", "/templates/import", _bound("_import_template")),
        ("POST", "/admin/reload", _bound("_reload")),
        ("POST", "/admin/patterns/policy", _bound("_policy")),
    )
)
"""Method, path and handler of every endpoint (data, not an if-chain)."""


def _handler_class(server: TszTestServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body are two writes

        def _serve(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, content_type, payload = server.handle(
                self.command, self.path.split("?", 1)[0], headers, body
            )
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_DELETE = do_PUT = _serve

        def log_message(self, format: str, *args: Any) -> None:
            """Silent: request lines can contain values."""

    return Handler


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m tsz_otel.testing.tsz_server --port N``: serve until interrupted.

    ``--engine inline`` answers ``/detect`` with tsz-otel's own engine instead of the
    emulation of an upstream TSZ server.
    """
    parser = argparse.ArgumentParser(description="Local TSZ-compatible test server")
    parser.add_argument("--port", type=int, default=8080, help="port on 127.0.0.1 (0 = any)")
    parser.add_argument("--admin-key", default="test-admin-key", help="accepted X-ADMIN-KEY")
    parser.add_argument(
        "--engine", choices=("emulate", "inline"), default="emulate", help="who answers /detect"
    )
    args = parser.parse_args(argv)
    detector: Callable[[DetectRequest], DetectResponse] | None = None
    if args.engine == "inline":
        from ..engine import Engine

        engine = Engine()

        def detector(request: DetectRequest) -> DetectResponse:
            return engine.detect(
                request.text,
                rid=request.rid,
                guardrails=tuple(request.guardrails or ()),
                mode=request.mode,
            )

    server = TszTestServer(admin_key=args.admin_key, port=args.port, detector=detector).start()
    print(f"tsz test server listening on {server.url}", flush=True)
    serve_until_interrupted(server)


if __name__ == "__main__":
    main()
