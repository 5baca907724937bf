"""What the httpx instrumentor instruments (read by ``BaseInstrumentor``)."""

from __future__ import annotations

_instruments: tuple[str, ...] = ()
_instruments_any = ("httpx >= 0.23.0", "httpx2 >= 2.0.0")
