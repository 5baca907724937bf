"""The inline detection engine (PII, secrets, prompt injection) with TSZ results.

``Engine`` is the entry point; the submodules are its parts: :mod:`.catalogue`
(built-in patterns as data), :mod:`.checks` (validators of matches),
:mod:`.scanner` (compiled multi-pattern scan and the streaming hold-back),
:mod:`.scoring` (confidence and thresholds), :mod:`.redaction` (overlaps and
placeholders), :mod:`.lists` (allow/block lists), :mod:`.templates` and
:mod:`.regex` (RE2 for user patterns).
"""

from __future__ import annotations

from .catalogue import BUILTIN_PATTERNS, Form, PatternSpec, builtin_names
from .engine import AIScorer, Engine, ValidatorHook, ValidatorReport
from .lists import Allowlist, Blocklist
from .types import Match

__all__ = [
    "BUILTIN_PATTERNS",
    "AIScorer",
    "Allowlist",
    "Blocklist",
    "Engine",
    "Form",
    "Match",
    "PatternSpec",
    "ValidatorHook",
    "ValidatorReport",
    "builtin_names",
]
