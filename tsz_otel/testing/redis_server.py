"""A throw-away ``redis-server`` on 127.0.0.1 for tests and benchmarks.

It runs the real Debian ``redis-server`` binary (installed by ``scripts/system-deps.sh``)
on a free port, in a temporary directory, with persistence off (``--save ""
--appendonly no``), so nothing outlives it. :meth:`RedisServer.kill` stops it with
SIGKILL the way a crash would, and :meth:`RedisServer.start` brings it back on the same
port, which is how the cache's outage and recovery are tested::

    with RedisServer() as server:
        cache = RedisCache(server.url)
        server.kill()      # Redis is gone: the cache falls back, calls still succeed
        server.start()     # Redis is back on the same port: the cache recovers
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from types import TracebackType

__all__ = ["RedisServer", "redis_server_binary"]

_HOST = "127.0.0.1"


def redis_server_binary() -> str | None:
    """Path of ``redis-server``, or ``None`` when it is not installed."""
    return shutil.which("redis-server")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((_HOST, 0))
        port: int = sock.getsockname()[1]
        return port


class RedisServer:
    """One ``redis-server`` process; ``url`` is ``redis://127.0.0.1:<port>/0``."""

    def __init__(self, port: int | None = None, *, binary: str | None = None) -> None:
        found = binary or redis_server_binary()
        if found is None:
            raise RuntimeError("redis-server is not installed (run scripts/system-deps.sh)")
        self.binary = found
        self.port = port or _free_port()
        self._dir = tempfile.TemporaryDirectory(prefix="tsz-redis-")
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://{_HOST}:{self.port}/0"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, timeout: float = 10.0) -> RedisServer:
        """Start (or restart) the server on its port; returns once it accepts connections."""
        if self.running:
            return self
        self._process = subprocess.Popen(
            [
                self.binary,
                "--bind", _HOST,
                "--port", str(self.port),
                "--save", "",
                "--appendonly", "no",
                "--dir", self._dir.name,
                "--protected-mode", "yes",
                "--loglevel", "warning",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self._wait_until_ready(timeout)
        return self

    def kill(self) -> None:
        """SIGKILL the server (a crash, not a shutdown) and wait for it to be gone."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait(10)

    def stop(self) -> None:
        """Stop the server for good and remove its directory."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(5)
            except subprocess.TimeoutExpired:
                self.kill()
        self._process = None
        self._dir.cleanup()

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _wait_until_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise RuntimeError(f"redis-server exited with code {self._process.returncode}")
            if self._ping():
                return
            time.sleep(0.02)
        self.kill()
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def _ping(self) -> bool:
        with contextlib.suppress(OSError), socket.create_connection((_HOST, self.port), 0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
        return False
