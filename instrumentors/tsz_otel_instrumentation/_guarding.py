"""The instrumentors' side of :class:`tsz_otel.guard.Guard`: one place that calls it.

:class:`Guarding` is built once per ``instrument()`` call and bound into the wrappers. It
turns a request body (or a parsed answer) into guard segments, calls ``Guard.check`` /
``Guard.acheck`` once per direction (one ``apply_guardrail`` span each), and writes the
verdict back: masked texts into a *copy* of the request body (the caller's objects are
never mutated), masked answers into the answer object. Block verdicts raise
:class:`~tsz_otel.errors.GuardrailBlockedError` before anything is sent (input) or
returned (output).

With ``TSZ_RESTORE_OUTPUT=true`` the values masked on input are put back into the answer
for the caller (:class:`Restorer`), after the answer itself was checked.

In observe mode nothing of the call depends on a verdict, so with ``TSZ_OBSERVE_ASYNC=true``
the checks run on a :class:`Worker` thread instead of the caller's: the
``apply_guardrail`` spans (children of the LLM span) appear a moment later, and the LLM
span keeps the end time of the call. It is off by default: with the inline engine a check
is CPU work under the GIL, so moving it to a thread saves the process nothing (measured
with ``benchmarks/bench_instrumentation.py``: the same or more CPU per call, no steady
wall-clock gain, a worse tail when the caller waits for the GIL). It pays off when checks
wait on the network (a remote TSZ engine, AI scoring).
"""

from __future__ import annotations

import atexit
import copy
import logging
import queue
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from opentelemetry.trace import Tracer

from tsz_otel.config import Settings
from tsz_otel.guard import Guard, Verdict
from tsz_otel.policy import RolloutMode
from tsz_otel.scope import GuardrailTargetType

from ._formats import Segment, WireFormat, segments
from ._llm_span import LLMCall, Server
from ._overrides import CallOptions

__all__ = ["Guarding", "InputResult", "Restorer", "Worker", "guard_from_kwargs"]

_logger = logging.getLogger(__name__)

_INPUT = GuardrailTargetType.LLM_INPUT.value
_OUTPUT = GuardrailTargetType.LLM_OUTPUT.value
_ASSISTANT = "assistant"


class Restorer:
    """Puts masked input values back into an answer: placeholder -> original value.

    Only placeholders that stand for exactly one value are restored (an ambiguous
    ``[EMAIL]`` is left alone). The mapping lives only as long as the call.
    """

    __slots__ = ("_first", "_mapping", "_max", "_pattern")

    def __init__(self, mapping: Mapping[str, str]) -> None:
        self._mapping = dict(mapping)
        ordered = sorted(self._mapping, key=len, reverse=True)
        self._pattern = re.compile("|".join(re.escape(p) for p in ordered))
        self._max = max(len(p) for p in ordered)
        self._first = frozenset(p[0] for p in ordered)

    @classmethod
    def from_verdict(cls, verdict: Verdict) -> Restorer | None:
        values: dict[str, set[str]] = {}
        for response in verdict.responses:
            for detection in response.detections:
                if detection.placeholder and detection.placeholder != detection.value:
                    values.setdefault(detection.placeholder, set()).add(detection.value)
        unique = {p: next(iter(v)) for p, v in values.items() if len(v) == 1}
        return cls(unique) if unique else None

    def apply(self, text: str) -> str:
        return self._pattern.sub(lambda m: self._mapping[m.group(0)], text)

    def split_safe(self, text: str) -> int:
        """How much of ``text`` can be restored now: up to a suffix that may still grow
        into a placeholder."""
        start = max(0, len(text) - self._max + 1)
        for index in range(start, len(text)):
            if text[index] in self._first:
                tail = text[index:]
                if any(p.startswith(tail) and p != tail for p in self._mapping):
                    return index
        return len(text)


@dataclass(slots=True)
class InputResult:
    """What the input check leaves for the rest of the call."""

    body: Any
    verdict: Verdict | None
    restorer: Restorer | None


def _messages(found: Sequence[Segment], role: str | None = None) -> list[dict[str, str]]:
    return [{"role": role or s.role, "content": s.text} for s in found]


def _write_back(found: Sequence[Segment], verdict: Verdict) -> bool:
    """Write the verdict's redacted texts into ``found``; whether anything changed."""
    if not verdict.masked or verdict.messages is None:
        return False
    changed = False
    for segment, message in zip(found, verdict.messages, strict=True):
        text = message.get("content")
        if isinstance(text, str) and text != segment.text:
            segment.write(text)
            changed = True
    return changed


