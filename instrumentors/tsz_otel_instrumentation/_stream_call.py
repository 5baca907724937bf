"""What one guarded stream does at its end, per stream mode.

=============  =====================================  ======================================
stream mode    while streaming                        at the end (exhausted, closed early)
=============  =====================================  ======================================
final-only     chunks pass unchanged                  the whole answer is checked; the
                                                      ``apply_guardrail`` span is a child of
                                                      the LLM span; never interrupts
stream-sync    mask/block: only sanitised text is     the whole raw answer is checked for
               released (:mod:`._stream_text`);       the span; ``halt`` already stopped the
               ``halt`` + block-level value (block    stream with an error event
               mode) ends the stream
stream-async   chunks pass unchanged                  the check runs on a background thread
                                                      in a span *linked* to the LLM span;
                                                      the caller never waits for it
=============  =====================================  ======================================

A stream dropped unfinished (garbage-collected without being exhausted or closed) still
gets its check, on the text received so far, on the instrumentor's worker thread.

In observe mode nothing is ever rewritten (stream-sync behaves as final-only); the span
still says what would have been masked or blocked. The LLM span ends exactly once, after
the final check (or right away for stream-async), and is marked failed on a halt.
"""

from __future__ import annotations

import logging
import threading
import time

from tsz_otel.guard import Verdict
from tsz_otel.models import DetectResponse
from tsz_otel.policy import RolloutMode

from ._formats import ResponseInfo
from ._guarding import Guarding, Restorer
from ._llm_span import LLMCall
from ._overrides import CallOptions
from ._stream_text import HoldBackFilter, RestoreStage, Stage, StreamText

__all__ = ["HALT_ERROR_TYPE", "StreamCall"]

_logger = logging.getLogger(__name__)

HALT_ERROR_TYPE = "GuardrailBlockedError"


def _evaluation_mode(mode: RolloutMode, filtering: bool, halting: bool) -> RolloutMode:
    """The mode a finished stream is judged in: what the stream really did to the text.

    Nothing rewritten (observe, final-only, stream-async) -> observe (``warn``, "would
    mask/block"); filtered -> mask (``modify``); halted on block-level values -> block.
    """
    if halting:
        return RolloutMode.BLOCK
    return RolloutMode.MASK if filtering else RolloutMode.OBSERVE


