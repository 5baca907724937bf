"""The ``tsz-otel`` command: run the inline engine from a shell.

Subcommands::

    tsz-otel detect "My card is 4111 1111 1111 1111"     # DetectResponse JSON on stdout
    echo "text" | tsz-otel detect -                       # read the text from stdin
    tsz-otel scan prompts.jsonl --output results.jsonl    # one result per line + a summary
    tsz-otel version

``detect`` prints exactly the JSON a TSZ server returns for ``POST /detect``.
``scan`` reads JSON Lines (each line an object with a ``text`` field, or a JSON
string) and writes one line per input: ``{"id": ..., "line": n, <DetectResponse>}``.
Its progress bar and summary go to stderr, so stdout stays machine-readable; the
bar is drawn only when stderr is a terminal.

Exit codes (see :data:`EXIT_CODES`): 0 success, 1 internal error (or stdout closed
early), 2 bad usage or bad input (unreadable file, invalid template or regex, bad
JSON line with ``--strict``), 3 something was blocked and ``--fail-on-block`` was
given, 130 interrupted.

Subcommands are rows of :data:`COMMANDS`; another part of tsz-otel adds one by
adding a :class:`Command` row, not by touching the dispatch code. The engine is
imported only when a subcommand needs it, so ``--help`` and ``version`` are instant.
Nothing here prints a detected value except the DetectResponse JSON itself.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from ._unicode import well_formed
from .config import Settings
from .errors import InputError, TszError
from .report import add_arguments as _report_arguments
from .report import run as _run_report
from .version import __version__

if TYPE_CHECKING:
    from . import Engine
    from .models import DetectResponse

__all__ = [
    "COMMANDS",
    "EXIT_BLOCKED",
    "EXIT_CODES",
    "EXIT_INTERNAL",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "Command",
    "build_parser",
    "main",
]

PROG = "tsz-otel"

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_BLOCKED = 3
EXIT_INTERRUPTED = 130

EXIT_CODES: dict[int, str] = {
    EXIT_OK: "success (also when findings were made, unless --fail-on-block)",
    EXIT_INTERNAL: "internal error (re-run with --debug), or stdout was closed early (| head)",
    EXIT_USAGE: "bad usage or bad input: unreadable file, invalid template/regex, bad line",
    EXIT_BLOCKED: "a text was blocked and --fail-on-block was given",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C)",
}

_PLACEHOLDER_STYLES = ("tsz", "type", "indexed")
_MODES = ("MASK", "BLOCK")
_PROGRESS_INTERVAL_S = 0.1
_BAR_WIDTH = 28


class CliError(Exception):
    """A user-facing failure: printed as one line, no traceback, exit ``code``."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class Command:
    """One subcommand: its name, help, argument set-up and handler.

    ``run`` receives the parsed arguments and returns the exit code; it raises
    :class:`CliError` (or a :class:`~tsz_otel.errors.TszError`) for user errors.
    """

    name: str
    help: str
    description: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


# --------------------------------------------------------------------------- engine options


def _add_engine_arguments(parser: argparse.ArgumentParser) -> None:
    """Options shared by every subcommand that runs the engine."""
    group = parser.add_argument_group("engine options")
    group.add_argument(
        "--template",
        dest="templates",
        action="append",
        default=[],
        metavar="FILE",
        help="import a JSON or YAML template (TSZ /templates/import shape); repeatable",
    )
    group.add_argument(
        "--mode",
        type=str.upper,
        choices=_MODES,
        help="PII mode for this run: MASK (default: PII_MODE or MASK) or BLOCK (block on any "
        "finding)",
    )
    group.add_argument(
        "--placeholder",
        type=str.lower,
        choices=_PLACEHOLDER_STYLES,
        help="placeholder style: tsz ([RID_TYPE_16hex], default), type ([EMAIL]) or indexed "
        "([EMAIL_1])",
    )
    group.add_argument(
        "--guardrail",
        dest="guardrails",
        action="append",
        default=[],
        metavar="NAME",
        help="also run this guardrail: a built-in (JSON, XML, NO_PII, NO_SECRETS, NO_INJECTION, "
        "TOXIC_LANGUAGE) or one from --template; repeatable",
    )
    group.add_argument(
        "--fail-on-block",
        action="store_true",
        help=f"exit with code {EXIT_BLOCKED} when a text is blocked",
    )


