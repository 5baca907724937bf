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

from ._managed import Managed

__all__ = ["RedisCluster", "RedisServer", "redis_server_binary"]

_HOST = "127.0.0.1"


def redis_server_binary() -> str | None:
    """Path of ``redis-server``, or ``None`` when it is not installed."""
    return shutil.which("redis-server")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((_HOST, 0))
        port: int = sock.getsockname()[1]
        return port


_BUS_OFFSET = 10000  # a cluster node also listens on port + 10000 (the cluster bus)


def _is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((_HOST, port))
        except OSError:
            return False
        return True


def _free_cluster_port() -> int:
    """A free port whose cluster-bus port (+10000) is free too."""
    for _ in range(200):
        port = _free_port()
        if port + _BUS_OFFSET <= 65535 and _is_free(port + _BUS_OFFSET):
            return port
    raise RuntimeError("no free port pair for a Redis Cluster node")


class RedisServer(Managed):
    """One ``redis-server`` process; ``url`` is ``redis://127.0.0.1:<port>/0``."""

    def __init__(
        self, port: int | None = None, *, binary: str | None = None, cluster: bool = False
    ) -> None:
        found = binary or redis_server_binary()
        if found is None:
            raise RuntimeError("redis-server is not installed (run scripts/system-deps.sh)")
        self.binary = found
        self.cluster = cluster
        self.port = port or (_free_cluster_port() if cluster else _free_port())
        self._dir = tempfile.TemporaryDirectory(prefix="tsz-redis-")
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://{_HOST}:{self.port}" + ("" if self.cluster else "/0")

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
                *(("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                   "--cluster-node-timeout", "1000") if self.cluster else ()),
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
        with contextlib.suppress(OSError, RuntimeError):
            return _command(self.port, "PING", timeout=0.5).startswith("+PONG")
        return False


_SLOTS = 16384


class RedisCluster(Managed):
    """A Redis Cluster of ``nodes`` masters on 127.0.0.1, slots split evenly, no replicas.

    Formed with plain commands (``CLUSTER ADDSLOTSRANGE``, ``CLUSTER MEET``), so only
    ``redis-server`` is needed. ``url`` points at the first node; a cluster-aware client
    discovers the others from it. :meth:`kill` crashes one node::

        with RedisCluster(3) as cluster:
            cache = RedisCache(cluster.url, cluster=True)
    """

    def __init__(self, nodes: int = 3, *, binary: str | None = None) -> None:
        self.nodes = [RedisServer(binary=binary, cluster=True) for _ in range(nodes)]

    @property
    def url(self) -> str:
        return self.nodes[0].url

    def start(self, timeout: float = 20.0) -> RedisCluster:
        for node in self.nodes:
            node.start()
        share = _SLOTS // len(self.nodes)
        for index, node in enumerate(self.nodes):
            last = _SLOTS - 1 if index == len(self.nodes) - 1 else (index + 1) * share - 1
            _command(node.port, "CLUSTER", "ADDSLOTSRANGE", str(index * share), str(last))
        for node in self.nodes[1:]:
            _command(node.port, "CLUSTER", "MEET", _HOST, str(self.nodes[0].port))
        self._wait_until_formed(timeout)
        return self

    def kill(self, index: int) -> None:
        self.nodes[index].kill()

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def _wait_until_formed(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            infos = [_command(node.port, "CLUSTER", "INFO") for node in self.nodes]
            known = f"cluster_known_nodes:{len(self.nodes)}"
            if all("cluster_state:ok" in info and known in info for info in infos):
                return
            time.sleep(0.05)
        raise RuntimeError("the Redis Cluster did not form")


def _command(port: int, *parts: str, timeout: float = 2.0) -> str:
    """Send one command in RESP and return the reply as text (status, error or bulk).

    ``RuntimeError`` for an error reply or a connection closed mid-reply, ``OSError``
    when the server cannot be reached or does not answer within ``timeout``.
    """
    payload = f"*{len(parts)}\r\n" + "".join(f"${len(p)}\r\n{p}\r\n" for p in parts)
    with socket.create_connection((_HOST, port), timeout) as sock:
        sock.sendall(payload.encode())
        reply = b""
        while not _complete(reply):
            chunk = sock.recv(65536)
            if not chunk:
                raise RuntimeError(f"redis {' '.join(parts)}: connection closed mid-reply")
            reply += chunk
    text = reply.decode()
    if text.startswith("-"):
        raise RuntimeError(f"redis {' '.join(parts)}: {text.strip()}")
    return text


def _complete(reply: bytes) -> bool:
    """Whether ``reply`` holds one whole status, error or bulk-string reply."""
    if not reply.endswith(b"\r\n"):
        return False
    if reply[:1] != b"$":
        return True
    head, _, rest = reply.partition(b"\r\n")
    return len(rest) >= int(head[1:]) + 2
