"""Confidence: how a candidate's score is made, and what the score decides.

The scoring model
-----------------
Every candidate gets a score in 0..1 from four parts, in this order:

1. **Base score** of its pattern (:class:`~tsz_otel.engine.catalogue.PatternSpec`
   ``base``). User patterns take ``Pattern.BaseScore`` or TSZ's category score
   (SECRET 0.70, INJECTION 0.65, PII 0.60, anything else 0.45), so a TSZ pattern
   scores here what it scores on a TSZ server.
2. **Validation.** The pattern's checks (Luhn, IBAN mod-97, TCKN, SSN rules, IP and
   phone parsing, JWT header, entropy, token checksums) either *pass* - the score
   becomes the row's ``pass_score`` (a valid card 0.90, a checksummed GitHub token
   0.95) - or *fail* - the score becomes ``fail_score``, 0 for almost every row,
   so the candidate is dropped - or say nothing (``none``: the base score stays;
   a bare 9-digit number is SSN-shaped but could be anything).
3. **Context.** If one of the row's context words occurs within its window
   *before* the match ("SSN", "phone", "aws"), ``context_boost`` is added. Values
   that mean nothing on their own (bare digit runs, 40-character tokens) start
   below the allow threshold and only context lifts them into view.
4. **AI score** (optional): when a scorer is installed (``tsz_otel.ai.AIClient``)
   and answers for a candidate, the final score is the scorer's blend
   ``0.25 * regex + 0.75 * ai`` (:func:`tsz_otel.ai.prompts.combine`), and
   ``source`` becomes ``HYBRID``. TSZ averages the two instead, which caps a PII
   match at 0.80 so it can never auto-block (:func:`combine_ai` keeps TSZ's rule
   for comparison with a TSZ server; the engine does not use it). Without a
   scorer, or when the model gave no usable answer, ``source`` is ``REGEX``.

Scores are rounded half-up to two decimals (the value the JSON shows) before
they are compared with thresholds, so what a user reads is what decided.

Thresholds and actions
----------------------
Each detection's thresholds come from, most specific first: the pattern's own
``AllowThreshold``/``BlockThreshold``; for the block threshold, the category's
``CONFIDENCE_<CATEGORY>_THRESHOLD`` (``Settings.category_thresholds``); then the
global ``CONFIDENCE_ALLOW_THRESHOLD`` (0.30) / ``CONFIDENCE_BLOCK_THRESHOLD``
(0.85). ``threshold_source`` says which level decided (``pattern``, ``category``,
``global``). The action is TSZ's ``resolveAction``: allow > block (a
misconfiguration) gives MASK; score >= block gives BLOCK; score < allow gives
ALLOW; otherwise MASK.

Decision: an ALLOW candidate is **not reported** (no detection, no redaction, no
count). TSZ still masks it; we treat "below the allow threshold" as "not a
finding", which is what the threshold is documented to mean.

``overall_confidence`` is TSZ's weighted mean: detections weigh 1, BLOCKLIST hits
2, validator results 1.5; 0 when there is nothing.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from ..models import round_confidence

__all__ = [
    "BLOCKLIST",
    "CATEGORY_SCORES",
    "OTHER_CATEGORY_SCORE",
    "Action",
    "Thresholds",
    "action_for",
    "category_score",
    "combine_ai",
    "overall_confidence",
    "resolve_thresholds",
    "round2",
]

Action = Literal["ALLOW", "MASK", "BLOCK"]

BLOCKLIST = "BLOCKLIST"
"""Type and category of blocklist hits."""

CATEGORY_SCORES: Mapping[str, float] = {"SECRET": 0.70, "INJECTION": 0.65, "PII": 0.60}
"""TSZ's regex score per category, used for user patterns without ``BaseScore``."""
OTHER_CATEGORY_SCORE = 0.45

DETECTION_WEIGHT = 1.0
BLOCKLIST_WEIGHT = 2.0
VALIDATOR_WEIGHT = 1.5


