"""Texts already scanned and found to hold no candidate at all.

Guarded LLM calls send the same texts again and again: the system prompt on every call,
and in a chat the whole history before the new turn. The input check would scan every
one of them on every call, so its cost would grow with the length of the conversation.
A text in which neither the scanner nor the injection detector found a single candidate
gives the same (empty) answer the next time, as long as the compiled patterns are the
same, so :class:`CleanTexts` remembers it and the next ``detect`` skips the scan.

What is remembered is deliberately narrow:

* only texts with **no raw candidate** (before thresholds and the allowlist): a text whose
  candidate was dropped by the allowlist or a threshold is scanned again, so removing an
  allowlist item or changing a threshold can never be hidden by the memo;
* per compiled snapshot: adding, removing or changing a pattern builds a new snapshot with
  an empty memo; the blocklist is not covered and is checked on every call;
* bounded by a character budget (``TSZ_CLEAN_CACHE_CHARS``; ``0`` turns it off), oldest
  texts evicted first; short texts are not kept (scanning them costs about as much as
  remembering them).

The texts stay in process memory only; they never reach telemetry.
"""

from __future__ import annotations

import threading
from typing import Final

__all__ = ["MIN_CHARS", "CleanTexts"]

MIN_CHARS: Final = 64
"""Texts shorter than this are not remembered: their scan is already cheap."""

_LARGEST_SHARE: Final = 8
"""A text may take at most ``1/_LARGEST_SHARE`` of the budget, so that one huge text
cannot evict everything else."""


class CleanTexts:
    """A bounded set of texts known to have no candidate under one compiled snapshot.

    Lookups take no lock (a ``dict`` membership test is atomic); additions, which only
    happen after a full scan, take one so that eviction stays consistent between threads.
    """

    __slots__ = ("_budget", "_largest", "_lock", "_texts", "_used")

    def __init__(self, budget_chars: int) -> None:
        self._budget = max(0, budget_chars)
        self._largest = self._budget // _LARGEST_SHARE
        self._texts: dict[str, int] = {}
        self._used = 0
        self._lock = threading.Lock()

    def __contains__(self, text: str) -> bool:
        return text in self._texts

    def __len__(self) -> int:
        return len(self._texts)

    @property
    def used_chars(self) -> int:
        """Characters held now (never more than the budget)."""
        return self._used

    def add(self, text: str) -> None:
        """Remember ``text`` (if it fits the size rules), evicting the oldest texts."""
        size = len(text)
        if size < MIN_CHARS or size > self._largest:
            return
        with self._lock:
            texts = self._texts
            if text in texts:
                return
            while texts and self._used + size > self._budget:
                oldest = next(iter(texts))
                self._used -= texts.pop(oldest)
            texts[text] = size
            self._used += size
