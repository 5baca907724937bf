"""Overlap resolution, placeholders and the redacted text.

Overlaps
--------
Candidates from different patterns often overlap (an e-mail inside a URL with
credentials, a phone-shaped run inside a card number). :func:`resolve_overlaps`
keeps a non-overlapping subset, deterministically:

1. **Blocklist hits win.** Overlapping blocklist hits are merged, and a blocklist
   span absorbs every candidate that overlaps it (the span widens to cover it),
   so a forbidden term still blocks *and* nothing of an overlapping secret leaks
   next to the ``[BLOCKED]`` placeholder.
2. The rest, greedily: **longest first, then highest score, then catalogue order**
   (built-ins in catalogue order, then user patterns in the order they were
   added, then injection types), then leftmost. A candidate is kept if it does
   not overlap one already kept. (TSZ sorts by start and keeps whatever comes
   first; "longest first" keeps the whole URL rather than the e-mail inside it.)

Placeholders
------------
``settings.placeholder_style``:

* ``tsz`` - TSZ's form ``[RID_TYPE_16hex]`` (``[TYPE_16hex]`` without a request
  id). The hex is a keyed hash (keyed BLAKE2b, a MAC, with a per-engine random
  key) of the rid, type and value: the same value gets the same placeholder within a request
  (so an LLM can still tell two e-mails apart), it cannot be reversed, and it
  differs between engines.
* ``type`` - ``[EMAIL]``, as TSZ's documentation shows.
* ``indexed`` - ``[EMAIL_1]``, ``[EMAIL_2]``: numbered per type in order of first
  appearance, the same number for the same value within one call; the mapping
  is kept on the response (``DetectResponse.restore``) so originals can be put
  back into an answer.

Blocklist hits are always ``[BLOCKED]``.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any, TypeVar

from .regex import encode_text
from .scoring import BLOCKLIST

__all__ = [
    "BLOCKED",
    "Candidate",
    "Placeholders",
    "placeholder_hasher",
    "redact",
    "resolve_overlaps",
    "spans_disjoint",
]

BLOCKED = "[BLOCKED]"
T = TypeVar("T")


@dataclass(slots=True)
class Candidate:
    """A scored candidate on its way to becoming a detection (``str`` offsets)."""

    type: str
    category: str
    start: int
    end: int
    score: float
    order: int
    regex_score: float
    validation: str
    context: float
    source: str = "REGEX"
    ai_score: float | None = None

    @property
    def length(self) -> int:
        return self.end - self.start


def _merge_blocklist(hits: Iterable[Candidate]) -> list[Candidate]:
    merged: list[Candidate] = []
    for hit in sorted(hits, key=lambda c: (c.start, -c.end)):
        if merged and hit.start < merged[-1].end:
            merged[-1].end = max(merged[-1].end, hit.end)
        else:
            merged.append(hit)
    return merged


def _absorb(blocks: list[Candidate], others: list[Candidate]) -> list[Candidate]:
    """Widen blocklist spans over overlapping candidates; return the candidates left."""
    changed = True
    remaining = others
    while changed and blocks:
        changed = False
        left: list[Candidate] = []
        for cand in remaining:
            for block in blocks:
                if cand.start < block.end and block.start < cand.end:
                    block.start = min(block.start, cand.start)
                    block.end = max(block.end, cand.end)
                    changed = True
                    break
            else:
                left.append(cand)
        remaining = left
        if changed:
            blocks[:] = _merge_blocklist(blocks)
    return remaining


def spans_disjoint(spans: Iterable[tuple[str, int, int]]) -> bool:
    """Whether ``(type, start, end)`` spans, sorted by start, leave nothing to resolve:
    no overlap, no empty span and no blocklist hit (which widens over its neighbours).
    Then :func:`resolve_overlaps` keeps them all, in that order."""
    previous_end = -1
    for kind, start, end in spans:
        if start < previous_end or end <= start or kind == BLOCKLIST:
            return False
        previous_end = end
    return True


def _start_of(cand: Candidate) -> int:
    return cand.start


def resolve_overlaps(candidates: Sequence[Candidate]) -> list[Candidate]:
    """A deterministic non-overlapping subset, sorted by start (see module docs)."""
    if len(candidates) < 2:  # the common case: nothing to resolve
        return list(candidates)
    ordered = sorted(candidates, key=_start_of)
    if spans_disjoint((c.type, c.start, c.end) for c in ordered):
        return ordered
    blocks = _merge_blocklist(c for c in candidates if c.type == BLOCKLIST)
    others = [c for c in candidates if c.type != BLOCKLIST]
    others = _absorb(blocks, others)
    others.sort(key=lambda c: (c.start - c.end, -c.score, c.order, c.start))
    starts: list[int] = []
    kept: list[Candidate] = []
    for block in blocks:
        index = bisect_left(starts, block.start)
        starts.insert(index, block.start)
        kept.insert(index, block)
    return place_greedily(kept, starts, others, _SPAN_OF)


_SPAN_OF = attrgetter("start", "end")


def place_greedily(
    kept: list[T], starts: list[int], ordered: Iterable[T], span: Callable[[T], tuple[int, int]]
) -> list[T]:
    """The greedy step of :func:`resolve_overlaps`: each of ``ordered`` joins ``kept`` (in
    start order, ``starts`` alongside) unless it overlaps one already kept. ``span`` reads
    a candidate's ``(start, end)``, so the engine can run it on its tuples as well."""
    for cand in ordered:
        start, end = span(cand)
        index = bisect_left(starts, start)
        if index > 0 and span(kept[index - 1])[1] > start:
            continue
        if index < len(kept) and span(kept[index])[0] < end:
            continue
        starts.insert(index, start)
        kept.insert(index, cand)
    return kept


