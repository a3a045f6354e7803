"""One exit-code contract for every command (README "Exit codes"): 0 clean, 1 drift or findings where the command
looks for them, 2 a usage mistake, 3 an error. Each command is run here for each code it can give, through
``main([...])`` (which returns the code and never raises SystemExit).

Errors (3) are provoked with an endpoint where nothing listens (one attempt per call: see ``no_retries``); usage
mistakes (2) are given the same closed endpoint, so a usage mistake that reached AWS would show as 3, not 2.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from botocore.config import Config

from driftline.adapters import aws as aws_module
from driftline.adapters.aws import Clients
from driftline.cli.main import build_parser, main
from driftline.cli.sandbox import free_port
from tests.cli.conftest import ACCOUNT, RunCli
from tests.cli.test_scan import (
    REGISTRY,
    STATE,
    Account,
    add_drift,
    registry_yaml,
    seed_clean_account,
    write_registry_table,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def no_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        aws_module,
        "RETRY_CONFIG",
        aws_module.RETRY_CONFIG.merge(Config(retries={"mode": "standard", "max_attempts": 1})),
    )


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    valid = tmp_path / "valid.yaml"
    valid.write_text(f'account_id: "{ACCOUNT}"\nentries:\n  - {{kind: user, name: a, owner: o}}\n', encoding="utf-8")
    invalid = tmp_path / "invalid.yaml"
    invalid.write_text('account_id: "1"\nentries:\n  - {kind: user, name: a}\n', encoding="utf-8")
    return {"{valid}": str(valid), "{invalid}": str(invalid)}


def run(run_cli: RunCli, argv: list[str], files: dict[str, str], endpoint: str | None) -> Any:
    argv = [files.get(a, a) for a in argv]
    # not after a bare "registry" (it would be read as the subcommand), nor where no AWS is called
    if endpoint is not None and argv != ["registry"] and argv[:2] != ["registry", "validate"] and argv[0] != "demo":
        argv = [*argv, "--endpoint-url", endpoint]
    return run_cli(argv)


# --- 2: usage mistakes, on every command ---------------------------------------------------------------------------

USAGE: list[tuple[str, list[str], str]] = [
    ("scan: no registry", ["scan"], "one of the arguments --registry-table --registry-file is required"),
    ("scan: bad format", ["scan", "--registry-table", "t", "--format", "xml"], "invalid choice: 'xml'"),
    ("scan: publish without state", ["scan", "--registry-table", "t", "--publish"], "--publish needs --state-table"),
    ("scan: org writes", ["scan", "--org", "--registry-table", "t", "--state-table", "s"], "read-only audit"),
    ("scan: quiet and verbose", ["scan", "--registry-table", "t", "-q", "-v"], "not allowed with argument"),
    ("enforce: no state table", ["enforce", "--registry-table", "t"], "enforce needs --state-table"),
    ("restore-access: identity", ["restore-access", "alice", "--registry-table", "t", "--state-table", "s"],
     "is not of the form kind#name"),
    ("registry: no subcommand", ["registry"], "the following arguments are required: registry_command"),
    ("registry validate: no file", ["registry", "validate"], "the following arguments are required: file"),
    ("registry import: no table", ["registry", "import", "{valid}"], "--registry-table"),
    ("registry export: format", ["registry", "export", "--registry-table", "t", "--format", "xml"], "invalid choice"),
    ("registry adopt: blank owner", ["registry", "adopt", "--registry-table", "t", "--default-owner", " "],
     "--default-owner must name an owner"),
    ("registry revoke: identity", ["registry", "revoke", "alice", "--reason", "r", "--ticket", "t",
                                   "--registry-table", "t"], "is not of the form kind#name"),
    ("registry revoke: naive --at", ["registry", "revoke", "user#a", "--reason", "r", "--ticket", "t", "--at",
                                     "2026-01-01T00:00:00", "--registry-table", "t"], "has no timezone"),
    ("registry restore: no reason", ["registry", "restore", "user#a", "--registry-table", "t"], "--reason"),
    ("registry show: identity", ["registry", "show", "x", "--registry-table", "t"], "is not of the form kind#name"),
    ("registry history: identity", ["registry", "history", "x", "--registry-table", "t"], "kind#name"),
    ("findings: fail-on", ["findings", "--fail-on", "bad"], "invalid severity 'bad'"),
    ("evidence: naive --since", ["evidence", "--state-table", "s", "--since", "2026-01-01T00:00:00"], "no timezone"),
    ("demo: format", ["demo", "--format", "xml"], "invalid choice: 'xml'"),
    ("no command", [], "the following arguments are required: command"),
    ("unknown option", ["findings", "--nope"], "unrecognized arguments: --nope"),
]  # fmt: skip


@pytest.mark.parametrize(("argv", "message"), [(a, m) for _, a, m in USAGE], ids=[n for n, _, _ in USAGE])
@pytest.mark.usefixtures("no_retries")
def test_usage_mistakes_exit_2(argv: list[str], message: str, run_cli: RunCli, files: dict[str, str]) -> None:
    """A usage mistake on each command: exit 2, the command's usage line and the reason on stderr, nothing on
    stdout, no AWS call (the closed endpoint would make any call exit 3)."""
    result = run(run_cli, argv, files, f"http://127.0.0.1:{free_port()}" if argv else None)
    assert result.code == 2, result.err
    assert result.err.startswith("usage: driftline"), result.err
    assert message in result.err
    assert result.out == ""


def test_help_and_version_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    """--help and --version print and return 0 (they are not usage mistakes)."""
    assert main(["--version"]) == 0 and "driftline 0." in capsys.readouterr().out
    assert main(["scan", "--help"]) == 0 and "--fail-on SEVERITY" in capsys.readouterr().out


# --- 3: errors, on every command that calls AWS --------------------------------------------------------------------

ERRORS: list[tuple[str, list[str]]] = [
    ("scan", ["scan", "--registry-table", "t"]),
    ("scan --org", ["scan", "--org", "--registry-table", "t"]),
    ("enforce", ["enforce", "--registry-table", "t", "--dry-run"]),
    ("restore-access", ["restore-access", "user#a", "--registry-table", "t", "--state-table", "s"]),
    ("registry import", ["registry", "import", "{valid}", "--registry-table", "t"]),
    ("registry export", ["registry", "export", "--registry-table", "t"]),
    ("registry adopt", ["registry", "adopt", "--default-owner", "o", "--registry-table", "t"]),
    ("registry revoke", ["registry", "revoke", "user#a", "--reason", "r", "--ticket", "t", "--registry-table", "t"]),
    ("registry restore", ["registry", "restore", "user#a", "--reason", "r", "--registry-table", "t"]),
    ("registry show", ["registry", "show", "user#a", "--registry-table", "t"]),
    ("registry history", ["registry", "history", "user#a", "--registry-table", "t"]),
    ("findings", ["findings"]),
    ("evidence", ["evidence", "--state-table", "s"]),
]


@pytest.mark.parametrize("argv", [a for _, a in ERRORS], ids=[n for n, _ in ERRORS])
@pytest.mark.usefixtures("no_retries")
def test_errors_exit_3(argv: list[str], run_cli: RunCli, files: dict[str, str]) -> None:
    """AWS unreachable (a closed loopback port), each command: exit 3 with one 'driftline <command>...: error:' line
    naming the connection failure; never 1 (a CI job would read it as drift) and never a traceback."""
    endpoint = f"http://127.0.0.1:{free_port()}"
    result = run(run_cli, argv, files, endpoint)
    assert result.code == 3, result.err
    assert re.match(r"driftline [a-z -]+: error: .*Could not connect to the endpoint URL", result.err), result.err
    assert "Traceback" not in result.err


def test_registry_validate_of_an_unreadable_file_exits_1(run_cli: RunCli, tmp_path: Path) -> None:
    """registry validate's result is the file's validity: a missing file is an invalid registry file (1), as a
    malformed one is; nothing else about validate can fail."""
    result = run_cli(["registry", "validate", str(tmp_path / "absent.yaml")])
    assert result.code == 1 and "cannot read the file" in result.err


# --- 0 and 1: the commands that look for something ----------------------------------------------------------------


@dataclass(frozen=True)
class Seeded:
    account: Account
    file: str

    @property
    def endpoint(self) -> str:
        return self.account.endpoint


@pytest.fixture
def seeded(aws: Clients, tmp_path: Path) -> Seeded:
    """The clean account with its tables, its registry file, and Security Hub on."""
    account = seed_clean_account(aws)
    write_registry_table(account)
    path = tmp_path / "registry.yaml"
    path.write_text(registry_yaml(ACCOUNT, account), encoding="utf-8")
    aws.securityhub().enable_security_hub()
    return Seeded(account, str(path))


def test_scan_and_enforce_exit_0_clean_and_1_on_drift(seeded: Seeded, run_cli: RunCli) -> None:
    """scan and enforce --dry-run: 0 on the clean account; 1 once user mallory is unregistered."""
    common = ["--registry-table", REGISTRY, "--endpoint-url", seeded.endpoint, "--report-wait", "5"]
    scan, enforce = ["scan", *common], ["enforce", "--dry-run", *common]
    assert (run_cli(scan).code, run_cli(enforce).code) == (0, 0)
    add_drift(seeded.account)
    assert (run_cli(scan).code, run_cli(enforce).code) == (1, 1)


def test_registry_validate_exits_0_valid_and_1_invalid(run_cli: RunCli, files: dict[str, str]) -> None:
    """registry validate: 0 for a valid file, 1 for an invalid one (its problems are the command's finding)."""
    assert run_cli(["registry", "validate", files["{valid}"]]).code == 0
    invalid = run_cli(["registry", "validate", files["{invalid}"]])
    assert invalid.code == 1 and "problem(s)" in invalid.err


def test_findings_exits_1_only_with_fail_on_and_an_active_finding(seeded: Seeded, run_cli: RunCli) -> None:
    """findings lists (exit 0) even with active findings; --fail-on MEDIUM exits 1 with mallory's MEDIUM/HIGH
    findings active, --fail-on CRITICAL exits 0 (none that severe); with no finding at all, 0."""
    endpoint = seeded.endpoint
    base = ["findings", "--endpoint-url", endpoint]
    assert run_cli([*base, "--fail-on", "LOW"]).code == 0  # nothing published yet
    add_drift(seeded.account)
    published = run_cli(
        ["scan", "--registry-table", REGISTRY, "--state-table", STATE, "--publish", "--endpoint-url", endpoint,
         "--report-wait", "5"]
    )  # fmt: skip
    assert published.code == 1, published.err
    assert run_cli(base).code == 0
    assert run_cli([*base, "--fail-on", "MEDIUM"]).code == 1
    assert run_cli([*base, "--fail-on", "critical"]).code == 0


@pytest.mark.parametrize(
    "argv",
    [
        ["registry", "import", "{file}", "--registry-table", REGISTRY, "--dry-run"],
        ["registry", "export", "--registry-table", REGISTRY],
        ["registry", "show", "user#alice", "--registry-table", REGISTRY],
        ["registry", "history", "user#alice", "--registry-table", REGISTRY],
        ["evidence", "--state-table", STATE],
    ],
    ids=lambda argv: " ".join(argv[:2]),
)
def test_commands_without_findings_exit_0(argv: list[str], seeded: Seeded, run_cli: RunCli) -> None:
    """Commands that report no findings exit 0 when they succeed."""
    result = run_cli([seeded.file if a == "{file}" else a for a in argv] + ["--endpoint-url", seeded.endpoint])
    assert result.code == 0, result.err


def test_readme_documents_every_command_in_one_exit_code_table() -> None:
    """README "Exit codes": one table with a row per code 0-3 and every command of the parser named in it."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Exit codes", 1)[1].split("\n#", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| **")]
    assert [row.split("|")[1].strip() for row in rows] == ["**0**", "**1**", "**2**", "**3**"]
    commands = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    for command in commands:
        assert f"`{command}" in section, command
