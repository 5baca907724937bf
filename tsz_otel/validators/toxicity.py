"""The offline TOXIC_LANGUAGE check: a weighted word list with a second-person heuristic.

Why a word list: TOXIC_LANGUAGE must work with no model and no network (the AI version
is the ``toxic-language-ai`` template). All words, weights and rules live in
``data/toxic_language.json``; this module only applies them:

1. normalise: lower-case, undo common leetspeak (``1d10t`` -> ``idiot``), squeeze runs of
   three or more equal letters (``stuuupid`` -> ``stupid``), split into word tokens
   (matching whole tokens, so "Scunthorpe" or "assessment" never match);
2. add the weight of every listed phrase (``kill yourself``) and term (``idiot``); a term
   within ``second_person_window`` tokens after a second-person word (``you``, ``your``)
   counts ``second_person_boost`` times, because abuse is aimed at someone;
3. the text is toxic when the sum reaches ``threshold``.

So "this build script is stupid" passes (0.5) and "you are stupid" fails (0.5 x 2).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

__all__ = ["ToxicityLexicon", "ToxicityScore"]

_TOKEN = re.compile(r"[a-z']+")
_REPEATS = re.compile(r"([a-z])\1{2,}")


@dataclass(frozen=True, slots=True)
class ToxicityScore:
    """The summed weight of a text and how many listed terms/phrases it hit."""

    score: float
    hits: int
    toxic: bool


@dataclass(frozen=True, slots=True)
class ToxicityLexicon:
    """A loaded word list (see ``data/toxic_language.json`` for the fields)."""

    threshold: float
    second_person_boost: float
    second_person_window: int
    second_person: frozenset[str]
    leet: dict[int, str]
    terms: dict[str, float]
    phrases: dict[tuple[str, ...], float]

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> ToxicityLexicon:
        return cls(
            threshold=float(data["threshold"]),
            second_person_boost=float(data.get("second_person_boost", 1.0)),
            second_person_window=int(data.get("second_person_window", 0)),
            second_person=frozenset(data.get("second_person", ())),
            leet=str.maketrans(dict(data.get("leet", {}))),
            terms={str(k): float(v) for k, v in data.get("terms", {}).items()},
            phrases={tuple(str(k).split()): float(v) for k, v in data.get("phrases", {}).items()},
        )

    @classmethod
    def load(cls, path: str | Path | None = None) -> ToxicityLexicon:
        """The lexicon in ``path``, or the packaged default (read once, then shared)."""
        if path is None:
            return _default_lexicon()
        return cls.from_mapping(json.loads(Path(path).read_text(encoding="utf-8")))

    def tokens(self, text: str) -> list[str]:
        normal = _REPEATS.sub(r"\1", text.lower().translate(self.leet))
        return [token.replace("'", "") for token in _TOKEN.findall(normal)]

    def score(self, text: str) -> ToxicityScore:
        tokens = self.tokens(text)
        total, hits = 0.0, 0
        for i, token in enumerate(tokens):
            weight = self.terms.get(token)
            if weight:
                hits += 1
                total += weight * (self.second_person_boost if self._aimed(tokens, i) else 1.0)
        for phrase, weight in self.phrases.items():
            found = _count(tokens, phrase)
            hits += found
            total += weight * found
        return ToxicityScore(round(total, 4), hits, total >= self.threshold)

    def _aimed(self, tokens: list[str], index: int) -> bool:
        """Whether a second-person word precedes ``tokens[index]`` within the window."""
        window = tokens[max(0, index - self.second_person_window) : index]
        return any(token in self.second_person for token in window)


def _count(tokens: list[str], phrase: tuple[str, ...]) -> int:
    size = len(phrase)
    return sum(
        1
        for i in range(len(tokens) - size + 1)
        if tokens[i] == phrase[0] and tuple(tokens[i : i + size]) == phrase
    )


@cache
def _default_lexicon() -> ToxicityLexicon:
    raw = resources.files(__package__).joinpath("data/toxic_language.json").read_text("utf-8")
    return ToxicityLexicon.from_mapping(json.loads(raw))
