"""Pure functions of the AI path: what is sent, how replies are read, how scores combine.

**What is sent for a confidence score** (never the whole prompt): the pattern's label, the
candidate value *shape-masked* (digits as ``#``, letters as ``*``; the first and last two
characters stay when the value has at least eight, so the model can tell a card from a
phone number without seeing either), and at most ``width`` characters of context on each
side, cut at word boundaries, with every other detected value in that window replaced
by ``[TYPE]``. TSZ sends the raw value; ``send_values=True`` on the client restores that.

**How a reply is read**: the trimmed reply must be one number in 0..1 (a trailing period
is tolerated). Anything else, including ``85`` or ``1.5``, is junk and falls back to the
regex score; TSZ clamps such numbers, which turns "85%" into certainty.

**The hybrid rule** (:func:`combine`)::

    final = (1 - AI_WEIGHT) * regex_score + AI_WEIGHT * ai_score      AI_WEIGHT = 0.75

The model decides three quarters of the final score, so it can both confirm and dismiss
a match: a PII match at regex 0.60 reaches the default block threshold 0.85 when the
model says 0.94 or more, drops below the allow threshold 0.30 when it says less than 0.20,
and stays in the mask band in between. TSZ averages the two (``(regex + ai) / 2``), which caps a
PII match at 0.80, so its "high-confidence auto-block" can never fire.

**AI_PROMPT verdicts** follow TSZ: the rule with ``{{TEXT}}`` replaced by the text (or the
text appended after ``Text to analyze:``); the reply passes when, trimmed and upper-cased,
it equals ``expected_response`` (default ``YES``) or starts with it. One refinement: the
expected word must end there (``YES.`` and ``YES, it is safe`` pass, ``NOT SURE`` does not
pass for ``NO``), and leading quotes or markdown emphasis are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = [
    "AI_WEIGHT",
    "combine",
    "mask_value",
    "masked_context",
    "parse_score",
    "reply_passes",
    "score_prompt",
    "verdict_prompt",
]

AI_WEIGHT = 0.75
"""Share of the AI score in the hybrid confidence (see :func:`combine`)."""

_SCORE = re.compile(r"(?:0(?:\.\d+)?|1(?:\.0+)?|\.\d+)\.?")
_LEADING_NOISE = "\"'*`_ \t\r\n"
_TEXT_SLOT = "{{TEXT}}"


def combine(regex_score: float, ai_score: float) -> float:
    """The hybrid confidence: a fixed-weight blend, clamped to 0..1."""
    value = (1.0 - AI_WEIGHT) * regex_score + AI_WEIGHT * ai_score
    return min(1.0, max(0.0, value))


def parse_score(reply: str) -> float | None:
    """The 0..1 number a scoring reply consists of, or ``None`` for junk."""
    text = reply.strip()
    if not _SCORE.fullmatch(text):
        return None
    return float(text.rstrip("."))


def mask_value(value: str, keep: int = 2) -> str:
    """The value's shape: digits ``#``, letters ``*``, separators kept.

    The first and last ``keep`` letters/digits stay visible only when the value has at
    least ``4 * keep`` of them, so a short value is masked completely.
    """
    positions = [i for i, ch in enumerate(value) if ch.isalnum()]
    visible = set(positions[:keep] + positions[-keep:]) if len(positions) >= 4 * keep else set()
    out = []
    for i, ch in enumerate(value):
        if i in visible or not ch.isalnum():
            out.append(ch)
        else:
            out.append("#" if ch.isdigit() else "*")
    return "".join(out)


def masked_context(
    text: str,
    start: int,
    end: int,
    others: Sequence[tuple[int, int, str]] = (),
    width: int = 40,
) -> tuple[str, str]:
    """Up to ``width`` characters before and after ``text[start:end]``, others masked.

    ``others`` are ``(start, end, type)`` spans of the other candidates; any part of one
    inside the window becomes ``[TYPE]``. Partial words at the window's edges are dropped
    and whitespace is collapsed, so nothing cut in half leaks.
    """
    lo, hi = max(0, start - width), min(len(text), end + width)
    before = _mask_spans(text, lo, start, others)
    after = _mask_spans(text, end, hi, others)
    if _cuts_word(text, lo, others):
        before = before.partition(" ")[2] if " " in before else ""
    if _cuts_word(text, hi, others):
        after = after.rpartition(" ")[0] if " " in after else ""
    return _squash(before, leading=True), _squash(after, leading=False)


def _cuts_word(text: str, edge: int, others: Sequence[tuple[int, int, str]]) -> bool:
    """Whether a window edge splits raw text mid-word (a masked span is never split)."""
    if edge <= 0 or edge >= len(text) or text[edge - 1].isspace() or text[edge].isspace():
        return False
    return not any(o_start < edge < o_end for o_start, o_end, _ in others)


def _mask_spans(text: str, lo: int, hi: int, others: Sequence[tuple[int, int, str]]) -> str:
    parts: list[str] = []
    cursor = lo
    for o_start, o_end, o_type in sorted(others):
        if o_end <= cursor or o_start >= hi:
            continue
        parts.append(text[cursor : max(cursor, o_start)])
        parts.append(f"[{o_type}]")
        cursor = min(hi, o_end)
    parts.append(text[cursor:hi])
    return "".join(parts)


def _squash(fragment: str, *, leading: bool) -> str:
    """Collapse whitespace but keep one space at the side that touches the span."""
    words = fragment.split()
    if not words:
        return ""
    joined = " ".join(words)
    touches = fragment[-1:].isspace() if leading else fragment[:1].isspace()
    if not touches:
        return joined
    return joined + " " if leading else " " + joined


def score_prompt(
    label: str, category: str, shown_value: str, before: str, after: str, *, masked: bool
) -> str:
    """The scoring prompt for one candidate (see the module docstring for what it holds)."""
    lines = [
        "You are a data protection classifier. Reply with only a number between 0 and 1.",
        f"How likely is it that the span between << and >> is a real {_label(label)} "
        f"({category.lower()} data)?",
    ]
    if masked:
        lines.append(
            "In the span, digits are shown as # and letters as *; other sensitive values "
            "are replaced by [TYPE]."
        )
    lines.append(f"Text: {before}<<{shown_value}>>{after}")
    return "\n".join(lines)


def _label(name: str) -> str:
    return name.replace("_", " ").strip()


def verdict_prompt(rule: str, text: str) -> str:
    """TSZ's AI_PROMPT prompt: ``{{TEXT}}`` replaced, or the text appended."""
    if _TEXT_SLOT in rule:
        return rule.replace(_TEXT_SLOT, text)
    return f"{rule}\n\nText to analyze:\n{text}"


def reply_passes(reply: str, expected_response: str | None) -> bool:
    """Whether a model reply means *pass* for an AI_PROMPT validator (see module doc)."""
    expected = (expected_response or "").strip().upper() or "YES"
    answer = reply.strip().lstrip(_LEADING_NOISE).upper()
    if not answer.startswith(expected):
        return False
    rest = answer[len(expected) :]
    return not rest or not rest[0].isalnum()
