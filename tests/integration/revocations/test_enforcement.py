"""Safe enforcement on moto through ``service.reconcile``: reversible steps only (deactivate credentials, attach the
one deny policy), exactly the revoked credentials, never a deletion, never a protected principal, every step in the
ledger before and after, failures retried on the next run, the managed-policy quota handled, and every step undone by
``restore_access``.

moto does not evaluate policies: whether the attached policy denies everything is judged by driftline's own policy
reading (tested on literal documents in tests/unit/domain), here fed with the document moto stores."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from driftline.adapters.enforcer import Boto3Enforcer
from driftline.adapters.restorer import Boto3Restorer
from driftline.domain.enforcement import ALREADY_ATTACHED, Action, Protections, Step, deny_policy_arn
from driftline.domain.errors import EnforcementError, PolicyQuotaFull
from driftline.domain.ledger import LedgerState
from driftline.handlers import on_schedule
from driftline.service.enforcement import EnforcementSettings, restore_access
from tests.integration.revocations.support import lambda_context, ledger_of, records, revoke, run_reconcile
from tests.integration.support import ACCOUNT, Sandbox

NOW = datetime.now(UTC)
REVOKED_AT = NOW - timedelta(hours=3)
DENY = deny_policy_arn(ACCOUNT)
WRITES = ("Put", "Update", "Delete", "Create", "Attach", "Detach", "Upload")


class IamCalls:
    """Every IAM operation sent through the sandbox's client, with its parameters (botocore event hook)."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        sandbox.iam.meta.events.register("provide-client-params.iam.*", self._record)

    def _record(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self.calls.append((model.name, dict(params)))

    def named(self, operation: str) -> list[dict[str, Any]]:
        return [params for name, params in self.calls if name == operation]

    def writes(self) -> Counter[str]:
        return Counter(name for name, _ in self.calls if name.startswith(WRITES))


def protections(break_glass: tuple[str, ...] = ()) -> Protections:
    return Protections(deny_policy_arn=DENY, break_glass=break_glass)


def enforcing(sandbox: Sandbox, break_glass: tuple[str, ...] = ()) -> EnforcementSettings:
    return EnforcementSettings(
        protections=protections(break_glass), mode="enforce", enforcer=Boto3Enforcer(sandbox.iam)
    )


def key_status(sandbox: Sandbox, user: str) -> dict[str, str]:
    metadata = sandbox.iam.list_access_keys(UserName=user)["AccessKeyMetadata"]
    return {k["AccessKeyId"]: k["Status"] for k in metadata}


def ssh_status(sandbox: Sandbox, user: str) -> dict[str, str]:
    return {k["SSHPublicKeyId"]: k["Status"] for k in sandbox.iam.list_ssh_public_keys(UserName=user)["SSHPublicKeys"]}


def has_login_profile(sandbox: Sandbox, user: str) -> bool:
    try:
        sandbox.iam.get_login_profile(UserName=user)
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "NoSuchEntity"
        return False
    return True


def attached(sandbox: Sandbox, *, user: str | None = None, role: str | None = None) -> list[str]:
    if user is not None:
        return [p["PolicyArn"] for p in sandbox.iam.list_attached_user_policies(UserName=user)["AttachedPolicies"]]
    return [p["PolicyArn"] for p in sandbox.iam.list_attached_role_policies(RoleName=str(role))["AttachedPolicies"]]


def steps(record: Any) -> list[tuple[str, str, str]]:
    return [(a.step, a.target, a.status) for a in record.actions]


SSH_BODY = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDDriftlineIntegrationKeyNotReal carol@laptop"


def revoked_user_with_credentials(sandbox: Sandbox, name: str = "carol") -> tuple[str, str, str]:
    """A registered user with two active keys, a console password and an SSH key, revoked three hours ago."""
    first = str(sandbox.user(name, key=True, password=True))
    second = sandbox.key(name)
    ssh = sandbox.iam.upload_ssh_public_key(UserName=name, SSHPublicKeyBody=SSH_BODY)["SSHPublicKey"]["SSHPublicKeyId"]
    entry = sandbox.register_user(name)
    revoke(sandbox, entry, REVOKED_AT)
    return first, second, ssh


@pytest.fixture(autouse=True)
def _deny_policy(sandbox: Sandbox) -> None:
    """The stack creates the deny policy in every account it deploys to."""
    assert sandbox.deny_policy() == DENY


def test_revoked_key_of_a_user_with_two_keys_deactivates_exactly_that_key(sandbox: Sandbox) -> None:
    """bob has two Active keys, only K2 revoked (3 h ago): enforce mode must call UpdateAccessKey once, for K2 with
    Status Inactive, leave K1 Active, and record the revocation enforced by driftline."""
    # Given bob's two keys, one revoked
    k1 = str(sandbox.user("bob", key=True))
    k2 = sandbox.key("bob")
    sandbox.register_user("bob")
    sandbox.register_key(k1, "bob")
    revoke(sandbox, sandbox.register_key(k2, "bob"), REVOKED_AT)
    iam = IamCalls(sandbox)

    # When the reconcile enforces
    evaluation = run_reconcile(sandbox, NOW, enforcement=enforcing(sandbox))

    # Then exactly K2 was deactivated
    assert evaluation.enforcement is not None
    assert evaluation.enforcement.applied == [f"deactivate-access-key {k2}"]
    assert iam.named("UpdateAccessKey") == [{"UserName": "bob", "AccessKeyId": k2, "Status": "Inactive"}]
    assert key_status(sandbox, "bob") == {k1: "Active", k2: "Inactive"}
    record = records(sandbox)[f"access_key#{k2}"]
    assert record.state is LedgerState.ENFORCED
    assert record.enforced is not None and record.enforced.source == "driftline"
    assert record.enforced.event_name == "deactivate-access-key"
    assert record.seconds_to_enforce == pytest.approx((NOW - REVOKED_AT).total_seconds())
    assert not [d for d in evaluation.comparison.drifts if d.type.value == "unenforced-revocation"]


def test_revoked_user_is_locked_out_reversibly_and_never_deleted(sandbox: Sandbox) -> None:
    """carol (two Active keys, console password, SSH key) revoked 3 h ago: enforce mode must attach exactly the deny
    policy, deactivate both keys and the SSH key, and delete nothing at all (her login profile stays: a password
    cannot be restored); the re-read judges her enforced (the deny, not the absence of credentials), and the ledger
    says enforced by driftline."""
    # Given carol with credentials, revoked
    k1, k2, ssh = revoked_user_with_credentials(sandbox)
    iam = IamCalls(sandbox)

    # When the reconcile enforces
    evaluation = run_reconcile(sandbox, NOW, enforcement=enforcing(sandbox))

    # Then her credentials are disabled and the deny attached, reversibly
    assert evaluation.enforcement is not None and evaluation.enforcement.failed == {}
    assert attached(sandbox, user="carol") == [DENY]
    assert iam.named("AttachUserPolicy") == [{"UserName": "carol", "PolicyArn": DENY}]
    assert key_status(sandbox, "carol") == {k1: "Inactive", k2: "Inactive"}
    assert ssh_status(sandbox, "carol") == {ssh: "Inactive"}
    assert has_login_profile(sandbox, "carol")

    # And nothing was deleted, no policy document written
    assert iam.writes() == Counter({"AttachUserPolicy": 1, "UpdateAccessKey": 2, "UpdateSSHPublicKey": 1})
    record = records(sandbox)["user#carol"]
    assert record.state is LedgerState.ENFORCED
    assert record.enforced is not None and record.enforced.source == "driftline"
    assert [c.state.value for c in evaluation.comparison.revocations] == ["enforced"]


def test_revoked_role_gets_the_deny_policy_which_also_stops_its_sessions(sandbox: Sandbox) -> None:
    """Role deploy-bot revoked 3 h ago: enforce mode must attach the deny policy (and delete nothing); the re-read
    (the policy's document read back) then judges the revocation enforced."""
    sandbox.role("deploy-bot")
    revoke(sandbox, sandbox.register_role("deploy-bot"), REVOKED_AT)
    iam = IamCalls(sandbox)

    evaluation = run_reconcile(sandbox, NOW, enforcement=enforcing(sandbox))

    assert evaluation.enforcement is not None
    assert evaluation.enforcement.applied == [f"attach-deny-policy deploy-bot ({DENY})"]
    assert attached(sandbox, role="deploy-bot") == [DENY]
    assert iam.writes() == Counter({"AttachRolePolicy": 1})
    assert records(sandbox)["role#deploy-bot"].state is LedgerState.ENFORCED
    assert [c.state.value for c in evaluation.comparison.revocations] == ["enforced"]


def test_a_deny_policy_edited_to_allow_is_not_enforcement(sandbox: Sandbox) -> None:
    """Someone gives the deny policy a new default version that allows everything: the role it is attached to is no
    longer enforced, and the plan says the policy is attached yet does not deny (instead of claiming success)."""
    sandbox.role("deploy-bot", policies=[DENY])
    revoke(sandbox, sandbox.register_role("deploy-bot"), REVOKED_AT)
    allow_all = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}'
    sandbox.iam.create_policy_version(PolicyArn=DENY, PolicyDocument=allow_all, SetAsDefault=True)

    evaluation = run_reconcile(sandbox, NOW, enforcement=enforcing(sandbox))

    assert [c.state.value for c in evaluation.comparison.revocations] == ["unenforced"]
    assert evaluation.enforcement is not None and evaluation.enforcement.applied == []
    assert evaluation.enforcement.skipped == [f"SKIP attach-deny-policy deploy-bot ({DENY}): {ALREADY_ATTACHED}"]