def placeholder_hasher(key: bytes) -> Any:
    """A keyed BLAKE2b state for ``tsz`` placeholders, to be ``copy()``-ed per value.

    Copying the keyed state skips re-hashing the key block for every placeholder;
    the digest is the same as ``blake2b(message, key=key, digest_size=8)``.
    """
    return hashlib.blake2b(key=key, digest_size=8)


class Placeholders:
    """Makes the placeholder for each detection of one call (see module docs).

    ``hasher`` is :func:`placeholder_hasher` of ``key`` when the caller keeps one
    (the engine does); without it the keyed hash is set up per value.
    """

    __slots__ = ("_counters", "_hasher", "_key", "_rid", "_seen", "_style", "restore_map")

    def __init__(self, style: str, rid: str | None, key: bytes, hasher: Any = None) -> None:
        self._style = style
        self._rid = rid
        self._key = key
        self._hasher = hasher
        self._seen: dict[tuple[str, str], str] = {}
        self._counters: dict[str, int] = {}
        self.restore_map: dict[str, str] = {}

    def __call__(self, kind: str, value: str) -> str:
        if kind == BLOCKLIST:
            return BLOCKED
        key = (kind, value)
        known = self._seen.get(key)
        if known is not None:
            return known
        style = self._style
        if style == "type":
            placeholder = f"[{kind}]"
        elif style == "indexed":
            number = self._counters.get(kind, 0) + 1
            self._counters[kind] = number
            placeholder = f"[{kind}_{number}]"
            self.restore_map[placeholder] = value
        else:
            rid = self._rid
            message = encode_text(f"{rid or ''}\x00{kind}\x00{value}")
            if self._hasher is None:
                digest = hashlib.blake2b(message, key=self._key, digest_size=8).hexdigest()
            else:
                state = self._hasher.copy()
                state.update(message)
                digest = state.hexdigest()
            placeholder = f"[{rid}_{kind}_{digest}]" if rid else f"[{kind}_{digest}]"
        self._seen[key] = placeholder
        return placeholder


def redact(text: str, spans: Iterable[tuple[int, int, str]]) -> str:
    """``text`` with each non-overlapping ``(start, end, placeholder)`` substituted."""
    pieces: list[str] = []
    position = 0
    for start, end, placeholder in spans:
        pieces.append(text[position:start])
        pieces.append(placeholder)
        position = end
    pieces.append(text[position:])
    return "".join(pieces)
