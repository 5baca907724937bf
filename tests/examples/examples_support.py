"""Run an example's README commands exactly as written: the README is the one source of truth.

A README marks each tested fenced block with an HTML comment on the line before it (and
``<!-- output: NAME -->`` before a ```text block of documented output)::

    <!-- test: observe -->
    ```bash
    TSZ_MODE=observe .venv/bin/opentelemetry-instrument .venv/bin/python examples/x/app.py
    ```

:func:`readme_block` returns that block's text (a missing or renamed block fails the test),
:func:`run_block` runs it with ``bash -e`` from the repository root, and :func:`background`
starts a server block (one command) until the test ends. The environment is the test
runner's minus every variable tsz-otel, OpenTelemetry or openai read (``TSZ_*``,
``OTEL_*``, ``OPENAI_*``, ...), so only what the README sets is in effect.

The only rewriting: fixed local ports the README uses (``8765`` for the LLM test server,
``4318`` for an OTLP endpoint ...) are replaced by the ports of servers the test started
(``ports={8765: server.port}``), so parallel runs never collide; a port that does not
occur in the block is an error, so the README cannot drift away from what is tested.
When the repository has no ``.venv`` (tests run from another environment), ``.venv/bin/``
is replaced by the running interpreter's ``bin`` directory.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
_VENV_BIN = ".venv/bin/"
_MARKED_BLOCK = (
    r"^<!--\s*{kind}:\s*(?P<name>[\w.-]+)\s*-->[ \t]*\n```{lang}[^\n]*\n(?P<body>.*?)^```"
)
_CLEARED_PREFIXES = ("TSZ_", "OTEL_", "OPENAI_", "CONFIDENCE_", "THYRIS_")
_CLEARED_NAMES = frozenset({"PII_MODE"})
# PII_MODE and CONFIDENCE_* are settings too (see tsz_otel.config.ENV_VARS).


def readme_text(example: str) -> str:
    return (EXAMPLES / example / "README.md").read_text(encoding="utf-8")


def readme_blocks(example: str, kind: str = "test", lang: str = "bash") -> dict[str, str]:
    """Every ``<!-- {kind}: NAME -->`` marked ```{lang} block of the example's README."""
    pattern = re.compile(_MARKED_BLOCK.format(kind=kind, lang=lang), re.MULTILINE | re.DOTALL)
    blocks: dict[str, str] = {}
    for found in pattern.finditer(readme_text(example)):
        name = found.group("name")
        assert name not in blocks, f"{example}/README.md: {kind} block {name!r} marked twice"
        blocks[name] = found.group("body")
    return blocks


def readme_block(example: str, name: str) -> str:
    """The commands of the ``<!-- test: NAME -->`` block."""
    blocks = readme_blocks(example)
    assert name in blocks, f"{example}/README.md has no tested block {name!r}: {sorted(blocks)}"
    return blocks[name]


def readme_output(example: str, name: str) -> str:
    """The documented output: the ```text block marked ``<!-- output: NAME -->``."""
    blocks = readme_blocks(example, kind="output", lang="text")
    assert name in blocks, f"{example}/README.md has no output block {name!r}: {sorted(blocks)}"
    return blocks[name]


def _localise(script: str, ports: Mapping[int, int]) -> str:
    for documented, actual in ports.items():
        pattern = re.compile(rf"(?<![\d]){documented}(?![\d])")
        assert pattern.search(script), f"port {documented} is not in the block:\n{script}"
        script = pattern.sub(str(actual), script)
    if not (REPO / _VENV_BIN / "python").exists():
        script = script.replace(_VENV_BIN, str(Path(sys.executable).parent) + "/")
    return script


def free_port() -> int:
    """A port nothing listens on right now (for a server the README starts)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def clean_env(**extra: str) -> dict[str, str]:
    """The runner's environment without any setting the examples read."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(_CLEARED_PREFIXES) and k not in _CLEARED_NAMES
    }
    env["PYTHONUNBUFFERED"] = "1"  # output order of print() and exporters as on a terminal
    env.update(extra)
    return env


def run_block(
    script: str, *, ports: Mapping[int, int] | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    """Run a README block (or several joined) with bash from the repository root."""
    return subprocess.run(
        ["bash", "-e", "-c", _localise(script, ports or {})],
        cwd=REPO,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _commands(script: str) -> list[str]:
    lines = [line.split("#", 1)[0].strip() for line in script.splitlines()]
    return [line for line in lines if line]


@contextmanager
def background(
    script: str, *, ready: str, ports: Mapping[int, int] | None = None, timeout: float = 60
) -> Iterator[list[str]]:
    """Start a one-command README block (a server) and wait for ``ready`` in its output.

    Yields the output lines read so far (the list keeps growing); the process is
    terminated when the block ends.
    """
    commands = _commands(script)
    assert len(commands) == 1, f"a server block must be one command: {commands}"
    process = subprocess.Popen(
        ["bash", "-c", "exec " + _localise(commands[0], ports or {})],
        cwd=REPO,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    seen = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if ready in line:
                seen.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        if not seen.wait(timeout):
            raise AssertionError(f"server did not print {ready!r}: {''.join(lines)}")
        yield lines
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        reader.join(10)


def console_spans(stdout: str) -> tuple[list[dict[str, Any]], str]:
    """Split the output of a process using the OpenTelemetry console exporter into the
    spans (each an indented JSON object from a ``{`` line to a ``}`` line) and the
    remaining lines (what the app printed)."""
    spans: list[dict[str, Any]] = []
    rest: list[str] = []
    current: list[str] | None = None
    for line in stdout.splitlines(keepends=True):
        if current is None and line.rstrip("\n") == "{":
            current = [line]
        elif current is not None:
            current.append(line)
            if line.rstrip("\n") == "}":
                spans.append(json.loads("".join(current)))
                current = None
        else:
            rest.append(line)
    assert current is None, "unterminated span JSON in the output"
    return spans, "".join(rest)


def output_lines(text: str, prefix: str) -> list[str]:
    """The printed lines starting with ``prefix`` (prefix removed, stripped)."""
    return [line[len(prefix) :].strip() for line in text.splitlines() if line.startswith(prefix)]