def _build_engine(args: argparse.Namespace) -> Engine:
    """Settings from the environment plus the command line, then templates, all-or-nothing.

    The engine gets a validator registry, so ``--guardrail`` can name the built-in
    guardrails (JSON, NO_PII, TOXIC_LANGUAGE, ...) and those of imported templates.
    """
    from . import Engine
    from .validators import ValidatorRegistry

    overrides: dict[str, Any] = {}
    if args.placeholder:
        overrides["placeholder_style"] = args.placeholder
    settings = Settings.from_env(**overrides)
    registry = ValidatorRegistry(settings)
    engine = Engine(settings, validators=registry)
    registry.detector = engine
    for template in args.templates:
        path = Path(template)
        if not path.is_file():
            raise CliError(f"template {template!r}: no such file")
        try:
            engine.import_template(path)
        except OSError as exc:
            raise CliError(f"template {template!r}: {exc.strerror or exc}") from exc
        except (TszError, ValueError) as exc:
            raise CliError(f"template {template!r}: {exc}") from exc
    return engine


def _detect(engine: Engine, args: argparse.Namespace, text: str, rid: str | None) -> DetectResponse:
    return engine.detect(text, rid=rid, guardrails=tuple(args.guardrails), mode=args.mode)


# --------------------------------------------------------------------------- input decoding


def _decode(data: bytes, what: str) -> str:
    """UTF-8 text; invalid bytes become U+FFFD with a warning rather than a failure.

    A scanner that refuses a log file because of one stray Latin-1 byte protects
    nothing; offsets in the result refer to the decoded text.
    """
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("utf-8", errors="replace")
        _warn(f"{what} is not valid UTF-8; invalid bytes were replaced with U+FFFD")
        return text


