"""Content hashing (canonical bytes, keyed and unkeyed) and capture rules."""

from __future__ import annotations

import hashlib
import hmac
import json
import unicodedata

from tsz_otel import ContentHasher, ContentPolicy, Settings
from tsz_otel.content import MAX_CAPTURED_CHARS, canonical_json_bytes, messages_to_json


def test_sha256_of_nfc_utf8() -> None:
    value = "café"
    expected = hashlib.sha256(unicodedata.normalize("NFC", value).encode()).hexdigest()
    assert ContentHasher()(value) == f"sha256:{expected}"


def test_nfc_and_nfd_spellings_hash_the_same() -> None:
    composed = "Zoë Ångström"
    decomposed = unicodedata.normalize("NFD", composed)
    assert composed != decomposed
    hasher = ContentHasher()
    assert hasher(composed) == hasher(decomposed)


def test_hmac_with_key_and_different_keys_differ() -> None:
    value = "4111 1111 1111 1111"
    keyed = ContentHasher("k1")(value)
    expected = hmac.new(b"k1", value.encode(), hashlib.sha256).hexdigest()
    assert keyed == f"hmac-sha256:{expected}"
    assert ContentHasher("k2")(value) != keyed
    assert ContentHasher.from_settings(Settings.from_env({}, hash_key="k1"))(value) == keyed
    assert ContentHasher.from_settings(Settings.from_env({})).keyed is False


def test_canonical_json_sorted_compact_nfc() -> None:
    document = {"b": 1, "a": ["e\u0301", True]}
    assert canonical_json_bytes(document) == '{"a":["é",true],"b":1}'.encode()


def test_capture_policy_prefers_redacted_unless_raw() -> None:
    off = ContentPolicy.from_settings(Settings.from_env({}))
    assert off.enabled is False
    assert off.select("raw", "red") is None
    span_only = ContentPolicy.from_settings(Settings.from_env({}, capture_content="SPAN_ONLY"))
    assert (span_only.on_span, span_only.on_event) == (True, False)
    assert span_only.select("raw", "red") == "red"
    assert span_only.select("raw", None) is None
    raw = ContentPolicy.from_settings(
        Settings.from_env({}, capture_content="true", capture_raw=True)
    )
    assert (raw.on_span, raw.on_event) == (True, True)
    assert raw.select("raw", "red") == "raw"


def test_standard_env_var_turns_capture_on() -> None:
    settings = Settings.from_env(
        {"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "event_only"}
    )
    policy = ContentPolicy.from_settings(settings)
    assert (policy.on_span, policy.on_event) == (False, True)


def test_captured_text_is_truncated() -> None:
    policy = ContentPolicy(on_span=True)
    text = "x" * (MAX_CAPTURED_CHARS + 1000)
    captured = policy.select(None, text)
    assert captured is not None
    assert len(captured) < len(text)
    assert captured.startswith("x" * MAX_CAPTURED_CHARS)
    assert captured.endswith("[truncated]")


def test_messages_to_json_shape() -> None:
    messages = [
        {"role": "user", "content": [{"type": "text", "text": "hi"}]},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "c1", "function": {"name": "f", "arguments": '{"x": 1}'}},
            ],
        },
    ]
    assert json.loads(messages_to_json(messages)) == [
        {"role": "user", "parts": [{"type": "text", "content": "hi"}]},
        {
            "role": "assistant",
            "parts": [{"type": "tool_call", "id": "c1", "name": "f", "arguments": '{"x": 1}'}],
        },
    ]


def test_a_surrogate_hashes_as_the_replacement_character() -> None:
    """UTF-8 cannot hold a lone surrogate (``json.loads('"\\ud800"')`` makes one): it is
    hashed as U+FFFD, as a browser's TextEncoder encodes it, instead of failing."""
    hasher = ContentHasher()
    assert hasher("a\ud800b") == hasher("a\ufffdb")
    assert canonical_json_bytes(["a\udfff"]) == '["a\ufffd"]'.encode()
    assert canonical_json_bytes({"k": "\ud800"}) == '{"k":"\ufffd"}'.encode()