class StreamCall:
    """The guard side of one stream (see the module docstring). Finishes once."""

    __slots__ = (
        "_done",
        "_evaluated",
        "_lock",
        "eval_mode",
        "filtering",
        "guarding",
        "halting",
        "llm",
        "options",
        "restorer",
        "verdict",
    )

    def __init__(
        self,
        guarding: Guarding,
        options: CallOptions,
        llm: LLMCall,
        restorer: Restorer | None,
    ) -> None:
        mode = guarding.output_mode
        self.guarding = guarding
        self.options = options
        self.llm = llm
        self.restorer = restorer
        self.filtering = options.stream_mode == "stream-sync" and mode is not RolloutMode.OBSERVE
        self.halting = (
            self.filtering and options.stream_on_fail == "halt" and mode is RolloutMode.BLOCK
        )
        self.eval_mode = _evaluation_mode(mode, self.filtering, self.halting)
        self.verdict: Verdict | None = None
        self._lock = threading.Lock()
        self._done = False
        self._evaluated = False

    def new_text(self, *, deferred: bool = False) -> StreamText:
        """The channel set of this stream, with the stages its mode needs. ``deferred``:
        an async stream, whose filters get their scans from :meth:`ascan`."""
        if not (self.filtering or self.restorer is not None):
            return StreamText()
        engine = self.guarding.guard.engine
        rid = self.options.output_rid
        restorer = self.restorer

        def stages() -> list[Stage]:
            chain: list[Stage] = []
            if self.filtering:
                filter_ = HoldBackFilter.for_engine(engine, rid, self.halting, deferred=deferred)
                chain.append(filter_)
            if restorer is not None:
                chain.append(RestoreStage(restorer))
            return chain

        return StreamText(stages)

    async def ascan(self, text: str) -> DetectResponse:
        """One hold-back window scanned with the engine's ``adetect`` (async streams)."""
        return await self.guarding.guard.engine.adetect(text, rid=self.options.output_rid)

    @property
    def halt_message(self) -> str:
        base = "Assistant response blocked by TSZ security policy"
        verdict = self.verdict
        if verdict is not None and verdict.blocking_types:
            return base + ": " + ", ".join(verdict.blocking_types)
        return base

    # ------------------------------------------------------------------ sync

    def halt(self, text: StreamText, info: ResponseInfo) -> None:
        """A halt: record the deny now, then end the LLM span as failed."""
        self._evaluate(text)
        self.finish(text, info, error_type=HALT_ERROR_TYPE)

    def finish(
        self,
        text: StreamText,
        info: ResponseInfo,
        error: BaseException | None = None,
        error_type: str | None = None,
    ) -> None:
        if not self._claim():
            return
        if self.options.stream_mode == "stream-async":
            self._submit(text)
        else:
            self._evaluate(text)
        self._end(info, error, error_type)

    def _evaluate(self, text: StreamText) -> None:
        if self._evaluated:
            return
        self._evaluated = True
        if self.guarding.defer_output and self.eval_mode is RolloutMode.OBSERVE:
            self._defer(text)
            return
        try:
            self.verdict = self.guarding.stream_verdict(
                text.raw_texts(), self.options, self.llm, self.eval_mode
            )
        except Exception:  # the stream was delivered already; never fail it here
            _logger.exception("guardrail evaluation of a finished stream failed")

    # ------------------------------------------------------------------ async

    async def ahalt(self, text: StreamText, info: ResponseInfo) -> None:
        await self._aevaluate(text)
        await self.afinish(text, info, error_type=HALT_ERROR_TYPE)

    async def afinish(
        self,
        text: StreamText,
        info: ResponseInfo,
        error: BaseException | None = None,
        error_type: str | None = None,
    ) -> None:
        if not self._claim():
            return
        if self.options.stream_mode == "stream-async":
            self._submit(text)
        else:
            await self._aevaluate(text)
        self._end(info, error, error_type)

    async def _aevaluate(self, text: StreamText) -> None:
        if self._evaluated:
            return
        self._evaluated = True
        if self.guarding.defer_output and self.eval_mode is RolloutMode.OBSERVE:
            self._defer(text)
            return
        try:
            self.verdict = await self.guarding.astream_verdict(
                text.raw_texts(), self.options, self.llm, self.eval_mode
            )
        except Exception:  # the stream was delivered already; never fail it here
            _logger.exception("guardrail evaluation of a finished stream failed")

    # ------------------------------------------------------------------ shared

    def _defer(self, text: StreamText) -> None:
        """Observe mode: the check runs on the worker (the LLM span ends after it)."""
        texts, guarding, options, llm = text.raw_texts(), self.guarding, self.options, self.llm
        guarding.worker.submit(
            lambda: guarding.stream_verdict(texts, options, llm, RolloutMode.OBSERVE)
        )

    def abandon(self, text: StreamText, info: ResponseInfo) -> None:
        """Garbage-collected unfinished: the final check runs on what was received, then
        the LLM span ends (at the time it was abandoned). Both go to the worker thread: a
        finalizer may run in any thread, inside any lock, and must neither block nor
        raise."""
        if not self._claim():
            return
        texts = text.raw_texts()
        end_time = time.time_ns()
        linked = self.options.stream_mode == "stream-async"
        mode = RolloutMode.OBSERVE if linked else self.eval_mode

        def finish() -> None:
            try:
                if any(texts):
                    self.verdict = self.guarding.stream_verdict(
                        texts, self.options, self.llm, mode, linked=linked
                    )
            finally:
                self.llm.record(info)
                self.llm.end(end_time=end_time)

        self.guarding.worker.submit(finish)

    def _claim(self) -> bool:
        with self._lock:
            if self._done:
                return False
            self._done = True
            return True

    def _submit(self, text: StreamText) -> None:
        texts = text.raw_texts()
        if any(texts):
            self.guarding.submit_linked(texts, self.options, self.llm)

    def _end(self, info: ResponseInfo, error: BaseException | None, error_type: str | None) -> None:
        self.llm.record(info)
        self.llm.end(error, error_type)
