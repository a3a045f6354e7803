"""``on_hub_account``: one member account reconciled from the hub, as one item of the state machine's Map.

The organisation has four members: three hold both spoke roles, the fourth none. IAM is read as the member's
DriftlineReadOnly role, registry entries come from the hub's registry (the member's partition), the ledger, key cache
and finding states go to the hub's state table under the member's partitions, and findings land in the member's own
Security Hub with its account id and default product. A member that cannot be entered or read is an error result,
never an exception.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from driftline.compose import BadMemberItem, HubMisconfigured
from driftline.domain.errors import DriftlineError
from driftline.domain.ledger import LedgerRecord
from driftline.handlers import on_hub_account
from driftline.settings import get_settings
from tests.integration.hub.conftest import FINDINGS_ROLE, HUB, READ_ROLE, FakeLambdaContext, Org, fast_clients
from tests.integration.state_partitions import Watch
from tests.integration.support import ago
from tests.integration.test_on_schedule_handler import emf_documents

REGION = "us-east-1"


def product_arn(account: str) -> str:
    return f"arn:aws:securityhub:{REGION}:{account}:product/{account}/default"


def role_arn(account: str, role: str = READ_ROLE) -> str:
    return f"arn:aws:iam::{account}:role/{role}"


def metric_total(stdout: str, name: str) -> float:
    """The sum of metric ``name`` over every EMF document printed (one per invocation)."""
    values = [doc[name] for doc in emf_documents(stdout) if name in doc]
    return sum(sum(v) if isinstance(v, list) else v for v in values)


def run(org: Org, account: str) -> dict[str, Any]:
    result: dict[str, Any] = on_hub_account.handler(
        {"account_id": account, "name": org.names[account]}, FakeLambdaContext()
    )
    return result


def seed_user(org: Org, account: str, name: str, *, key: bool = False) -> str | None:
    iam = org.admin(account).iam()
    iam.create_user(UserName=name)
    return iam.create_access_key(UserName=name)["AccessKey"]["AccessKeyId"] if key else None


@pytest.fixture
def four(org: Org) -> Iterator[Org]:
    """members[0]: alice (registered) and mallory (not); members[1]: carol, revoked two days ago, her key still
    Active; members[2]: alice only (no drift); members[3]: no driftline role at all."""
    for n in range(3):
        org.add_member(f"member-{n}")
    org.add_member("member-3", roles=False)
    first, second, third, _ = org.members
    for account in (first, third):
        seed_user(org, account, "alice")
        org.register(account, kind="user", name="alice", owner="alice@example.com")
    seed_user(org, first, "mallory")
    key = seed_user(org, second, "carol", key=True)
    assert key is not None
    revoked = {"status": "revoked", "revoked_at": ago(days=2), "ticket": "SEC-7"}
    org.register(second, kind="user", name="carol", owner="carol@example.com", **revoked)
    org.register(second, kind="access_key", name=key, user="carol", owner="carol@example.com")
    for account in org.members[:3]:
        org.admin(account).iam().generate_credential_report()
    yield org


def test_the_three_members_are_reconciled_and_the_fourth_is_an_error(
    four: Org, capsys: pytest.CaptureFixture[str], state_partitions: Watch
) -> None:
    """Each item as the Map hands it: the first member's unregistered user (not alice, whose entry sits in the hub's
    registry under that member's id) and the second's unenforced revocation are reported, the third is clean, and
    the fourth (no role: STS refuses) is an error result naming AccessDenied and the role, with AccountsFailed 1."""
    first, second, third, fourth = four.members
    capsys.readouterr()

    results = {account: run(four, account) for account in four.members}

    assert results[first]["status"] == "reconciled"
    assert (results[first]["drifts"], results[first]["by_type"]) == (1, {"unregistered-identity": 1})
    assert results[first]["findings"]["published"] == 1
    assert results[second]["status"] == "reconciled"
    assert results[second]["by_type"] == {"unenforced-revocation": 1}
    assert results[second]["open_unenforced_revocations"] == 1
    assert (results[third]["status"], results[third]["drifts"], results[third]["by_type"]) == ("reconciled", 0, {})
    assert results[first]["calls"] == sum(results[first]["api_calls"].values())
    assert results[first]["api_calls"]["sts.AssumeRole"] == 2
    assert results[first]["api_calls"]["securityhub.BatchImportFindings"] == 1
    assert results[fourth] == {
        "account_id": fourth,
        "name": "member-3",
        "status": "error",
        "error": f"AccessDenied: User: arn:aws:sts::{HUB}:assumed-role/hub/session is not authorized to perform: "
        f"sts:AssumeRole on resource: {role_arn(fourth)} (as {role_arn(fourth)})",
    }
    printed = capsys.readouterr().out
    assert (metric_total(printed, "AccountsFailed"), metric_total(printed, "AccountsReconciled")) == (1, 3)
    assert state_partitions.seen.get("HubAccountFunction", 0) > 0


def test_findings_land_in_the_members_own_security_hub(four: Org) -> None:
    """The first member's drift is a finding in that member's Security Hub, with its account id and its default
    product; the hub's own Security Hub and the clean member's hold none; the second member's finding is its own."""
    first, second, third, _ = four.members
    for account in four.members[:3]:
        run(four, account)

    (finding,) = four.findings(first)
    assert finding["AwsAccountId"] == first
    assert finding["ProductArn"] == product_arn(first)
    assert finding["Resources"][0]["Id"] == f"arn:aws:iam::{first}:user/mallory"
    assert finding["Id"].startswith(f"driftline/{first}/{REGION}/unregistered-identity/")
    (revocation,) = four.findings(second)
    assert (revocation["AwsAccountId"], revocation["ProductArn"]) == (second, product_arn(second))
    assert four.findings(HUB) == []
    assert four.findings(third) == []


