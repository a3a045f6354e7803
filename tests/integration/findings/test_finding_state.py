"""adapters/finding_state.py on moto DynamoDB: what the sink remembers, how a scoped evaluation loads it, and the
guard that never rolls a newer state back."""

from __future__ import annotations

from datetime import timedelta

from driftline.adapters.aws import Clients
from driftline.adapters.finding_state import DynamoFindingStates
from driftline.domain.drift import Drift, DriftType, Severity
from driftline.domain.identity import IdentityRef, Kind
from driftline.findings.plan import FindingState, plan
from tests.integration.findings.helpers import EMPTY, NOW, PLACE
from tests.integration.support import ACCOUNT, STATE_TABLE

KEY = "AKIA0000000000000001"


def _drift(kind: Kind, name: str, user: str | None = None) -> Drift:
    return Drift(
        type=DriftType.UNREGISTERED_IDENTITY,
        severity=Severity.MEDIUM,
        identity=IdentityRef(kind=kind, name=name),
        user=user,
        summary=f"{kind.label} {name} is not registered",
    )


def _states(*drifts: Drift) -> list[FindingState]:
    return [p.state for p in plan(list(drifts), EMPTY, PLACE, {}, NOW)]


def test_states_round_trip_and_load_by_scope(clients: Clients) -> None:
    """Input: states for user alice, alice's key, user alice2 and role ops, saved. A whole-account load must return
    all four unchanged; a load scoped to user#alice must return alice's and her key's states only (not alice2's,
    whose name shares the prefix)."""
    # Given four remembered findings
    store = DynamoFindingStates(clients.dynamodb(), STATE_TABLE)
    states = _states(
        _drift(Kind.USER, "alice"),
        _drift(Kind.ACCESS_KEY, KEY, user="alice"),
        _drift(Kind.USER, "alice2"),
        _drift(Kind.ROLE, "ops"),
    )
    for state in states:
        assert store.save(ACCOUNT, PLACE.region, state) is True

    # When loaded for the account, and for alice only
    everything = store.load(ACCOUNT, PLACE.region)
    alice = store.load(ACCOUNT, PLACE.region, [IdentityRef(kind=Kind.USER, name="alice")])

    # Then the states come back as saved
    assert everything == {s.finding_id: s for s in states}
    assert sorted(s.identity for s in alice.values()) == [f"access_key#{KEY}", "user#alice"]
    # And another region's states are separate
    assert store.load(ACCOUNT, "eu-west-1") == {}


def test_an_older_state_never_overwrites_a_newer_one(clients: Clients) -> None:
    """Input: a state saved with UpdatedAt T, then the same finding's state with UpdatedAt T - 1 s (a slower
    concurrent evaluation). The second save must return False and leave the newer state stored."""
    # Given a saved state
    store = DynamoFindingStates(clients.dynamodb(), STATE_TABLE)
    (newer,) = _states(_drift(Kind.USER, "alice"))
    assert store.save(ACCOUNT, PLACE.region, newer)
    older = newer.model_copy(update={"updated_at": newer.updated_at - timedelta(seconds=1), "digest": "stale"})

    # When an older state is saved
    saved = store.save(ACCOUNT, PLACE.region, older)

    # Then it is refused and the newer state remains
    assert saved is False
    assert store.load(ACCOUNT, PLACE.region)[newer.finding_id].digest == newer.digest


def test_archived_states_expire_after_security_hub_deleted_them(clients: Clients) -> None:
    """Input: an ACTIVE state and its ARCHIVED successor. The active item must have no TTL; the archived one an
    ``expiration`` 90 days after its UpdatedAt (Security Hub deletes archived findings after 30)."""
    # Given a published, then resolved, finding
    store = DynamoFindingStates(clients.dynamodb(), STATE_TABLE)
    (active,) = _states(_drift(Kind.USER, "alice"))
    store.save(ACCOUNT, PLACE.region, active)
    db = clients.dynamodb()
    key = {"pk": {"S": f"finding#{ACCOUNT}#{PLACE.region}"}, "sk": {"S": active.sort_key}}
    assert "expiration" not in db.get_item(TableName=STATE_TABLE, Key=key)["Item"]

    # When it is archived
    (resolved,) = [p.state for p in plan([], EMPTY, PLACE, {active.finding_id: active}, NOW + timedelta(days=1))]
    assert store.save(ACCOUNT, PLACE.region, resolved)

    # Then the item expires 90 days later
    item = db.get_item(TableName=STATE_TABLE, Key=key)["Item"]
    assert int(item["expiration"]["N"]) == int((resolved.updated_at + timedelta(days=90)).timestamp())
    assert item["record_state"]["S"] == "ARCHIVED"
