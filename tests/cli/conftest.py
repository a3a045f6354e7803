"""Fixtures of the CLI tier: an in-process moto server, a clean moto account per test, and stdout/stderr capture.

The CLI tier runs with sockets allowed (loopback to moto only); tests/conftest.py has set fake credentials.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pytest

from driftline.adapters.aws import Clients
from driftline.cli.main import main
from driftline.cli.sandbox import DEFAULT_ACCOUNT
from tests.conftest import reset_moto

ACCOUNT = DEFAULT_ACCOUNT


@dataclass(frozen=True)
class CliResult:
    code: int
    out: str
    err: str


RunCli = Callable[[Sequence[str]], CliResult]


@pytest.fixture(autouse=True)
def _plain_terminal_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No terminal settings from the machine running the tests: colour and width follow the output stream alone
    (tests that try them set these themselves)."""
    for name in ("COLUMNS", "LINES", "NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> RunCli:
    """Run ``driftline.cli.main.main(argv)`` and return its exit code with what it printed (every command writes to
    the ``sys.stdout``/``sys.stderr`` of the moment it runs, which capsys has replaced; main never raises SystemExit,
    a usage error is its return value 2)."""

    def run(argv: Sequence[str]) -> CliResult:
        capsys.readouterr()  # drop anything printed before this run
        code = main(list(argv))
        captured = capsys.readouterr()
        return CliResult(code=code, out=captured.out, err=captured.err)

    return run


@pytest.fixture
def aws(moto_endpoint: str) -> Clients:
    """boto3 clients on a freshly reset moto account (123456789012)."""
    reset_moto()
    return Clients(endpoint_url=moto_endpoint)