def test_state_is_kept_in_the_hubs_table_under_each_members_partitions(four: Org) -> None:
    """The hub's state table holds the members' finding states, and the second member's ledger and key caches (the
    only member with a key, and revoked), each under that member's id; nothing under the hub's own id nor the
    unreachable member's. A second run is quiet (the finding states were found again)."""
    first, second, *_ = four.members
    for account in four.members:
        run(four, account)

    partitions = four.partitions()
    assert partitions == {
        f"finding#{first}#{REGION}",
        f"finding#{second}#{REGION}",
        f"ledger#{second}",
        f"keyset#{second}",
        f"others#{second}",
    }
    assert [i["sk"]["S"].split("|")[0] for i in four.state_items(f"finding#{first}#{REGION}")] == ["user#mallory"]
    again = run(four, first)
    assert (again["drifts"], again["findings"]["published"], again["findings"]["unchanged"]) == (1, 0, 1)


def test_a_revoked_key_still_active_opens_the_members_ledger_record(four: Org) -> None:
    """carol (second member) was revoked two days ago and her key is Active: the reconcile opens her ledger record
    under ledger#<second member> in the hub's state table, unenforced, with her ticket, and no other account gets
    one."""
    _, second, *_ = four.members
    result = run(four, second)

    (item,) = four.state_items(f"ledger#{second}")
    record = LedgerRecord.model_validate_json(item["record"]["S"])
    assert item["sk"]["S"].startswith("user#carol#")
    assert (record.account_id, record.identity, record.state.value, record.ticket) == (
        second,
        "user#carol",
        "unenforced",
        "SEC-7",
    )
    assert record.requested_at < record.opened_at - timedelta(days=1)
    assert result["open_unenforced_revocations"] == 1
    assert [p for p in four.partitions() if p.startswith("ledger#")] == [f"ledger#{second}"]


