"""``domain.dangling.settle``: the branches the integration tests (tests/integration/revocations/
test_dangling_steps.py) do not reach on moto: someone else's recorded change, other credentials not read, the deny
policy and the boundary fallback, a deleted principal."""

from __future__ import annotations

from datetime import timedelta

from driftline.domain.dangling import CONFIRMED, STALE_AFTER, settle
from driftline.domain.ledger import LedgerRecord
from driftline.domain.observed import OtherCredential
from tests.unit.domain.builders import inactive, inventory, observed_key, observed_role, observed_user
from tests.unit.revocations.support import KEY_ID, REVOKED_AT, action, cloudtrail, opened

DENY = "arn:aws:iam::123456789012:policy/driftline/DriftlineRevoked"
INTENDED = REVOKED_AT + timedelta(hours=2)
LATER = INTENDED + STALE_AFTER


def with_steps(*steps: object, changes: tuple[object, ...] = ()) -> LedgerRecord:
    return opened().model_copy(update={"actions": steps, "changes": changes})


def test_a_disable_by_someone_else_after_the_intent_keeps_the_credit_with_them() -> None:
    """K intended at T, a CloudTrail UpdateAccessKey by the on-call at T+1 min, K Inactive in IAM: the step is
    closed 'failed' naming that event; driftline claims nothing."""
    record = with_steps(
        action("deactivate-access-key", "intended", INTENDED, user="alice", credential=f"access_key:{KEY_ID}"),
        changes=(cloudtrail(INTENDED + timedelta(minutes=1)),),
    )
    iam = inventory([observed_user("alice")], keys=[inactive(observed_key(KEY_ID, "alice"))])
    settled = settle(record, iam, LATER)
    assert settled is not None
    last = settled.actions[-1]
    assert last.status == "failed" and last.error is not None and "UpdateAccessKey" in last.error


def test_other_credentials_not_read_leave_the_step_open() -> None:
    """An SSH key step when the user's other credentials were not read: nothing can be told, nothing written."""
    record = with_steps(action("deactivate-ssh-public-key", "intended", INTENDED, target="APKA1", user="alice"))
    iam = inventory([observed_user("alice", other_credentials=None)])
    assert settle(record, iam, LATER) is None


def test_an_ssh_key_shown_inactive_is_done() -> None:
    record = with_steps(action("deactivate-ssh-public-key", "intended", INTENDED, target="APKA1", user="alice"))
    ssh = OtherCredential(kind="ssh-public-key", credential_id="APKA1", active=False)
    settled = settle(record, inventory([observed_user("alice", other_credentials=(ssh,))]), LATER)
    assert settled is not None and settled.actions[-1].status == "done"
    assert settled.actions[-1].note == CONFIRMED.format(now=LATER.isoformat())


def test_the_deny_policy_attached_or_set_as_boundary_is_done_and_missing_is_failed() -> None:
    """Role deploy: attach-deny-policy intended; attached in IAM -> done; not attached -> failed. The boundary
    fallback: set in IAM -> done."""
    attach = action("attach-deny-policy", "intended", INTENDED, target="deploy", kind="role", policy_arn=DENY)
    boundary = action("set-deny-boundary", "intended", INTENDED, target="deploy", kind="role", policy_arn=DENY)
    attached = inventory(roles=[observed_role("deploy", managed_policies=frozenset({DENY}))])
    bare = inventory(roles=[observed_role("deploy")])
    bounded = inventory(roles=[observed_role("deploy", permissions_boundary=DENY)])
    done = settle(with_steps(attach), attached, LATER)
    failed = settle(with_steps(attach), bare, LATER)
    fallback = settle(with_steps(boundary), bounded, LATER)
    assert done is not None and done.actions[-1].status == "done"
    assert failed is not None and failed.actions[-1].status == "failed"
    assert fallback is not None and fallback.actions[-1].status == "done"


def test_a_deleted_principal_leaves_the_deny_step_open_and_a_settled_step_is_not_settled_twice() -> None:
    """The role is gone: whether the deny ran before the deletion cannot be told (left open). A step already
    followed by 'done' is not dangling."""
    attach = action("attach-deny-policy", "intended", INTENDED, target="deploy", kind="role", policy_arn=DENY)
    assert settle(with_steps(attach), inventory(), LATER) is None
    finished = attach.model_copy(update={"status": "done"})
    assert settle(with_steps(attach, finished), inventory(), LATER) is None
