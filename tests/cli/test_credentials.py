"""``--profile`` and ``--role-arn`` on every command that calls AWS, against moto: moto's STS AssumeRole hands out
credentials of the account named in the role's ARN, and every later call made with them acts in that account.

What each test records is the API parameters and the access key of every call any ``Clients`` makes (botocore's
``provide-client-params`` event), so "the command ran as the role" is a fact about the calls, not about the output.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from driftline.adapters.aws import Clients
from driftline.adapters.ledger import DynamoLedger
from tests.cli.conftest import ACCOUNT, RunCli
from tests.cli.test_scan import REGISTRY, STATE, add_drift, registry_yaml, seed_clean_account, write_registry_table
from tests.cli.test_scan_org import deny_assume_role, org_scan, organisation

MEMBER = "210987654321"
ROLE = f"arn:aws:iam::{MEMBER}:role/DriftlineAuditor"
SAME_ACCOUNT_ROLE = f"arn:aws:iam::{ACCOUNT}:role/DriftlineOperator"
FAKE_KEY = "testing"  # tests/conftest.py's environment credentials


@dataclass(frozen=True)
class Call:
    operation: str
    access_key: str
    params: dict[str, Any]


def record_calls(monkeypatch: pytest.MonkeyPatch) -> list[Call]:
    """Every AWS call of every ``Clients`` built from now on, with the access key that signs it."""
    calls: list[Call] = []
    original = Clients.__init__

    def init(self: Clients, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        session = self.session

        def seen(params: dict[str, Any], model: Any, **_: Any) -> None:
            credentials = session.get_credentials()
            key = credentials.access_key if credentials is not None else ""
            calls.append(Call(f"{model.service_model.service_name}.{model.name}", key, dict(params)))

        session.events.register("provide-client-params", seen)

    monkeypatch.setattr(Clients, "__init__", init)
    return calls


def assert_ran_as_role(calls: list[Call], role_arn: str) -> None:
    """The first call assumes ``role_arn`` with the caller's own credentials and session name driftline-cli; every
    later call is signed with other (the assumed) credentials."""
    assert calls, "no AWS call recorded"
    first, rest = calls[0], calls[1:]
    assert first.operation == "sts.AssumeRole", [c.operation for c in calls]
    assert first.params["RoleArn"] == role_arn and first.params["RoleSessionName"] == "driftline-cli"
    assert first.access_key == FAKE_KEY
    assert rest, "nothing was called as the role"
    assert all(c.access_key != FAKE_KEY for c in rest), [(c.operation, c.access_key) for c in rest]


def member_account(aws: Clients, tmp_path: Path) -> tuple[Clients, Path]:
    """Account 210987654321 (through an assumed role, as moto allows): users carol (registered) and eve (not, with a
    key); a registry file for that account naming carol."""
    member = aws.assumed(ROLE, "test-setup")
    member.iam().create_user(UserName="carol")
    member.iam().create_user(UserName="eve")
    member.iam().create_access_key(UserName="eve")
    path = tmp_path / "member.yaml"
    path.write_text(
        f'account_id: "{MEMBER}"\nentries:\n  - kind: user\n    name: carol\n    owner: carol@example.com\n',
        encoding="utf-8",
    )
    return member, path


# --- --role-arn ----------------------------------------------------------------------------------------------------


def test_role_arn_scans_the_account_of_the_role(
    aws: Clients, run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """scan --role-arn arn:aws:iam::210987654321:role/DriftlineAuditor with that account's registry file: the scan
    is of 210987654321 (eve and her key unregistered; none of the caller account's users), exit 1; the role was
    assumed with session name driftline-cli and everything after ran as it. Without --role-arn the same file is
    refused (it describes another account than the caller's): the control that shows the role mattered."""
    # Given a second account with its own IAM and registry file
    assert aws.endpoint_url is not None
    seed_clean_account(aws)  # the caller's account has alice, bob and app-runtime
    _, path = member_account(aws, tmp_path)
    calls = record_calls(monkeypatch)
    # When it is scanned through the role
    argv = ["scan", "--registry-file", str(path), "--endpoint-url", aws.endpoint_url, "--format", "json"]
    result = run_cli([*argv, "--role-arn", ROLE, "--account-id", MEMBER])
    # Then the member account was scanned, as the role
    assert result.code == 1, result.err
    report = json.loads(result.out)
    assert report["account_id"] == MEMBER
    assert {(d["identity"]["kind"], d["type"]) for d in report["drifts"]} == {
        ("user", "unregistered-identity"),
        ("access_key", "unregistered-identity"),
    }
    assert {d["user"] or d["identity"]["name"] for d in report["drifts"]} == {"eve"}
    assert_ran_as_role(calls, ROLE)
    assert report["summary"]["api_calls"]["sts.AssumeRole"] == 1
    # And without the role, the file is not the caller's account
    control = run_cli(argv)
    assert control.code == 3
    assert f"describes account {MEMBER}, but the scan is of account {ACCOUNT}" in control.err


def test_role_arn_and_another_account_id_are_refused(aws: Clients, run_cli: RunCli, tmp_path: Path) -> None:
    """--role-arn into 210987654321 with --account-id 123456789012: the account of the credentials (the role's) is
    not the one expected, exit 3, nothing read."""
    assert aws.endpoint_url is not None
    _, path = member_account(aws, tmp_path)
    result = run_cli(
        ["scan", "--registry-file", str(path), "--endpoint-url", aws.endpoint_url, "--role-arn", ROLE,
         "--account-id", ACCOUNT]
    )  # fmt: skip
    assert result.code == 3
    assert f"--account-id {ACCOUNT} is not the account of your credentials ({MEMBER})" in result.err


def test_a_role_that_cannot_be_assumed_exits_3(
    aws: Clients, run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """AssumeRole answered AccessDenied: exit 3 with one line naming the role and the error; no report."""
    assert aws.endpoint_url is not None
    _, path = member_account(aws, tmp_path)
    deny_assume_role(monkeypatch, MEMBER)
    result = run_cli(["scan", "--registry-file", str(path), "--endpoint-url", aws.endpoint_url, "--role-arn", ROLE])
    assert result.code == 3
    assert result.err == f"driftline scan: error: cannot assume --role-arn {ROLE}: AccessDenied: not authorized\n"
    assert result.out == ""


@pytest.mark.parametrize(
    "argv",
    [
        ["scan", "--registry-table", "t"],
        ["enforce", "--registry-table", "t", "--dry-run"],
        ["registry", "export", "--registry-table", "t"],
        ["registry", "show", "user#a", "--registry-table", "t"],
        ["findings"],
        ["evidence", "--state-table", "s"],
        ["restore-access", "user#a", "--registry-table", "t", "--state-table", "s"],
    ],
    ids=lambda argv: " ".join(argv[:2]),
)
@pytest.mark.parametrize("role", ["arn:aws:iam::12345:role/x", "DriftlineAuditor", "arn:aws:iam::210987654321:user/x"])
def test_a_malformed_role_arn_is_a_usage_error(argv: list[str], role: str, run_cli: RunCli) -> None:
    """--role-arn that is not an IAM role ARN, on each command: exit 2 naming the value, before any call."""
    result = run_cli([*argv, "--role-arn", role, "--endpoint-url", "http://127.0.0.1:9"])
    assert result.code == 2
    assert f"argument --role-arn: {role!r} is not an IAM role ARN" in result.err


# --- every command, as the role ------------------------------------------------------------------------------------


def seeded(aws: Clients, tmp_path: Path) -> tuple[str, Path]:
    """The clean account with drift, both tables, and a registry file of it."""
    account = seed_clean_account(aws)
    add_drift(account)
    write_registry_table(account)
    path = tmp_path / "registry.yaml"
    path.write_text(registry_yaml(ACCOUNT, account), encoding="utf-8")
    assert aws.endpoint_url is not None
    return aws.endpoint_url, path


COMMANDS: list[tuple[str, list[str], int]] = [
    ("scan", ["scan", "--registry-table", REGISTRY, "--report-wait", "5"], 1),
    ("enforce", ["enforce", "--registry-table", REGISTRY, "--dry-run", "--report-wait", "5"], 1),
    ("registry import", ["registry", "import", "{file}", "--registry-table", REGISTRY, "--dry-run"], 0),
    ("registry export", ["registry", "export", "--registry-table", REGISTRY], 0),
    ("registry adopt", ["registry", "adopt", "--default-owner", "ops", "--dry-run", "--report-wait", "5",
                        "--registry-table", REGISTRY], 0),
    ("registry revoke", ["registry", "revoke", "user#bob", "--reason", "left", "--ticket", "HR-1",
                         "--registry-table", REGISTRY], 0),
    ("registry restore", ["registry", "restore", "user#alice", "--reason", "r", "--registry-table", REGISTRY], 0),
    ("registry show", ["registry", "show", "user#alice", "--registry-table", REGISTRY], 0),
    ("registry history", ["registry", "history", "user#alice", "--registry-table", REGISTRY], 0),
    ("findings", ["findings"], 0),
    ("evidence", ["evidence", "--state-table", STATE], 0),
    ("restore-access", ["restore-access", "user#alice", "--registry-table", REGISTRY, "--state-table", STATE], 3),
]  # fmt: skip


@pytest.mark.parametrize(("argv", "code"), [(a, c) for _, a, c in COMMANDS], ids=[n for n, _, _ in COMMANDS])
def test_every_aws_command_runs_as_role_arn(
    argv: list[str], code: int, aws: Clients, run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each command that calls AWS, with --role-arn arn:aws:iam::123456789012:role/DriftlineOperator: the first AWS
    call assumes that role (session driftline-cli) with the caller's credentials, and every later call is signed
    with the role's; the command's usual outcome (restore-access: 3, no ledger record of alice)."""
    endpoint, path = seeded(aws, tmp_path)
    calls = record_calls(monkeypatch)
    result = run_cli(
        [
            *(str(path) if a == "{file}" else a for a in argv),
            "--endpoint-url",
            endpoint,
            "--role-arn",
            SAME_ACCOUNT_ROLE,
        ]
    )
    assert result.code == code, result.err
    assert_ran_as_role(calls, SAME_ACCOUNT_ROLE)
    if argv[0] == "restore-access":
        assert "the ledger has no revocation of user#alice" in result.err


def test_scan_org_lists_the_organisation_as_the_role(
    aws: Clients, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """scan --org --role-arn (the management account's role): Organizations is listed and each member's read-only
    role assumed with the --role-arn credentials (never the caller's own), each member scanned."""
    members = organisation(aws, 2)
    calls = record_calls(monkeypatch)
    assert aws.endpoint_url is not None
    result = org_scan(run_cli, aws.endpoint_url, "--role-arn", SAME_ACCOUNT_ROLE, "--format", "json")
    assert result.code == 1, result.err
    assert {a["account_id"] for a in json.loads(result.out)["accounts"]} >= set(members)
    assert_ran_as_role(calls, SAME_ACCOUNT_ROLE)
    member_roles = [c for c in calls if c.operation == "sts.AssumeRole" and "DriftlineReadOnly" in c.params["RoleArn"]]
    assert len(member_roles) >= 2


def test_evidence_reads_the_roles_account(
    aws: Clients, run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """evidence --role-arn into 210987654321 reads that account's ledger: its one record (user#carol) is exported,
    under that account id; the caller's own ledger (empty) is not what is read."""
    from driftline.cli.sandbox import create_tables
    from driftline.domain.times import iso
    from tests.cli.test_scan_org import _ledger_record

    member, _ = member_account(aws, tmp_path)
    create_tables(member.dynamodb(), REGISTRY, STATE)
    record = _ledger_record(MEMBER, "enforced", 5, 10).model_copy(update={"identity": "user#carol"})
    DynamoLedger(member.dynamodb(), STATE).update(MEMBER, record.identity, iso(record.requested_at), lambda _c: record)
    create_tables(aws.dynamodb(), REGISTRY, STATE)
    assert aws.endpoint_url is not None
    base = ["evidence", "--state-table", STATE, "--endpoint-url", aws.endpoint_url, "--format", "json"]
    as_role = run_cli([*base, "--role-arn", ROLE])
    as_caller = run_cli(base)
    assert as_role.code == 0, as_role.err
    assert json.loads(as_role.out)["account_id"] == MEMBER
    assert [r["identity"] for r in json.loads(as_role.out)["revocations"]] == ["user#carol"]
    assert json.loads(as_caller.out)["revocations"] == []


# --- --profile -----------------------------------------------------------------------------------------------------


def profile_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, credentials: dict[str, str], region: str) -> None:
    """AWS config and credentials files with one profile, 'member', pointed at by AWS_CONFIG_FILE and
    AWS_SHARED_CREDENTIALS_FILE (the environment's own credentials stay set: an explicit profile must win)."""
    config, shared = tmp_path / "config", tmp_path / "credentials"
    config.write_text(f"[profile member]\nregion = {region}\n", encoding="utf-8")
    shared.write_text(
        "[member]\n"
        f"aws_access_key_id = {credentials['AccessKeyId']}\n"
        f"aws_secret_access_key = {credentials['SecretAccessKey']}\n"
        f"aws_session_token = {credentials['SessionToken']}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(shared))


def test_profile_scans_with_the_profiles_credentials_and_region(
    aws: Clients, run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A profile 'member' holding credentials of account 210987654321 and region eu-west-1 (no AWS_DEFAULT_REGION):
    scan --profile member is of 210987654321 in eu-west-1 (--verbose says so), exit 1 for eve; the environment's
    credentials (account 123456789012) were not used."""
    # Given credentials of the member account in a profile
    assert aws.endpoint_url is not None
    seed_clean_account(aws)
    _, path = member_account(aws, tmp_path)
    issued = aws.sts().assume_role(RoleArn=ROLE, RoleSessionName="issued")["Credentials"]
    profile_files(tmp_path, monkeypatch, {k: str(v) for k, v in issued.items()}, "eu-west-1")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    # When scanning with the profile
    result = run_cli(
        ["scan", "--registry-file", str(path), "--endpoint-url", aws.endpoint_url, "--format", "json", "--profile",
         "member", "--verbose"]
    )  # fmt: skip
    # Then the profile's account and region were used
    assert result.code == 1, result.err
    assert json.loads(result.out)["account_id"] == MEMBER
    assert f"in account {MEMBER}, Region eu-west-1" in result.err


@pytest.mark.parametrize(
    "argv",
    [
        ["scan", "--registry-table", "t"],
        ["scan", "--org", "--registry-table", "t"],
        ["enforce", "--registry-table", "t", "--dry-run"],
        ["registry", "import", "{file}", "--registry-table", "t"],
        ["registry", "export", "--registry-table", "t"],
        ["registry", "adopt", "--default-owner", "ops", "--registry-table", "t"],
        ["registry", "revoke", "user#a", "--reason", "r", "--ticket", "t", "--registry-table", "t"],
        ["registry", "restore", "user#a", "--reason", "r", "--registry-table", "t"],
        ["registry", "show", "user#a", "--registry-table", "t"],
        ["registry", "history", "user#a", "--registry-table", "t"],
        ["findings"],
        ["evidence", "--state-table", "s"],
        ["restore-access", "user#a", "--registry-table", "t", "--state-table", "s"],
    ],
    ids=lambda argv: " ".join(a for a in argv[:3] if not a.startswith(("-", "{")) and "#" not in a),
)
def test_an_unknown_profile_is_a_usage_error(
    argv: list[str], run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--profile nope (in no config file), on every command that calls AWS: exit 2 with the usage line and 'no such
    profile', before any call (the endpoint is a closed port)."""
    (tmp_path / "config").write_text("[profile other]\nregion = us-east-1\n", encoding="utf-8")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    registry = tmp_path / "r.yaml"
    registry.write_text(f'account_id: "{ACCOUNT}"\nentries: []\n', encoding="utf-8")
    argv = [str(registry) if a == "{file}" else a for a in argv]
    result = run_cli([*argv, "--profile", "nope", "--endpoint-url", "http://127.0.0.1:9"])
    assert result.code == 2, result.err
    assert result.err.startswith("usage: driftline")
    assert "--profile nope: no such profile in your AWS config or credentials files" in result.err
