"""examples/streaming: the README's commands; in stream-sync no digit of the card number
split over chunks ever reaches the screen, in final-only it does and the finding is
recorded, stream-async records it in a linked span, and halt ends the stream."""

from __future__ import annotations

import re

from examples_support import output_lines, readme_block, readme_output, run_block

from tsz_otel.testing.otlp_receiver import OtlpReceiver

EXAMPLE = "streaming"
CARD = "4539 1488 0343 6467"  # the card number of the app's scripted answer
CARD_DIGITS = CARD.replace(" ", "")
PLACEHOLDER = re.compile(r"\[CREDIT_CARD_[0-9a-f]{16}\]")


def _sections(stdout: str) -> dict[str, str]:
    """The output per stream mode (``== mode: ...`` headers)."""
    parts = re.split(r"^== ([a-z-]+): .*$", stdout, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def _assert_no_card_digits(text: str) -> None:
    """Not the number, and no run of two or more of its digits (not even partly)."""
    without_placeholders = PLACEHOLDER.sub("[CREDIT_CARD]", text)
    for run in re.findall(r"\d{2,}", without_placeholders):
        assert run not in CARD_DIGITS, f"card digits {run!r} leaked: {text!r}"


def _normalised(text: str) -> str:
    return PLACEHOLDER.sub("[CREDIT_CARD_…]", text)


def test_side_by_side_final_only_and_stream_async_show_the_card_and_record_it() -> None:
    done = run_block(readme_block(EXAMPLE, "side-by-side"))
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert _normalised(done.stdout) == _normalised(readme_output(EXAMPLE, "side-by-side"))
    sections = _sections(done.stdout)
    assert list(sections) == ["final-only", "stream-sync", "stream-async"]
    for mode, relation in (("final-only", "child of"), ("stream-async", "linked to")):
        (screen,) = output_lines(sections[mode], "screen:")
        assert CARD in screen
        (span,) = output_lines(sections[mode], "span:")
        assert "decision=warn" in span and "findings=CREDIT_CARD" in span
        assert f"({relation} the LLM span)" in span
    (screen,) = output_lines(sections["stream-sync"], "screen:")
    assert PLACEHOLDER.search(screen)
    _assert_no_card_digits(sections["stream-sync"])


def test_stream_sync_never_shows_a_digit_of_the_card() -> None:
    done = run_block(readme_block(EXAMPLE, "stream-sync"))
    assert done.returncode == 0, done.stderr
    assert list(_sections(done.stdout)) == ["stream-sync"]
    _assert_no_card_digits(done.stdout + done.stderr)
    (screen,) = output_lines(done.stdout, "screen:")
    expected = "Sure. The card on file is [CREDIT_CARD], valid until next spring."
    assert PLACEHOLDER.sub("[CREDIT_CARD]", screen) == expected
    (chunks,) = output_lines(done.stdout, "chunks:")
    counts = re.fullmatch(r"(\d+) received, (\d+) without text", chunks)
    assert counts is not None
    assert int(counts.group(2)) > 2  # the chunks that carried digits were held back
    (span,) = output_lines(done.stdout, "span:")
    assert "decision=modify" in span and "findings=CREDIT_CARD" in span


def test_halt_ends_the_stream_before_the_card() -> None:
    done = run_block(readme_block(EXAMPLE, "halt"))
    assert done.returncode == 0, done.stderr
    assert done.stdout == readme_output(EXAMPLE, "halt")
    _assert_no_card_digits(done.stdout + done.stderr)


def test_otlp_run_exports_the_three_output_checks(otlp_receiver: OtlpReceiver) -> None:
    done = run_block(readme_block(EXAMPLE, "otlp"), ports={4318: otlp_receiver.port})
    assert done.returncode == 0, done.stderr
    outputs = otlp_receiver.wait_for_spans(
        3, timeout=30, predicate=lambda s: s.name == "apply_guardrail tsz llm_output"
    )
    llm = {s.span_id: s for s in otlp_receiver.spans() if s.name.startswith("chat ")}
    assert len(llm) == 3
    children = [s for s in outputs if s.parent_span_id in llm]
    linked = [s for s in outputs if any(link.span_id in llm for link in s.links)]
    assert sorted(s.attributes["gen_ai.security.decision.type"] for s in children) == [
        "modify",  # stream-sync
        "warn",  # final-only
    ]
    (late,) = linked  # stream-async: linked to its LLM span, not a child
    assert late.parent_span_id not in llm
    assert late.attributes["tsz.reasons"] == "CREDIT_CARD"
    assert all(s.resource["service.name"] == "streaming-demo" for s in outputs)
    exported = otlp_receiver.decoded_text()
    assert CARD not in exported and CARD_DIGITS not in exported
