"""What one IAM event costs in AWS calls (issue 8: a handful per event, no account-wide reads): upper bounds and
operations that must never appear, so a cheaper path passes and a costlier one fails. They count requests, not
latency, so they hold on moto and on AWS alike."""

from __future__ import annotations

from tests.integration.events.conftest import EventAccount
from tests.integration.support import ago, policy_arn


def _user_with_two_keys(account: EventAccount, name: str = "alice", **fields: object) -> tuple[str, str]:
    account.iam.create_user(UserName=name)
    first = account.iam.create_access_key(UserName=name)["AccessKey"]["AccessKeyId"]
    second = account.iam.create_access_key(UserName=name)["AccessKey"]["AccessKeyId"]
    account.sandbox.register_user(name, **fields)
    account.sandbox.register_key(first, name)
    account.sandbox.register_key(second, name)
    return first, second


def test_policy_event_reads_only_the_users_entitlements(account: EventAccount) -> None:
    """AttachUserPolicy of an unapproved policy on a registered user (no managed policies approved) with two keys:
    the excess-entitlement finding is raised from the user and its entitlements alone: one registry batch, four IAM
    reads (GetUser and the three entitlement lists), no login profile or key reads, nothing account-wide; 10 calls
    in all with the idempotency record, the finding state and the import."""
    _user_with_two_keys(account, managed_policies=())
    arn = account.sandbox.policy("admin-ish")
    account.iam.attach_user_policy(UserName="alice", PolicyArn=str(arn))

    _, result = account.send("iam.AttachUserPolicy", user="alice", policy_arn=policy_arn("admin-ish"))

    assert result["status"] == "evaluated", result
    assert account.state_of("excess-entitlement", "user#alice") == "ACTIVE"
    calls = account.last.calls
    # Upper bounds, not an exact bill: a cheaper path passes, a costlier or account-wide one fails.
    assert sum(calls.values()) <= 10, calls
    iam_reads = {k: v for k, v in calls.items() if k.startswith("iam.")}
    assert set(iam_reads) <= ENTITLEMENT_READS and all(v == 1 for v in iam_reads.values()), calls
    assert calls.get("dynamodb.BatchGetItem", 0) <= 1 and calls.get("securityhub.BatchImportFindings", 0) <= 1
    assert not FORBIDDEN_ON_AN_ENTITLEMENT_EVENT & set(calls), calls


# All a policy event on a user needs from IAM: the user and its three entitlement lists, once each.
ENTITLEMENT_READS = {"iam.GetUser", "iam.ListAttachedUserPolicies", "iam.ListGroupsForUser", "iam.ListUserPolicies"}
# What a policy event must never cost: account-wide reads, credential reads it cannot need, table scans.
FORBIDDEN_ON_AN_ENTITLEMENT_EVENT = {
    "iam.GetAccountAuthorizationDetails",
    "iam.GenerateCredentialReport",
    "iam.GetCredentialReport",
    "iam.ListUsers",
    "iam.ListRoles",
    "iam.ListAccessKeys",
    "iam.GetAccessKeyLastUsed",
    "iam.GetLoginProfile",
    "dynamodb.Scan",
}


def test_policy_event_leaves_findings_about_credentials_alone(account: EventAccount) -> None:
    """alice has an unregistered key (its finding raised by the CreateAccessKey event) and her approved policy is
    detached and re-attached: the policy events, which read no keys, must neither resolve the key's finding nor
    raise anything about keys; the missing-entitlement they raise and resolve is theirs to judge."""
    account.iam.create_user(UserName="alice")
    account.sandbox.register_user("alice", managed_policies=(policy_arn("read-only"),))
    account.sandbox.policy("read-only")
    account.iam.attach_user_policy(UserName="alice", PolicyArn=policy_arn("read-only"))
    key = account.iam.create_access_key(UserName="alice")["AccessKey"]["AccessKeyId"]
    account.send("iam.CreateAccessKey", user="alice", key_id=key)
    assert account.state_of("unregistered-identity", f"access_key#{key}") == "ACTIVE"

    account.iam.detach_user_policy(UserName="alice", PolicyArn=policy_arn("read-only"))
    _, detached = account.send("iam.DetachUserPolicy", user="alice", policy_arn=policy_arn("read-only"))
    assert account.state_of("missing-entitlement", "user#alice") == "ACTIVE"
    account.iam.attach_user_policy(UserName="alice", PolicyArn=policy_arn("read-only"))
    _, attached = account.send("iam.AttachUserPolicy", user="alice", policy_arn=policy_arn("read-only"))

    assert detached["status"] == attached["status"] == "evaluated"
    assert account.state_of("missing-entitlement", "user#alice") == "ARCHIVED"
    assert account.state_of("unregistered-identity", f"access_key#{key}") == "ACTIVE"
    assert not {"iam.ListAccessKeys", "iam.GetAccessKeyLastUsed"} & set(account.last.calls)


