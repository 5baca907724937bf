"""Writes ``tsz_otel/engine/injection_gates.json``: the injection gate specs, derived once.

Deriving them (every matcher regex parsed and relaxed into the stage 1 and stage 2 gate)
takes about half of ``tsz_otel.engine.injection``'s import time, and the result depends
only on that module, its rules and the Python version: stored with a key over those, the
file is used as long as the key matches, and the specs are derived at import otherwise.
``tests/engine/test_injection_gates.py`` fails when the file is stale.

Run: ``.venv/bin/python scripts/gen_injection_gates.py`` (``--check`` exits 1 if stale).
"""

from __future__ import annotations

import sys

from tsz_otel.engine import injection


def main(argv: list[str]) -> int:
    document = injection.derived_gates_document()
    path = injection.GATES_FILE
    current = path.read_text(encoding="utf-8") if path.exists() else None
    if "--check" in argv:
        if current != document:
            print(f"{path} is stale: run scripts/gen_injection_gates.py", file=sys.stderr)
            return 1
        return 0
    if current != document:
        path.write_text(document, encoding="utf-8")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
