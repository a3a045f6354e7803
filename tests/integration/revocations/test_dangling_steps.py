"""A reconcile killed between an enforcement step and its ``done`` line (a Lambda timeout, a crash) leaves the step
``intended``. The next reconcile settles it with what IAM shows (domain/dangling.py): the credit goes to driftline's
step when IAM shows it done, and the step is planned again when IAM does not."""

from __future__ import annotations

from datetime import timedelta

import pytest

from driftline.adapters.enforcer import Boto3Enforcer
from driftline.domain.dangling import NOT_DONE, STALE_AFTER
from driftline.domain.enforcement import Action
from driftline.domain.ledger import LedgerState
from driftline.service.enforcement import EnforcementSettings, steps_to_undo
from tests.fault_injection import Killed
from tests.integration.revocations.support import records, revoke, run_reconcile
from tests.integration.revocations.test_enforcement import NOW, REVOKED_AT, enforcing, key_status, protections, steps
from tests.integration.support import Sandbox

LATER = NOW + STALE_AFTER + timedelta(minutes=1)


class KilledEnforcer:
    """Boto3Enforcer that dies right after (``after=True``) or right before its first IAM call."""

    def __init__(self, sandbox: Sandbox, *, after: bool) -> None:
        self.real = Boto3Enforcer(sandbox.iam)
        self.after = after

    def apply(self, action: Action) -> None:
        if self.after:
            self.real.apply(action)
        raise Killed


def revoked_key(sandbox: Sandbox) -> str:
    key = str(sandbox.user("bob", key=True))
    sandbox.register_user("bob")
    revoke(sandbox, sandbox.register_key(key, "bob"), REVOKED_AT)
    return key


def test_a_step_done_in_iam_but_not_recorded_is_credited_to_driftline_next_run(sandbox: Sandbox) -> None:
    """bob's revoked key K is deactivated, then the run dies before writing 'done'. The next reconcile (16 minutes
    later, report mode) must close the step as done (dated when it was intended, noted as confirmed from IAM) and
    record the revocation enforced by driftline's deactivate-access-key, not 'observed'; restore-access then knows
    the step to undo."""
    key = revoked_key(sandbox)
    kill = EnforcementSettings(protections=protections(), mode="enforce", enforcer=KilledEnforcer(sandbox, after=True))
    # When the enforcing run dies after the IAM call
    with pytest.raises(Killed):
        run_reconcile(sandbox, NOW, enforcement=kill)
    assert key_status(sandbox, "bob") == {key: "Inactive"}
    assert steps(records(sandbox)[f"access_key#{key}"]) == [("deactivate-access-key", key, "intended")]
    # And the next reconcile runs
    run_reconcile(sandbox, LATER)
    # Then the step is settled as done and credited
    record = records(sandbox)[f"access_key#{key}"]
    assert steps(record)[-1] == ("deactivate-access-key", key, "done")
    assert record.actions[-1].at == NOW and "confirmed from IAM" in (record.actions[-1].note or "")
    assert record.state is LedgerState.ENFORCED
    assert record.enforced is not None and record.enforced.source == "driftline"
    assert record.enforced.event_name == "deactivate-access-key"
    assert [a.target for a in steps_to_undo(record)] == [key]


def test_a_step_that_never_reached_iam_is_failed_and_taken_again(sandbox: Sandbox) -> None:
    """The run dies before the IAM call: K stays Active. The next enforcing reconcile must close the old step as
    failed ('stopped before the step completed'), take it again, and record it done and enforced by driftline."""
    key = revoked_key(sandbox)
    kill = EnforcementSettings(protections=protections(), mode="enforce", enforcer=KilledEnforcer(sandbox, after=False))
    with pytest.raises(Killed):
        run_reconcile(sandbox, NOW, enforcement=kill)
    assert key_status(sandbox, "bob") == {key: "Active"}
    # When the next reconcile enforces
    run_reconcile(sandbox, LATER, enforcement=enforcing(sandbox))
    # Then the dangling step is failed, and the new one done
    record = records(sandbox)[f"access_key#{key}"]
    assert steps(record) == [
        ("deactivate-access-key", key, "intended"),
        ("deactivate-access-key", key, "failed"),
        ("deactivate-access-key", key, "intended"),
        ("deactivate-access-key", key, "done"),
    ]
    assert record.actions[1].error == NOT_DONE.format(now=LATER.isoformat())
    assert key_status(sandbox, "bob") == {key: "Inactive"}
    assert record.enforced is not None and record.enforced.source == "driftline"


def test_a_step_of_a_run_still_in_progress_is_left_alone(sandbox: Sandbox) -> None:
    """Five minutes after the intended line (a run may still be working), the next reconcile must not settle it."""
    key = revoked_key(sandbox)
    kill = EnforcementSettings(protections=protections(), mode="enforce", enforcer=KilledEnforcer(sandbox, after=True))
    with pytest.raises(Killed):
        run_reconcile(sandbox, NOW, enforcement=kill)
    run_reconcile(sandbox, NOW + timedelta(minutes=5))
    assert steps(records(sandbox)[f"access_key#{key}"]) == [("deactivate-access-key", key, "intended")]