def test_protected_principals_are_untouched_and_shown_as_skip(sandbox: Sandbox) -> None:
    """Revoked: a service-linked role, driftline's own role, OrganizationAccountAccessRole and the break-glass user
    BreakGlass-Admin (key + password, listed as "breakglass-*": names ignore case); plus an ordinary revoked role.
    Enforce mode must act only on the ordinary role; every protected step must be in the plan as SKIP with its
    reason; the protected principals' IAM state is unchanged and their ledger records hold no action."""
    linked = sandbox.iam.create_service_linked_role(AWSServiceName="autoscaling.amazonaws.com")["Role"]
    linked_name = linked["RoleName"]
    for name in ("DriftlineReconcileRole", "OrganizationAccountAccessRole", "deploy-bot"):
        sandbox.role(name)
    bg_key = str(sandbox.user("BreakGlass-Admin", key=True, password=True))
    for name in (linked_name, "DriftlineReconcileRole", "OrganizationAccountAccessRole", "deploy-bot"):
        revoke(sandbox, sandbox.register_role(name), REVOKED_AT)
    revoke(sandbox, sandbox.register_user("BreakGlass-Admin"), REVOKED_AT)
    iam = IamCalls(sandbox)

    evaluation = run_reconcile(sandbox, NOW, enforcement=enforcing(sandbox, break_glass=("breakglass-*",)))

    report = evaluation.enforcement
    assert report is not None
    assert report.applied == [f"attach-deny-policy deploy-bot ({DENY})"]
    owned, admin = (
        "protected principal (AWS-owned or driftline's own)",
        "administrative or deployment role of the account",
    )
    expected_skips = {
        f"SKIP attach-deny-policy {linked_name} ({DENY}): {owned}",
        f"SKIP attach-deny-policy DriftlineReconcileRole ({DENY}): {owned}",
        f"SKIP attach-deny-policy OrganizationAccountAccessRole ({DENY}): {admin}",
        f"SKIP attach-deny-policy BreakGlass-Admin ({DENY}): break-glass principal",
        f"SKIP deactivate-access-key {bg_key}: break-glass principal",
    }
    assert set(report.skipped) == expected_skips
    assert expected_skips <= set(report.planned)
    assert iam.writes() == Counter({"AttachRolePolicy": 1})
    assert iam.named("AttachRolePolicy")[0]["RoleName"] == "deploy-bot"
    assert key_status(sandbox, "BreakGlass-Admin") == {bg_key: "Active"}
    ledger = records(sandbox)
    for identity in (f"role#{linked_name}", "role#driftlinereconcilerole", "user#breakglass-admin"):
        assert ledger[identity.lower()].state is LedgerState.UNENFORCED
        assert ledger[identity.lower()].actions == ()


