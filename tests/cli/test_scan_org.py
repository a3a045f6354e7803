"""``driftline scan --org``: every account of a moto organisation, each through an assumed read-only role (moto's
STS switches account by the role's ARN), registry entries from the caller's central table. One account whose role
cannot be assumed is a clear error line and exit 3; the others are scanned anyway."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from driftline.adapters.aws import Clients
from driftline.cli.sandbox import create_tables
from driftline.domain.registry import RegistryEntry
from tests.cli.conftest import ACCOUNT, RunCli
from tests.registry_writes import RawRegistryWriter

REGISTRY, STATE = "driftline-registry", "driftline-state"
ROLE = "DriftlineReadOnly"


def organisation(aws: Clients, count: int) -> list[str]:
    """An organisation of the caller with ``count`` member accounts; each has users alice (registered) and
    mallory (not registered); the central registry (the caller's) holds alice for each."""
    organizations = aws.organizations()
    organizations.create_organization(FeatureSet="ALL")
    create_tables(aws.dynamodb(), REGISTRY, STATE)
    writer = RawRegistryWriter(aws.dynamodb(), REGISTRY)
    accounts = []
    for n in range(count):
        status = organizations.create_account(Email=f"m{n}@example.com", AccountName=f"member-{n}")
        account = status["CreateAccountStatus"]["AccountId"]
        member = aws.assumed(f"arn:aws:iam::{account}:role/{ROLE}", "test-setup")
        member.iam().create_user(UserName="alice")
        member.iam().create_user(UserName="mallory")
        alice = RegistryEntry.model_validate({"kind": "user", "name": "alice", "owner": "alice@example.com"})
        writer.put(account, alice, expected_version=None)
        accounts.append(account)
    return accounts


def deny_assume_role(monkeypatch: pytest.MonkeyPatch, account: str) -> None:
    """AssumeRole into ``account`` answered AccessDenied (an SCP, or the role missing) for every Clients built."""
    original = Clients.__init__

    def refuse(params: dict[str, Any], **_: Any) -> None:
        if f":{account}:" in params.get("RoleArn", ""):
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "not authorized"}}, "AssumeRole")

    def init(self: Clients, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self.session.events.register("provide-client-params.sts.AssumeRole", refuse)

    monkeypatch.setattr(Clients, "__init__", init)


def org_scan(run_cli: RunCli, endpoint: str, *extra: str) -> Any:
    return run_cli(
        ["scan", "--org", "--registry-table", REGISTRY, "--endpoint-url", endpoint, "--report-wait", "5", *extra]
    )


def test_each_member_is_scanned_in_its_own_account(aws: Clients, run_cli: RunCli) -> None:
    """Four members: each reports two unregistered identities, mallory and the OrganizationAccountAccessRole that
    Organizations creates in every new account (not alice: her entry in her account's partition is found), exit 1
    (drift). The caller's own account is not a member here."""
    accounts = organisation(aws, 4)
    assert aws.endpoint_url is not None
    result = org_scan(run_cli, aws.endpoint_url, "--format", "json")
    assert result.code == 1, result.err
    report = json.loads(result.out)
    by_account = {a["account_id"]: a for a in report["accounts"]}
    assert set(accounts) <= set(by_account)
    for account in accounts:
        assert by_account[account]["status"] == "scanned"
        assert by_account[account]["by_type"] == {"unregistered-identity": 2}, by_account[account]
    assert ACCOUNT not in accounts


def test_one_account_that_cannot_be_entered_does_not_stop_the_others(
    aws: Clients, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Twenty members (the issue's size), AssumeRole into the third denied: that account is an 'error' line naming
    AccessDenied and the role, stderr names it, exit 3; the other nineteen are scanned with their drift."""
    accounts = organisation(aws, 20)
    denied = accounts[2]
    deny_assume_role(monkeypatch, denied)
    assert aws.endpoint_url is not None
    result = org_scan(run_cli, aws.endpoint_url, "--concurrency", "3")
    assert result.code == 3
    lines = {line.split()[0]: line for line in result.out.splitlines() if line[:12].isdigit()}
    assert "error" in lines[denied] and "AccessDenied" in lines[denied] and f"role/{ROLE}" in lines[denied]
    scanned = [a for a in accounts if a != denied and "scanned" in lines[a] and "unregistered-identity 2" in lines[a]]
    assert len(scanned) == 19
    assert f"account {denied}: AccessDenied" in result.err
    assert "21 accounts: 20 scanned, 1 failed" in result.out  # the twenty and the management account (the caller)


def test_org_scan_refuses_writing_options(aws: Clients, run_cli: RunCli) -> None:
    """--org with --publish (or --state-table): a usage mistake, refused before any call, exit 2, naming why."""
    assert aws.endpoint_url is not None
    result = org_scan(run_cli, aws.endpoint_url, "--publish", "--state-table", STATE)
    assert result.code == 2
    assert "read-only audit" in result.err


def _ledger_record(account: str, state: str, hours_ago: float, enforce_minutes: float | None) -> Any:
    from datetime import UTC, datetime, timedelta

    from driftline.domain.ledger import Enforcement, LedgerRecord, LedgerState

    requested = datetime.now(UTC) - timedelta(hours=hours_ago)
    enforced = None
    if enforce_minutes is not None:
        enforced = Enforcement(source="observed", at=requested + timedelta(minutes=enforce_minutes))
    return LedgerRecord(
        account_id=account,
        identity="user#alice",
        requested_at=requested,
        state=LedgerState(state),
        opened_at=requested,
        last_checked=requested,
        enforced=enforced,
        seconds_to_enforce=enforce_minutes * 60 if enforce_minutes is not None else None,
    )


def test_evidence_org_merges_every_members_ledger_and_names_the_unreadable_one(
    aws: Clients, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three members: one enforced revocation (10 min) in the first, one unenforced in the second, the third's role
    denied. ``evidence --org`` (JSON) lists both records, each with its account, and exits 3 naming the third; the
    HTML report has the per-account table and the organisation's median time to enforce."""
    from driftline.adapters.ledger import DynamoLedger
    from driftline.domain.times import iso

    accounts = organisation(aws, 3)
    records = [_ledger_record(accounts[0], "enforced", 5, 10), _ledger_record(accounts[1], "unenforced", 30, None)]
    for record in records:
        member = aws.assumed(f"arn:aws:iam::{record.account_id}:role/{ROLE}", "test-setup")
        create_tables(member.dynamodb(), REGISTRY, STATE)
        stored = DynamoLedger(member.dynamodb(), STATE).update(
            record.account_id, record.identity, iso(record.requested_at), lambda _current, r=record: r
        )
        assert stored is not None
    deny_assume_role(monkeypatch, accounts[2])
    assert aws.endpoint_url is not None
    base = ["evidence", "--org", "--state-table", STATE, "--endpoint-url", aws.endpoint_url]
    # When the organisation's evidence is exported
    result = run_cli([*base, "--format", "json"])
    html = run_cli([*base, "--format", "html"])
    # Then both readable ledgers are in it, and the unreadable account is named
    assert result.code == 3
    report = json.loads(result.out)
    assert report["organization"] is True
    assert sorted((r["account_id"], r["state"]) for r in report["revocations"]) == sorted(
        [(accounts[0], "enforced"), (accounts[1], "unenforced")]
    )
    assert f"account {accounts[2]}: " in result.err and "AccessDenied" in result.err
    assert "organisation (2 accounts)" in html.out and "<h2>Per account</h2>" in html.out
    assert "median time to enforce 10 min" in html.out


def test_a_role_trusting_an_account_outside_the_organisation_is_critical(aws: Clients, run_cli: RunCli) -> None:
    """Tried: two members; in the first, role ci (approved for lambda only) also trusts account 999988887777, which
    is not in the organisation; in the second, role ci also trusts the first member. Must: with --severity CRITICAL
    the first member reports one excess-trust and the second none (an unapproved member account is HIGH: scan --org
    knows the organisation's accounts, so only the outsider is CRITICAL)."""
    first, second = organisation(aws, 2)
    writer = RawRegistryWriter(aws.dynamodb(), REGISTRY)
    for account, extra in ((first, "999988887777"), (second, first)):
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"},
                {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{extra}:root"}, "Action": "sts:AssumeRole"},
            ],
        }
        member = aws.assumed(f"arn:aws:iam::{account}:role/{ROLE}", "test-setup")
        member.iam().create_role(RoleName="ci", AssumeRolePolicyDocument=json.dumps(trust))
        ci = RegistryEntry.model_validate(
            {
                "kind": "role",
                "name": "ci",
                "owner": "platform@example.com",
                "trusted_principals": ["Service:lambda.amazonaws.com"],
            }
        )
        writer.put(account, ci, expected_version=None)
    assert aws.endpoint_url is not None

    result = org_scan(run_cli, aws.endpoint_url, "--format", "json", "--severity", "CRITICAL")

    by_account = {a["account_id"]: a for a in json.loads(result.out)["accounts"]}
    assert by_account[first]["by_type"] == {"excess-trust": 1}, by_account[first]
    assert by_account[second]["by_type"] == {}, by_account[second]
