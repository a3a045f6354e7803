"""``domain.enforcement.plan_enforcement``: the exact reversible steps for unenforced revocations (attach the one
deny policy, deactivate credentials; never a deletion, never a document of driftline's choosing), and the protected
principals it refuses to touch (shown as SKIP with the reason)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from driftline.domain.enforcement import (
    ALREADY_ATTACHED,
    Action,
    Protections,
    Step,
    caller_ref,
    deny_policy_arn,
    plan_enforcement,
)
from driftline.domain.identity import IdentityRef, Kind
from driftline.domain.observed import Inventory, OtherCredential
from driftline.domain.registry import RegistryEntry
from driftline.domain.settings import CompareSettings
from tests.unit.domain.builders import (
    ACCOUNT,
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
DENY = deny_policy_arn(ACCOUNT)


def plan(
    entries: list[RegistryEntry],
    inv: Inventory,
    break_glass: tuple[str, ...] = (),
    caller: IdentityRef | None = None,
) -> list[Action]:
    protections = Protections(deny_policy_arn=DENY, break_glass=break_glass, caller=caller)
    return plan_enforcement(run(entries, inv), inv, SETTINGS, protections)


def described(actions: list[Action]) -> list[str]:
    return [a.description for a in actions]


def test_deny_policy_arn_is_the_stacks_policy() -> None:
    assert f"arn:aws:iam::{ACCOUNT}:policy/driftline/DriftlineRevoked" == DENY


def test_revoked_key_plans_exactly_that_key() -> None:
    """A user with two active keys where only key 2 is revoked (3 h ago) must get one step: deactivate key 2."""
    inv = inventory(users=[observed_user("bob")], keys=[observed_key(key_id(1), "bob"), observed_key(key_id(2), "bob")])
    entries = [user_entry("bob"), key_entry(key_id(1), "bob"), revoked(key_entry(key_id(2), "bob"), THREE_HOURS_AGO)]

    actions = plan(entries, inv)

    assert described(actions) == [f"deactivate-access-key {key_id(2)}"]
    assert actions[0].user == "bob" and actions[0].skipped is None


def test_revoked_user_plans_the_deny_policy_and_every_active_credential_but_no_deletion() -> None:
    """A revoked user with two active keys, one inactive key, a console password, an active SSH key, an inactive
    service-specific credential and an active certificate must get: attach the deny policy, deactivate each active
    credential (not the inactive ones). The console password is left alone: no login profile deletion (a password
    cannot be restored), the deny stops every console action."""
    keys = [
        observed_key(key_id(1), "carol"),
        observed_key(key_id(2), "carol"),
        inactive(observed_key(key_id(3), "carol")),
    ]
    others = (
        OtherCredential(kind="ssh-public-key", credential_id="APKA1", active=True),
        OtherCredential(kind="service-specific-credential", credential_id="ACCA1", active=False),
        OtherCredential(kind="signing-certificate", credential_id="CERT1", active=True),
    )
    inv = inventory(users=[observed_user("carol", password_enabled=True, other_credentials=others)], keys=keys)

    actions = plan([revoked(user_entry("carol"), THREE_HOURS_AGO)], inv)

    assert sorted(described(actions)) == sorted(
        [
            f"attach-deny-policy carol ({DENY})",
            f"deactivate-access-key {key_id(1)}",
            f"deactivate-access-key {key_id(2)}",
            "deactivate-ssh-public-key APKA1",
            "deactivate-signing-certificate CERT1",
        ]
    )
    deny = next(a for a in actions if a.step is Step.ATTACH_DENY_POLICY)
    assert (deny.kind, deny.policy_arn, deny.credential) == (Kind.USER, DENY, "*")
    assert not any("delete" in a.step.value for a in actions)


def test_revoked_role_plans_the_deny_policy_only() -> None:
    """A revoked role (3 h ago) must get one step: attach the deny policy (which also stops its live sessions)."""
    inv = inventory(roles=[observed_role("deploy-bot")])
    actions = plan([revoked(role_entry("deploy-bot"), THREE_HOURS_AGO)], inv)
    assert described(actions) == [f"attach-deny-policy deploy-bot ({DENY})"]
    assert actions[0].kind is Kind.ROLE


def test_a_deny_policy_attached_yet_not_denying_is_reported_not_repeated() -> None:
    """The deny policy is attached but the role can still act (its document was edited to allow): the plan says so as
    a SKIP instead of attaching again, so the operator sees why it stays unenforced."""
    inv = inventory(roles=[observed_role("deploy-bot", managed_policies=frozenset({DENY}))])
    actions = plan([revoked(role_entry("deploy-bot"), THREE_HOURS_AGO)], inv)
    assert described(actions) == [f"SKIP attach-deny-policy deploy-bot ({DENY}): {ALREADY_ATTACHED}"]


def test_protected_principals_are_skipped_with_the_reason() -> None:
    """Revoked AWS-owned (service-linked path), driftline's own (Driftline*), administrative roles, a break-glass user
    (matched without case) and a key of that user must all appear as SKIP with the reason, next to a normal revoked
    role that is planned."""
    inv = inventory(
        users=[observed_user("BreakGlass-Admin", password_enabled=True)],
        roles=[
            observed_role("AWSServiceRoleForAutoScaling", path="/aws-service-role/autoscaling.amazonaws.com/"),
            observed_role("DriftlineReconcileRole"),
            observed_role("OrganizationAccountAccessRole"),
            observed_role("cdk-hnb659fds-deploy-role-123456789012-eu-west-1"),
            observed_role("deploy-bot"),
        ],
        keys=[observed_key(key_id(7), "BreakGlass-Admin")],
    )
    entries = [
        revoked(role_entry("AWSServiceRoleForAutoScaling"), THREE_HOURS_AGO),
        revoked(role_entry("DriftlineReconcileRole"), THREE_HOURS_AGO),
        revoked(role_entry("OrganizationAccountAccessRole"), THREE_HOURS_AGO),
        revoked(role_entry("cdk-hnb659fds-deploy-role-123456789012-eu-west-1"), THREE_HOURS_AGO),
        revoked(role_entry("deploy-bot"), THREE_HOURS_AGO),
        revoked(user_entry("BreakGlass-Admin"), THREE_HOURS_AGO),
        revoked(key_entry(key_id(7), "BreakGlass-Admin"), THREE_HOURS_AGO),
    ]

    actions = plan(entries, inv, break_glass=("breakglass-*",))

    assert [a.description for a in actions if not a.skipped] == [f"attach-deny-policy deploy-bot ({DENY})"]
    reasons = {a.target: a.skipped for a in actions if a.skipped}
    assert reasons["AWSServiceRoleForAutoScaling"] == "protected principal (AWS-owned or driftline's own)"
    assert reasons["DriftlineReconcileRole"] == "protected principal (AWS-owned or driftline's own)"
    assert reasons["OrganizationAccountAccessRole"] == "administrative or deployment role of the account"
    assert (
        reasons["cdk-hnb659fds-deploy-role-123456789012-eu-west-1"]
        == "administrative or deployment role of the account"
    )
    assert reasons["BreakGlass-Admin"] == reasons[key_id(7)] == "break-glass principal"


def test_the_caller_itself_is_never_touched() -> None:
    """driftline enforce run by a revoked user must not lock its own caller out mid-run: SKIP, the caller itself."""
    inv = inventory(users=[observed_user("ops-admin")], keys=[observed_key(key_id(1), "ops-admin")])
    actions = plan(
        [revoked(user_entry("ops-admin"), THREE_HOURS_AGO)], inv, caller=IdentityRef(kind=Kind.USER, name="OPS-ADMIN")
    )
    assert actions and all(a.skipped == "the caller itself" for a in actions)


@pytest.mark.parametrize(
    ("arn", "expected"),
    [
        ("arn:aws:iam::123456789012:user/ops/alice", IdentityRef(kind=Kind.USER, name="alice")),
        ("arn:aws:sts::123456789012:assumed-role/Admin/alice@example.com", IdentityRef(kind=Kind.ROLE, name="Admin")),
        ("arn:aws:iam::123456789012:root", None),
        ("not an arn", None),
    ],
)
def test_caller_ref_from_sts_arns(arn: str, expected: IdentityRef | None) -> None:
    assert caller_ref(arn) == expected


def test_pending_and_enforced_revocations_plan_nothing() -> None:
    """A revocation still within its grace period (10 min ago) and one already enforced (key inactive) must plan no
    step at all."""
    inv = inventory(
        users=[observed_user("bob")], roles=[observed_role("r1")], keys=[inactive(observed_key(key_id(1), "bob"))]
    )
    entries = [
        user_entry("bob"),
        revoked(role_entry("r1"), NOW - timedelta(minutes=10)),
        revoked(key_entry(key_id(1), "bob"), THREE_HOURS_AGO),
    ]
    assert plan(entries, inv) == []


def test_fallback_boundary_keeps_the_previous_boundary_for_the_undo() -> None:
    attach = Action(
        revocation=IdentityRef(kind=Kind.ROLE, name="r"),
        step=Step.ATTACH_DENY_POLICY,
        target="r",
        kind=Kind.ROLE,
        policy_arn=DENY,
    )
    fallback = attach.fallback_boundary("arn:aws:iam::123456789012:policy/old-boundary")
    assert (fallback.step, fallback.policy_arn, fallback.previous) == (
        Step.SET_DENY_BOUNDARY,
        DENY,
        "arn:aws:iam::123456789012:policy/old-boundary",
    )
