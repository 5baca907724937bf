"""Per-call overrides from TSZ gateway headers, and stripping them before a request leaves.

An application that already talks to a TSZ gateway sets ``X-TSZ-Guardrails-Mode``,
``X-TSZ-Guardrails-OnFail``, ``X-TSZ-Guardrails`` and ``X-TSZ-RID`` through
``extra_headers``; the instrumentors read them as the call's stream mode, on-fail action,
validator list and request id, and remove them so the provider never sees them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Final, get_args

from tsz_otel.config import Settings, StreamMode, StreamOnFail
from tsz_otel.errors import ConfigurationError

__all__ = ["HEADER_PREFIX", "CallOptions", "is_tsz_header", "options_from"]

HEADER_PREFIX: Final = "x-tsz-"

_STREAM_MODES: Final = frozenset(get_args(StreamMode))
_ON_FAIL: Final = frozenset(get_args(StreamOnFail))


@dataclass(frozen=True, slots=True)
class CallOptions:
    """What one guarded call runs with (settings defaults, then header overrides)."""

    stream_mode: str
    stream_on_fail: str
    guardrails: tuple[str, ...] | None
    rid: str | None

    @classmethod
    def defaults(cls, settings: Settings) -> CallOptions:
        return cls(settings.stream_mode, settings.stream_on_fail, None, None)

    @property
    def output_rid(self) -> str | None:
        """The request id of output checks (TSZ gateway convention: ``<rid>-OUT``)."""
        return f"{self.rid}-OUT" if self.rid else None


def _choice(allowed: frozenset[str], header: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.strip().lower()
        if value not in allowed:
            raise ConfigurationError(
                f"{header}: {value!r} is not one of {', '.join(sorted(allowed))}"
            )
        return value

    return parse


def _names(raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def _rid(raw: str) -> str | None:
    return raw.strip() or None


# header (lower-case) -> (CallOptions field, parser)
_HEADERS: Final[dict[str, tuple[str, Callable[[str], Any]]]] = {
    "x-tsz-guardrails-mode": (
        "stream_mode",
        _choice(_STREAM_MODES, "X-TSZ-Guardrails-Mode"),
    ),
    "x-tsz-guardrails-onfail": (
        "stream_on_fail",
        _choice(_ON_FAIL, "X-TSZ-Guardrails-OnFail"),
    ),
    "x-tsz-guardrails": ("guardrails", _names),
    "x-tsz-rid": ("rid", _rid),
}


def is_tsz_header(name: str) -> bool:
    return name.lower().startswith(HEADER_PREFIX)


def options_from(base: CallOptions, headers: Iterable[tuple[str, Any]]) -> tuple[CallOptions, bool]:
    """``base`` with every TSZ header of ``headers`` applied; and whether any was present.

    Raises :class:`~tsz_otel.errors.ConfigurationError` for an invalid mode or on-fail
    value, before anything is sent.
    """
    updates: dict[str, Any] = {}
    found = False
    for name, value in headers:
        key = name.lower()
        if not key.startswith(HEADER_PREFIX):
            continue
        found = True
        entry = _HEADERS.get(key)
        if entry is not None and isinstance(value, str):
            field, parse = entry
            updates[field] = parse(value)
    return (replace(base, **updates) if updates else base), found


def without_tsz_headers(headers: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``headers`` without the TSZ ones."""
    return {k: v for k, v in headers.items() if not is_tsz_header(k)}
