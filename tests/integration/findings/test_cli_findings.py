"""``driftline scan --publish`` and ``driftline findings`` end to end: ``main([...])`` against an in-process moto
server on loopback (driftline.cli.sandbox.moto_server), as an operator would run them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from driftline.adapters.aws import Clients
from driftline.cli.main import main
from driftline.cli.sandbox import DEFAULT_ACCOUNT, create_tables
from driftline.domain.registry import RegistryEntry
from tests.registry_writes import RawRegistryWriter

ACCOUNT = DEFAULT_ACCOUNT
REGISTRY, STATE = "cli-registry", "cli-state"
READ = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}]})
READ_ARN = f"arn:aws:iam::{ACCOUNT}:policy/Read"
ADMIN_ARN = f"arn:aws:iam::{ACCOUNT}:policy/AdminLike"


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def endpoint(moto_endpoint: str) -> str:
    """The run's shared moto server (tests/conftest.py); each test resets it below."""
    return moto_endpoint


@pytest.fixture
def aws(endpoint: str) -> Clients:
    """A reset moto account behind the server: tables created, Security Hub enabled, alice with an excess
    entitlement (AdminLike) and an unregistered user mallory: two drifts."""
    from moto.moto_api import _internal

    _internal.moto_api_backend.reset()
    clients = Clients(endpoint_url=endpoint)
    create_tables(clients.dynamodb(), REGISTRY, STATE)
    clients.securityhub().enable_security_hub()
    iam = clients.iam()
    for name in ("Read", "AdminLike"):
        iam.create_policy(PolicyName=name, PolicyDocument=READ)
    iam.create_user(UserName="alice")
    iam.attach_user_policy(UserName="alice", PolicyArn=READ_ARN)
    iam.attach_user_policy(UserName="alice", PolicyArn=ADMIN_ARN)
    iam.create_user(UserName="mallory")
    entry = RegistryEntry.model_validate(
        {"kind": "user", "name": "alice", "owner": "alice@example.com", "managed_policies": [READ_ARN]}
    )
    RawRegistryWriter(clients.dynamodb(), REGISTRY).put(ACCOUNT, entry, expected_version=None)
    return clients


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Any:
    def run(*argv: str) -> Result:
        capsys.readouterr()
        code = main(list(argv))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


def scan(cli: Any, endpoint: str, *extra: str) -> Result:
    return cli(
        "scan",
        "--registry-table",
        REGISTRY,
        "--endpoint-url",
        endpoint,
        "--format",
        "json",
        "--report-wait",
        "10",
        *extra,
    )


def hub(clients: Clients) -> dict[str, dict[str, Any]]:
    found = clients.securityhub().get_findings()["Findings"]
    return {f["Id"]: f for f in found if f["GeneratorId"].startswith("driftline/")}


def test_scan_publish_imports_the_drifts(cli: Any, endpoint: str, aws: Clients) -> None:
    """Input: ``driftline scan --registry-table --state-table --publish --endpoint-url --format json`` on an account
    with two drifts. Must exit 1 (drift found), print the drifts as JSON, say "2 imported" on stderr and leave two
    ACTIVE findings about the account in Security Hub; a second scan must import nothing ("2 unchanged")."""
    # When the account is scanned with publishing
    first = scan(cli, endpoint, "--state-table", STATE, "--publish")

    # Then the drifts are printed and imported
    assert first.code == 1, first.err
    printed = json.loads(first.out)
    assert {d["type"] for d in printed["drifts"]} == {"excess-entitlement", "unregistered-identity"}
    assert "Security Hub: 2 imported, 0 resolved, 0 unchanged, 0 failed" in first.err
    findings = hub(aws)
    assert len(findings) == 2
    assert {f["AwsAccountId"] for f in findings.values()} == {ACCOUNT}
    assert {f["RecordState"] for f in findings.values()} == {"ACTIVE"}

    # When scanned again with nothing changed
    second = scan(cli, endpoint, "--state-table", STATE, "--publish")

    # Then nothing is imported
    assert second.code == 1, second.err
    assert "Security Hub: 0 imported, 0 resolved, 2 unchanged, 0 failed" in second.err
    assert "securityhub.BatchImportFindings" not in json.loads(second.out).get("api_calls", {})


def test_publish_without_state_table_is_an_error(cli: Any, endpoint: str, aws: Clients) -> None:
    """Input: ``scan --publish`` without ``--state-table``. A usage mistake: must exit 2 with a message naming
    --state-table, and import nothing."""
    # When publishing without a state table
    result = scan(cli, endpoint, "--publish")

    # Then it is refused, clearly
    assert result.code == 2
    assert "--publish needs --state-table" in result.err
    assert hub(aws) == {}