class Worker:
    """One background thread running guard work in submission order.

    Used for observe-mode checks (``TSZ_OBSERVE_ASYNC=true``, the call never waits for
    them), stream-async checks and the final check of an abandoned stream. FIFO order
    means a call's input check, output check and the end of its LLM span happen in that
    order. When the backlog is full, or after
    :meth:`shutdown`, work runs inline in the caller's thread instead (back-pressure).
    """

    MAX_BACKLOG: Final = 1024

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[Callable[[], object] | None] = queue.SimpleQueue()
        self._idle = threading.Condition()
        self._pending = 0
        self._thread: threading.Thread | None = None
        self._closed = False

    def submit(self, work: Callable[[], object]) -> None:
        with self._idle:
            inline = self._closed or self._pending >= self.MAX_BACKLOG
            if not inline:
                self._pending += 1
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._run, name="tsz-guard-worker", daemon=True
                    )
                    self._thread.start()
        if inline:
            _run_quietly(work)
        else:
            self._queue.put(work)

    def _run(self) -> None:
        while True:
            work = self._queue.get()
            if work is None:
                return
            _run_quietly(work)
            with self._idle:
                self._pending -= 1
                if self._pending == 0:
                    self._idle.notify_all()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything submitted so far ran; whether it did in time."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def shutdown(self, timeout: float | None = 30.0) -> None:
        self.flush(timeout)
        with self._idle:
            self._closed = True
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout)


def _run_quietly(work: Callable[[], object]) -> None:
    try:
        work()
    except Exception:  # background guard work must never surface anywhere
        _logger.exception("background guardrail work failed")


