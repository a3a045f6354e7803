"""Fixtures of the CLI tier: an in-process moto server, a clean moto account per test, and stdout/stderr capture.

The CLI tier runs with sockets allowed (loopback to moto only); tests/conftest.py has set fake credentials.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pytest

from driftline.adapters.aws import Clients
from driftline.cli import demo, scan
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


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> RunCli:
    """Run ``driftline.cli.main.main(argv)`` and return its exit code with what it printed.

    ``run_scan`` and ``run_demo`` take ``out=sys.stdout`` / ``err=sys.stderr`` as default arguments, which are bound
    when the module is imported, so capsys alone sees nothing (see test_main_writes_to_the_current_sys_streams).
    Until that is fixed, point the defaults at the streams capsys has installed at the moment of the run (pytest
    swaps them between the setup and call phases, so this cannot be done once in the fixture).
    """

    def run(argv: Sequence[str]) -> CliResult:
        monkeypatch.setattr(scan.run_scan, "__defaults__", (sys.stdout, sys.stderr))
        monkeypatch.setattr(demo.run_demo, "__defaults__", (sys.stdout,))
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
