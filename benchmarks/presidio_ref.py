"""Presidio's pattern-only analyzer, the speed reference for the throughput benchmark.

``AnalyzerEngine`` normally loads spaCy's ``en_core_web_lg`` (and downloads it when
missing). Here it gets a :class:`BlankSpacyNlpEngine` around ``spacy.blank("en")``:
a tokenizer with no model, so nothing is downloaded and no NER runs, and the
registry keeps only the predefined English recognizers that are
``PatternRecognizer`` subclasses (credit card, e-mail, IBAN, IP, SSN, URL, ...).
That is the fairest "regex + checksum" comparison: it drops ``SpacyRecognizer``
(NER, needs a model) and ``PhoneRecognizer`` (``phonenumbers`` based), so Presidio
does *less* work than our engine, which also finds phone numbers and secrets.

Presidio's e-mail recognizer calls ``tldextract``, which fetches the public suffix
list over the network on first use; ``TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS`` is set
empty before the import so it uses the snapshot bundled with the package.
"""

from __future__ import annotations

import logging
import os
from typing import Any


def available() -> bool:
    """Whether presidio-analyzer and spaCy are installed (the ``dev`` extra)."""
    try:
        import presidio_analyzer  # noqa: F401
        import spacy  # noqa: F401
    except ImportError:
        return False
    return True


def build_analyzer() -> tuple[Any, list[str]]:
    """A pattern-only ``AnalyzerEngine`` and the names of the recognizers it runs."""
    os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
    logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)

    import spacy
    from presidio_analyzer import AnalyzerEngine, PatternRecognizer, RecognizerRegistry
    from presidio_analyzer.nlp_engine import SpacyNlpEngine

    class BlankSpacyNlpEngine(SpacyNlpEngine):
        """spaCy's blank English tokenizer; never downloads or loads a model."""

        def load(self) -> None:
            self.nlp = {"en": spacy.blank("en")}  # type: ignore[assignment]

    nlp_engine = BlankSpacyNlpEngine(models=[{"lang_code": "en", "model_name": "blank:en"}])
    nlp_engine.load()
    registry = RecognizerRegistry(supported_languages=["en"])
    registry.load_predefined_recognizers(languages=["en"], nlp_engine=nlp_engine)
    registry.recognizers = [r for r in registry.recognizers if isinstance(r, PatternRecognizer)]
    analyzer = AnalyzerEngine(registry=registry, nlp_engine=nlp_engine, supported_languages=["en"])
    return analyzer, sorted(type(r).__name__ for r in registry.recognizers)
