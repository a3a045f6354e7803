"""Safe enforcement on moto through ``service.reconcile``: reversible steps only, exactly the revoked credentials,
never a protected principal, every step in the ledger before and after, failures retried on the next run."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from driftline.adapters.enforcer import Boto3Enforcer
from driftline.domain.enforcement import SESSION_DENY_POLICY, Action
from driftline.domain.errors import IamReadError
from driftline.domain.ledger import LedgerState
from driftline.enforcement import EnforcementSettings
from driftline.handlers import on_schedule
from tests.integration.revocations.support import lambda_context, ledger_of, records, revoke, run_reconcile
from tests.integration.support import ACCOUNT, Sandbox

NOW = datetime.now(UTC)
REVOKED_AT = NOW - timedelta(hours=3)


class IamCalls:
    """Every IAM operation sent through the sandbox's client, with its parameters (botocore event hook)."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        sandbox.iam.meta.events.register("provide-client-params.iam.*", self._record)

    def _record(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self.calls.append((model.name, dict(params)))

    def named(self, operation: str) -> list[dict[str, Any]]:
        return [params for name, params in self.calls if name == operation]

    def deletes(self) -> Counter[str]:
        return Counter(name for name, _ in self.calls if name.startswith("Delete"))


def enforcing(sandbox: Sandbox, break_glass: tuple[str, ...] = ()) -> EnforcementSettings:
    return EnforcementSettings(mode="enforce", break_glass=break_glass, enforcer=Boto3Enforcer(sandbox.iam))


def key_status(sandbox: Sandbox, user: str) -> dict[str, str]:
    metadata = sandbox.iam.list_access_keys(UserName=user)["AccessKeyMetadata"]
    return {k["AccessKeyId"]: k["Status"] for k in metadata}


def has_login_profile(sandbox: Sandbox, user: str) -> bool:
    try:
        sandbox.iam.get_login_profile(UserName=user)
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "NoSuchEntity"
        return False
    return True


def inline_policies(sandbox: Sandbox, *, user: str | None = None, role: str | None = None) -> list[str]:
    if user is not None:
        return list(sandbox.iam.list_user_policies(UserName=user)["PolicyNames"])
    return list(sandbox.iam.list_role_policies(RoleName=str(role))["PolicyNames"])


def steps(record: Any) -> list[tuple[str, str, str]]:
    return [(a.step, a.target, a.status) for a in record.actions]


def revoked_user_with_credentials(sandbox: Sandbox, name: str = "carol") -> tuple[str, str]:
    """A registered user with two active keys and a console password, revoked three hours ago."""
    first = str(sandbox.user(name, key=True, password=True))
    second = sandbox.key(name)
    entry = sandbox.register_user(name)
    revoke(sandbox, entry, REVOKED_AT)
    return first, second


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
    """carol (two Active keys, console password) revoked 3 h ago: enforce mode must deactivate both keys, delete the
    login profile, put DriftlineRevokeOlderSessions (Deny * on * when aws:TokenIssueTime is before now), and call no
    Delete* on users, keys, roles or policies (DeleteLoginProfile is the only delete); carol and her keys still
    exist, and the ledger says enforced by driftline."""
    # Given carol with credentials, revoked
    k1, k2 = revoked_user_with_credentials(sandbox)
    iam = IamCalls(sandbox)

    # When the reconcile enforces
    evaluation = run_reconcile(sandbox, NOW, enforcement=enforcing(sandbox))

    # Then her credentials are disabled, reversibly
    assert evaluation.enforcement is not None and evaluation.enforcement.failed == {}
    assert key_status(sandbox, "carol") == {k1: "Inactive", k2: "Inactive"}
    assert not has_login_profile(sandbox, "carol")
    assert inline_policies(sandbox, user="carol") == [SESSION_DENY_POLICY]
    document = sandbox.iam.get_user_policy(UserName="carol", PolicyName=SESSION_DENY_POLICY)["PolicyDocument"]
    statement = (json.loads(document) if isinstance(document, str) else document)["Statement"][0]
    assert (statement["Effect"], statement["Action"], statement["Resource"]) == ("Deny", "*", "*")
    cutoff = datetime.fromisoformat(statement["Condition"]["DateLessThan"]["aws:TokenIssueTime"].replace("Z", "+00:00"))
    assert NOW - timedelta(seconds=1) <= cutoff <= NOW

    # And nothing was deleted but the login profile
    assert iam.deletes() == Counter({"DeleteLoginProfile": 1})
    assert sandbox.iam.get_user(UserName="carol")["User"]["UserName"] == "carol"
    record = records(sandbox)["user#carol"]
    assert record.state is LedgerState.ENFORCED
    assert record.enforced is not None and record.enforced.source == "driftline"
    assert record.enforced.event_name == (
        "deactivate-access-key, delete-login-profile, deny-user-sessions-issued-before"
    )


def test_revoked_role_gets_the_session_deny(sandbox: Sandbox) -> None:
    """Role deploy-bot revoked 3 h ago: enforce mode must put DriftlineRevokeOlderSessions on the role (and delete
    nothing); the re-read then judges the revocation enforced."""
    # Given a revoked role
    sandbox.role("deploy-bot")
    revoke(sandbox, sandbox.register_role("deploy-bot"), REVOKED_AT)
    iam = IamCalls(sandbox)

    # When the reconcile enforces
    evaluation = run_reconcile(sandbox, NOW, enforcement=enforcing(sandbox))

    # Then the role's older sessions are denied and the revocation is enforced
    assert evaluation.enforcement is not None
    assert evaluation.enforcement.applied == ["deny-role-sessions-issued-before deploy-bot"]
    assert inline_policies(sandbox, role="deploy-bot") == [SESSION_DENY_POLICY]
    assert iam.deletes() == Counter()
    assert records(sandbox)["role#deploy-bot"].state is LedgerState.ENFORCED
    assert [c.state.value for c in evaluation.comparison.revocations] == ["enforced"]


def test_protected_principals_are_untouched_and_shown_as_skip(sandbox: Sandbox) -> None:
    """Revoked: a service-linked role (path /aws-service-role/), driftline's own role DriftlineReconcileRole, and the
    break-glass user breakglass-admin (key + password); plus an ordinary revoked role. Enforce mode with break-glass
    "breakglass-*" must act only on the ordinary role; every protected step must be in the plan as SKIP with its
    reason; the protected principals' IAM state is unchanged and their ledger records hold no action."""
    # Given protected and ordinary revoked principals
    linked = sandbox.iam.create_service_linked_role(AWSServiceName="autoscaling.amazonaws.com")["Role"]
    assert linked["Path"].startswith("/aws-service-role/")
    linked_name = linked["RoleName"]
    sandbox.role("DriftlineReconcileRole")
    sandbox.role("deploy-bot")
    bg_key = str(sandbox.user("breakglass-admin", key=True, password=True))
    for name in (linked_name, "DriftlineReconcileRole", "deploy-bot"):
        revoke(sandbox, sandbox.register_role(name), REVOKED_AT)
    revoke(sandbox, sandbox.register_user("breakglass-admin"), REVOKED_AT)
    iam = IamCalls(sandbox)

    # When the reconcile enforces with the break-glass list
    evaluation = run_reconcile(sandbox, NOW, enforcement=enforcing(sandbox, break_glass=("breakglass-*",)))

    # Then only the ordinary role was acted on
    report = evaluation.enforcement
    assert report is not None
    assert report.applied == ["deny-role-sessions-issued-before deploy-bot"]
    owned = "protected principal (AWS-owned or driftline's own)"
    expected_skips = {
        f"SKIP deny-role-sessions-issued-before {linked_name}: {owned}",
        f"SKIP deny-role-sessions-issued-before DriftlineReconcileRole: {owned}",
        f"SKIP deactivate-access-key {bg_key}: break-glass principal",
        "SKIP delete-login-profile breakglass-admin: break-glass principal",
        "SKIP deny-user-sessions-issued-before breakglass-admin: break-glass principal",
    }
    assert set(report.skipped) == expected_skips
    assert expected_skips <= set(report.planned)

    # And the protected principals are as they were
    assert {n for n, _ in iam.calls if n.startswith(("Put", "Update", "Delete"))} == {"PutRolePolicy"}
    assert iam.named("PutRolePolicy")[0]["RoleName"] == "deploy-bot"
    assert inline_policies(sandbox, role=linked_name) == []
    assert inline_policies(sandbox, role="DriftlineReconcileRole") == []
    assert key_status(sandbox, "breakglass-admin") == {bg_key: "Active"}
    assert has_login_profile(sandbox, "breakglass-admin")
    ledger = records(sandbox)
    for identity in (f"role#{linked_name}", "role#DriftlineReconcileRole", "user#breakglass-admin"):
        assert ledger[identity].state is LedgerState.UNENFORCED
        assert ledger[identity].actions == ()


def test_report_mode_changes_nothing_and_returns_the_exact_plan(sandbox: Sandbox) -> None:
    """The same revoked user carol (two keys, password) and revoked role deploy-bot in report mode (the default,
    and the dry run) — even when an enforcer is available — must return exactly the plan enforce mode would carry
    out, apply nothing, change nothing in IAM, and log no action in the ledger."""
    # Given revoked principals
    k1, k2 = revoked_user_with_credentials(sandbox)
    sandbox.role("deploy-bot")
    revoke(sandbox, sandbox.register_role("deploy-bot"), REVOKED_AT)
    iam = IamCalls(sandbox)

    # When the reconcile runs in report mode
    report_only = EnforcementSettings(mode="report", enforcer=Boto3Enforcer(sandbox.iam))
    evaluation = run_reconcile(sandbox, NOW, enforcement=report_only)

    # Then the exact plan is returned
    report = evaluation.enforcement
    assert report is not None
    assert report.planned == [
        "deny-role-sessions-issued-before deploy-bot",
        f"deactivate-access-key {k1}",
        f"deactivate-access-key {k2}",
        "delete-login-profile carol",
        "deny-user-sessions-issued-before carol",
    ]
    assert (report.applied, report.failed, report.skipped) == ([], {}, [])

    # And nothing changed
    assert not [n for n, _ in iam.calls if n.startswith(("Put", "Update", "Delete", "Create", "Attach"))]
    assert key_status(sandbox, "carol") == {k1: "Active", k2: "Active"}
    assert has_login_profile(sandbox, "carol")
    assert inline_policies(sandbox, user="carol") == [] and inline_policies(sandbox, role="deploy-bot") == []
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
    runs (and no result yet), and leave intended/done pairs in order for all four steps."""
    # Given carol revoked, and an enforcer that looks at the ledger before acting
    k1, k2 = revoked_user_with_credentials(sandbox)
    enforcer = CheckingEnforcer(sandbox)

    # When the reconcile enforces
    run_reconcile(sandbox, NOW, enforcement=EnforcementSettings(mode="enforce", enforcer=enforcer))

    # Then every step's intent was written before it ran
    assert len(enforcer.seen) == 4
    assert all(statuses == ["intended"] for _, _, statuses in enforcer.seen)

    # And its result after
    planned = [
        ("deactivate-access-key", k1),
        ("deactivate-access-key", k2),
        ("delete-login-profile", "carol"),
        ("deny-user-sessions-issued-before", "carol"),
    ]
    record = records(sandbox)["user#carol"]
    assert steps(record) == [(s, t, status) for s, t in planned for status in ("intended", "done")]
    assert all(a.at == NOW for a in record.actions)


def test_a_failed_step_leaves_the_revocation_unenforced_and_is_retried(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """bob's revoked key K when IAM refuses UpdateAccessKey (IamReadError AccessDenied): the reconcile must record
    the step intended then failed with the error, leave the key Active and the record unenforced, and report the
    failure; the next reconcile (IAM working) must plan it again, deactivate K and record it enforced by driftline."""
    # Given a revoked key, and an enforcer that fails
    key = str(sandbox.user("bob", key=True))
    sandbox.register_user("bob")
    revoke(sandbox, sandbox.register_key(key, "bob"), REVOKED_AT)
    error = "IAM UpdateAccessKey failed with AccessDenied: not authorized to perform iam:UpdateAccessKey"

    def refuse(self: Boto3Enforcer, action: Action) -> None:
        raise IamReadError(error)

    # When the reconcile enforces while IAM refuses
    with monkeypatch.context() as patched:
        patched.setattr(Boto3Enforcer, "apply", refuse)
        first = run_reconcile(sandbox, NOW, enforcement=enforcing(sandbox))

    # Then the failure is in the report and the ledger, and nothing changed
    assert first.enforcement is not None
    assert first.enforcement.failed == {f"deactivate-access-key {key}": error}
    assert first.enforcement.applied == []
    record = records(sandbox)[f"access_key#{key}"]
    assert record.state is LedgerState.UNENFORCED
    assert steps(record) == [("deactivate-access-key", key, "intended"), ("deactivate-access-key", key, "failed")]
    assert record.actions[-1].error == error
    assert key_status(sandbox, "bob") == {key: "Active"}

    # When the next reconcile runs with IAM working
    retry_at = NOW + timedelta(hours=1)
    second = run_reconcile(sandbox, retry_at, enforcement=enforcing(sandbox))

    # Then it was tried again and succeeded
    assert second.enforcement is not None and second.enforcement.applied == [f"deactivate-access-key {key}"]
    assert key_status(sandbox, "bob") == {key: "Inactive"}
    record = records(sandbox)[f"access_key#{key}"]
    assert record.state is LedgerState.ENFORCED
    assert record.enforced is not None and record.enforced.source == "driftline" and record.enforced.at == retry_at
    assert [a.status for a in record.actions] == ["intended", "failed", "intended", "done"]


def test_scheduled_handler_in_report_mode_logs_the_plan_and_changes_nothing(
    handler_env: Sandbox, log_lines: Any
) -> None:
    """The scheduled reconcile handler in its default (report) mode, with bob's key revoked 3 h ago, must log the
    plan step "deactivate-access-key K" as not applied, count no enforcement action, and leave K Active."""
    # Given a revoked key
    sandbox = handler_env
    key = str(sandbox.user("bob", key=True))
    sandbox.register_user("bob")
    revoke(sandbox, sandbox.register_key(key, "bob"), REVOKED_AT)
    sandbox.iam.generate_credential_report()

    # When the schedule fires
    summary = on_schedule.handler({}, lambda_context("driftline-reconcile"))

    # Then the plan was logged, not applied
    assert summary["enforcement"] == {"planned": 1, "applied": 0, "failed": 0}
    plans = [line["step"] for line in log_lines() if line["message"] == "enforcement plan (not applied)"]
    assert plans == [f"deactivate-access-key {key}"]
    assert key_status(sandbox, "bob") == {key: "Active"}
    assert ledger_of(sandbox).records(ACCOUNT)[0].actions == ()
