"""Guardrails (TSZ format validators): BUILTIN, REGEX, SCHEMA and AI_PROMPT.

:class:`ValidatorRegistry` holds the named validators (built-ins, templates, code) and
runs the ones a request names (``DetectRequest.guardrails`` and ``expected_format``),
returning a :class:`ValidationReport`: TSZ's ``ValidatorResult`` list plus whether the
request is blocked and why. See :mod:`tsz_otel.validators.base` for the pass / fail /
error semantics and :mod:`tsz_otel.validators.kinds` for each type.

The packaged template ``toxic-language-ai`` (:func:`template_path`) replaces the offline
TOXIC_LANGUAGE word list with an AI_PROMPT version.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from .base import CONFIDENCE, Check, CheckContext, GuardrailOutcome, ValidationReport, Validator
from .kinds import BUILTINS
from .registry import Detector, PreparedValidators, ValidatorRegistry
from .toxicity import ToxicityLexicon, ToxicityScore

__all__ = [
    "BUILTINS",
    "CONFIDENCE",
    "Check",
    "CheckContext",
    "Detector",
    "GuardrailOutcome",
    "PreparedValidators",
    "ToxicityLexicon",
    "ToxicityScore",
    "ValidationReport",
    "Validator",
    "ValidatorRegistry",
    "template_path",
]


def template_path(name: str) -> Path:
    """Path of a packaged validator template, e.g. ``template_path("toxic-language-ai")``."""
    path = Path(str(resources.files(__package__).joinpath(f"templates/{name}.json")))
    if not path.is_file():
        raise FileNotFoundError(f"no packaged validator template named {name!r}")
    return path
