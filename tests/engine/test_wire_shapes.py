"""The engine's responses are TSZ's JSON: round trips against the API reference examples."""

from __future__ import annotations

import json

import pytest
from engine_samples import GITHUB_PAT

from tsz_otel import DetectionResult, DetectResponse, Engine

# tsz-api.md §3.1.2 (message dropped: it is "string (optional ...)" there)
DETECT_RESPONSE = """{
  "redacted_text": "My email is [EMAIL]",
  "detections": [
    {
      "type": "EMAIL",
      "value": "user@company.com",
      "placeholder": "[EMAIL]",
      "start": 11,
      "end": 27,
      "confidence_score": "0.78",
      "confidence_explanation": {
        "source": "HYBRID",
        "regex_score": "0.55",
        "ai_score": "0.90",
        "category": "PII",
        "pattern_active": true,
        "final_score": "0.78"
      }
    }
  ],
  "validator_results": [
    {"name": "TOXIC_LANGUAGE", "type": "AI_PROMPT", "passed": false, "confidence_score": "0.92"}
  ],
  "breakdown": {"EMAIL": 1},
  "blocked": false,
  "contains_pii": true,
  "overall_confidence": "0.81"
}"""

# tsz-api.md §3.2.6: one item of tsz_meta.input
TSZ_META_ITEM = """{
  "redacted_text": "My email is [RID-GW-001_EMAIL_xxx] what is my email domain",
  "detections": [
    {
      "type": "EMAIL",
      "value": "test@gmail.com",
      "placeholder": "[RID-GW-001_EMAIL_xxx]",
      "start": 12,
      "end": 26,
      "confidence_score": "0.78",
      "confidence_explanation": {
        "source": "HYBRID",
        "regex_score": "0.60",
        "ai_score": "0.95",
        "category": "PII",
        "pattern_active": true,
        "final_score": "0.78"
      }
    }
  ],
  "validator_results": [
    {"name": "TOXIC_LANGUAGE", "type": "VALIDATOR", "passed": true, "confidence_score": "0.70"}
  ],
  "breakdown": {"EMAIL": 1},
  "blocked": false,
  "contains_pii": true,
  "overall_confidence": "0.73"
}"""

# tsz-api.md §10.2 / §10.3 with placeholder values filled in
DATA_MODEL = """{
  "redacted_text": "string",
  "detections": [
    {
      "type": "string",
      "value": "string",
      "placeholder": "string",
      "start": 0,
      "end": 0,
      "confidence_score": "0.00",
      "confidence_explanation": {"source": "HYBRID", "final_score": "0.00"}
    }
  ],
  "validator_results": [{"name": "string", "type": "string", "passed": true,
                         "confidence_score": "0.00"}],
  "breakdown": {"string": 0},
  "blocked": false,
  "contains_pii": true,
  "overall_confidence": "0.00",
  "message": "string"
}"""


@pytest.mark.parametrize("raw", [DETECT_RESPONSE, TSZ_META_ITEM, DATA_MODEL])
def test_reference_examples_round_trip(raw: str) -> None:
    parsed = DetectResponse.model_validate_json(raw)
    assert json.loads(parsed.model_dump_json()) == json.loads(raw)


def test_engine_response_round_trips_byte_for_byte(engine: Engine) -> None:
    text = f"Ünïcode first: mail jane@example.com, card 4111 1111 1111 1111, token {GITHUB_PAT}"
    response = engine.detect(text, rid="RID-9")
    dumped = response.model_dump_json()
    again = DetectResponse.model_validate_json(dumped)
    assert again.model_dump_json() == dumped
    validated = DetectResponse.model_validate(response.model_dump())
    assert validated.model_dump_json() == dumped


def test_fast_construction_matches_validated_models(engine: Engine) -> None:
    response = engine.detect("mail jane@example.com or call +1 415-555-2671", rid="R")
    for detection in response.detections:
        rebuilt = DetectionResult.model_validate(
            detection.model_dump()
            | {"char_start": detection.char_start}
            | {"char_end": detection.char_end, "action": detection.action}
        )
        assert rebuilt == detection
        assert rebuilt.model_dump_json() == detection.model_dump_json()
        assert rebuilt.category == detection.category == "PII"
    assert response.model_fields_set >= {"redacted_text", "detections", "blocked"}


def test_offsets_on_the_wire_are_utf8_bytes(engine: Engine) -> None:
    text = "Grüße: jane@example.com"
    data = json.loads(engine.detect(text).model_dump_json())
    detection = data["detections"][0]
    assert (detection["start"], detection["end"]) == (9, 25)  # ü and ß are 2 bytes each
    assert "char_start" not in detection and "action" not in detection


def test_models_the_engine_builds_keep_object_new() -> None:
    """The engine's hot path makes its models with ``object.__new__`` (no lookup); a
    model that overrode ``__new__`` would be bypassed."""
    from tsz_otel.models import ConfidenceExplanation, DetectionResult, DetectResponse

    for model in (ConfidenceExplanation, DetectionResult, DetectResponse):
        assert model.__new__ is object.__new__