def test_an_scp_denying_iam_reads_is_an_error_result(four: Org) -> None:
    """An SCP denies GetAccountAuthorizationDetails in the first member: AssumeRole works, the read does not, and
    the item answers an error naming AccessDenied and the read-only role; the next member is reconciled as usual."""
    first, _, third, _ = four.members
    four.deny(first, "GetAccountAuthorizationDetails")

    result = run(four, first)

    assert result["status"] == "error"
    assert result["error"].startswith("AccessDenied: User is not authorized to perform: ")
    assert result["error"].endswith(f"(as {role_arn(first)})")
    assert "iam:GetAccountAuthorizationDetails" in result["error"]
    assert four.findings(first) == []
    assert run(four, third)["status"] == "reconciled"


def test_a_member_without_the_findings_role_is_an_error_naming_that_role(four: Org) -> None:
    """A member holding the read-only role but not the findings publisher: the error names the publisher role."""
    account = four.add_member("member-4", roles=False)
    four.admin(account).iam().create_role(RoleName=READ_ROLE, AssumeRolePolicyDocument="{}")

    result = run(four, account)

    assert result["status"] == "error"
    assert result["error"].startswith("AccessDenied: ")
    assert result["error"].endswith(f"(as {role_arn(account, FINDINGS_ROLE)})")


def test_without_publishing_no_findings_role_is_needed(four: Org, monkeypatch: pytest.MonkeyPatch) -> None:
    """DRIFTLINE_PUBLISH_FINDINGS=false: only the read-only role is assumed; the drift is reported, not published."""
    monkeypatch.setenv("DRIFTLINE_PUBLISH_FINDINGS", "false")
    get_settings.cache_clear()
    first = four.members[0]

    result = run(four, first)

    assert (result["status"], result["drifts"]) == ("reconciled", 1)
    assert result["api_calls"]["sts.AssumeRole"] == 1
    assert "securityhub.BatchImportFindings" not in result["api_calls"]
    assert four.findings(first) == []


@pytest.mark.parametrize(
    ("item", "problem"),
    [
        ({"account_id": "12345", "name": "short"}, "account_id: String should match pattern"),
        ({"account_id": "12345678901a"}, "account_id: String should match pattern"),
        ({"name": "no id"}, "account_id: Field required"),
        ({"account_id": 123456789012}, "account_id: Input should be a valid string"),
        ({"account_id": "123456789012", "role": "x"}, "role: Extra inputs are not permitted"),
        ("123456789012", "a member account item is a JSON object, not a str"),
        ([{"account_id": "123456789012"}], "a member account item is a JSON object, not a list"),
    ],
)
def test_a_malformed_item_fails_clearly_before_any_call(
    org: Org, monkeypatch: pytest.MonkeyPatch, item: Any, problem: str
) -> None:
    """A bad item raises BadMemberItem (a DriftlineError and a ValueError) naming what is wrong, before any AWS
    client is even built."""
    built: list[int] = []

    def counting() -> Any:
        built.append(1)
        return fast_clients()

    monkeypatch.setattr(on_hub_account, "CLIENTS", counting)

    with pytest.raises(BadMemberItem) as raised:
        on_hub_account.handler(item, FakeLambdaContext())

    assert problem in str(raised.value)
    assert isinstance(raised.value, DriftlineError) and isinstance(raised.value, ValueError)
    assert built == []
    if isinstance(item, dict):
        assert json.dumps(item)[:40] in str(raised.value)


@pytest.mark.filterwarnings("ignore:No application metrics to publish")
def test_enforce_mode_is_refused(four: Org, monkeypatch: pytest.MonkeyPatch) -> None:
    """DRIFTLINE_MODE=enforce in the hub: every invocation fails with a clear error before entering the member (the
    hub only holds read-only and findings-only roles there); nothing is written anywhere."""
    monkeypatch.setenv("DRIFTLINE_MODE", "enforce")
    get_settings.cache_clear()
    first = four.members[0]

    with pytest.raises(HubMisconfigured, match="DRIFTLINE_MODE=enforce is refused: the hub judges member accounts"):
        run(four, first)

    assert four.partitions() == set()
    assert four.findings(first) == []
