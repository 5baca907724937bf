"""Content hashing and content-capture rules: what of a user's text may reach telemetry.

By default **nothing** of the evaluated text and no detected value goes on a span, event,
metric or log. What telemetry carries instead is a *content hash*:

* ``sha256:<64 hex>`` of the canonical bytes, or
* ``hmac-sha256:<64 hex>`` keyed with ``TSZ_OTEL_HASH_KEY`` when it is set. Prefer the
  keyed form for anything low-entropy (card numbers, phone numbers): an unkeyed hash of
  a 16-digit card number can be recovered by enumeration; a keyed one cannot without
  the key.

Canonical bytes (so two processes, or a SIEM re-hashing a known value, agree):

* text: Unicode NFC normalisation, then UTF-8 (a surrogate code point, which UTF-8
  cannot hold, counts as U+FFFD, as a browser's ``TextEncoder`` writes it);
* structured input (a list of chat messages): JSON with sorted keys, ``","``/``":"``
  separators, non-ASCII kept as is (``ensure_ascii=False``), every string NFC-normalised,
  then UTF-8. For the string/integer/boolean documents chat messages are, this equals
  RFC 8785 (JCS) except for key ordering of keys outside the Basic Multilingual Plane.

Content capture is opt-in, with the standard GenAI switch
``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`` (or ``TSZ_OTEL_CAPTURE_CONTENT``):
``NO_CONTENT`` (default), ``SPAN_ONLY``, ``EVENT_ONLY``, ``SPAN_AND_EVENT``, or ``true``
(= ``SPAN_AND_EVENT``) / ``false``. Even when on, the captured text is the **redacted**
text (detected values replaced by placeholders) unless ``TSZ_OTEL_CAPTURE_RAW=true``; a
caller that has no redacted version captures nothing. Captured text is truncated to
:data:`MAX_CAPTURED_CHARS`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import json.encoder
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from ._unicode import utf8
from .config import Settings

__all__ = [
    "MAX_CAPTURED_CHARS",
    "ContentHasher",
    "ContentPolicy",
    "canonical_bytes",
    "canonical_json_bytes",
    "messages_to_json",
]

MAX_CAPTURED_CHARS: Final = 16 * 1024
_TRUNCATED: Final = "…[truncated]"
_SHA256: Final = "sha256:"
_HMAC_SHA256: Final = "hmac-sha256:"


def _nfc(text: str) -> str:
    """NFC of ``text``; ASCII is NFC already and skips the per-character quick check."""
    return text if text.isascii() else unicodedata.normalize("NFC", text)


def canonical_bytes(text: str) -> bytes:
    """NFC-normalised UTF-8: the bytes every content hash is computed over."""
    return utf8(_nfc(text))


def _nfc_strings(value: Any) -> Any:
    if isinstance(value, str):
        return _nfc(value)
    if isinstance(value, Mapping):
        return {str(k): _nfc_strings(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_nfc_strings(v) for v in value]
    return value


_encode_json_string: Final = json.encoder.encode_basestring
"""What the encoder below writes a string as (``ensure_ascii=False``)."""

_CANONICAL_JSON: Final = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
"""Built once (an immutable configuration): ``json.dumps`` with options builds an encoder
per call."""


def canonical_json_bytes(document: Any) -> bytes:
    """The canonical bytes of structured input (see the module docstring)."""
    if isinstance(document, list) and all(type(item) is str for item in document):
        # the guard's segment lists: the same bytes without the generic walk and encoder
        items = (_encode_json_string(_nfc(s)) for s in document)
        return utf8("[" + ",".join(items) + "]")
    return utf8(_CANONICAL_JSON.encode(_nfc_strings(document)))


class ContentHasher:
    """Hashes text for telemetry: ``sha256:<hex>`` or, with a key, ``hmac-sha256:<hex>``.

    Build one per guard/processor (the key is read once); calling it is thread-safe.
    """

    __slots__ = ("_key",)

    def __init__(self, key: str | bytes | None = None) -> None:
        if isinstance(key, str):
            key = key.encode("utf-8")
        self._key = key or None

    @classmethod
    def from_settings(cls, settings: Settings) -> ContentHasher:
        return cls(settings.hash_key)

    @property
    def keyed(self) -> bool:
        return self._key is not None

    def digest(self, data: bytes) -> str:
        """Hash already-canonical bytes."""
        if self._key is None:
            return _SHA256 + hashlib.sha256(data).hexdigest()
        return _HMAC_SHA256 + hmac.new(self._key, data, hashlib.sha256).hexdigest()

    def __call__(self, text: str) -> str:
        """Hash a text value (NFC, UTF-8)."""
        return self.digest(canonical_bytes(text))

    def document(self, document: Any) -> str:
        """Hash structured input (canonical JSON)."""
        return self.digest(canonical_json_bytes(document))


@dataclass(frozen=True, slots=True)
class ContentPolicy:
    """Whether and which content may be captured, decided once from settings."""

    on_span: bool = False
    on_event: bool = False
    raw: bool = False
    max_chars: int = MAX_CAPTURED_CHARS

    @classmethod
    def from_settings(cls, settings: Settings) -> ContentPolicy:
        return cls(
            on_span=settings.captures_on_span(),
            on_event=settings.captures_on_event(),
            raw=settings.capture_raw,
        )

    @property
    def enabled(self) -> bool:
        return self.on_span or self.on_event

    def select(self, original: str | None, redacted: str | None) -> str | None:
        """The text that may be captured, or ``None`` when nothing may be.

        ``original`` is used only when raw capture is on; otherwise ``redacted`` (which
        the caller must have produced with the detection engine) or nothing.
        """
        if not self.enabled:
            return None
        chosen = original if self.raw else redacted
        if chosen is None:
            return None
        return self.truncate(chosen)

    def truncate(self, text: str) -> str:
        if len(text) <= self.max_chars:
            return text
        return text[: self.max_chars] + _TRUNCATED


def messages_to_json(messages: Sequence[Mapping[str, Any]]) -> str:
    """Serialise chat messages for capture, in the GenAI input-messages JSON shape.

    ``[{"role": "user", "parts": [{"type": "text", "content": "..."}]}]``; tool calls
    become ``tool_call`` parts with their (string) arguments.
    """
    out: list[dict[str, Any]] = []
    for message in messages:
        parts: list[dict[str, Any]] = []
        content = message.get("content")
        if isinstance(content, str):
            parts.append({"type": "text", "content": content})
        elif isinstance(content, list):
            for part in content:
                if isinstance(part, Mapping) and isinstance(part.get("text"), str):
                    parts.append({"type": "text", "content": part["text"]})
        for call in message.get("tool_calls") or ():
            if isinstance(call, Mapping):
                function = call.get("function") or {}
                parts.append(
                    {
                        "type": "tool_call",
                        "id": call.get("id"),
                        "name": function.get("name"),
                        "arguments": function.get("arguments"),
                    }
                )
        out.append({"role": message.get("role"), "parts": parts})
    return json.dumps(out, ensure_ascii=False)
