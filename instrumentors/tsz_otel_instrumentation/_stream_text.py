"""The text side of a guarded stream: channels, the stream-sync hold-back filter, restore.

A streamed answer is a set of *channels* (choice 0's content, its refusal, tool call 1's
arguments, a Responses output text ...), each a sequence of deltas. :class:`StreamText`
keeps every channel's raw text (for the evaluation at the end) and, when the stream has
to be rewritten, pushes each delta through a chain of stages that each release only what
is final:

* :class:`HoldBackFilter` (stream-sync, mask/block): releases only the prefix no
  pattern can still extend (``Engine.stable_prefix``; without it, everything but the last
  ``max_match_chars``), with detected values replaced by their placeholders. A value split
  across chunks at any position therefore never reaches the caller, not even partly.
  A block-level finding with ``halt`` stops the stream (:class:`Halt`).
* :class:`RestoreStage` (``TSZ_RESTORE_OUTPUT``): puts masked input values back, holding
  back a suffix that may still grow into a placeholder.

Each delta costs one scan of a bounded window (held-back text plus a little released
context for context words), so added latency per chunk stays bounded.

Async streams scan with the engine's ``adetect`` (a remote engine or AI scoring never
blocks the event loop). The rewriting stays one synchronous implementation: a filter built
without a scan function raises :class:`ScanNeeded` for a window it has no result for, the
async driver awaits ``adetect`` for it and runs the step again. A step is safe to run
again because nothing is changed before a scan succeeds, and :meth:`StreamText.journal`
replays the outputs of the operations the earlier attempt already completed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable, Sequence
from typing import Any, Final, Protocol

from tsz_otel.models import DetectionResult, DetectResponse
from tsz_otel.policy import is_blocking

from ._guarding import Restorer

__all__ = ["Halt", "HoldBackFilter", "RestoreStage", "ScanNeeded", "StreamText"]

_logger = logging.getLogger(__name__)

DEFAULT_WINDOW: Final = 256
"""Hold-back when the engine gives neither ``stable_prefix`` nor ``max_match_chars``."""

CONTEXT_CHARS: Final = 64
"""Released text kept to the left of the window, so context words still count."""

_REPLACED_ACTIONS: Final = frozenset({"MASK", "BLOCK"})


class Halt(Exception):
    """A block-level value was found and the stream must stop (``halt``)."""

    def __init__(self, types: Sequence[str]) -> None:
        super().__init__("stream halted: " + ", ".join(types))
        self.types = tuple(types)


class ScanNeeded(Exception):
    """A deferred-scan filter needs the engine's result for ``text`` (async streams).

    Raised before the filter changed anything; the driver provides the response with
    :meth:`HoldBackFilter.provide` and runs the step again.
    """

    def __init__(self, text: str, holder: HoldBackFilter) -> None:
        super().__init__("scan needed")
        self.text = text
        self.holder = holder


class Stage(Protocol):
    def feed(self, text: str) -> str: ...

    def finish(self, text: str) -> str:
        """``text`` is the channel's last delta: everything still held, in one step."""
        ...


Scan = Callable[[str], DetectResponse]


def _replaced(response: DetectResponse) -> list[DetectionResult]:
    """Detections the engine replaced in its redacted text, by start, non-overlapping."""
    chosen: list[DetectionResult] = []
    end = -1
    candidates = [
        d
        for d in response.detections
        if d.char_start is not None
        and d.char_end is not None
        and (d.action in _REPLACED_ACTIONS or is_blocking(d))
    ]
    for detection in sorted(candidates, key=lambda d: (d.char_start or 0, -(d.char_end or 0))):
        start = detection.char_start or 0
        if start >= end:
            chosen.append(detection)
            end = detection.char_end or 0
    return chosen


