"""``python -m tsz_otel.report INPUT [-o report.html]``."""

from __future__ import annotations

from . import main

raise SystemExit(main())
