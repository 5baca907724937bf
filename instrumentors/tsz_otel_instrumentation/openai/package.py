"""What the openai instrumentor instruments (read by ``BaseInstrumentor``)."""

from __future__ import annotations

_instruments = ("openai >= 1.40.0, < 4",)
