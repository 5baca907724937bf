"""Version of the tsz openai instrumentor (follows tsz-otel)."""

from __future__ import annotations

from tsz_otel.version import __version__

__all__ = ["__version__"]
