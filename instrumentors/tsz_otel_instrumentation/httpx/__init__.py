"""Guardrails for LLM traffic over ``httpx`` and ``httpx2``, at the transport level.

Any client that talks an LLM wire format over ``httpx`` or ``httpx2`` is covered: the
``openai`` SDK (2.x over ``httpx``, 3.x over ``httpx2``), the Anthropic SDK, Ollama
clients, LangChain/LiteLLM-style raw calls. Guarded are JSON POSTs whose path ends with

==========================  =====================================
``/chat/completions``       OpenAI-compatible Chat Completions
``/responses``              OpenAI Responses
``/completions``            OpenAI legacy Completions
``/embeddings``             OpenAI Embeddings (input only)
``/v1/messages``            Anthropic Messages
``/api/chat``               Ollama chat
``/api/generate``           Ollama generate
==========================  =====================================

Everything else passes through untouched at the cost of one comparison.

Usage
-----

::

    opentelemetry-instrument python app.py          # entry point ``tsz_httpx``

or::

    from tsz_otel_instrumentation.httpx import TszHTTPXInstrumentor

    TszHTTPXInstrumentor().instrument()             # patches httpx and httpx2
    httpx.post("https://api.anthropic.com/v1/messages", json=body, headers=...)
    TszHTTPXInstrumentor().uninstrument()

``instrument()`` takes ``tracer_provider``, ``meter_provider``, ``settings`` or ``guard``
(as the openai instrumentor), ``hosts`` (only these hosts are guarded) and ``paths`` (a
mapping of extra path suffixes to a format name, e.g. ``{"/v1/generate":
"openai.chat"}``). It patches ``HTTPTransport.handle_request`` and
``AsyncHTTPTransport.handle_async_request`` of each of ``httpx``/``httpx2`` that is
installed; custom transports (``MockTransport``) are not patched.

One client only::

    client = httpx.Client()
    TszHTTPXInstrumentor.instrument_client(client, settings=Settings(mode="mask"))
    ...
    TszHTTPXInstrumentor.uninstrument_client(client)

``instrument_client`` (same keyword arguments as ``instrument()``) wraps that client's
transport and mounted transports, custom ones included, and leaves every other client
alone; with the global instrumentation also active, a call is evaluated once.

What it does
------------

* Request: the same input rules, rollout modes and per-call ``X-TSZ-*`` headers as the
  openai instrumentor (see :mod:`tsz_otel_instrumentation.openai`). In mask mode the
  request is rebuilt with the redacted JSON body and a matching ``Content-Length``; in
  block mode :class:`tsz_otel.GuardrailBlockedError` is raised before the transport is
  called. ``X-TSZ-*`` headers never leave the process.
* Whole answers (``application/json``): read, checked, and replaced by a response with
  the redacted body (right ``Content-Length``, no ``Content-Encoding``), or the error is
  raised in block mode.
* Streams (``text/event-stream``, ``application/x-ndjson``): guarded while they stream in
  the three stream modes; a stream-sync halt ends the stream with the format's error event
  (OpenAI ``{"error": {"code": "tsz_output_blocked"}}`` + ``[DONE]``, Anthropic ``error``
  event, Ollama ``{"error": ...}`` line). gzip/deflate bodies are decoded first.
* Spans: ``{operation} {model}`` (provider ``openai``, ``anthropic`` or ``ollama``) unless a
  GenAI span is current, plus the ``apply_guardrail`` spans.

With the openai instrumentor also active, a call it guards is not evaluated again here.
Inside ``suppress_http_instrumentation()`` / ``suppress_instrumentation()`` nothing is
guarded.

Configuration
-------------

::

    export TSZ_HTTP_HOSTS=api.openai.com,llm.internal      # default: any host
    export TSZ_HTTP_PATHS=/v1/generate=openai.chat         # extra "<suffix>=<format>"

Format names: ``openai.chat``, ``openai.responses``, ``openai.completions``,
``openai.embeddings``, ``anthropic.messages``, ``ollama.chat``, ``ollama.generate``.

API
---
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Collection, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from opentelemetry.instrumentation.dependencies import (
    DependencyConflict,
    get_dependency_conflicts,
)
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]
from opentelemetry.instrumentation.utils import unwrap
from wrapt import wrap_function_wrapper

from tsz_otel.config import Settings
from tsz_otel.errors import ConfigurationError

from .package import _instruments, _instruments_any
from .version import __version__

if TYPE_CHECKING:
    from ._transport import Core

__all__ = ["TszHTTPXInstrumentor"]

_logger = logging.getLogger(__name__)

_MODULES = ("httpx", "httpx2")
_CLIENT_CORE = "_tsz_otel_core"
"""The attribute that marks a client guarded by :meth:`TszHTTPXInstrumentor.instrument_client`."""
_TARGETS = (
    ("HTTPTransport", "handle_request"),
    ("AsyncHTTPTransport", "handle_async_request"),
)


class TszHTTPXInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Guardrails for LLM calls over ``httpx``/``httpx2`` (see the module docstring)."""

    _core: Core | None = None
    _patched: tuple[str, ...] = ()

    def instrumentation_dependencies(self) -> Collection[str]:
        return _instruments

    def _check_dependency_conflicts(self) -> DependencyConflict | None:
        return get_dependency_conflicts(_instruments, _instruments_any)

    def _instrument(self, **kwargs: Any) -> None:
        from ._transport import handle_async_request, handle_request

        core = _core(kwargs)
        patched = []
        for name in _MODULES:
            try:
                module = importlib.import_module(name)
            except ImportError:
                continue
            wrappers = (handle_request, handle_async_request)
            for (cls, method), wrapper in zip(_TARGETS, wrappers, strict=True):
                bound = partial(wrapper, core=core, module=module)
                wrap_function_wrapper(name, f"{cls}.{method}", bound)
            patched.append(name)
        self._core = core
        self._patched = tuple(patched)

    def _uninstrument(self, **kwargs: Any) -> None:
        for name in self._patched:
            module = importlib.import_module(name)
            for cls, method in _TARGETS:
                unwrap(getattr(module, cls), method)
        self._patched = ()
        core, self._core = self._core, None
        if core is not None:
            core.close()

    def force_flush(self, timeout: float | None = None) -> bool:
        """Wait for background (stream-async) checks; whether all finished in time."""
        core = self._core
        return True if core is None else bool(core.guarding.force_flush(timeout))

    @staticmethod
    def instrument_client(client: Any, **kwargs: Any) -> None:
        """Guard the LLM calls of one ``httpx``/``httpx2`` client (sync or async) only.

        Takes the keyword arguments of ``instrument()``. The client's transport and
        mounted transports are wrapped, custom ones included (which the global
        instrumentation cannot reach). A client already guarded is left as it is.
        """
        from ._transport import handle_async_request, handle_request

        if getattr(client, _CLIENT_CORE, None) is not None:
            _logger.warning("this client is already guarded by tsz-otel")
            return
        module = _client_module(client)
        asynchronous = isinstance(client, module.AsyncClient)
        wrapper = handle_async_request if asynchronous else handle_request
        core = _core(kwargs)
        for transport in _transports(client):
            wrap_function_wrapper(
                transport, _TARGETS[asynchronous][1], partial(wrapper, core=core, module=module)
            )
        setattr(client, _CLIENT_CORE, core)

    @staticmethod
    def uninstrument_client(client: Any) -> None:
        """Undo :meth:`instrument_client`: the client's transports as they were."""
        core = getattr(client, _CLIENT_CORE, None)
        if core is None:
            return
        method = _TARGETS[isinstance(client, _client_module(client).AsyncClient)][1]
        for transport in _transports(client):
            unwrap(transport, method)
        delattr(client, _CLIENT_CORE)
        core.close()


