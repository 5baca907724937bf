"""Texts already scanned and found to hold no candidate at all.

Guarded LLM calls send the same texts again and again: the system prompt on every call,
and in a chat the whole history before the new turn. The input check would scan every
one of them on every call, so its cost would grow with the length of the conversation.
A text in which neither the scanner nor the injection detector found a single candidate
gives the same (empty) answer the next time, as long as the compiled patterns are the
same, so :class:`CleanTexts` remembers it and the next ``detect`` skips the scan.

What is remembered is deliberately narrow:

* a keyed 128-bit BLAKE2b digest of the text's bytes, never the text: no prompt outlives
  its request in the memo, and without the per-process random key nobody can craft two
  texts that share a digest;
* only texts with **no raw candidate** (before thresholds and the allowlist): a text whose
  candidate was dropped by the allowlist or a threshold is scanned again, so removing an
  allowlist item or changing a threshold can never be hidden by the memo;
* per compiled snapshot: adding, removing or changing a pattern builds a new snapshot with
  an empty memo; the blocklist is not covered and is checked on every call;
* at most ``TSZ_CLEAN_CACHE_SIZE`` texts (``0`` turns the memo off), oldest first out;
  short texts are not kept (scanning them costs little more than remembering them).
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from typing import Final

__all__ = ["MIN_CHARS", "CleanTexts"]

MIN_CHARS: Final = 64
"""Texts shorter than this are not remembered: their scan is already cheap."""

_DIGEST_BYTES: Final = 16


class CleanTexts:
    """A bounded set of (digests of) texts known to have no candidate under one snapshot.

    Lookups take no lock (a ``dict`` membership test is atomic); additions, which only
    happen after a full scan, take one so that eviction stays consistent between threads.
    """

    __slots__ = ("_key", "_lock", "_seen", "size")

    def __init__(self, size: int) -> None:
        self.size = max(0, size)
        self._key = secrets.token_bytes(_DIGEST_BYTES)
        self._seen: dict[bytes, None] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._seen)

    def digest(self, data: bytes) -> bytes | None:
        """The key of a text's UTF-8 ``data``; None when such a text is never remembered."""
        if not self.size or len(data) < MIN_CHARS:
            return None
        return hashlib.blake2b(data, digest_size=_DIGEST_BYTES, key=self._key).digest()

    def holds(self, digest: bytes | None) -> bool:
        """Whether the text of ``digest`` is known to have no candidate."""
        return digest is not None and digest in self._seen

    def add(self, digest: bytes | None) -> None:
        """Remember the text of ``digest``, evicting the oldest texts past the size."""
        if digest is None:
            return
        with self._lock:
            seen = self._seen
            if digest in seen:
                return
            while len(seen) >= self.size:
                del seen[next(iter(seen))]
            seen[digest] = None
