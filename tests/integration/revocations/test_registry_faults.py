"""One bad registry item never stops the account, nor decides anything about its identity (issue #13).

Each test writes the bad item straight into the table (as another tool, a hand edit or an attacker with write access
to the registry would), next to good ones, and runs the reconcile with the ledger and Security Hub."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from driftline.adapters.registry import to_item
from driftline.domain.ledger import LedgerState
from tests.integration.revocations.support import (
    hub_findings,
    records,
    revoke,
    run_reconcile,
    security_hub_sink,
    unenforced_finding_id,
)
from tests.integration.support import ACCOUNT, REGISTRY_TABLE, STATE_TABLE, Sandbox

NOW = datetime.now(UTC)


def _put_raw(sandbox: Sandbox, item: dict[str, Any]) -> None:
    sandbox.dynamodb.put_item(TableName=REGISTRY_TABLE, Item=item)


@pytest.fixture
def hub(sandbox: Sandbox) -> Any:
    client = sandbox.clients.securityhub()
    client.enable_security_hub()
    return client


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("revoked_at", "9999-12-31T23:59:59Z"),  # + the grace period overflows datetime
        ("revoked_at", "0001-01-01T00:00:00+05:00"),
        ("expires_at", "20261120"),  # a number read as seconds since 1970
        ("max_unused_days", True),
    ],
    ids=["year-9999", "year-1-offset", "number-as-time", "bool-as-count"],
)
def test_an_impossible_value_is_a_registry_problem_and_the_rest_is_judged(
    sandbox: Sandbox, field: str, value: Any
) -> None:
    """ann's item holds an impossible value; bob is an ordinary unregistered user. The reconcile must not raise: ann's
    item is reported as a problem naming the field, bob's drift is still reported, and ann is left undecided."""
    sandbox.user("ann")
    sandbox.user("bob")
    item = to_item(ACCOUNT, sandbox.register_user("ann"))
    serialized = {"S": value} if isinstance(value, str) else {"BOOL": value}
    extra = {"status": {"S": "revoked"}} if field == "revoked_at" else {}
    _put_raw(sandbox, item | extra | {field: serialized})

    evaluation = run_reconcile(sandbox, NOW)

    assert len(evaluation.registry_problems) == 1 and "user#ann" in evaluation.registry_problems[0]
    assert field in evaluation.registry_problems[0]
    assert {(d.type.value, d.identity.key) for d in evaluation.comparison.drifts} == {
        ("unregistered-identity", "user#bob")
    }


def test_an_unreadable_item_of_a_revoked_identity_moves_neither_its_ledger_record_nor_its_finding(
    sandbox: Sandbox, hub: Any
) -> None:
    """carol is revoked and unenforced (record open, HIGH finding active). Someone adds an attribute the model does not
    know to her item: the next reconcile reports a registry problem, and leaves her record unenforced (not cancelled)
    and her finding active; once the item is fixed, the same record goes on."""
    sandbox.user("carol", key=True)
    entry = revoke(sandbox, sandbox.register_user("carol"), NOW - timedelta(hours=3))
    sink = security_hub_sink(sandbox, hub)
    first = run_reconcile(sandbox, NOW, sink=sink)
    assert first.ledger is not None and first.ledger.open_unenforced == 1
    _put_raw(sandbox, to_item(ACCOUNT, entry) | {"colour": {"S": "blue"}})

    broken = run_reconcile(sandbox, NOW + timedelta(hours=1), sink=sink)

    assert len(broken.registry_problems) == 1 and "colour" in broken.registry_problems[0]
    assert broken.ledger is not None and broken.ledger.open_unenforced == 1
    record = records(sandbox)["user#carol"]
    assert record.state is LedgerState.UNENFORCED
    assert hub_findings(hub)[unenforced_finding_id("user#carol")]["RecordState"] == "ACTIVE"
    assert "unregistered-identity" not in {d.type.value for d in broken.comparison.drifts}

    _put_raw(sandbox, to_item(ACCOUNT, entry))
    fixed = run_reconcile(sandbox, NOW + timedelta(hours=2), sink=sink)

    assert fixed.registry_problems == []
    assert records(sandbox)["user#carol"].state is LedgerState.UNENFORCED
    assert records(sandbox)["user#carol"].history == record.history


def test_an_item_whose_key_and_body_disagree_is_rejected_and_hides_nobody(sandbox: Sandbox) -> None:
    """An item keyed user#zed whose body describes a revoked bob: the key is the identity, so the item is a problem
    ("names different identities"); it neither revokes bob nor registers zed."""
    sandbox.user("bob", key=True)
    bob = revoke(sandbox, sandbox.register_user("bob"), NOW - timedelta(hours=3))
    sandbox.dynamodb.delete_item(TableName=REGISTRY_TABLE, Key={"pk": {"S": ACCOUNT}, "sk": {"S": "user#bob"}})
    _put_raw(sandbox, to_item(ACCOUNT, bob) | {"sk": {"S": "user#zed"}})

    evaluation = run_reconcile(sandbox, NOW)

    assert evaluation.registry_problems == [
        "registry item user#zed: its sort key user#zed and its body (user#bob) name different identities"
    ]
    assert evaluation.comparison.revocations == ()


def test_a_corrupt_ledger_item_is_reported_skipped_and_never_overwritten(sandbox: Sandbox) -> None:
    """carol's ledger item is corrupt (hand-edited JSON); dave's revocation is fine. The reconcile must not raise:
    dave's record advances, carol's corrupt item is named in the ledger problems and left byte for byte as it was
    (its evidence is not ours to overwrite), and the rest of the account is judged."""
    for name in ("carol", "dave"):
        sandbox.user(name, key=True)
        revoke(sandbox, sandbox.register_user(name), NOW - timedelta(hours=3))
    run_reconcile(sandbox, NOW)
    key = {"pk": {"S": f"ledger#{ACCOUNT}"}}
    (carol_item,) = [
        i
        for i in sandbox.dynamodb.query(
            TableName=STATE_TABLE,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": key["pk"]},
        )["Items"]
        if i["sk"]["S"].startswith("user#carol#")
    ]
    corrupt = carol_item | {"record": {"S": '{"identity": "user#carol", "state": "enforced"'}}
    sandbox.dynamodb.put_item(TableName=STATE_TABLE, Item=corrupt)

    evaluation = run_reconcile(sandbox, NOW + timedelta(days=2))

    assert evaluation.ledger is not None
    (problem,) = evaluation.ledger.problems
    assert problem.startswith(f"ledger item {carol_item['sk']['S']} is not a valid record")
    stored = sandbox.dynamodb.get_item(TableName=STATE_TABLE, Key={"pk": key["pk"], "sk": carol_item["sk"]})["Item"]
    assert stored == corrupt
    assert records_but(sandbox, "user#carol")["user#dave"].last_checked == NOW + timedelta(days=2)
    assert {d.identity.key for d in evaluation.comparison.drifts} >= {"user#carol", "user#dave"}


def records_but(sandbox: Sandbox, skipped: str) -> dict[str, Any]:
    """The readable ledger records by identity (the corrupt one is skipped by the adapter)."""
    return {k: v for k, v in records(sandbox).items() if k != skipped}