def test_report_mode_changes_nothing_and_returns_the_exact_plan(sandbox: Sandbox) -> None:
    """The same revoked user carol and revoked role deploy-bot in report mode (the default, and the dry run) — even
    when an enforcer is available — must return exactly the plan enforce mode would carry out, apply nothing, change
    nothing in IAM, and log no action in the ledger."""
    k1, k2, ssh = revoked_user_with_credentials(sandbox)
    sandbox.role("deploy-bot")
    revoke(sandbox, sandbox.register_role("deploy-bot"), REVOKED_AT)
    iam = IamCalls(sandbox)

    report_only = EnforcementSettings(protections=protections(), mode="report", enforcer=Boto3Enforcer(sandbox.iam))
    evaluation = run_reconcile(sandbox, NOW, enforcement=report_only)

    report = evaluation.enforcement
    assert report is not None
    assert sorted(report.planned) == sorted(
        [
            f"attach-deny-policy deploy-bot ({DENY})",
            f"attach-deny-policy carol ({DENY})",
            f"deactivate-access-key {k1}",
            f"deactivate-access-key {k2}",
            f"deactivate-ssh-public-key {ssh}",
        ]
    )
    assert (report.applied, report.failed, report.skipped) == ([], {}, [])
    assert not iam.writes()
    assert key_status(sandbox, "carol") == {k1: "Active", k2: "Active"}
    assert all(r.actions == () and r.state is LedgerState.UNENFORCED for r in records(sandbox).values())


