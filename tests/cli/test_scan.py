"""``driftline scan`` end to end: ``main([...])`` against an in-process moto server on loopback.

Each test starts from a reset moto account (fixture ``aws``), seeds IAM through boto3, writes the registry with
``RawRegistryWriter`` (or a YAML file) and reads the exit code and the printed output.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from botocore.config import Config

from driftline.adapters import aws as aws_module
from driftline.adapters.aws import Clients
from driftline.cli.main import main
from driftline.cli.sandbox import create_tables, free_port
from driftline.domain.drift import DriftType
from driftline.domain.registry import RegistryEntry
from tests.cli.conftest import ACCOUNT, RunCli
from tests.registry_writes import RawRegistryWriter

REGISTRY = "driftline-registry"
STATE = "driftline-state"
POLICY = f"arn:aws:iam::{ACCOUNT}:policy/Read"
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)
READ = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}]})
DRIFT_FIELDS = {"type", "severity", "identity", "owner", "summary", "key"}


@dataclass(frozen=True)
class Account:
    """A seeded moto account whose registry (in ``entries``) matches IAM exactly."""

    endpoint: str
    clients: Clients
    keys: dict[str, str]
    entries: list[RegistryEntry]


def seed_clean_account(aws: Clients) -> Account:
    """IAM: alice (policy Read, one key), bob (one key), role app-runtime; a registry describing exactly that."""
    iam = aws.iam()
    iam.create_policy(PolicyName="Read", PolicyDocument=READ)
    iam.create_user(UserName="alice")
    iam.attach_user_policy(UserName="alice", PolicyArn=POLICY)
    iam.create_user(UserName="bob")
    keys = {user: iam.create_access_key(UserName=user)["AccessKey"]["AccessKeyId"] for user in ("alice", "bob")}
    iam.create_role(RoleName="app-runtime", AssumeRolePolicyDocument=TRUST)
    entries = [
        RegistryEntry.model_validate(fields)
        for fields in (
            {"kind": "user", "name": "alice", "owner": "alice@example.com", "managed_policies": [POLICY]},
            {"kind": "access_key", "name": keys["alice"], "user": "alice", "owner": "alice@example.com"},
            {"kind": "user", "name": "bob", "owner": "bob@example.com"},
            {"kind": "access_key", "name": keys["bob"], "user": "bob", "owner": "bob@example.com"},
            {"kind": "role", "name": "app-runtime", "owner": "platform@example.com"},
        )
    ]
    assert aws.endpoint_url is not None
    return Account(endpoint=aws.endpoint_url, clients=aws, keys=keys, entries=entries)


def write_registry_table(account: Account, entries: list[RegistryEntry] | None = None) -> None:
    create_tables(account.clients.dynamodb(), REGISTRY, STATE)
    writer = RawRegistryWriter(account.clients.dynamodb(), REGISTRY)
    for entry in account.entries if entries is None else entries:
        writer.put(ACCOUNT, entry, expected_version=None)


def add_drift(account: Account) -> str:
    """Make IAM differ from the registry: an unregistered user with a key; return that key id."""
    iam = account.clients.iam()
    iam.create_user(UserName="mallory")
    key: str = iam.create_access_key(UserName="mallory")["AccessKey"]["AccessKeyId"]
    return key


def registry_yaml(account_id: str, account: Account) -> str:
    """A hand-written registry file (the documented format) describing the clean account."""
    return (
        f'account_id: "{account_id}"\n'
        "entries:\n"
        "  - kind: user\n    name: alice\n    owner: alice@example.com\n"
        f"    managed_policies: [{POLICY}]\n"
        f"  - kind: access_key\n    name: {account.keys['alice']}\n    user: alice\n    owner: alice@example.com\n"
        "  - kind: user\n    name: bob\n    owner: bob@example.com\n"
        f"  - kind: access_key\n    name: {account.keys['bob']}\n    user: bob\n    owner: bob@example.com\n"
        "  - kind: role\n    name: app-runtime\n    owner: platform@example.com\n"
    )


def scan_table(account: Account, *extra: str) -> list[str]:
    return ["scan", "--registry-table", REGISTRY, "--endpoint-url", account.endpoint, "--report-wait", "10", *extra]


def as_json(out: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(out)
    return data


# --- outcomes ------------------------------------------------------------------------------------------------------


def test_clean_account_exits_0(aws: Clients, run_cli: RunCli) -> None:
    """Registry table == IAM (2 users, 2 keys, 1 role): exit 0, the table says '0 drift(s)', nothing on stderr."""
    # Given an account whose registry matches IAM
    account = seed_clean_account(aws)
    write_registry_table(account)
    # When it is scanned with the table format
    result = run_cli(scan_table(account))
    # Then it is clean
    assert result.code == 0, result.err
    assert "0 drift(s) in account" in result.out
    assert "Identities observed: 5; registry entries: 5; drifts by type: none" in result.out
    assert result.err == ""


def test_drift_exits_1_and_is_listed(aws: Clients, run_cli: RunCli) -> None:
    """An unregistered user with a key plus a user lacking an approved policy: exit 1, each drift in the table."""
    # Given an unregistered user (with a key) and a user missing an approved policy
    account = seed_clean_account(aws)
    add_drift(account)
    account.clients.iam().detach_user_policy(UserName="alice", PolicyArn=POLICY)
    write_registry_table(account)
    # When it is scanned
    result = run_cli(scan_table(account))
    # Then the exit code says drift, and the table names each one
    assert result.code == 1, result.err
    assert "3 drift(s) in account" in result.out
    assert "user#mallory" in result.out
    assert "unregistered-identity" in result.out
    assert "missing-entitlement" in result.out
    assert "user#alice" in result.out


def test_json_output_has_the_documented_shape(aws: Clients, run_cli: RunCli) -> None:
    """--format json with drift: stdout is one JSON document with account_id, drifts (type, severity, identity, owner,
    summary, key) and summary.by_type / summary.api_calls that agree with the drifts."""
    # Given an account with an unregistered user and key
    account = seed_clean_account(aws)
    mallory_key = add_drift(account)
    write_registry_table(account)
    # When it is scanned with --format json
    result = run_cli(scan_table(account, "--format", "json"))
    # Then the output parses and has the documented fields
    assert result.code == 1, result.err
    data = as_json(result.out)
    assert data["account_id"] == ACCOUNT
    assert data["drifts"], "drift expected"
    for drift in data["drifts"]:
        assert drift.keys() >= DRIFT_FIELDS, drift
        assert drift["key"] == f"{drift['type']}/{drift['identity']['kind']}#{drift['identity']['name']}"
    found = {(d["type"], d["identity"]["kind"], d["identity"]["name"], d.get("user")) for d in data["drifts"]}
    assert found == {
        ("unregistered-identity", "user", "mallory", None),
        ("unregistered-identity", "access_key", mallory_key, "mallory"),
    }
    assert all(d["owner"] is None for d in data["drifts"])  # nobody owns an unregistered identity
    summary = data["summary"]
    assert summary["by_type"] == dict(Counter(d["type"] for d in data["drifts"]))
    assert summary["drifts"] == len(data["drifts"]) == 2
    calls = summary["api_calls"]
    assert calls["sts.GetCallerIdentity"] == 1
    assert calls["iam.GetAccountAuthorizationDetails"] >= 1
    assert calls["dynamodb.Query"] >= 1
    assert all(isinstance(n, int) and n > 0 for n in calls.values())


def test_exclude_name_silences_a_drift(aws: Clients, run_cli: RunCli) -> None:
    """--exclude-name 'mall*' removes the unregistered user mallory (and its key) from the scan: exit 0."""
    # Given an account whose only drift is user mallory
    account = seed_clean_account(aws)
    add_drift(account)
    write_registry_table(account)
    # When it is scanned excluding that name
    result = run_cli(scan_table(account, "--exclude-name", "mall*", "--format", "json"))
    # Then no drift is reported
    assert result.code == 0, result.out
    assert as_json(result.out)["drifts"] == []


def test_invalid_registry_item_exits_3_and_is_printed(aws: Clients, run_cli: RunCli) -> None:
    """A registry table item that fails validation (blank owner) makes the scan exit 3 and print the problem."""
    # Given a registry table holding one invalid item next to valid ones
    account = seed_clean_account(aws)
    write_registry_table(account)
    account.clients.dynamodb().put_item(
        TableName=REGISTRY,
        Item={"pk": {"S": ACCOUNT}, "sk": {"S": "role#ghost"}, "kind": {"S": "role"}, "name": {"S": "ghost"}},
    )
    # When it is scanned
    result = run_cli(scan_table(account))
    # Then the run is an error and the table names the bad item
    assert result.code == 3
    assert "Invalid registry entry: registry item role#ghost" in result.out


# --- registry files ------------------------------------------------------------------------------------------------


def test_registry_file_clean_exits_0_without_dynamodb(aws: Clients, run_cli: RunCli, tmp_path: Path) -> None:
    """--registry-file with a YAML file matching IAM: exit 0, no drift, and no DynamoDB call at all."""
    # Given a clean account and a YAML registry file describing it (no tables exist)
    account = seed_clean_account(aws)
    path = tmp_path / "registry.yaml"
    path.write_text(registry_yaml(ACCOUNT, account), encoding="utf-8")
    # When it is scanned from the file
    result = run_cli(["scan", "--registry-file", str(path), "--endpoint-url", account.endpoint, "--format", "json"])
    # Then it is clean and DynamoDB was not touched
    assert result.code == 0, result.err
    data = as_json(result.out)
    assert data["drifts"] == []
    assert data["summary"]["registry_entries"] == 5
    assert not [name for name in data["summary"]["api_calls"] if name.startswith("dynamodb.")]


def test_registry_file_with_drift_exits_1(aws: Clients, run_cli: RunCli, tmp_path: Path) -> None:
    """--registry-file naming user frank, who is not in IAM: exit 1 with a missing-identity drift owned by frank."""
    # Given a registry file that also declares a user IAM does not have
    account = seed_clean_account(aws)
    path = tmp_path / "registry.yml"
    path.write_text(
        registry_yaml(ACCOUNT, account) + "  - kind: user\n    name: frank\n    owner: frank@example.com\n",
        encoding="utf-8",
    )
    # When it is scanned
    result = run_cli(["scan", "--registry-file", str(path), "--endpoint-url", account.endpoint, "--format", "json"])
    # Then the missing identity is the one drift
    assert result.code == 1, result.err
    drifts = as_json(result.out)["drifts"]
    assert [(d["type"], d["identity"]["name"], d["owner"]) for d in drifts] == [
        (DriftType.MISSING_IDENTITY.value, "frank", "frank@example.com")
    ]


def test_registry_file_of_another_account_exits_3(aws: Clients, run_cli: RunCli, tmp_path: Path) -> None:
    """A registry file for account 210987654321 scanned against 123456789012: exit 3, stderr names both accounts."""
    # Given a valid registry file of another account
    account = seed_clean_account(aws)
    path = tmp_path / "other.yaml"
    path.write_text(registry_yaml("210987654321", account), encoding="utf-8")
    # When it is scanned against the moto account
    result = run_cli(["scan", "--registry-file", str(path), "--endpoint-url", account.endpoint])
    # Then the scan refuses with a clear message and prints no report
    assert result.code == 3
    assert result.err == (
        f"driftline scan: error: {path} describes account 210987654321, but the scan is of account {ACCOUNT}\n"
    )
    assert result.out == ""


def test_malformed_registry_file_exits_3_listing_problems(aws: Clients, run_cli: RunCli, tmp_path: Path) -> None:
    """A registry file with three problems (bad account id, bad key id, missing owner): exit 3, stderr lists all."""
    # Given a malformed registry file
    account = seed_clean_account(aws)
    path = tmp_path / "broken.yaml"
    path.write_text(
        'account_id: "1234"\n'
        "entries:\n"
        "  - kind: access_key\n    name: AKIA123\n    user: alice\n    owner: alice@example.com\n"
        "  - kind: user\n    name: bob\n",
        encoding="utf-8",
    )
    # When it is scanned
    result = run_cli(
        ["scan", "--registry-file", str(path), "--endpoint-url", account.endpoint, "--account-id", ACCOUNT]
    )
    # Then every problem is on stderr, and no report is printed
    assert result.code == 3
    assert result.out == ""
    assert f"driftline scan: error: {path}: 3 problem(s) in the registry file:" in result.err
    assert result.err.count("\n  - ") == 3
    assert "account_id must be a 12-digit AWS account id, got '1234'" in result.err
    assert "entries[0] (line 3) access_key#AKIA123: 'AKIA123' is not an access key id" in result.err
    assert "entries[1] (line 7) user#bob: owner: Field required" in result.err


def test_missing_registry_file_exits_3(run_cli: RunCli, tmp_path: Path) -> None:
    """--registry-file pointing at nothing: exit 3 and stderr says the file cannot be read (no AWS call needed)."""
    # Given a path with no file
    path = tmp_path / "absent.yaml"
    # When it is scanned (the account id is given, so nothing is asked of AWS before the file is read)
    result = run_cli(
        ["scan", "--registry-file", str(path), "--account-id", ACCOUNT, "--endpoint-url", "http://127.0.0.1:9"]
    )
    # Then the error names the file
    assert result.code == 3
    assert f"{path}: 1 problem(s)" in result.err and "cannot read the file" in result.err


def test_non_utf8_registry_file_exits_3(run_cli: RunCli, tmp_path: Path) -> None:
    """--registry-file with Latin-1 bytes: should exit 3 with a message, not raise UnicodeDecodeError."""
    # Given a registry file that is not UTF-8
    path = tmp_path / "latin1.yaml"
    path.write_bytes(
        f'account_id: "{ACCOUNT}"\nentries:\n  - kind: user\n    name: ren\n    owner: Ren\xe9e\n'.encode("latin-1")
    )
    # When it is scanned
    result = run_cli(
        ["scan", "--registry-file", str(path), "--account-id", ACCOUNT, "--endpoint-url", "http://127.0.0.1:9"]
    )
    # Then it is a reported error
    assert result.code == 3
    assert str(path) in result.err


# --- errors reaching AWS -------------------------------------------------------------------------------------------


def test_registry_table_that_does_not_exist_exits_3(aws: Clients, run_cli: RunCli) -> None:
    """--registry-table driftline-nope (no such table): exit 3, stderr names the table, stdout stays empty."""
    # Given an account without that table
    account = seed_clean_account(aws)
    # When it is scanned with that table
    result = run_cli(["scan", "--registry-table", "driftline-nope", "--endpoint-url", account.endpoint])
    # Then the error names the table and the AWS error
    assert result.code == 3
    assert result.err.startswith("driftline scan: error: ")
    assert "driftline-nope" in result.err
    assert "ResourceNotFoundException" in result.err
    assert result.out == ""


@pytest.fixture
def no_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """One attempt per call. With the production policy (standard mode, 8 attempts, jittered exponential backoff
    capped at 20 s) a refused connection took 3-9 s to give up on when measured, and could take over a minute."""
    monkeypatch.setattr(
        aws_module,
        "RETRY_CONFIG",
        aws_module.RETRY_CONFIG.merge(Config(retries={"mode": "standard", "max_attempts": 1})),
    )


@pytest.mark.usefixtures("no_retries")
@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ([], "driftline scan: error: EndpointConnectionError: Could not connect to the endpoint URL"),
        (
            ["--account-id", ACCOUNT],
            "driftline scan: error: EndpointConnectionError: Could not connect to the endpoint",
        ),
    ],
    ids=["sts-first", "account-given"],
)
def test_unreachable_endpoint_exits_3(run_cli: RunCli, extra: list[str], expected: str) -> None:
    """--endpoint-url on a closed loopback port (--report-wait 1): exit 3 with a connection error on stderr. STS is
    always the first call (an --account-id is checked against the caller's account before anything else)."""
    # Given an endpoint where nothing listens
    endpoint = f"http://127.0.0.1:{free_port()}"
    # When a scan is pointed at it
    result = run_cli(["scan", "--registry-table", REGISTRY, "--endpoint-url", endpoint, "--report-wait", "1", *extra])
    # Then it fails with exit 3, naming the endpoint
    assert result.code == 3
    assert result.err.startswith(expected), result.err
    assert endpoint in result.err
    assert result.out == ""


# --- the key cache -------------------------------------------------------------------------------------------------


def test_state_table_makes_a_quiet_rescan_list_no_keys(aws: Clients, run_cli: RunCli) -> None:
    """Two scans with --state-table and nothing changed: the first lists access keys, the second issues zero
    iam.ListAccessKeys (summary.api_calls) and reports the same (empty) drift set."""
    # Given a clean account with keys, a registry table and a state table
    account = seed_clean_account(aws)
    write_registry_table(account)
    argv = scan_table(account, "--state-table", STATE, "--format", "json")
    # When it is scanned twice
    first = run_cli(argv)
    second = run_cli(argv)
    # Then the first run listed keys and filled the cache; the second used the cache only
    assert (first.code, second.code) == (0, 0), first.err + second.err
    first_calls = as_json(first.out)["summary"]["api_calls"]
    second_calls = as_json(second.out)["summary"]["api_calls"]
    assert first_calls.get("iam.ListAccessKeys", 0) >= 2, first_calls
    assert first_calls.get("dynamodb.BatchWriteItem", 0) >= 1, first_calls
    assert second_calls.get("iam.ListAccessKeys", 0) == 0, second_calls
    assert second_calls.get("dynamodb.BatchWriteItem", 0) == 0, second_calls  # a quiet run writes nothing
    assert as_json(first.out)["drifts"] == as_json(second.out)["drifts"] == []


def test_without_state_table_every_scan_lists_keys(aws: Clients, run_cli: RunCli) -> None:
    """Control for the cache test: two scans without --state-table both issue iam.ListAccessKeys."""
    # Given a clean account with keys and no state table
    account = seed_clean_account(aws)
    write_registry_table(account)
    argv = scan_table(account, "--format", "json")
    # When it is scanned twice
    runs = [run_cli(argv), run_cli(argv)]
    # Then both listed keys
    assert [r.code for r in runs] == [0, 0]
    assert all(as_json(r.out)["summary"]["api_calls"].get("iam.ListAccessKeys", 0) >= 2 for r in runs)


# --- usage errors --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["scan", "--registry-table", "t", "--registry-file", "f.yaml"], "not allowed with argument"),
        (["scan"], "one of the arguments --registry-table --registry-file is required"),
        (["scan", "--endpoint-url", "http://127.0.0.1:9"], "one of the arguments --registry-table --registry-file"),
        (["scan", "--registry-table", "t", "--format", "xml"], "invalid choice: 'xml'"),
        (["scan", "--registry-table", "t", "--grace-minutes", "soon"], "invalid int value: 'soon'"),
        ([], "the following arguments are required: command"),
    ],
    ids=["both-sources", "no-source", "no-source-with-options", "bad-format", "bad-int", "no-command"],
)
def test_usage_errors_exit_2(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Argparse usage errors (both sources, no source, bad choice/int, no subcommand): main returns 2 (it never
    raises SystemExit) with the usage message on stderr."""
    # Given a command line argparse must reject
    # When main parses it
    code = main(argv)
    # Then it exits 2 with the usage message on stderr
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: driftline")
    assert message in err


def test_main_writes_to_the_current_sys_streams(tmp_path: Path) -> None:
    """main(['scan', ...]) under contextlib.redirect_stderr should write its error message into the redirect."""
    # Given stderr redirected to a buffer, and a scan that fails before any AWS call
    buffer = io.StringIO()
    argv = ["scan", "--registry-file", str(tmp_path / "absent.yaml"), "--account-id", ACCOUNT]
    # When main runs
    with contextlib.redirect_stderr(buffer):
        code = main([*argv, "--endpoint-url", "http://127.0.0.1:9"])
    # Then the message went to the redirected stream
    assert code == 3
    assert "cannot read the file" in buffer.getvalue()


@pytest.mark.parametrize("debug", [False, True])
def test_an_unexpected_exception_exits_3_with_one_line_never_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], debug: bool
) -> None:
    """A bug inside a command (here: a plain RuntimeError on its first step) must exit 3 with one line naming
    it, never 1 (scan's "drift found", which CI would read as a finding); ``--debug`` adds the traceback."""
    from driftline.cli import scan

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(scan, "caller_account", broken)
    argv = ["--debug"] if debug else []
    code = main(
        [*argv, "scan", "--registry-table", "t", "--account-id", ACCOUNT, "--endpoint-url", "http://127.0.0.1:9"]
    )

    err = capsys.readouterr().err
    assert code == 3
    assert "driftline scan: unexpected error: RuntimeError: boom" in err
    assert ("Traceback" in err) is debug
    if not debug:
        assert err.count("\n") == 1
