"""The command table, ``version``, ``--help`` and error handling of ``tsz-otel``."""

from __future__ import annotations

import argparse
import subprocess
from collections.abc import Callable

import pytest

from tsz_otel import __version__
from tsz_otel.cli import (
    COMMANDS,
    EXIT_CODES,
    EXIT_INTERNAL,
    EXIT_OK,
    Command,
    build_parser,
    main,
)

RunCli = Callable[..., subprocess.CompletedProcess[bytes]]


def test_version_subcommand_and_flag(run_cli: RunCli, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["version"]) == EXIT_OK
    assert capsys.readouterr().out == f"tsz-otel {__version__}\n"

    done = run_cli("--version")
    assert done.returncode == EXIT_OK
    assert done.stdout.decode().strip() == f"tsz-otel {__version__}"


def test_help_lists_every_command_and_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])

    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for command in COMMANDS:
        assert command.name in out
    for code in EXIT_CODES:
        assert f"  {code} " in out


def test_subcommand_help_documents_its_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["scan", "--help"])

    out = capsys.readouterr().out
    for option in ("--output", "--strict", "--template", "--placeholder", "--fail-on-block"):
        assert option in out


def _greet_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name")


def _greet(args: argparse.Namespace) -> int:
    print(f"hello {args.name}")
    return 7


def test_a_new_subcommand_is_one_table_row(capsys: pytest.CaptureFixture[str]) -> None:
    commands = (*COMMANDS, Command("greet", "say hello", "Say hello.", _greet_arguments, _greet))

    assert main(["greet", "otel"], commands=commands) == 7
    assert capsys.readouterr().out == "hello otel\n"
    assert "greet" in build_parser(commands).format_help()


def _explode(args: argparse.Namespace) -> int:
    raise RuntimeError("secret value 4111 1111 1111 1111")


def test_internal_errors_are_one_line_without_details(capsys: pytest.CaptureFixture[str]) -> None:
    commands = (Command("boom", "fail", "Fail.", lambda parser: None, _explode),)

    assert main(["boom"], commands=commands) == EXIT_INTERNAL

    err = capsys.readouterr().err
    assert "internal error (RuntimeError)" in err and "--debug" in err
    assert "4111" not in err and "Traceback" not in err
    with pytest.raises(RuntimeError):
        main(["--debug", "boom"], commands=commands)


def test_module_runs_as_python_dash_m(run_cli: RunCli) -> None:
    done = run_cli("version")

    assert done.returncode == EXIT_OK
    assert done.stdout.decode() == f"tsz-otel {__version__}\n"
    assert done.stderr == b""
