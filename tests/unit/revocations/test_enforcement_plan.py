"""``domain.enforcement.plan_enforcement``: the exact reversible steps for unenforced revocations, and the protected
principals it refuses to touch (shown as SKIP with the reason)."""

from __future__ import annotations

import json
from datetime import timedelta

from driftline.domain.enforcement import SESSION_DENY_POLICY, Action, Step, plan_enforcement, session_deny_document
from driftline.domain.observed import Inventory
from driftline.domain.policy import session_deny
from driftline.domain.registry import RegistryEntry
from driftline.domain.settings import CompareSettings
from tests.unit.domain.builders import (
    NOW,
    hours_ago,
    inactive,
    inventory,
    key_entry,
    key_id,
    observed_key,
    observed_role,
    observed_user,
    revoked,
    role_entry,
    run,
    user_entry,
)

SETTINGS = CompareSettings()
THREE_HOURS_AGO = hours_ago(3)


def plan(entries: list[RegistryEntry], inv: Inventory, break_glass: tuple[str, ...] = ()) -> list[Action]:
    return plan_enforcement(run(entries, inv), inv, SETTINGS, NOW, break_glass)


def described(actions: list[Action]) -> list[str]:
    return [a.description for a in actions]


def test_revoked_key_plans_exactly_that_key() -> None:
    """A user with two active keys where only key 2 is revoked (3 h ago) must get one step: deactivate key 2."""
    # Given two active keys, one revoked
    inv = inventory(users=[observed_user("bob")], keys=[observed_key(key_id(1), "bob"), observed_key(key_id(2), "bob")])
    entries = [user_entry("bob"), key_entry(key_id(1), "bob"), revoked(key_entry(key_id(2), "bob"), THREE_HOURS_AGO)]

    # When the plan is made
    actions = plan(entries, inv)

    # Then exactly key 2 is deactivated
    assert described(actions) == [f"deactivate-access-key {key_id(2)}"]
    assert actions[0].user == "bob" and actions[0].skipped is None


def test_revoked_user_plans_keys_login_profile_and_session_deny() -> None:
    """A revoked user with two active keys, one inactive key and a console password must get: deactivate each active
    key (not the inactive one), delete the login profile, and a DateLessThan aws:TokenIssueTime deny at now."""
    # Given a revoked user with credentials
    keys = [
        observed_key(key_id(1), "carol"),
        observed_key(key_id(2), "carol"),
        inactive(observed_key(key_id(3), "carol")),
    ]
    inv = inventory(users=[observed_user("carol", password_enabled=True)], keys=keys)

    # When the plan is made
    actions = plan([revoked(user_entry("carol"), THREE_HOURS_AGO)], inv)

    # Then
    assert sorted(described(actions)) == sorted(
        [
            f"deactivate-access-key {key_id(1)}",
            f"deactivate-access-key {key_id(2)}",
            "delete-login-profile carol",
            "deny-user-sessions-issued-before carol",
        ]
    )
    deny = next(a for a in actions if a.step is Step.DENY_USER_SESSIONS)
    document = json.loads(deny.policy_document or "")
    statement = document["Statement"][0]
    assert statement["Effect"] == "Deny" and statement["Action"] == "*" and statement["Resource"] == "*"
    assert statement["Condition"] == {"DateLessThan": {"aws:TokenIssueTime": NOW.strftime("%Y-%m-%dT%H:%M:%SZ")}}


def test_revoked_role_plans_the_session_deny() -> None:
    """A revoked role (3 h ago) must get one step: the session-revoking deny, whose document driftline itself reads
    back as revoking every session issued before now (so the next check calls it enforced)."""
    # Given a revoked role
    inv = inventory(roles=[observed_role("deploy-bot")])

    # When the plan is made
    actions = plan([revoked(role_entry("deploy-bot"), THREE_HOURS_AGO)], inv)

    # Then
    assert described(actions) == ["deny-role-sessions-issued-before deploy-bot"]
    read_back = session_deny(SESSION_DENY_POLICY, json.loads(actions[0].policy_document or ""))
    assert read_back is not None and read_back.issued_before is not None
    assert THREE_HOURS_AGO <= read_back.issued_before <= NOW