def _core(kwargs: Mapping[str, Any]) -> Core:
    """The guarding core that ``instrument``/``instrument_client`` keyword arguments ask for."""
    from .._guarding import Guarding, guard_from_kwargs
    from ._transport import Core

    guard = guard_from_kwargs(kwargs)
    settings: Settings = guard.settings
    hosts = tuple(kwargs.get("hosts") or settings.http_hosts)
    paths = {**_parse_paths(settings.http_paths), **dict(kwargs.get("paths") or {})}
    _check_formats(paths)
    tracer = trace.get_tracer(__name__, __version__, kwargs.get("tracer_provider"))
    return Core(tracer, Guarding(guard), hosts, paths)


def _client_module(client: Any) -> Any:
    """``httpx`` or ``httpx2``: the library ``client`` comes from."""
    name = type(client).__module__.partition(".")[0]
    if name not in _MODULES:
        raise TypeError(f"not an httpx or httpx2 client: {type(client).__qualname__}")
    return importlib.import_module(name)


def _transports(client: Any) -> list[Any]:
    """The client's default transport and its mounted ones (``None`` mounts disable a route)."""
    mounts = getattr(client, "_mounts", {}) or {}
    found = [client._transport, *mounts.values()]
    return [t for t in dict.fromkeys(found) if t is not None]


def _parse_paths(entries: Collection[str]) -> Mapping[str, str]:
    """``TSZ_HTTP_PATHS`` entries ``<suffix>=<format>`` as a mapping."""
    out: dict[str, str] = {}
    for entry in entries:
        suffix, sep, name = entry.partition("=")
        if not sep or not suffix.strip() or not name.strip():
            raise ConfigurationError(f"TSZ_HTTP_PATHS: {entry!r} is not '<path suffix>=<format>'")
        out[suffix.strip()] = name.strip()
    return out


def _check_formats(paths: Mapping[str, str]) -> None:
    from .._formats import FORMATS

    known = {fmt.name for fmt in FORMATS}
    for suffix, name in paths.items():
        if name not in known:
            raise ConfigurationError(
                f"TSZ_HTTP_PATHS: {suffix!r} names unknown format {name!r} "
                f"(known: {', '.join(sorted(known))})"
            )