def test_revoked_caller_of_a_policy_event_is_judged_whole(account: EventAccount) -> None:
    """A policy event signed by a revoked key: the caller's use of a revoked credential is the worst drift, so that
    event is read and judged whole (keys included), not as an entitlement-only change."""
    account.iam.create_user(UserName="mallory")
    key = account.iam.create_access_key(UserName="mallory")["AccessKey"]["AccessKeyId"]
    account.sandbox.register_user("mallory")
    account.sandbox.register_key(key, "mallory", status="revoked", revoked_at=ago(hours=3))
    account.iam.create_user(UserName="bob")
    account.sandbox.register_user("bob")

    _, result = account.send("iam.AttachUserPolicy", user="bob", caller="mallory", caller_key=key)

    assert result["status"] == "evaluated", result
    assert account.state_of("revoked-credential-used", f"access_key#{key}") == "ACTIVE"
    assert "iam.ListAccessKeys" in account.last.calls


def test_key_event_naming_its_user_does_not_ask_iam_whose_key_it_is(account: EventAccount) -> None:
    """CreateAccessKey with userName: the key is among the user's listed keys, so no GetAccessKeyLastUsed is spent
    on finding its owner (one per key, for its last use, and no more)."""
    first, _second = _user_with_two_keys(account)

    _, result = account.send("iam.CreateAccessKey", user="alice", key_id=first)

    assert result["status"] == "evaluated", result
    assert account.last.calls.get("iam.GetAccessKeyLastUsed") == 2, account.last.calls


def test_event_about_a_deleted_key_asks_iam_once_whose_it_was(account: EventAccount) -> None:
    """DeleteAccessKey for alice's second key (gone from IAM): the key is not among alice's listed keys, so IAM is
    asked once whose it was (answering NoSuchEntity); alice's remaining key costs one last-use read. Both alice and
    the deleted key are in the evaluated scope."""
    _first, second = _user_with_two_keys(account)
    account.iam.delete_access_key(UserName="alice", AccessKeyId=second)

    _, result = account.send("iam.DeleteAccessKey", user="alice", key_id=second)

    assert result["status"] == "evaluated", result
    assert {"user#alice", f"access_key#{second}"} <= account.evaluated[-1]
    assert account.last.calls.get("iam.GetAccessKeyLastUsed") == 2, account.last.calls


def test_key_event_reads_credentials_only_and_leaves_entitlement_findings_alone(account: EventAccount) -> None:
    """alice holds an unapproved policy (excess-entitlement raised by its AttachUserPolicy event); then she gets a
    new, unregistered key. The CreateAccessKey event reads her login profile and keys but none of her policies or
    groups, raises the key's unregistered-identity, and neither resolves nor re-reads the entitlement finding."""
    account.iam.create_user(UserName="alice")
    account.sandbox.register_user("alice", managed_policies=())
    account.sandbox.policy("admin-ish")
    account.iam.attach_user_policy(UserName="alice", PolicyArn=policy_arn("admin-ish"))
    account.send("iam.AttachUserPolicy", user="alice", policy_arn=policy_arn("admin-ish"))
    assert account.state_of("excess-entitlement", "user#alice") == "ACTIVE"

    key = account.iam.create_access_key(UserName="alice")["AccessKey"]["AccessKeyId"]
    _, result = account.send("iam.CreateAccessKey", user="alice", key_id=key)

    assert result["status"] == "evaluated", result
    assert account.state_of("unregistered-identity", f"access_key#{key}") == "ACTIVE"
    assert account.state_of("excess-entitlement", "user#alice") == "ACTIVE"
    listed = {"iam.ListAttachedUserPolicies", "iam.ListGroupsForUser", "iam.ListUserPolicies"}
    assert not listed & set(account.last.calls), account.last.calls
    assert {"iam.ListAccessKeys", "iam.GetLoginProfile"} <= set(account.last.calls)
