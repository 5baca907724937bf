"""BUILTIN validators: JSON, XML, TOXIC_LANGUAGE and the engine-backed NO_* checks."""

from __future__ import annotations

import pytest

from tsz_otel import ConfidenceExplanation, DetectionResult, Settings
from tsz_otel.validators import ToxicityLexicon, ValidatorRegistry


def outcome(registry: ValidatorRegistry, name: str, text: str, **kwargs: object):  # type: ignore[no-untyped-def]
    (result,) = registry.run(text, [name], **kwargs).outcomes  # type: ignore[arg-type]
    return result


@pytest.fixture
def registry() -> ValidatorRegistry:
    return ValidatorRegistry(Settings())


@pytest.mark.parametrize(
    ("text", "status"),
    [('{"a": [1, 2, {"b": null}]}', "pass"), ("  [1, 2]  ", "pass"), ("42", "pass"),
     ('"text"', "pass"), ("{'a': 1}", "fail"), ('{"a": 1', "fail"), ("NaN", "fail"),
     ('{"a": Infinity}', "fail"), ("hello", "fail"), ("", "fail")],
)  # fmt: skip
def test_json(registry: ValidatorRegistry, text: str, status: str) -> None:
    assert outcome(registry, "JSON", text).status == status


@pytest.mark.parametrize(
    ("text", "status"),
    [("<order><id>1</id></order>", "pass"), ('<?xml version="1.0"?><a x="1"/>', "pass"),
     ("<a><b></a>", "fail"), ("plain text", "fail"), ("<a>1</a><b>2</b>", "fail"),
     ('<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>', "fail")],
)  # fmt: skip
def test_xml(registry: ValidatorRegistry, text: str, status: str) -> None:
    assert outcome(registry, "XML", text).status == status


def test_xml_refuses_entity_expansion(registry: ValidatorRegistry) -> None:
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><lolz>&lol2;</lolz>'
    )
    result = outcome(registry, "XML", bomb)
    assert result.status == "fail" and "DOCTYPE" in (result.reason or "")


@pytest.mark.parametrize(
    "text",
    ["you are an idiot", "You're a st00pid m0ron", "shut up, you worthless piece of shit",
     "i will kill you", "go to hell", "kys", "F*** you, idiooot, you are pathetic", "fuck you"],
)  # fmt: skip
def test_toxic_language_fails_abuse(registry: ValidatorRegistry, text: str) -> None:
    result = outcome(registry, "TOXIC_LANGUAGE", text)
    assert result.status == "fail"
    assert result.blocks
    assert result.message == "Content blocked by security policy: TOXIC_LANGUAGE"


@pytest.mark.parametrize(
    "text",
    ["Thank you for the quick answer!", "This build script is stupid, let me fix it",
     "The Scunthorpe assessment report is attached", "Please kill the process on port 8080",
     "What a damn good result", "I hate Mondays", ""],
)  # fmt: skip
def test_toxic_language_passes_ordinary_text(registry: ValidatorRegistry, text: str) -> None:
    assert outcome(registry, "TOXIC_LANGUAGE", text).status == "pass"


def test_toxicity_lexicon_is_data(tmp_path: object) -> None:
    lexicon = ToxicityLexicon.from_mapping(
        {"threshold": 1.0, "second_person": ["you"], "second_person_window": 3,
         "second_person_boost": 3.0, "terms": {"grumpy": 0.4}, "phrases": {"go away": 1.0}}
    )  # fmt: skip
    assert not lexicon.score("a grumpy cat").toxic
    assert lexicon.score("you grumpy").toxic  # 0.4 * 3
    assert lexicon.score("please go away").toxic
    assert lexicon.score("you are so grumpy").score == pytest.approx(1.2)
    assert lexicon.score("you said that the cat is grumpy").score == pytest.approx(0.4)


def _detection(
    kind: str, category: str, score: float, action: str | None = None
) -> DetectionResult:
    return DetectionResult(
        type=kind,
        value="x",
        placeholder=f"[{kind}]",
        start=0,
        end=1,
        confidence_score=score,
        confidence_explanation=ConfidenceExplanation(category=category, final_score=score),
        action=action,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("name", "category", "kind"),
    [("NO_PII", "PII", "EMAIL"), ("NO_SECRETS", "SECRET", "AWS_ACCESS_KEY"),
     ("NO_INJECTION", "INJECTION", "PROMPT_INJECTION")],
)  # fmt: skip
def test_no_category_validators_use_the_engine_detections(
    registry: ValidatorRegistry, name: str, category: str, kind: str
) -> None:
    hit = [_detection(kind, category, 0.6)]
    failed = outcome(registry, name, "text", detections=hit)
    assert failed.status == "fail"
    assert kind in (failed.reason or "") and "x" not in (failed.reason or "").split()
    other = [_detection("OTHER", "TOPIC", 0.9)]
    assert outcome(registry, name, "text", detections=other).status == "pass"
    below = [_detection(kind, category, 0.2)]  # under the allow threshold: ignored
    assert outcome(registry, name, "text", detections=below).status == "pass"
    allowed = [_detection(kind, category, 0.6, action="ALLOW")]
    assert outcome(registry, name, "text", detections=allowed).status == "pass"
    masked = [_detection(kind, category, 0.25, action="MASK")]  # a per-pattern allow threshold
    assert outcome(registry, name, "text", detections=masked).status == "fail"


class _CountingEngine:
    """The detector seam: anything with ``detect(text) -> DetectResponse``."""

    def __init__(self, detections: list[DetectionResult]) -> None:
        self.calls = 0
        self._detections = detections

    def detect(self, text: str):  # type: ignore[no-untyped-def]
        from tsz_otel import DetectResponse

        self.calls += 1
        return DetectResponse(redacted_text=text, detections=self._detections)


def test_no_checks_scan_once_per_request_through_the_detector() -> None:
    engine = _CountingEngine([_detection("EMAIL", "PII", 0.6)])
    registry = ValidatorRegistry(Settings(), detector=engine)
    report = registry.run("mail me", ["NO_PII", "NO_SECRETS", "JSON"])
    assert [o.status for o in report.outcomes] == ["fail", "pass", "fail"]
    assert engine.calls == 1
    registry.run("{}", ["JSON"])
    assert engine.calls == 1  # not needed, not called


def test_no_checks_without_an_engine_are_errors_that_block_only_when_closed() -> None:
    opened = outcome(ValidatorRegistry(Settings()), "NO_PII", "text")
    assert opened.status == "error" and not opened.blocks
    assert opened.message == "Error in guardrail 'NO_PII': needs the detection engine"
    assert opened.confidence == 1.0
    closed = outcome(ValidatorRegistry(Settings(fail_mode="closed")), "NO_PII", "text")
    assert closed.status == "error" and closed.blocks