class Guarding:
    """The guard and what the wrappers derive from its settings (see the module)."""

    def __init__(self, guard: Guard) -> None:
        self.guard = guard
        self.settings = guard.settings
        self.roles = frozenset(self.settings.input_roles)
        self.defaults = CallOptions.defaults(self.settings)
        self.output_mode = guard.mode_for(_OUTPUT)
        background = self.settings.observe_async
        self.defer_input = background and guard.mode_for(_INPUT) is RolloutMode.OBSERVE
        self.defer_output = background and self.output_mode is RolloutMode.OBSERVE
        self.worker = Worker()
        atexit.register(self._at_exit)  # queued checks must reach the exporter

    def _at_exit(self) -> None:
        self.worker.flush(5.0)

    def start_llm(
        self, tracer: Tracer, fmt: WireFormat, model: str | None, server: Server, stream: bool
    ) -> LLMCall:
        """The call's LLM span; ended by the worker when checks run in the background."""
        llm = LLMCall.start(tracer, fmt, model, server, stream)
        if self.defer_input or self.defer_output:
            llm.scheduler = self.worker.submit
        return llm

    def _later(
        self,
        messages: list[dict[str, str]],
        target: str,
        rid: str | None,
        options: CallOptions,
        llm: LLMCall,
    ) -> None:
        """Queue an observe-mode check (a child of the LLM span, decided in observe mode)."""
        guard = self.guard

        def check() -> None:
            guard.check(
                messages,
                target,
                rid=rid,
                guardrails=options.guardrails,
                parent=llm.context,
                raise_on_block=False,
            )

        self.worker.submit(check)

    # ------------------------------------------------------------------ input

    def _input_segments(self, fmt: WireFormat, body: Any) -> list[Segment]:
        return segments(body, fmt.inputs, self.roles)

    def _apply_input(
        self, fmt: WireFormat, body: Any, found: list[Segment], verdict: Verdict
    ) -> InputResult:
        if not verdict.masked:
            return InputResult(body, verdict, None)
        redacted = copy.deepcopy(body)
        _write_back(self._input_segments(fmt, redacted), verdict)
        restorer = Restorer.from_verdict(verdict) if self.settings.restore_output else None
        return InputResult(redacted, verdict, restorer)

    def check_input(
        self, fmt: WireFormat, body: Any, options: CallOptions, llm: LLMCall
    ) -> InputResult:
        """Check a request body; returns the body to send. Raises on a block verdict."""
        found = self._input_segments(fmt, body)
        if not found:
            return InputResult(body, None, None)
        if self.defer_input:
            self._later(_messages(found), _INPUT, options.rid, options, llm)
            return InputResult(body, None, None)
        verdict = self.guard.check(
            _messages(found),
            _INPUT,
            rid=options.rid,
            guardrails=options.guardrails,
            parent=llm.context,
        )
        return self._apply_input(fmt, body, found, verdict)

    async def acheck_input(
        self, fmt: WireFormat, body: Any, options: CallOptions, llm: LLMCall
    ) -> InputResult:
        """The async twin of :meth:`check_input`."""
        found = self._input_segments(fmt, body)
        if not found:
            return InputResult(body, None, None)
        if self.defer_input:
            self._later(_messages(found), _INPUT, options.rid, options, llm)
            return InputResult(body, None, None)
        verdict = await self.guard.acheck(
            _messages(found),
            _INPUT,
            rid=options.rid,
            guardrails=options.guardrails,
            parent=llm.context,
        )
        return self._apply_input(fmt, body, found, verdict)

    # ------------------------------------------------------------------ whole answers

    def check_output(
        self,
        fmt: WireFormat,
        answer: Any,
        options: CallOptions,
        llm: LLMCall,
        restorer: Restorer | None,
    ) -> bool:
        """Check a whole answer (dict or SDK object) and mask it in place.

        Returns whether the answer changed. Raises on a block verdict.
        """
        found = segments(answer, fmt.outputs, None)
        if not found:
            return False
        if self.defer_output:
            self._later(_messages(found, _ASSISTANT), _OUTPUT, options.output_rid, options, llm)
            return False
        verdict = self.guard.check(
            _messages(found, _ASSISTANT),
            _OUTPUT,
            rid=options.output_rid,
            guardrails=options.guardrails,
            parent=llm.context,
        )
        return self._finish_output(fmt, answer, found, verdict, restorer)

    async def acheck_output(
        self,
        fmt: WireFormat,
        answer: Any,
        options: CallOptions,
        llm: LLMCall,
        restorer: Restorer | None,
    ) -> bool:
        """The async twin of :meth:`check_output`."""
        found = segments(answer, fmt.outputs, None)
        if not found:
            return False
        if self.defer_output:
            self._later(_messages(found, _ASSISTANT), _OUTPUT, options.output_rid, options, llm)
            return False
        verdict = await self.guard.acheck(
            _messages(found, _ASSISTANT),
            _OUTPUT,
            rid=options.output_rid,
            guardrails=options.guardrails,
            parent=llm.context,
        )
        return self._finish_output(fmt, answer, found, verdict, restorer)

    def _finish_output(
        self,
        fmt: WireFormat,
        answer: Any,
        found: list[Segment],
        verdict: Verdict,
        restorer: Restorer | None,
    ) -> bool:
        changed = _write_back(found, verdict)
        if restorer is None:
            return changed
        for segment in segments(answer, fmt.outputs, None):
            restored = restorer.apply(segment.text)
            if restored != segment.text:
                segment.write(restored)
                changed = True
        return changed

    # ------------------------------------------------------------------ finished streams

    def stream_verdict(
        self,
        texts: Sequence[str],
        options: CallOptions,
        llm: LLMCall,
        mode: RolloutMode,
        *,
        linked: bool = False,
    ) -> Verdict | None:
        """Evaluate a finished (or halted) stream's answer; never raises a block.

        ``mode`` is what the stream actually did (observe when nothing was rewritten), so
        the decision never claims a mask or block that did not happen. ``linked``:
        stream-async, the span is linked to the LLM span instead of being its child (the
        LLM span may have ended by then).
        """
        messages = [{"role": _ASSISTANT, "content": t} for t in texts if t]
        if not messages:
            return None
        if linked:
            return self.guard.check_output(
                messages,
                link_to=llm.span_context,
                parent=llm.parent,
                rid=options.output_rid,
                guardrails=options.guardrails,
                mode=mode,
                raise_on_block=False,
            )
        return self.guard.check(
            messages,
            _OUTPUT,
            rid=options.output_rid,
            guardrails=options.guardrails,
            mode=mode,
            parent=llm.context,
            raise_on_block=False,
        )

    async def astream_verdict(
        self, texts: Sequence[str], options: CallOptions, llm: LLMCall, mode: RolloutMode
    ) -> Verdict | None:
        """The async twin of :meth:`stream_verdict` (child span, not linked)."""
        messages = [{"role": _ASSISTANT, "content": t} for t in texts if t]
        if not messages:
            return None
        return await self.guard.acheck(
            messages,
            _OUTPUT,
            rid=options.output_rid,
            guardrails=options.guardrails,
            mode=mode,
            parent=llm.context,
            raise_on_block=False,
        )

    def submit_linked(self, texts: Sequence[str], options: CallOptions, llm: LLMCall) -> None:
        """stream-async: evaluate in the background, linked to the LLM span."""
        chosen = list(texts)
        self.worker.submit(
            lambda: self.stream_verdict(chosen, options, llm, RolloutMode.OBSERVE, linked=True)
        )

    def force_flush(self, timeout: float | None = None) -> bool:
        """Wait for background checks; whether all finished in time."""
        return self.worker.flush(timeout)

    def shutdown(self) -> None:
        """Finish background work and stop the worker thread (on ``uninstrument``)."""
        atexit.unregister(self._at_exit)
        self.worker.shutdown()


def guard_from_kwargs(kwargs: Mapping[str, Any]) -> Guard:
    """The guard of an ``instrument(**kwargs)`` call: ``guard=``, else one built from
    ``settings=`` (default: the environment) and the given providers."""
    guard = kwargs.get("guard")
    if isinstance(guard, Guard):
        return guard
    settings = kwargs.get("settings")
    return Guard(
        settings if isinstance(settings, Settings) else None,
        tracer_provider=kwargs.get("tracer_provider"),
        meter_provider=kwargs.get("meter_provider"),
    )