class HoldBackFilter:
    """stream-sync: release only final text, with detected values replaced (see module).

    ``scan`` is ``None`` for a deferred-scan filter (async streams): results arrive
    through :meth:`provide` after a :class:`ScanNeeded`.
    """

    __slots__ = ("_context", "_halting", "_pending", "_ready", "_scan", "_stable", "_window")

    def __init__(
        self,
        scan: Scan | None,
        stable_prefix: Callable[[str], int] | None,
        window: int,
        halting: bool,
    ) -> None:
        self._scan = scan
        self._stable = stable_prefix
        self._window = max(1, window)
        self._halting = halting
        self._pending = ""
        self._context = ""
        self._ready: tuple[str, DetectResponse] | None = None

    @classmethod
    def for_engine(
        cls, engine: Any, rid: str | None, halting: bool, *, deferred: bool = False
    ) -> HoldBackFilter:
        """A filter over ``engine`` (anything with ``detect``; ``stable_prefix`` and
        ``max_match_chars`` are used when present). ``deferred``: scans are provided by
        an async driver (``engine.adetect``) instead of calling ``detect``."""
        stable = getattr(engine, "stable_prefix", None)
        window = getattr(engine, "max_match_chars", None)

        def scan(text: str) -> DetectResponse:
            response: DetectResponse = engine.detect(text, rid=rid)
            return response

        return cls(
            None if deferred else scan,
            stable if callable(stable) else None,
            window if isinstance(window, int) and window > 0 else DEFAULT_WINDOW,
            halting,
        )

    def provide(self, text: str, response: DetectResponse) -> None:
        """The engine's response for the window a :class:`ScanNeeded` asked about."""
        self._ready = (text, response)

    def _response(self, text: str) -> DetectResponse:
        if self._scan is not None:
            return self._scan(text)
        ready = self._ready
        if ready is not None and ready[0] == text:
            self._ready = None
            return ready[1]
        raise ScanNeeded(text, self)

    def _cut(self, pending: str) -> int:
        if self._stable is not None:
            return max(0, min(len(pending), int(self._stable(pending))))
        return max(0, len(pending) - self._window)

    def feed(self, text: str) -> str:
        pending = self._pending + text
        cut = self._cut(pending)
        if cut <= 0:
            self._pending = pending
            return ""
        return self._release(pending, cut, final=False)

    def finish(self, text: str) -> str:
        """The last delta and everything held back, released with one final scan."""
        pending = self._pending + text
        return self._release(pending, len(pending), final=True) if pending else ""

    def _release(self, pending: str, cut: int, *, final: bool) -> str:
        """Release ``pending[:cut]`` (less, if a value straddles the cut). State changes
        only after the scan, so a :class:`ScanNeeded` leaves the filter as it was."""
        offset = len(self._context)
        response = self._response(self._context + pending)
        pieces: list[str] = []
        pos = 0
        blocking: list[str] = []
        for detection in _replaced(response):
            start = (detection.char_start or 0) - offset
            end = (detection.char_end or 0) - offset
            if end <= 0:  # wholly inside already released context
                continue
            start = max(start, 0)  # began in released context: mask what is still here
            if start >= cut:
                break
            if end > cut and not final:  # not wholly releasable yet: hold all of it back
                cut = start
                break
            if start < pos:
                continue
            if is_blocking(detection):
                blocking.append(detection.type)
            pieces.append(pending[pos:start])
            pieces.append(detection.placeholder)
            pos = min(end, len(pending))
        if blocking and self._halting:
            self._pending = pending
            raise Halt(blocking)
        pieces.append(pending[pos:cut])
        self._context = (self._context + pending[:cut])[-CONTEXT_CHARS:]
        self._pending = pending[cut:]
        return "".join(pieces)


class RestoreStage:
    """Restore masked input values, holding back a possible placeholder prefix."""

    __slots__ = ("_held", "_restorer")

    def __init__(self, restorer: Restorer) -> None:
        self._restorer = restorer
        self._held = ""

    def feed(self, text: str) -> str:
        buffer = self._held + text
        cut = self._restorer.split_safe(buffer)
        self._held = buffer[cut:]
        return self._restorer.apply(buffer[:cut])

    def finish(self, text: str) -> str:
        buffer, self._held = self._held + text, ""
        return self._restorer.apply(buffer)


