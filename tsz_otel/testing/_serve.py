"""Running a test server from its command line until Ctrl-C."""

from __future__ import annotations

import time
from typing import Protocol


class _Stoppable(Protocol):
    def stop(self) -> None: ...


def serve_until_interrupted(server: _Stoppable) -> None:
    """Keep the process (and the server's own threads) alive until Ctrl-C, then stop it."""
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