def round2(value: float) -> float:
    """Half-up rounding to two decimals, exactly :func:`~tsz_otel.models.round_confidence`.

    The float arithmetic decides unless the value sits within a hair of a
    ``.xx5`` boundary; only then the (slower) decimal rounding of the models runs.
    """
    scaled = value * 100.0
    low = _floor(scaled)
    fraction = scaled - low
    if fraction < _HALF_LOW:
        return low / 100.0
    if fraction > _HALF_HIGH:
        return (low + 1) / 100.0
    return _round_exact(value)


_floor = math.floor
# The decimal path, memoised: scores are sums of a few catalogue constants, so the
# handful of values that sit on a .xx5 boundary (0.775, 0.925, ...) recur constantly.
_round_exact = functools.lru_cache(maxsize=1024)(round_confidence)
_HALF_LOW = 0.5 - 1e-6  # fractions within 1e-6 of .5 take the exact decimal path
_HALF_HIGH = 0.5 + 1e-6


def category_score(category: str) -> float:
    """TSZ's effective regex score for a pattern of ``category``."""
    return CATEGORY_SCORES.get(category.upper(), OTHER_CATEGORY_SCORE)


@dataclass(frozen=True, slots=True)
class Thresholds:
    """The allow/block thresholds that apply to one pattern, and where they came from."""

    allow: float
    block: float
    source: Literal["global", "category", "pattern"]


def resolve_thresholds(
    category: str,
    *,
    allow: float,
    block: float,
    category_blocks: Mapping[str, float],
    pattern_allow: float | None = None,
    pattern_block: float | None = None,
) -> Thresholds:
    """Most specific thresholds first: pattern, then category (block only), then global."""
    source: Literal["global", "category", "pattern"] = "global"
    category_block = category_blocks.get(category.upper())
    if category_block is not None:
        block, source = category_block, "category"
    if pattern_block is not None:
        block, source = pattern_block, "pattern"
    if pattern_allow is not None:
        allow, source = pattern_allow, "pattern"
    return Thresholds(allow=allow, block=block, source=source)


def action_for(score: float, thresholds: Thresholds) -> Action:
    """TSZ's ``resolveAction``: misconfigured thresholds mask, then block, allow, mask."""
    if thresholds.allow > thresholds.block:
        return "MASK"
    if score >= thresholds.block:
        return "BLOCK"
    if score < thresholds.allow:
        return "ALLOW"
    return "MASK"


def combine_ai(regex_score: float | None, ai_score: float | None) -> tuple[float, str]:
    """TSZ's own hybrid rule, for comparing with a TSZ server (the engine does not use it).

    Both present: their mean (in decimal so that 0.60 and 0.95 give 0.78 as TSZ
    documents), ``HYBRID``. Only the model: ``AI``. Only the regex path:
    ``REGEX``. The inline engine takes the AI scorer's ``final_score`` instead
    (``0.25 * regex + 0.75 * ai``, :func:`tsz_otel.ai.prompts.combine`).
    """
    if ai_score is None:
        return round2(regex_score or 0.0), "REGEX"
    if regex_score is None:
        return round2(ai_score), "AI"
    mean = (Decimal(repr(float(regex_score))) + Decimal(repr(float(ai_score)))) / 2
    return round_confidence(float(mean)), "HYBRID"


def overall_confidence(
    detections: Iterable[tuple[str, float]], validator_scores: Iterable[float] = ()
) -> float:
    """TSZ's weighted mean over ``(type, score)`` detections and validator scores."""
    total = 0.0
    weight = 0.0
    for kind, score in detections:
        w = BLOCKLIST_WEIGHT if kind == BLOCKLIST else DETECTION_WEIGHT
        total += w * score
        weight += w
    for score in validator_scores:
        total += VALIDATOR_WEIGHT * score
        weight += VALIDATOR_WEIGHT
    return round2(total / weight) if weight else 0.0