class _Channel:
    """One channel's texts and stages. ``started`` once its first delta went through: a
    channel whose first delta still waits for a scan counts as not seen yet."""

    __slots__ = ("emitted", "raw", "stages", "started")

    def __init__(self, stages: list[Stage]) -> None:
        self.raw: list[str] = []
        self.emitted: list[str] = []
        self.stages = stages
        self.started = False

    def run(self, text: str, final: bool) -> str:
        for stage in self.stages:
            text = stage.finish(text) if final else stage.feed(text)
        return text


class StreamText:
    """Every channel of one streamed answer (see the module docstring).

    ``stages`` builds a new channel's stage chain (empty: deltas pass unchanged).
    After a :class:`Halt`, ``halted`` holds it and nothing more is released.
    """

    __slots__ = ("_channels", "_cursor", "_journal", "_make_stages", "halted", "rewrites")

    def __init__(self, stages: Callable[[], list[Stage]] | None = None) -> None:
        self._make_stages = stages
        self.rewrites = stages is not None
        self._channels: dict[Hashable, _Channel] = {}
        self.halted: Halt | None = None
        self._journal: list[str] | None = None
        self._cursor = 0

    # -- the journal of one async step --------------------------------------------------

    def journal(self) -> None:
        """Start recording operation outputs: a step run again replays them."""
        self._journal, self._cursor = [], 0

    def rewind(self) -> None:
        """Run the step again from its first operation (completed ones are replayed)."""
        self._cursor = 0

    def end_journal(self) -> None:
        self._journal = None

    def _replayed(self) -> str | None:
        journal = self._journal
        if journal is None or self._cursor >= len(journal):
            return None
        self._cursor += 1
        return journal[self._cursor - 1]

    def _done(self, out: str) -> str:
        if self._journal is not None:
            self._journal.append(out)
            self._cursor += 1
        return out

    # -- operations ---------------------------------------------------------------------

    def _channel(self, key: Hashable) -> _Channel:
        channel = self._channels.get(key)
        if channel is None:
            stages = self._make_stages() if self._make_stages is not None else []
            channel = self._channels[key] = _Channel(stages)
        return channel

    def feed(self, key: Hashable, delta: str) -> str:
        """What to send the caller for ``delta`` of channel ``key``."""
        channel = self._channel(key)
        if not self.rewrites:
            channel.started = True
            channel.raw.append(delta)
            channel.emitted.append(delta)
            return delta
        replayed = self._replayed()
        if replayed is not None:
            return replayed
        out = "" if self.halted is not None else self._run(channel, delta, final=False)
        channel.raw.append(delta)  # after the stages: a ScanNeeded left nothing behind
        channel.started = True
        return self._done(out)

    def flush(self, key: Hashable) -> str:
        """The rest of channel ``key`` (it ended)."""
        channel = self._channels.get(key)
        if channel is None or not channel.started or not self.rewrites:
            return ""
        replayed = self._replayed()
        if replayed is not None:
            return replayed
        out = "" if self.halted is not None else self._run(channel, "", final=True)
        return self._done(out)

    def _run(self, channel: _Channel, delta: str, final: bool) -> str:
        try:
            out = channel.run(delta, final)
        except Halt as halt:
            self.halted = halt
            return ""
        channel.emitted.append(out)
        return out

    def whole(self, key: Hashable, text: str) -> str:
        """A channel delivered in one piece (a ``.done`` event without deltas)."""
        out = self.feed(key, text)
        return out + self.flush(key)

    def keys(self) -> list[Hashable]:
        return [key for key, channel in self._channels.items() if channel.started]

    def seen(self, key: Hashable) -> bool:
        channel = self._channels.get(key)
        return channel is not None and channel.started

    def emitted(self, key: Hashable) -> str:
        channel = self._channels.get(key)
        return "".join(channel.emitted) if channel is not None else ""

    def raw_texts(self) -> list[str]:
        return ["".join(c.raw) for c in self._channels.values()]
