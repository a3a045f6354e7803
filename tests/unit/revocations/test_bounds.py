"""Size bounds (issue #13, "unbounded growth"): one identity can never make a ledger item, a finding or a log line
too large to write. A step that fails every hour for two months, an attacker toggling a key, an entry approving
50,000 policies: each stays bounded, says what it left out, and keeps what the credit and the undo need."""

from __future__ import annotations

import json
from datetime import timedelta

from driftline.domain.bounds import bounded_json, clipped, named
from driftline.domain.credit import enforcing_change
from driftline.domain.ledger import (
    CHANGES_PER_CREDENTIAL,
    HISTORY_HEAD,
    HISTORY_TAIL,
    RETRIES_KEPT,
    Attempt,
    bounded,
    log_action,
    log_attempt,
)
from tests.unit.revocations.support import KEY_TOKEN, REVOKED_AT, action, cloudtrail, unenforced

HOUR = timedelta(hours=1)
DYNAMODB_ITEM_LIMIT = 400 * 1024


def test_a_step_failing_every_hour_for_two_months_stays_far_below_the_item_limit() -> None:
    """1,440 hourly runs each log an intended and a failed step (what the issue measured at ~320 bytes a run: past
    400 KB in 53 days). Bounded as the adapter bounds every write, the record keeps the latest retries, all done
    lines, and counts the rest."""
    record = unenforced()
    error = "IAM UpdateAccessKey failed with AccessDenied: " + "x" * 200
    record = log_action(record, action("attach-deny-policy", "done", REVOKED_AT + HOUR, credential="*"))
    for run in range(1440):
        at = REVOKED_AT + (run + 2) * HOUR
        record = bounded(log_action(record, action("deactivate-access-key", "intended", at)))
        record = bounded(log_action(record, action("deactivate-access-key", "failed", at, error=error)))

    size = len(record.model_dump_json())
    assert size < 40 * 1024 < DYNAMODB_ITEM_LIMIT
    assert [a.status for a in record.actions].count("done") == 1  # the undo still finds it
    assert len([a for a in record.actions if a.status in ("intended", "failed")]) == RETRIES_KEPT
    assert record.dropped["actions"] == 2 * 1440 - RETRIES_KEPT
    assert record.actions[-1].at == REVOKED_AT + 1441 * HOUR  # the newest retry is kept


def test_history_attempts_and_changes_keep_head_and_tail_and_count_the_rest() -> None:
    record = unenforced()
    lines = tuple(f"{(REVOKED_AT + n * HOUR).isoformat()} re-credited: x" for n in range(500))
    record = record.model_copy(update={"history": record.history + lines})
    for n in range(100):
        attempt = Attempt(
            at=REVOKED_AT + n * HOUR, event_name="UpdateAccessKey", error_code="AccessDenied", event_id=f"a{n}"
        )
        record = log_attempt(record, attempt) or record
    toggles = [
        cloudtrail(REVOKED_AT + n * HOUR, f"ev-{n}", effect="enable" if n % 2 else "disable") for n in range(201)
    ]
    record = record.model_copy(update={"changes": tuple(toggles)})

    kept = bounded(record)

    assert len(kept.history) == HISTORY_HEAD + HISTORY_TAIL and kept.history[-1] == lines[-1]
    assert kept.history[:2] == record.history[:2]  # "opened" and the first transition stay
    assert len(kept.attempts) == 20 and kept.attempts[-1].event_id == "a99"
    assert len(kept.changes) == CHANGES_PER_CREDENTIAL
    assert kept.dropped == {
        "history": len(record.history) - HISTORY_HEAD - HISTORY_TAIL,
        "attempts": 80,
        "changes": 201 - CHANGES_PER_CREDENTIAL,
    }
    # the credit reads the latest changes: the same answer from the bounded record
    args = {"since": REVOKED_AT, "until": REVOKED_AT + 300 * HOUR}
    assert enforcing_change(kept.changes, [KEY_TOKEN], **args) == enforcing_change(record.changes, [KEY_TOKEN], **args)
    assert bounded(kept) is kept  # within bounds: unchanged, nothing counted twice


def test_a_huge_evidence_stays_valid_json_within_the_limit() -> None:
    """An entry holding 50,000 unapproved policies: the finding's evidence is clipped to its field's size, and stays
    JSON that says how much was left out."""
    evidence = {"excess": {"managed_policies": [f"arn:aws:iam::123456789012:policy/p{n}" for n in range(50_000)]}}

    text = bounded_json(evidence, 2000)

    assert len(text) <= 2000
    parsed = json.loads(text)
    assert parsed["excess"]["managed_policies"][-1].startswith("… and ")
    assert named([f"p{n}" for n in range(50_000)]).endswith("p9 and 49990 more")
    assert clipped(["x"] * 3, 2) == ["x", "x", "… and 1 more"]


def test_a_drift_about_50000_policies_has_a_short_summary_and_clipped_evidence() -> None:
    """The issue's 2.4 MB log line: the summary names ten policies and counts the rest; the evidence lists fifty."""
    from tests.unit.domain.builders import inventory, observed_user, run, user_entry

    held = frozenset(f"arn:aws:iam::123456789012:policy/p{n:05d}" for n in range(50_000))
    result = run(
        [user_entry("alice", managed_policies=())], inventory(users=[observed_user("alice", managed_policies=held)])
    )

    (drift,) = result.drifts
    assert len(drift.summary) < 1000 and drift.summary.endswith("and 49990 more")
    listed = drift.evidence["excess"]["managed_policies"]  # type: ignore[index,call-overload]
    assert len(listed) == 51 and listed[-1] == "… and 49950 more"