class CheckingEnforcer:
    """The real enforcer, checking before every step that its intent is already in the ledger (and its result not)."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.real = Boto3Enforcer(sandbox.iam)
        self.seen: list[tuple[str, str, list[str]]] = []

    def apply(self, action: Action) -> None:
        record = records(self.sandbox)[action.revocation.key]
        statuses = [a.status for a in record.actions if (a.step, a.target) == (action.step.value, action.target)]
        self.seen.append((action.step.value, action.target, statuses))
        self.real.apply(action)


def test_every_step_is_in_the_ledger_before_and_after(sandbox: Sandbox) -> None:
    """Enforcing carol's revocation (4 steps) must find each step's "intended" entry in the ledger when the step
    runs (and no result yet), and leave intended/done pairs in order for all four steps, each with what its undo
    needs."""
    k1, k2, ssh = revoked_user_with_credentials(sandbox)
    enforcer = CheckingEnforcer(sandbox)

    run_reconcile(
        sandbox, NOW, enforcement=EnforcementSettings(protections=protections(), mode="enforce", enforcer=enforcer)
    )

    assert len(enforcer.seen) == 4
    assert all(statuses == ["intended"] for _, _, statuses in enforcer.seen)
    planned = [
        ("attach-deny-policy", "carol"),
        ("deactivate-access-key", k1),
        ("deactivate-access-key", k2),
        ("deactivate-ssh-public-key", ssh),
    ]
    record = records(sandbox)["user#carol"]
    assert steps(record) == [(s, t, status) for s, t in planned for status in ("intended", "done")]
    assert all(a.at == NOW for a in record.actions)
    attach = record.actions[1]
    assert (attach.policy_arn, attach.kind, attach.credential) == (DENY, "user", "*")
    assert record.actions[3].user == "carol"


def test_a_failed_step_leaves_the_revocation_unenforced_and_is_retried(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """bob's revoked key K when IAM refuses UpdateAccessKey (AccessDenied): the reconcile must record the step
    intended then failed with the error, leave the key Active and the record unenforced, and report the failure; the
    next reconcile (IAM working) must plan it again, deactivate K and record it enforced by driftline."""
    key = str(sandbox.user("bob", key=True))
    sandbox.register_user("bob")
    revoke(sandbox, sandbox.register_key(key, "bob"), REVOKED_AT)
    error = "IAM UpdateAccessKey failed with AccessDenied: not authorized to perform iam:UpdateAccessKey"

    def refuse(self: Boto3Enforcer, action: Action) -> None:
        raise EnforcementError(error, "AccessDenied")

    with monkeypatch.context() as patched:
        patched.setattr(Boto3Enforcer, "apply", refuse)
        first = run_reconcile(sandbox, NOW, enforcement=enforcing(sandbox))

    assert first.enforcement is not None
    assert first.enforcement.failed == {f"deactivate-access-key {key}": error}
    assert first.enforcement.applied == []
    record = records(sandbox)[f"access_key#{key}"]
    assert record.state is LedgerState.UNENFORCED
    assert steps(record) == [("deactivate-access-key", key, "intended"), ("deactivate-access-key", key, "failed")]
    assert record.actions[-1].error == error
    assert key_status(sandbox, "bob") == {key: "Active"}

    retry_at = NOW + timedelta(hours=1)
    second = run_reconcile(sandbox, retry_at, enforcement=enforcing(sandbox))

    assert second.enforcement is not None and second.enforcement.applied == [f"deactivate-access-key {key}"]
    assert key_status(sandbox, "bob") == {key: "Inactive"}
    record = records(sandbox)[f"access_key#{key}"]
    assert record.state is LedgerState.ENFORCED
    assert record.enforced is not None and record.enforced.source == "driftline" and record.enforced.at == retry_at
    assert [a.status for a in record.actions] == ["intended", "failed", "intended", "done"]


def test_a_full_managed_policy_quota_falls_back_to_the_deny_boundary_and_undoes_cleanly(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Role deploy-bot already holds as many managed policies as IAM allows (AttachRolePolicy answers LimitExceeded;
    moto has no quota, so the answer is simulated) and has a boundary of its own: enforce mode sets the deny policy as
    its permissions boundary instead, records the previous boundary, and the re-read judges it enforced (a boundary
    that allows nothing). restore_access then puts the previous boundary back."""
    previous = sandbox.policy("team-boundary")
    sandbox.role("deploy-bot")
    sandbox.iam.put_role_permissions_boundary(RoleName="deploy-bot", PermissionsBoundary=previous)
    revoke(sandbox, sandbox.register_role("deploy-bot"), REVOKED_AT)
    real = Boto3Enforcer.apply

    def quota_full(self: Boto3Enforcer, action: Action) -> None:
        if action.step is Step.ATTACH_DENY_POLICY:
            raise PolicyQuotaFull("IAM AttachRolePolicy failed with LimitExceeded: quota", "LimitExceeded")
        real(self, action)

    monkeypatch.setattr(Boto3Enforcer, "apply", quota_full)
    evaluation = run_reconcile(sandbox, NOW, enforcement=enforcing(sandbox))

    boundary = sandbox.iam.get_role(RoleName="deploy-bot")["Role"]["PermissionsBoundary"]["PermissionsBoundaryArn"]
    assert boundary == DENY
    assert [c.state.value for c in evaluation.comparison.revocations] == ["enforced"]
    record = records(sandbox)["role#deploy-bot"]
    done = [a for a in record.actions if a.status == "done"]
    assert [(a.step, a.previous) for a in done] == [("set-deny-boundary", previous)]

    undone = restore_access(ACCOUNT, record, restorer=Boto3Restorer(sandbox.iam), ledger=ledger_of(sandbox), now=NOW)

    assert [command for _, command in undone] == [
        f"aws iam put-role-permissions-boundary --role-name deploy-bot --permissions-boundary {previous}"
    ]
    back = sandbox.iam.get_role(RoleName="deploy-bot")["Role"]["PermissionsBoundary"]["PermissionsBoundaryArn"]
    assert back == previous