def test_protected_principals_are_skipped_with_the_reason() -> None:
    """Revoked AWS-owned (service-linked path), driftline's own (Driftline*) roles, a break-glass user and a key of
    that user must all appear as SKIP with the reason, next to a normal revoked role that is planned."""
    # Given protected and ordinary revoked principals
    inv = inventory(
        users=[observed_user("breakglass-admin", password_enabled=True)],
        roles=[
            observed_role("AWSServiceRoleForAutoScaling", path="/aws-service-role/autoscaling.amazonaws.com/"),
            observed_role("svc-linked-custom", path="/aws-service-role/custom.amazonaws.com/"),
            observed_role("DriftlineReconcileRole"),
            observed_role("deploy-bot"),
        ],
        keys=[observed_key(key_id(7), "breakglass-admin")],
    )
    entries = [
        revoked(role_entry("AWSServiceRoleForAutoScaling"), THREE_HOURS_AGO),
        revoked(role_entry("svc-linked-custom"), THREE_HOURS_AGO),
        revoked(role_entry("DriftlineReconcileRole"), THREE_HOURS_AGO),
        revoked(role_entry("deploy-bot"), THREE_HOURS_AGO),
        revoked(user_entry("breakglass-admin"), THREE_HOURS_AGO),
        revoked(key_entry(key_id(7), "breakglass-admin"), THREE_HOURS_AGO),
    ]

    # When the plan is made with a break-glass glob
    actions = plan(entries, inv, break_glass=("breakglass-*",))

    # Then only deploy-bot is acted on; every other step is a SKIP with its reason
    acted = [a.description for a in actions if not a.skipped]
    assert acted == ["deny-role-sessions-issued-before deploy-bot"]
    skipped = {a.description for a in actions if a.skipped}
    owned = "protected principal (AWS-owned or driftline's own)"
    assert {
        f"SKIP deny-role-sessions-issued-before AWSServiceRoleForAutoScaling: {owned}",
        f"SKIP deny-role-sessions-issued-before svc-linked-custom: {owned}",
        f"SKIP deny-role-sessions-issued-before DriftlineReconcileRole: {owned}",
        "SKIP delete-login-profile breakglass-admin: break-glass principal",
        "SKIP deny-user-sessions-issued-before breakglass-admin: break-glass principal",
        f"SKIP deactivate-access-key {key_id(7)}: break-glass principal",
    } <= skipped
    assert all(a.skipped for a in actions if "breakglass-admin" in (a.user or a.target) or a.target == key_id(7))


def test_pending_and_enforced_revocations_plan_nothing() -> None:
    """A revocation still within its grace period (10 min ago) and one already enforced (key inactive) must plan no
    step at all."""
    # Given a pending role revocation and an enforced key revocation
    inv = inventory(
        users=[observed_user("bob")], roles=[observed_role("r1")], keys=[inactive(observed_key(key_id(1), "bob"))]
    )
    entries = [
        user_entry("bob"),
        revoked(role_entry("r1"), NOW - timedelta(minutes=10)),
        revoked(key_entry(key_id(1), "bob"), THREE_HOURS_AGO),
    ]

    # When / Then
    assert plan(entries, inv) == []


def test_session_deny_document_truncates_to_whole_seconds_in_utc() -> None:
    """The deny's cutoff must be written as UTC whole seconds with Z (the form IAM's DateLessThan takes)."""
    doc = json.loads(session_deny_document(NOW.replace(microsecond=999_999)))
    assert doc["Statement"][0]["Sid"] == "DriftlineRevokeOlderSessions"
    assert doc["Statement"][0]["Condition"]["DateLessThan"]["aws:TokenIssueTime"] == "2026-06-01T12:00:00Z"
