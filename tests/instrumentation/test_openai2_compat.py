"""The openai 2.x generation (requests over ``httpx``, not ``httpx2``).

The main virtualenv holds openai 3.x. This test builds (once, cached) a second
environment at ``.venv/openai2``: a venv without its own packages except ``openai`` 2.x
(installed with pip), which sees everything else of the main venv through a ``.pth`` file.
It then runs the openai test modules of this directory in it, so the whole matrix, the
stream lifecycle and the split-leak test also pass on openai 2.x. Without network access
to install openai 2.x the test is skipped, saying how to build the environment.
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

OPENAI_2 = "openai>=2.50,<3"
HERE = Path(__file__).parent
REPO = HERE.parent.parent
MODULES = (
    "test_openai_matrix.py",
    "test_openai_streams.py",
    "test_openai_features.py",
    "test_split_leak.py",
)


def _child_python() -> Path:
    return Path(sys.prefix) / "openai2" / "bin" / "python"


def _openai_version(python: Path) -> str:
    if not python.exists():
        return ""
    result = subprocess.run(
        [str(python), "-c", "import openai; print(openai.__version__)"],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.strip() if result.returncode == 0 else ""


def _build(python: Path) -> str | None:
    """Create the openai-2 environment; returns why it failed, or None."""
    venv = python.parent.parent
    base = Path(sys.base_prefix) / "bin" / "python3"
    steps = [[str(base), "-m", "venv", "--without-pip", str(venv)]]
    for step in steps:
        result = subprocess.run(step, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            return result.stderr
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    main_site = sysconfig.get_paths()["purelib"]
    Path(site, "_tsz_main_venv.pth").write_text(f"import site; site.addsitedir({main_site!r})\n")
    install = [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", OPENAI_2]
    result = subprocess.run(install, capture_output=True, text=True, check=False, timeout=600)
    return None if result.returncode == 0 else result.stderr[-2000:]


@pytest.fixture(scope="module")
def openai2_python() -> Path:
    python = _child_python()
    if not _openai_version(python).startswith("2."):
        problem = _build(python)
        if problem is not None or not _openai_version(python).startswith("2."):
            pytest.skip(
                f"cannot build the openai 2.x environment at {python.parent.parent}: "
                f"{problem or 'openai 2.x not importable'}"
            )
    return python


def test_openai_2x_uses_httpx(openai2_python: Path) -> None:
    probe = (
        "import openai, httpx; c = openai.OpenAI(api_key='k');"
        "print(openai.__version__, isinstance(c._client, httpx.Client))"
    )
    result = subprocess.run(
        [str(openai2_python), "-c", probe], capture_output=True, text=True, check=True
    )
    version, over_httpx = result.stdout.split()
    assert version.startswith("2.")
    assert over_httpx == "True"


def test_openai_suites_pass_on_openai_2x(openai2_python: Path) -> None:
    result = subprocess.run(
        [
            str(openai2_python),
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            *(str(HERE / name) for name in MODULES),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    summary = result.stdout.strip().splitlines()[-1:] if result.stdout else []
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert summary and " passed" in summary[0] and "failed" not in summary[0]
