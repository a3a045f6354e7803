"""What one IAM event costs in AWS calls (issue 8: a handful per event, no account-wide reads). The figures are
exact for moto, and portable: they count requests, not latency."""

from __future__ import annotations

from tests.integration.events.conftest import EventAccount
from tests.integration.support import policy_arn


def _user_with_two_keys(account: EventAccount, name: str = "alice") -> tuple[str, str]:
    account.iam.create_user(UserName=name)
    first = account.iam.create_access_key(UserName=name)["AccessKey"]["AccessKeyId"]
    second = account.iam.create_access_key(UserName=name)["AccessKey"]["AccessKeyId"]
    account.sandbox.register_user(name)
    account.sandbox.register_key(first, name)
    account.sandbox.register_key(second, name)
    return first, second


def test_policy_event_reads_the_registry_in_two_batches_and_each_key_once(account: EventAccount) -> None:
    """AttachUserPolicy on a registered user with two registered keys (drift: the policy is not approved): the
    registry is read with at most two BatchGetItems (what the event names, then the keys IAM answered) and no
    GetItem per entry; each key's last use is asked once; nothing account-wide is read."""
    _user_with_two_keys(account)
    arn = account.sandbox.policy("admin-ish")
    account.iam.attach_user_policy(UserName="alice", PolicyArn=str(arn))

    _, result = account.send("iam.AttachUserPolicy", user="alice", policy_arn=policy_arn("admin-ish"))

    calls = account.last.calls
    assert result["status"] == "evaluated", result
    assert calls.get("dynamodb.BatchGetItem", 0) <= 2, calls
    assert calls.get("iam.GetAccessKeyLastUsed") == 2, calls
    assert not {"iam.GetAccountAuthorizationDetails", "iam.GetCredentialReport", "dynamodb.Scan"} & set(calls), calls
    assert "dynamodb.GetItem" not in calls, calls


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
