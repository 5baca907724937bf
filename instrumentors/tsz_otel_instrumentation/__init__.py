"""tsz-otel auto-instrumentors: guardrails inline in LLM calls, with no application change.

* :mod:`tsz_otel_instrumentation.openai`: the ``openai`` SDK (1.x/2.x over ``httpx``, 3.x
  over ``httpx2``), entry point ``tsz_openai``.
* :mod:`tsz_otel_instrumentation.httpx`: any ``httpx``/``httpx2`` client talking an LLM
  wire format (OpenAI-compatible, Anthropic, Ollama), entry point ``tsz_httpx``.

Both register under the ``opentelemetry_instrumentor`` entry-point group, so
``opentelemetry-instrument python app.py`` loads them; the names differ from the
``openai`` name that the official, OpenLLMetry and OpenInference packages all use.
"""
