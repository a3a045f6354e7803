"""The hub functions' state partitions are patterns (``StringLike`` on ``dynamodb:LeadingKeys``): any member's
ledger, caches and finding states of the hub's Region, nothing else; the other functions keep their exact keys."""

from __future__ import annotations

import pytest

from stacks.partitions import STATE_PARTITIONS, allows, is_pattern, partitions
from tests.integration.state_partitions import Watch

MEMBER = "210987654321"


def test_the_existing_functions_keep_their_exact_partitions() -> None:
    """No pattern in the three account-local functions: the same keys as before, for this account and Region."""
    for function in ("ReconcileFunction", "IamEventFunction", "RegistryChangeFunction"):
        assert not any(is_pattern(p) for p in STATE_PARTITIONS[function]), function
    assert partitions("IamEventFunction", account="111122223333", region="eu-west-1") == (
        "ledger#111122223333",
        "finding#111122223333#eu-west-1",
        "keyset#111122223333",
        "others#111122223333",
        "idempotency#iam-event",
        "reconcile-request#111122223333",
    )


def test_the_hub_functions_partitions() -> None:
    assert partitions("HubAccountsFunction", account="111122223333", region="us-east-1") == ()
    assert partitions("HubAccountFunction", account="111122223333", region="eu-west-1") == (
        "ledger#*",
        "finding#*#eu-west-1",
        "keyset#*",
        "others#*",
    )


@pytest.mark.parametrize(
    ("key", "allowed"),
    [
        (f"ledger#{MEMBER}", True),
        (f"keyset#{MEMBER}", True),
        (f"others#{MEMBER}", True),
        (f"finding#{MEMBER}#us-east-1", True),
        (f"finding#{MEMBER}#eu-west-1", False),  # another Region's findings
        ("idempotency#iam-event", False),
        (f"reconcile-request#{MEMBER}", False),
        (f"ledgers#{MEMBER}", False),
        (MEMBER, False),
    ],
)
def test_a_pattern_admits_any_member_and_nothing_else(key: str, allowed: bool) -> None:
    assert allows(partitions("HubAccountFunction", account="111122223333", region="us-east-1"), key) is allowed


def test_exact_partitions_match_only_themselves() -> None:
    """An exact partition is compared as text: no prefix, no suffix, and no wildcard read into a key."""
    granted = partitions("ReconcileFunction", account="111122223333", region="us-east-1")
    assert allows(granted, "ledger#111122223333")
    assert not allows(granted, "ledger#1111222233334")
    assert not allows(granted, "ledger#11112222333")
    assert not allows(granted, f"ledger#{MEMBER}")
    # "?" in a grant is a pattern too (StringLike: one character)
    assert allows(("ledger#1?",), "ledger#12") and not allows(("ledger#1?",), "ledger#123")


def test_the_watch_reports_a_hub_call_outside_its_patterns() -> None:
    """The integration tier's check, under HubAccountFunction: a member's ledger is fine, the IAM event function's
    idempotency partition is a violation."""
    watch = Watch()

    class Model:
        name = "PutItem"

    def put(pk: str) -> None:
        watch.hook({"TableName": "driftline-state", "Item": {"pk": {"S": pk}, "sk": {"S": "x"}}}, Model())

    run = watch.wrap("HubAccountFunction", put)
    run(f"ledger#{MEMBER}")
    run("idempotency#iam-event")
    assert watch.seen == {"HubAccountFunction": 2}
    assert watch.violations == [("HubAccountFunction", "PutItem", "idempotency#iam-event")]
