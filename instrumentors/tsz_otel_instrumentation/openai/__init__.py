"""Guardrails inline in every ``openai`` SDK call, as OpenTelemetry instrumentation.

Patches the SDK's single request choke point (``OpenAI.request`` and
``AsyncOpenAI.request``), so Chat Completions, Responses, legacy Completions and
Embeddings, sync and async, streaming or not, the ``.stream()`` helpers and
``with_raw_response`` are all covered, on openai 1.x/2.x (``httpx``) and 3.x (``httpx2``).

Usage
-----

With no code change::

    pip install tsz-otel[openai]
    opentelemetry-instrument python app.py          # entry point ``tsz_openai``

Or explicitly, once, before the first call::

    from tsz_otel_instrumentation.openai import TszOpenAIInstrumentor

    TszOpenAIInstrumentor().instrument()            # settings from TSZ_* variables
    client = openai.OpenAI()
    client.chat.completions.create(model="gpt-4o-mini", messages=[...])

    TszOpenAIInstrumentor().uninstrument()          # restores the SDK

``instrument()`` takes ``tracer_provider``, ``meter_provider``, ``settings`` (a
:class:`tsz_otel.Settings`) or a ready ``guard`` (a :class:`tsz_otel.guard.Guard`).

What a call looks like
----------------------

* a ``{operation} {model}`` CLIENT span (``chat gpt-4o-mini``) following the GenAI client
  conventions, *unless* a GenAI span is already current (e.g. from
  ``opentelemetry-instrumentation-genai-openai``): then that span is the parent and no
  second one is made;
* an ``apply_guardrail tsz llm_input`` span for the request and an
  ``apply_guardrail tsz llm_output`` span for the answer, with one finding event per
  detection and never a raw value.

Input: the messages of the roles in ``TSZ_INPUT_ROLES`` (default ``user,system,tool``;
text parts of multi-part content; tool-call arguments count as ``tool``), Responses
``instructions``/``input`` items, Completions ``prompt``, Embeddings ``input``.
Output: assistant text, tool-call arguments and refusals.

Rollout modes (``TSZ_MODE``)
----------------------------

* ``observe``: nothing changes; findings are recorded (decision ``warn``).
* ``mask``: the request that leaves the process is a redacted copy (the caller's own
  objects are not touched); the answer is redacted before the caller sees it. With
  ``TSZ_PLACEHOLDER_STYLE=indexed`` and ``TSZ_RESTORE_OUTPUT=true`` the values masked
  on input are put back into the answer for the caller.
* ``block``: :class:`tsz_otel.GuardrailBlockedError` is raised before any byte goes
  upstream (input) or before the answer reaches the caller (output).

Streams (``TSZ_STREAM_MODE``, ``TSZ_STREAM_ON_FAIL``)
-----------------------------------------------------

* ``final-only`` (default): chunks pass as they come; the whole answer is checked at the
  end and the span records the result.
* ``stream-sync``: the caller only receives sanitised text. A hold-back buffer releases
  only text no pattern can still extend, so a value split across chunks never reaches
  the caller, not even partly. ``filter`` replaces the value and goes on; ``halt``
  (block mode) ends the stream with an OpenAI-style error event, raised to the caller as
  :class:`GuardrailStreamHaltedError` (a ``GuardrailBlockedError`` and an
  ``openai.APIError`` with code ``tsz_output_blocked``).
* ``stream-async``: the raw stream goes to the caller; the whole answer is checked on a
  background thread after it ends, in a span linked to the LLM span.
  :meth:`TszOpenAIInstrumentor.force_flush` waits for those checks.

Streams stay ``openai.Stream``/``AsyncStream`` instances (``wrapt`` proxies), work as
(async) context managers, and end their spans when exhausted, closed early or
garbage-collected.

Per call, the TSZ gateway headers override the settings and are removed before the
request leaves::

    client.chat.completions.create(
        model="gpt-4o-mini", messages=messages, stream=True,
        extra_headers={
            "X-TSZ-Guardrails-Mode": "stream-sync",     # final-only | stream-sync | stream-async
            "X-TSZ-Guardrails-OnFail": "halt",          # filter | halt
            "X-TSZ-Guardrails": "TOXIC_LANGUAGE",       # validators to add
            "X-TSZ-RID": "RID-42",                      # request id (placeholders, spans)
        },
    )

Configuration
-------------

Every ``TSZ_*`` setting of :class:`tsz_otel.Settings` applies, e.g.::

    export TSZ_MODE=mask
    export TSZ_STREAM_MODE=stream-sync
    export TSZ_INPUT_ROLES=user,tool
    export TSZ_OBSERVE_ASYNC=true       # observe-mode checks in the background (default: inline)

Observe mode never waits for a verdict, so with ``TSZ_OBSERVE_ASYNC=true`` its checks run
on a background thread of the instrumentor: the ``apply_guardrail`` spans (still children
of the LLM span, which keeps the call's end time) appear a moment after the call returns;
:meth:`TszOpenAIInstrumentor.force_flush` waits for them and they are flushed at
interpreter exit. The default (``false``) checks inline, like mask and block mode always
do: with the inline engine a check is CPU work that shares the GIL with the application,
and measured per call (``benchmarks/bench_instrumentation.py``, variants ``tsz observe``
and ``tsz observe, async``) the background thread cost as much CPU or more and gave no
steady wall-clock gain, while it delays the spans. Turn it on for a remote engine or AI
scoring, whose checks wait on the network.

Suppression: inside ``opentelemetry.instrumentation.utils.suppress_instrumentation()`` (or
with ``is_instrumentation_enabled()`` false) calls pass through unguarded and untraced.
With the httpx instrumentor also active, a call guarded here is not evaluated again there.

``with_raw_response``: a masked answer is masked in the raw body too (``.text``,
``.json()``, ``.content`` and ``.parse()`` agree; ``Content-Length`` is right). Limit: in
stream-sync, validators (``X-TSZ-Guardrails``) run on the whole answer at the end, not per
chunk.

API
---
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Collection
from typing import Any

from opentelemetry import trace
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]
from opentelemetry.instrumentation.utils import unwrap
from wrapt import wrap_function_wrapper

from .package import _instruments
from .version import __version__

__all__ = ["GuardrailStreamHaltedError", "TszOpenAIInstrumentor"]

_logger = logging.getLogger(__name__)


class TszOpenAIInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Guardrails for the ``openai`` SDK (see the module docstring)."""

    _core: Any = None

    def instrumentation_dependencies(self) -> Collection[str]:
        return _instruments

    def _instrument(self, **kwargs: Any) -> None:
        from .._guarding import Guarding, guard_from_kwargs
        from ._request import AsyncRequestWrapper, Core, RequestWrapper

        openai_module = importlib.import_module("openai")
        tracer = trace.get_tracer(__name__, __version__, kwargs.get("tracer_provider"))
        core = Core(tracer, Guarding(guard_from_kwargs(kwargs)), openai_module)
        wrap_function_wrapper("openai", "OpenAI.request", RequestWrapper(core))
        wrap_function_wrapper("openai", "AsyncOpenAI.request", AsyncRequestWrapper(core))
        self._core = core

    def _uninstrument(self, **kwargs: Any) -> None:
        openai_module = importlib.import_module("openai")
        unwrap(openai_module.OpenAI, "request")
        unwrap(openai_module.AsyncOpenAI, "request")
        core, self._core = self._core, None
        if core is not None:
            core.active = False
            core.guarding.shutdown()

    def force_flush(self, timeout: float | None = None) -> bool:
        """Wait for background (stream-async) checks; whether all finished in time."""
        core = self._core
        return True if core is None else bool(core.guarding.force_flush(timeout))


def __getattr__(name: str) -> Any:
    """``GuardrailStreamHaltedError`` is built on ``openai.APIError``: import on use."""
    if name == "GuardrailStreamHaltedError":
        from ._stream import GuardrailStreamHaltedError

        return GuardrailStreamHaltedError
    raise AttributeError(name)