def test_restore_access_reverses_every_step_and_says_so_in_the_ledger(sandbox: Sandbox) -> None:
    """After carol was enforced, restore_access must detach the deny policy and reactivate her keys and SSH key (the
    exact reverse of each step), write an "undone" line per step, and a second run must find nothing to undo."""
    k1, k2, ssh = revoked_user_with_credentials(sandbox)
    run_reconcile(sandbox, NOW, enforcement=enforcing(sandbox))
    record = records(sandbox)["user#carol"]

    undone = restore_access(ACCOUNT, record, restorer=Boto3Restorer(sandbox.iam), ledger=ledger_of(sandbox), now=NOW)

    assert attached(sandbox, user="carol") == []
    assert key_status(sandbox, "carol") == {k1: "Active", k2: "Active"}
    assert ssh_status(sandbox, "carol") == {ssh: "Active"}
    assert sorted(a.step.value for a, _ in undone) == sorted(
        ["attach-deny-policy", "deactivate-access-key", "deactivate-access-key", "deactivate-ssh-public-key"]
    )
    assert f"aws iam detach-user-policy --user-name carol --policy-arn {DENY}" in [c for _, c in undone]
    after = records(sandbox)["user#carol"]
    assert [a.status for a in after.actions].count("undone") == 4
    assert restore_access(ACCOUNT, after, restorer=Boto3Restorer(sandbox.iam), ledger=ledger_of(sandbox), now=NOW) == []


