"""``on_hub_event``: a member's IAM CloudTrail events, forwarded onto the hub's bus, judged from the hub with the
same triage, scope and steps as a function's own account (on_iam_event.py), through the member's roles."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from driftline.handlers import on_hub_account, on_hub_event
from driftline.settings import get_settings
from tests.events import corpus
from tests.integration.hub.conftest import HUB, READ_ROLE, FakeLambdaContext, Org
from tests.integration.state_partitions import Watch

REGION = "us-east-1"
_REQUESTS = itertools.count(1)


def context() -> Any:
    return SimpleNamespace(
        function_name="driftline-hub-event",
        memory_limit_in_mb=256,
        invoked_function_arn=f"arn:aws:lambda:{REGION}:{HUB}:function:driftline-hub-event",
        aws_request_id=f"00000000-0000-4000-8000-{next(_REQUESTS):012d}",
        get_remaining_time_in_millis=lambda: 50_000,
    )


def deliver(event: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = on_hub_event.handler(event, context())
    return result


@pytest.fixture
def members(org: Org) -> Iterator[Org]:
    """Two members with both spoke roles, alice registered in each; a third without roles."""
    for n in range(2):
        account = org.add_member(f"member-{n}")
        org.admin(account).iam().create_user(UserName="alice")
        org.register(account, kind="user", name="alice", owner="alice@example.com")
    org.add_member("member-2", roles=False)
    yield org


@pytest.mark.filterwarnings("ignore:No application metrics to publish")  # the redelivery answers from its record
def test_a_members_event_is_judged_in_that_member(members: Org, state_partitions: Watch) -> None:
    """CreateUser of eve (unregistered) in the first member: eve alone is read, as that member's read-only role; the
    finding lands in that member's Security Hub with its account id; the state goes under its partitions; the same
    event delivered again writes nothing new (idempotent on eventID)."""
    first = members.members[0]
    members.admin(first).iam().create_user(UserName="eve")
    event = corpus.load("iam.CreateUser", account=first, user="eve")

    result = deliver(event)
    again = deliver(event)

    assert (result["status"], result["account_id"], result["drifts_by_type"]) == (
        "evaluated",
        first,
        {"unregistered-identity": 1},
    )
    assert result["api_calls"]["sts.AssumeRole"] == 2 and result["api_calls"]["iam.GetUser"] == 1
    assert "iam.GetAccountAuthorizationDetails" not in result["api_calls"]
    (finding,) = members.findings(first)
    assert (finding["AwsAccountId"], finding["Resources"][0]["Id"]) == (first, f"arn:aws:iam::{first}:user/eve")
    assert finding["ProductArn"] == f"arn:aws:securityhub:{REGION}:{first}:product/{first}/default"
    assert members.findings(HUB) == [] and members.findings(members.members[1]) == []
    assert again == result
    assert members.partitions() == {f"finding#{first}#{REGION}", "idempotency#hub-event"}
    assert state_partitions.seen.get("HubEventFunction", 0) > 0


def test_an_event_whose_account_is_not_its_recipient_is_rejected(members: Org) -> None:
    """The envelope says the first member, CloudTrail's recipientAccountId the second: rejected, naming both,
    before any role is assumed."""
    first, second, _ = members.members
    event = corpus.load("iam.CreateUser", account=second, user="eve")
    event["account"] = first

    result = deliver(event)

    assert result == {
        "status": "rejected",
        "reason": f"the event's account '{first}' is not its recipientAccountId '{second}'",
    }
    assert members.partitions() == set()


def test_an_event_without_recipient_or_with_a_bad_account_is_rejected(members: Org) -> None:
    first = members.members[0]
    unnamed = corpus.load("iam.CreateUser", account=first, user="eve")
    del unnamed["detail"]["recipientAccountId"]
    bad = corpus.load("iam.CreateUser", account="not-an-account", user="eve")

    assert deliver(unnamed)["reason"] == "the event names no recipientAccountId: whose IAM it changed is unknown"
    assert deliver(bad) == {
        "status": "rejected",
        "reason": "the event's account 'not-an-account' is no 12-digit account id",
    }


def test_a_member_without_roles_is_an_error_result(members: Org) -> None:
    third = members.members[2]
    result = deliver(corpus.load("iam.CreateUser", account=third, user="eve"))
    arn = f"arn:aws:iam::{third}:role/{READ_ROLE}"
    assert (result["account_id"], result["status"]) == (third, "error")
    assert result["error"].startswith("AccessDenied: ") and result["error"].endswith(f"(as {arn})")


def test_an_event_naming_nobody_asks_the_hub_to_reconcile_that_member(
    members: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A PutUserPolicy whose request CloudTrail truncated names nobody: the hub event function asks the hub account
    function (DRIFTLINE_RECONCILE_FUNCTION) for that member, once per window (the marker under
    reconcile-request#<member>); the request it sends is an item the account function reconciles."""
    monkeypatch.setenv("DRIFTLINE_RECONCILE_FUNCTION", "driftline-hub-account")
    get_settings.cache_clear()
    first = members.members[0]
    members.admin(first).iam().generate_credential_report()

    result = deliver(corpus.load("iam.PutUserPolicy.request-omitted", account=first))
    second = deliver(corpus.load("iam.PutUserPolicy.request-omitted", account=first))

    assert (result["status"], result["reconcile_requested"]) == ("widened", True)
    assert (second["status"], second["reconcile_requested"]) == ("widened", False)
    (request,) = members.invoked
    assert (request["function"], request["source"], request["account"]) == (
        "driftline-hub-account",
        "driftline.reconcile-request",
        first,
    )
    assert [i["pk"]["S"] for i in members.state_items(f"reconcile-request#{first}")] == [f"reconcile-request#{first}"]
    reconciled = on_hub_account.handler({k: v for k, v in request.items() if k != "function"}, FakeLambdaContext())
    assert (reconciled["account_id"], reconciled["status"], reconciled["drifts"]) == (first, "reconciled", 0)