def _argument_text(text: str) -> str:
    """A text given on the command line. Python keeps argument bytes that are not UTF-8 as
    surrogate escapes; they are decoded like stdin (U+FFFD, with the same warning)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        try:
            data = text.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:  # surrogates that are no escape: nothing to decode back
            _warn("the text argument is not valid UTF-8; invalid characters became U+FFFD")
            return well_formed(text)
        return _decode(data, "the text argument")
    return text


def _read_stdin_bytes() -> bytes:
    buffer = getattr(sys.stdin, "buffer", None)
    if buffer is not None:
        data: bytes = buffer.read()
        return data
    return sys.stdin.read().encode("utf-8", errors="surrogatepass")


def _warn(message: str) -> None:
    print(f"{PROG}: warning: {message}", file=sys.stderr)


# --------------------------------------------------------------------------- detect


def _detect_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "text",
        help='the text to scan, or "-" to read it from stdin (put "--" before a text that '
        'starts with "-")',
    )
    parser.add_argument("--rid", help="request id (used in tsz-style placeholders)")
    parser.add_argument("--pretty", action="store_true", help="indent the JSON output")
    _add_engine_arguments(parser)


def _run_detect(args: argparse.Namespace) -> int:
    text = _decode(_read_stdin_bytes(), "stdin") if args.text == "-" else _argument_text(args.text)
    engine = _build_engine(args)
    response = _detect(engine, args, text, args.rid)
    sys.stdout.write(response.model_dump_json(indent=2 if args.pretty else None) + "\n")
    sys.stdout.flush()
    return EXIT_BLOCKED if (response.blocked and args.fail_on_block) else EXIT_OK


# --------------------------------------------------------------------------- scan


@dataclass(slots=True)
class _ScanStats:
    """Counters for the summary; types and counts only, never values."""

    texts: int = 0
    with_findings: int = 0
    blocked: int = 0
    bad_lines: int = 0
    text_bytes: int = 0
    findings: Counter[str] = field(default_factory=Counter)

    def add(self, text: str, response: DetectResponse) -> None:
        self.texts += 1
        self.text_bytes += len(text.encode("utf-8", errors="surrogatepass"))
        if response.detections:
            self.with_findings += 1
        if response.blocked:
            self.blocked += 1
        self.findings.update(detection.type for detection in response.detections)


class _Progress:
    """A one-line progress bar on a terminal, redrawn at most every 100 ms.

    When the stream is not a TTY it does nothing at all: no carriage returns end
    up in CI logs or redirected files.
    """

    def __init__(self, stream: IO[str], total_bytes: int | None, *, enabled: bool) -> None:
        self._stream = stream
        self._enabled = enabled and _isatty(stream)
        self._total = total_bytes if total_bytes else None
        self._started = time.monotonic()
        self._last = 0.0

    def update(self, texts: int, done_bytes: int, *, force: bool = False) -> None:
        if not self._enabled:
            return
        now = time.monotonic()
        if not force and now - self._last < _PROGRESS_INTERVAL_S:
            return
        self._last = now
        rate = texts / max(now - self._started, 1e-9)
        counts = f"{texts:,} texts  {rate:,.0f} texts/s"
        if self._total:
            fraction = min(done_bytes / self._total, 1.0)
            filled = int(fraction * _BAR_WIDTH)
            bar = "#" * filled + "." * (_BAR_WIDTH - filled)
            line = f"scan [{bar}] {fraction:4.0%}  {counts}"
        else:
            line = f"scan  {counts}"
        self._stream.write("\r" + line + "\x1b[K")
        self._stream.flush()

    def close(self) -> None:
        if self._enabled:
            self._stream.write("\r\x1b[K")
            self._stream.flush()


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _scan_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "file",
        help='JSON Lines input: each line {"text": ...} (optional "id", "rid") or a JSON '
        'string; "-" reads stdin',
    )
    parser.add_argument(
        "-o", "--output", metavar="FILE", help="write the results here instead of stdout"
    )
    parser.add_argument("--strict", action="store_true", help="stop at the first bad line (exit 2)")
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="no progress bar and no summary on stderr"
    )
    _add_engine_arguments(parser)


def _open_input(name: str) -> tuple[IO[bytes], int | None]:
    """The input stream and its size in bytes (``None`` for stdin or a pipe)."""
    if name == "-":
        buffer = getattr(sys.stdin, "buffer", None)
        if buffer is None:
            raise CliError("stdin is not readable as bytes")
        return buffer, None
    path = Path(name)
    try:
        stream = path.open("rb")
    except OSError as exc:
        raise CliError(f"cannot read {name!r}: {exc.strerror or exc}") from exc
    size = path.stat().st_size if path.is_file() else None
    return stream, size


def _open_output(name: str | None) -> IO[str]:
    if name is None:
        return sys.stdout
    try:
        return open(name, "w", encoding="utf-8", newline="\n")
    except OSError as exc:
        raise CliError(f"cannot write {name!r}: {exc.strerror or exc}") from exc


@dataclass(frozen=True, slots=True)
class _Record:
    """One parsed input line."""

    line: int
    id: Any
    text: str
    rid: str | None


class _BadLine(Exception):
    """A line that cannot be scanned; the message never quotes the line."""


def _parse_line(raw: bytes, number: int) -> _Record | None:
    """A record, ``None`` for a blank line, or :class:`_BadLine`."""
    if not raw.strip():
        return None
    try:
        value = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise _BadLine(f"not valid UTF-8 (byte {exc.start})") from exc
    except json.JSONDecodeError as exc:
        raise _BadLine(f"not valid JSON ({exc.msg}, column {exc.colno})") from exc
    if isinstance(value, str):
        return _Record(number, None, value, None)
    if not isinstance(value, dict):
        raise _BadLine(f"expected a JSON object or string, got {type(value).__name__}")
    text = value.get("text")
    if not isinstance(text, str):
        raise _BadLine('no string "text" field')
    rid = value.get("rid")
    return _Record(number, value.get("id"), text, rid if isinstance(rid, str) else None)


def _result_line(record: _Record, response: DetectResponse) -> str:
    """``{"id":..,"line":..,<response keys>}`` without re-encoding the response."""
    body = response.model_dump_json()
    record_id = well_formed(json.dumps(record.id, ensure_ascii=False))  # stdout is UTF-8
    head = '{"id":' + record_id + ',"line":' + str(record.line)
    return head + ("}" if body == "{}" else "," + body[1:])


def _records(
    stream: IO[bytes], stats: _ScanStats, strict: bool, progress: _Progress
) -> Iterator[_Record]:
    """Parsed lines; bad ones are reported by line number and skipped (or fatal)."""
    done = 0
    for number, raw in enumerate(stream, start=1):
        done += len(raw)
        progress.update(stats.texts, done)
        try:
            record = _parse_line(raw, number)
        except _BadLine as exc:
            if strict:
                raise CliError(f"line {number}: {exc}") from exc
            stats.bad_lines += 1
            progress.close()
            _warn(f"line {number}: {exc}; skipped")
            continue
        if record is not None:
            yield record


def _run_scan(args: argparse.Namespace) -> int:
    engine = _build_engine(args)
    source, size = _open_input(args.file)
    stats = _ScanStats()
    progress = _Progress(sys.stderr, size, enabled=not args.quiet)
    started = time.perf_counter()
    try:
        out = _open_output(args.output)
        try:
            for record in _records(source, stats, args.strict, progress):
                response = _scan_one(engine, args, record)
                if response is None:
                    stats.bad_lines += 1
                    continue
                stats.add(record.text, response)
                out.write(_result_line(record, response) + "\n")
        finally:
            progress.close()
            out.flush()
            if out is not sys.stdout:
                out.close()
    finally:
        if source is not getattr(sys.stdin, "buffer", None):
            source.close()
    if not args.quiet:
        _print_summary(stats, time.perf_counter() - started, sys.stderr)
    return EXIT_BLOCKED if (stats.blocked and args.fail_on_block) else EXIT_OK


def _scan_one(engine: Engine, args: argparse.Namespace, record: _Record) -> DetectResponse | None:
    """Detect one record; a text the engine refuses is a bad line, not a crash.

    Only :class:`~tsz_otel.errors.InputError` is per line; a configuration error
    (an unknown guardrail, say) would fail every line, so it ends the run.
    """
    try:
        return _detect(engine, args, record.text, record.rid)
    except InputError as exc:
        if args.strict:
            raise CliError(f"line {record.line}: {exc}") from exc
        _warn(f"line {record.line}: {exc}; skipped")
        return None


def _summary_rows(stats: _ScanStats, elapsed: float) -> list[tuple[str, str]]:
    seconds = max(elapsed, 1e-9)
    return [
        ("texts", f"{stats.texts:,}"),
        ("texts with findings", f"{stats.with_findings:,}"),
        ("blocked", f"{stats.blocked:,}"),
        ("bad lines skipped", f"{stats.bad_lines:,}"),
        ("findings", f"{sum(stats.findings.values()):,}"),
        ("elapsed", f"{elapsed:.2f} s"),
        (
            "throughput",
            f"{stats.texts / seconds:,.0f} texts/s, {stats.text_bytes / seconds / 1e6:.2f} MB/s",
        ),
    ]


def _print_summary(stats: _ScanStats, elapsed: float, stream: IO[str]) -> None:
    """The end-of-run table: totals, then findings per type (most frequent first)."""
    rows = _summary_rows(stats, elapsed)
    by_type = sorted(stats.findings.items(), key=lambda item: (-item[1], item[0]))
    width = max([len(name) for name, _ in rows] + [len(name) for name, _ in by_type])
    lines = ["scan summary"]
    lines += [f"  {name:<{width}}  {value}" for name, value in rows]
    if by_type:
        lines.append("findings by type")
        lines += [f"  {name:<{width}}  {count:,}" for name, count in by_type]
    stream.write("\n".join(lines) + "\n")
    stream.flush()


# --------------------------------------------------------------------------- version


def _no_arguments(parser: argparse.ArgumentParser) -> None:
    return None


def _run_version(args: argparse.Namespace) -> int:
    print(f"{PROG} {__version__}")
    return EXIT_OK


# --------------------------------------------------------------------------- dispatch

COMMANDS: tuple[Command, ...] = (
    Command(
        "detect",
        "scan one text and print the TSZ DetectResponse JSON",
        "Scan one text with the inline engine and print the DetectResponse JSON that a TSZ "
        "server would return for POST /detect.",
        _detect_arguments,
        _run_detect,
    ),
    Command(
        "scan",
        "scan a JSON Lines file, one result per line, summary on stderr",
        "Scan every line of a JSON Lines file and write one result per line: "
        '{"id": ..., "line": n, <DetectResponse>}. Bad lines are reported with their number '
        "and skipped (fatal with --strict). A progress bar is drawn on a terminal; a summary "
        "table goes to stderr at the end.",
        _scan_arguments,
        _run_scan,
    ),
    Command(
        "report",
        "write an HTML findings report from exported guardrail spans",
        "Read exported spans (the collector file exporter's OTLP JSON lines, or the "
        "ConsoleSpanExporter's output) and write one self-contained HTML page: decisions "
        "over time, findings by type/category/severity, top rules, blocked requests by RID. "
        "No detected value is ever shown.",
        _report_arguments,
        _run_report,
    ),
    Command(
        "version",
        "print the tsz-otel version",
        "Print the tsz-otel version.",
        _no_arguments,
        _run_version,
    ),
)
"""The subcommand table. Add a subcommand by adding a row."""


def _epilog() -> str:
    codes = "\n".join(f"  {code:<4} {meaning}" for code, meaning in EXIT_CODES.items())
    return (
        "examples:\n"
        f'  {PROG} detect "My card is 4111 1111 1111 1111" --pretty\n'
        f"  cat prompt.txt | {PROG} detect - --placeholder type\n"
        f"  {PROG} scan prompts.jsonl -o results.jsonl --template policy.yaml\n\n"
        "settings come from the environment (CONFIDENCE_*_THRESHOLD, PII_MODE, TSZ_*);\n"
        "command-line options override them for this run.\n\n"
        f"exit codes:\n{codes}\n"
    )


def build_parser(commands: Sequence[Command] = COMMANDS) -> argparse.ArgumentParser:
    """The argument parser for ``commands`` (one subparser per row)."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Inline LLM guardrails: detect PII, secrets and prompt injection with "
        "results in the TSZ (Thyris Safe Zone) JSON shape.",
        epilog=_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in commands:
        sub = subparsers.add_parser(
            command.name, help=command.help, description=command.description
        )
        command.add_arguments(sub)
        sub.set_defaults(_run=command.run)
    return parser


def main(argv: Sequence[str] | None = None, commands: Sequence[Command] = COMMANDS) -> int:
    """Run the command line; returns the exit code (see :data:`EXIT_CODES`)."""
    parser = build_parser(commands)
    args = parser.parse_args(argv)
    run: Callable[[argparse.Namespace], int] = args._run
    try:
        return run(args)
    except CliError as exc:
        return _fail(args.command, str(exc), exc.code)
    except TszError as exc:
        return _fail(args.command, str(exc), EXIT_USAGE)
    except KeyboardInterrupt:
        return _fail(args.command, "interrupted", EXIT_INTERRUPTED)
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_INTERNAL
    except Exception as exc:
        if args.debug:
            raise
        return _fail(
            args.command,
            f"internal error ({type(exc).__name__}); re-run with --debug for the traceback",
            EXIT_INTERNAL,
        )


def _fail(command: str, message: str, code: int) -> int:
    print(f"{PROG} {command}: error: {message}", file=sys.stderr)
    return code


def _silence_stdout() -> None:
    """After the reader of our stdout went away (``| head``), avoid a second error at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    raise SystemExit(main())