def test_scheduled_handler_in_report_mode_logs_the_plan_and_changes_nothing(
    handler_env: Sandbox, log_lines: Any
) -> None:
    """The scheduled reconcile handler in its default (report) mode, with bob's key revoked 3 h ago, must log the
    plan step "deactivate-access-key K" as not applied, count no enforcement action, and leave K Active."""
    sandbox = handler_env
    key = str(sandbox.user("bob", key=True))
    sandbox.register_user("bob")
    revoke(sandbox, sandbox.register_key(key, "bob"), REVOKED_AT)
    sandbox.iam.generate_credential_report()

    summary = on_schedule.handler({}, lambda_context("driftline-reconcile"))

    assert summary["enforcement"] == {"planned": 1, "applied": 0, "failed": 0}
    plans = [line["step"] for line in log_lines() if line["message"] == "enforcement plan (not applied)"]
    assert plans == [f"deactivate-access-key {key}"]
    assert key_status(sandbox, "bob") == {key: "Active"}
    assert ledger_of(sandbox).records(ACCOUNT)[0].actions == ()


def test_the_judgement_after_enforcing_still_follows_a_renamed_revoked_user(sandbox: Sandbox) -> None:
    """Tried: alice revoked with an active key, seen once (the ledger keeps her unique id), then renamed mallory;
    carol revoked with credentials. An enforcing reconcile acts on carol and so judges the account again after its
    steps. Must: that second judgement still follows alice's id: her revocation stays unenforced, naming mallory
    (not "the user is deleted" because the re-judgement forgot the ids the first one used)."""
    alice_key = str(sandbox.user("alice", key=True))
    entry = sandbox.register_user("alice")
    revoke(sandbox, entry, REVOKED_AT)
    revoked_user_with_credentials(sandbox)
    run_reconcile(sandbox, NOW)  # report mode: the ledger sees alice's id
    sandbox.iam.update_user(UserName="alice", NewUserName="mallory")

    evaluation = run_reconcile(sandbox, NOW, enforcement=enforcing(sandbox))

    assert evaluation.enforcement is not None and evaluation.enforcement.applied
    checks = {c.identity.key: c for c in evaluation.comparison.revocations}
    assert checks["user#carol"].state.value == "enforced"
    assert checks["user#alice"].state.value == "unenforced"
    assert f"renamed to mallory: access key {alice_key} is Active" in checks["user#alice"].still_active