def test_findings_lists_active_by_default_and_archived_with_all(cli: Any, endpoint: str, aws: Clients) -> None:
    """Input: two published findings, then alice's excess entitlement cleared (AdminLike detached) and scanned again.
    ``driftline findings --format json`` must list only mallory's ACTIVE finding; with ``--all`` both, alice's
    ARCHIVED with Compliance PASSED."""
    # Given two findings published, then alice's resolved
    assert scan(cli, endpoint, "--state-table", STATE, "--publish").code == 1
    aws.iam().detach_user_policy(UserName="alice", PolicyArn=ADMIN_ARN)
    resolved = scan(cli, endpoint, "--state-table", STATE, "--publish")
    assert "0 imported, 1 resolved, 1 unchanged" in resolved.err

    # When the findings are listed
    active = cli("findings", "--endpoint-url", endpoint, "--format", "json")
    everything = cli("findings", "--endpoint-url", endpoint, "--format", "json", "--all")

    # Then the default shows only the active one
    assert active.code == 0, active.err
    listed = json.loads(active.out)
    assert [(f["GeneratorId"], f["RecordState"]) for f in listed] == [("driftline/unregistered-identity", "ACTIVE")]
    # And --all includes the archived one
    assert everything.code == 0, everything.err
    by_type = {f["GeneratorId"]: f for f in json.loads(everything.out)}
    assert set(by_type) == {"driftline/unregistered-identity", "driftline/excess-entitlement"}
    archived = by_type["driftline/excess-entitlement"]
    assert archived["RecordState"] == "ARCHIVED" and archived["Compliance"]["Status"] == "PASSED"


def test_findings_table_output(cli: Any, endpoint: str, aws: Clients) -> None:
    """Input: two published findings; ``driftline findings`` (table). Must exit 0 and show both titles with their
    severity and state."""
    # Given published findings
    assert scan(cli, endpoint, "--state-table", STATE, "--publish").code == 1

    # When listed as a table
    result = cli("findings", "--endpoint-url", endpoint)

    # Then
    assert result.code == 0, result.err
    assert "2 driftline finding(s)" in result.out
    assert "Excess entitlement" in result.out and "Unregistered identity" in result.out
    assert "ACTIVE/FAILED" in result.out


def _members_finding(published: dict[str, Any], account: str) -> dict[str, Any]:
    """A copy of a driftline finding as member ``account`` imports it (its own custom product and account)."""
    finding = json.loads(json.dumps(published))
    finding["Id"] = finding["Id"].replace(ACCOUNT, account)
    finding["AwsAccountId"] = account
    finding["ProductArn"] = finding["ProductArn"].replace(ACCOUNT, account)
    for resource in finding["Resources"]:
        resource["Id"] = resource["Id"].replace(ACCOUNT, account)
    return dict(finding)


def test_findings_org_lists_every_members_driftline_findings(cli: Any, endpoint: str, aws: Clients) -> None:
    """The administrator's Security Hub holds its own two findings and, aggregated, one of each of two members
    (imported through each member's own product), plus a finding of another product in a member. ``findings``
    lists the caller's 2; ``findings --org`` lists the 4 driftline findings of 3 accounts, never the other product's;
    the table names the accounts."""
    assert scan(cli, endpoint, "--state-table", STATE, "--publish").code == 1
    published = next(iter(hub(aws).values()))
    members = ("222233334444", "555566667777")
    others = [_members_finding(published, m) for m in members]
    foreign = _members_finding(published, members[0]) | {"Id": "other-tool/1", "GeneratorId": "other-tool/check"}
    assert aws.securityhub().batch_import_findings(Findings=[*others, foreign])["FailedCount"] == 0
    # When listed for the caller and for the organisation
    own = json.loads(cli("findings", "--endpoint-url", endpoint, "--format", "json").out)
    org = cli("findings", "--endpoint-url", endpoint, "--format", "json", "--org")
    table = cli("findings", "--endpoint-url", endpoint, "--org")
    # Then
    assert {f["AwsAccountId"] for f in own} == {ACCOUNT} and len(own) == 2
    assert org.code == 0, org.err
    listed = json.loads(org.out)
    assert sorted(f["AwsAccountId"] for f in listed) == sorted([ACCOUNT, ACCOUNT, *members])
    assert "other-tool/1" not in {f["Id"] for f in listed}
    assert "4 driftline finding(s) in Security Hub, 3 account(s)" in table.out and members[0] in table.out
