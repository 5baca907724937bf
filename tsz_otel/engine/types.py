"""The engine's internal value types, shared by the scanner, detectors and scoring."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Match"]


@dataclass(frozen=True, slots=True)
class Match:
    """One scored candidate found in a text, before overlap resolution.

    Offsets are Python ``str`` (code point) offsets, end exclusive. ``score`` is the
    final regex-path confidence in 0..1 (base score, validation and context
    combined); ``validation`` is ``passed``, ``failed`` or ``none`` (no check
    applies); ``context`` is what nearby context words added (may be negative).
    """

    type: str
    category: str
    start: int
    end: int
    score: float
    base: float
    validation: str = "none"
    context: float = 0.0
