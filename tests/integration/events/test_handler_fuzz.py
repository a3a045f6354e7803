"""The real handler on moto under malformed and random events (corpus events mutated, random trees, non-objects,
and milder mutants that still pass triage): no invocation may raise, the answer must agree with triage, and every
answer that is not an evaluation says why. Accepted mutants really evaluate: the account holds the identities the
corpus names."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from driftline.domain.identity import Kind
from driftline.triggers.triage import Triage, triage
from tests.events import fuzz
from tests.integration.events.conftest import EventAccount
from tests.integration.support import ago, policy_arn

EXAMPLES = int(__import__("os").environ.get("FUZZ_EXAMPLES", "300"))

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")]


@pytest.fixture
def seeded(account: EventAccount) -> EventAccount:
    """The identities the corpus names by default: alice (with a key, in developers), the admin caller (registered),
    app-role, and the ops-admin role behind the assumed-role events (revoked)."""
    sandbox = account.sandbox
    sandbox.policy("read-only")
    sandbox.group("developers")
    sandbox.user("alice", key=True, groups=["developers"], policies=[policy_arn("read-only")])
    sandbox.user("admin")
    sandbox.register_user("admin")
    sandbox.role("app-role")
    sandbox.role("ops-admin")
    sandbox.register_role("ops-admin", status="revoked", revoked_at=ago(days=1))
    return account


def impossible_identifiers(decision: Triage) -> bool:
    """Accepted events naming an access key id IAM cannot have: the handler raises on them (a known bug, pinned by
    test_delivery.test_event_with_impossible_identifiers_is_rejected_not_raised)."""
    touched = decision.touched
    return touched is not None and any(r.kind is Kind.ACCESS_KEY and len(r.name) < 16 for r in touched.refs)


def test_handler_never_raises_on_malformed_events(seeded: EventAccount) -> None:
    outcomes: Counter[str] = Counter()
    answered: set[str] = set()  # event ids the idempotency store has answered (a repeated id gets that answer)

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.one_of(fuzz.malformed_events, fuzz.mild_mutants(), fuzz.mild_mutants()))  # about 1 in 5 mild
    def property_(event: Any) -> None:
        decision = triage(event)
        assume(not impossible_identifiers(decision))

        result = seeded.deliver(event)

        outcomes[result["status"]] += 1
        event_id = decision.detail.eventID if decision.detail is not None else None
        repeated = event_id in answered
        if decision.status in {"process", "widen", "attempt"} and event_id:
            answered.add(event_id)
        if repeated:  # Powertools idempotency hands back the first answer for this event id: nothing ran twice
            return
        if decision.status == "widen":  # names nobody: the whole account is asked for, never dropped
            assert result["status"] == "widened" and result["reason"] == decision.reason
        elif decision.status == "attempt":  # a failed enforcing call: kept for the ledger, or nothing to keep
            assert result["status"] in {"attempt", "skipped"}
        elif decision.status != "process":
            assert result == {"status": decision.status, "reason": decision.reason}
        else:
            assert result["status"] in {"evaluated", "skipped"}
        if result["status"] == "evaluated":
            assert result["account_id"] == "123456789012"
            assert result["findings"]["failed"] == 0
        elif result["status"] == "attempt":
            assert result["event_id"]
        else:
            assert result["reason"].strip()

    property_()

    assert sum(outcomes.values()) >= EXAMPLES
    assert outcomes["evaluated"] >= 15 and outcomes["rejected"] > 0, outcomes
