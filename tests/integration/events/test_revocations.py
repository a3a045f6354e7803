"""Revocations on the event path: the event that enforces a revocation is written to the ledger as its proof, and
a revoked credential that signs a call is reported at once, from the event itself."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from driftline.domain.ledger import LedgerState
from tests.events import corpus
from tests.integration.events.conftest import EventAccount
from tests.integration.support import READ_ONLY, TRUST, revoke_sessions_document

REVOKED_AT = datetime.now(UTC).replace(microsecond=123456) - timedelta(hours=3)
ENFORCED_AT = (REVOKED_AT + timedelta(hours=2, minutes=17, seconds=5)).replace(microsecond=0)  # CloudTrail: seconds
PASSWORD = "Not-A-Real-Passw0rd!"


@dataclass
class Enforcing:
    """A revoked identity, the IAM change that enforces its revocation, and the event of that change."""

    event: str
    identity: str
    arrange: Callable[[EventAccount], dict[str, Any]]  # returns the event's placeholder values
    enforce: Callable[[EventAccount, dict[str, Any]], None]


def revoked_key(a: EventAccount) -> dict[str, Any]:
    a.iam.create_user(UserName="carol")
    a.sandbox.register_user("carol")
    key = a.sandbox.key("carol")
    a.sandbox.register_key(key, "carol", status="revoked", revoked_at=REVOKED_AT, ticket="SEC-42")
    return {"user": "carol", "key_id": key}


def revoked_user(*, key: bool = False, password: bool = False) -> Callable[[EventAccount], dict[str, Any]]:
    def arrange(a: EventAccount) -> dict[str, Any]:
        key_id = a.sandbox.user("carol", key=key, password=password)
        a.sandbox.register_user("carol", status="revoked", revoked_at=REVOKED_AT, ticket="SEC-42")
        return {"user": "carol", "key_id": key_id}

    return arrange


def revoked_role(a: EventAccount) -> dict[str, Any]:
    a.iam.create_role(RoleName="deployer", AssumeRolePolicyDocument=TRUST)
    a.sandbox.register_role("deployer", status="revoked", revoked_at=REVOKED_AT, ticket="SEC-42")
    return {"role": "deployer"}


def delete_user(a: EventAccount, v: dict[str, Any]) -> None:
    for meta in a.iam.list_access_keys(UserName="carol")["AccessKeyMetadata"]:
        a.iam.delete_access_key(UserName="carol", AccessKeyId=meta["AccessKeyId"])
    a.iam.delete_user(UserName="carol")


def deny_older_sessions(a: EventAccount, v: dict[str, Any]) -> None:
    document = revoke_sessions_document(ENFORCED_AT)
    a.iam.put_role_policy(RoleName="deployer", PolicyName="AWSRevokeOlderSessions", PolicyDocument=document)
    v["inline_policy"], v["policy_document"] = "AWSRevokeOlderSessions", document


DENY_EVERYTHING = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]}
)


def deny_everything_inline(a: EventAccount, v: dict[str, Any]) -> None:
    a.iam.put_role_policy(RoleName="deployer", PolicyName="quarantine", PolicyDocument=DENY_EVERYTHING)
    v["inline_policy"], v["policy_document"] = "quarantine", DENY_EVERYTHING


def attach_deny_policy(principal: str) -> Callable[[EventAccount, dict[str, Any]], None]:
    def enforce(a: EventAccount, v: dict[str, Any]) -> None:
        arn = a.sandbox.deny_policy()
        if principal == "role":
            a.iam.attach_role_policy(RoleName="deployer", PolicyArn=arn)
        else:
            a.iam.attach_user_policy(UserName="carol", PolicyArn=arn)
        v["policy_arn"] = arn

    return enforce


def trust_nobody(a: EventAccount, v: dict[str, Any]) -> None:
    statement = {"Effect": "Deny", "Principal": "*", "Action": ["sts:AssumeRole", "sts:AssumeRoleWithWebIdentity"]}
    document = json.dumps(
        {"Version": "2012-10-17", "Statement": [statement, {**statement, "Action": "sts:AssumeRoleWithSAML"}]}
    )
    a.iam.update_assume_role_policy(RoleName="deployer", PolicyDocument=document)
    v["trust_policy"] = document


def revoked_user_with_ssh_key(a: EventAccount) -> dict[str, Any]:
    a.iam.create_user(UserName="carol")
    body = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDDriftlineRevocationNotReal carol@laptop"
    ssh = a.iam.upload_ssh_public_key(UserName="carol", SSHPublicKeyBody=body)["SSHPublicKey"]["SSHPublicKeyId"]
    a.sandbox.register_user("carol", status="revoked", revoked_at=REVOKED_AT, ticket="SEC-42")
    return {"user": "carol", "ssh_key_id": ssh, "status": "Inactive"}


ENFORCING = [
    Enforcing(
        "iam.UpdateAccessKey",
        "access_key#{key_id}",
        revoked_key,
        lambda a, v: a.sandbox.deactivate("carol", v["key_id"]),
    ),
    Enforcing(
        "iam.DeleteAccessKey",
        "access_key#{key_id}",
        revoked_key,
        lambda a, v: a.iam.delete_access_key(UserName="carol", AccessKeyId=v["key_id"]),
    ),
    Enforcing("iam.DeleteUser", "user#carol", revoked_user(key=True), delete_user),
    Enforcing(
        "iam.DeleteLoginProfile",
        "user#carol",
        revoked_user(password=True),
        lambda a, v: a.iam.delete_login_profile(UserName="carol"),
    ),
    Enforcing("iam.PutRolePolicy", "role#deployer", revoked_role, deny_everything_inline),
    Enforcing("iam.AttachRolePolicy", "role#deployer", revoked_role, attach_deny_policy("role")),
    Enforcing("iam.AttachUserPolicy", "user#carol", revoked_user(key=True, password=True), attach_deny_policy("user")),
    Enforcing("iam.UpdateAssumeRolePolicy", "role#deployer", revoked_role, trust_nobody),
    Enforcing(
        "iam.UpdateSSHPublicKey",
        "user#carol",
        revoked_user_with_ssh_key,
        lambda a, v: a.iam.update_ssh_public_key(UserName="carol", SSHPublicKeyId=v["ssh_key_id"], Status="Inactive"),
    ),
    Enforcing("iam.DeleteRole", "role#deployer", revoked_role, lambda a, v: a.iam.delete_role(RoleName="deployer")),
]


def test_revoking_older_sessions_is_not_enforcement_and_earns_no_credit(account: EventAccount) -> None:
    """The console's "revoke active sessions" (AWSRevokeOlderSessions) on a revoked role: the PutRolePolicy event is
    no proof, the record stays unenforced, and the finding stays active naming who can still assume the role."""
    values = revoked_role(account)
    account.send("iam.TagRole", **values)

    deny_older_sessions(account, values)
    _, result = account.send("iam.PutRolePolicy", event_time=ENFORCED_AT, caller="secops", **values)

    (record,) = account.ledger("role#deployer")
    assert record.state is LedgerState.UNENFORCED and record.enforced is None and record.changes == ()
    finding = account.finding("unenforced-revocation", "role#deployer")
    assert finding["RecordState"] == "ACTIVE"
    assert "Service:lambda.amazonaws.com" in finding["Description"]
    assert result["open_unenforced_revocations"] == 1


def test_an_ordinary_allow_policy_event_is_never_the_proof(account: EventAccount) -> None:
    """carol's last credential (her password) went while its event was lost; then an ordinary PutUserPolicy (Allow
    s3 reads) arrives. It enforced nothing: the record is enforced, but only "observed", never credited to it."""
    values = revoked_user(password=True)(account)
    account.send("iam.TagUser", **values)
    account.iam.delete_login_profile(UserName="carol")
    account.iam.put_user_policy(UserName="carol", PolicyName="s3-read", PolicyDocument=READ_ONLY)

    event, _ = account.send("iam.PutUserPolicy", event_time=ENFORCED_AT, caller="secops", **values)

    (record,) = account.ledger("user#carol")
    assert record.state is LedgerState.ENFORCED and record.enforced is not None
    assert record.enforced.source == "observed"
    assert record.enforced.event_id != event["detail"]["eventID"]


@pytest.mark.parametrize("case", ENFORCING, ids=[c.event.removeprefix("iam.") for c in ENFORCING])
def test_enforcing_event_is_the_ledgers_proof(account: EventAccount, case: Enforcing) -> None:
    """A revocation left unenforced past its grace period is enforced by an IAM change: the ledger record must move
    to enforced, naming that event's id, name and actor, with seconds_to_enforce = eventTime - revoked_at; the
    unenforced-revocation finding is resolved."""
    # Given a revoked identity that an earlier event already found unenforced
    values = case.arrange(account)
    identity = case.identity.format(**values)
    first = "iam.TagRole" if identity.startswith("role#") else "iam.TagUser"
    account.send(first, **values)
    (record,) = account.ledger(identity)
    assert record.state is LedgerState.UNENFORCED
    assert account.state_of("unenforced-revocation", identity) == "ACTIVE"

    # When the enforcing change is made and its event arrives
    case.enforce(account, values)
    event, result = account.send(case.event, event_time=ENFORCED_AT, caller="secops", **values)

    # Then the ledger proves the enforcement with that event
    (record,) = account.ledger(identity)
    assert record.state is LedgerState.ENFORCED
    assert record.enforced is not None
    assert record.enforced.source == "cloudtrail"
    assert record.enforced.event_id == event["detail"]["eventID"]
    assert record.enforced.event_name == event["detail"]["eventName"]
    assert record.enforced.actor_arn == "arn:aws:iam::123456789012:user/secops"
    assert record.enforced.at == ENFORCED_AT
    assert record.seconds_to_enforce == (ENFORCED_AT - REVOKED_AT).total_seconds()
    assert record.ticket == "SEC-42"
    assert result["ledger_changes"] == 1 and result["open_unenforced_revocations"] == 0
    assert account.state_of("unenforced-revocation", identity) == "ARCHIVED"


def test_non_enforcing_event_leaves_no_cloudtrail_proof(account: EventAccount) -> None:
    """DetachUserPolicy cannot enforce a revocation. If the user's last credential went away meanwhile (with its own
    event lost), the ledger says the enforcement was only observed."""
    values = revoked_user(password=True)(account)
    account.iam.delete_login_profile(UserName="carol")

    account.send("iam.DetachUserPolicy", event_time=ENFORCED_AT, **values)

    (record,) = account.ledger("user#carol")
    assert record.state is LedgerState.ENFORCED
    assert record.enforced is not None and record.enforced.source == "observed"
    assert record.enforced.event_id is None


def test_deactivating_another_key_does_not_enforce_a_revoked_user(account: EventAccount) -> None:
    values = revoked_user(key=True, password=False)(account)
    spare = account.sandbox.key("carol")
    account.sandbox.deactivate("carol", spare)

    _, result = account.send("iam.UpdateAccessKey", event_time=ENFORCED_AT, **(values | {"key_id": spare}))

    (record,) = account.ledger("user#carol")
    assert record.state is LedgerState.UNENFORCED
    assert result["drifts_by_type"]["unenforced-revocation"] == 1


def test_revoked_key_used_by_the_caller_is_critical_with_the_event_as_evidence(account: EventAccount) -> None:
    """The caller signs an (unrelated) IAM call with a revoked key: the event proves the use before IAM's last-used
    data does, so a CRITICAL revoked-credential-used finding must name the event id."""
    values = revoked_key(account)
    used_at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    account.iam.create_user(UserName="mallory")

    event, result = account.send(
        "iam.CreateUser", user="mallory", caller="carol", caller_key=values["key_id"], event_time=used_at
    )

    event_id = event["detail"]["eventID"]
    key_ref = f"access_key#{values['key_id']}"
    assert account.evaluated == [{"user#mallory", key_ref}]
    assert result["drifts_by_type"]["revoked-credential-used"] == 1
    assert result["drifts_by_severity"]["CRITICAL"] == 1
    finding = account.finding("revoked-credential-used", key_ref)
    assert finding["FindingProviderFields"]["Severity"]["Label"] == "CRITICAL"
    evidence = finding["ProductFields"]["driftline/Evidence"]
    assert f'"event_id": "{event_id}"' in evidence
    assert used_at.isoformat() in evidence
    # the unrelated target was judged too
    assert account.state_of("unregistered-identity", "user#mallory") == "ACTIVE"


def test_key_of_a_revoked_user_used_by_that_user(account: EventAccount) -> None:
    """carol is revoked; her still-active key signs a call: the key's use after her revocation is CRITICAL."""
    values = revoked_user(key=True)(account)
    used_at = datetime.now(UTC).replace(microsecond=0)

    event, result = account.send(
        "iam.TagRole", role="x", caller="carol", caller_key=values["key_id"], event_time=used_at
    )

    finding = account.finding("revoked-credential-used", f"access_key#{values['key_id']}")
    assert f'"event_id": "{event["detail"]["eventID"]}"' in finding["ProductFields"]["driftline/Evidence"]
    assert result["drifts_by_severity"]["CRITICAL"] == 1


def test_revoked_role_session_used(account: EventAccount) -> None:
    values = revoked_role(account)

    event, result = account.send(
        "iam.AttachUserPolicy.assumed-role",
        caller_role=values["role"],
        user="nobody",
        event_time=datetime.now(UTC).replace(microsecond=0),
    )

    assert "role#deployer" in account.evaluated[0]
    finding = account.finding("revoked-credential-used", "role#deployer")
    assert f'"event_id": "{event["detail"]["eventID"]}"' in finding["ProductFields"]["driftline/Evidence"]
    assert result["drifts_by_type"]["revoked-credential-used"] == 1


def test_call_signed_before_the_revocation_is_not_a_use_after_it(account: EventAccount) -> None:
    values = revoked_key(account)

    _, result = account.send(
        "iam.TagUser", caller="carol", caller_key=values["key_id"], event_time=REVOKED_AT - timedelta(minutes=5)
    )

    assert "revoked-credential-used" not in result["drifts_by_type"]


def test_reactivating_a_revoked_key_reopens_the_revocation(account: EventAccount) -> None:
    """Enforced by a deactivation, then undone: the ledger goes back to unenforced and the finding is re-raised."""
    values = revoked_key(account)
    account.sandbox.deactivate("carol", values["key_id"])
    account.send("iam.UpdateAccessKey", event_time=ENFORCED_AT, **values)
    assert account.ledger(f"access_key#{values['key_id']}")[0].state is LedgerState.ENFORCED

    account.iam.update_access_key(UserName="carol", AccessKeyId=values["key_id"], Status="Active")
    _, result = account.send("iam.UpdateAccessKey", status="Active", **values)

    (record,) = account.ledger(f"access_key#{values['key_id']}")
    assert record.state is LedgerState.UNENFORCED
    assert record.enforced is None and record.seconds_to_enforce is None
    assert [line.split(" ", 1)[1] for line in record.history][-2:] == ["pending -> enforced", "enforced -> unenforced"]
    assert result["open_unenforced_revocations"] == 1
    assert account.state_of("unenforced-revocation", f"access_key#{values['key_id']}") == "ACTIVE"


def test_enforcement_is_credited_to_the_change_that_completed_it(account: EventAccount) -> None:
    values = revoked_user(key=True, password=True)(account)
    t1 = ENFORCED_AT
    t2 = ENFORCED_AT + timedelta(seconds=40)
    account.iam.delete_login_profile(UserName="carol")
    account.iam.delete_access_key(UserName="carol", AccessKeyId=values["key_id"])

    account.send("iam.DeleteLoginProfile", event_time=t1, caller="secops", **values)
    completing, _ = account.send("iam.DeleteAccessKey", event_time=t2, caller="secops", **values)

    (record,) = account.ledger("user#carol")
    assert record.state is LedgerState.ENFORCED and record.enforced is not None
    assert record.enforced.event_id == completing["detail"]["eventID"]
    assert record.seconds_to_enforce == (t2 - REVOKED_AT).total_seconds()


def test_older_enforcing_event_arriving_last_does_not_overwrite_the_completing_one(account: EventAccount) -> None:
    """The same two changes, with the events in order (t2's DeleteAccessKey processed first, then t1's
    DeleteLoginProfile, delivered late): the ledger must stay "enforced by the t2 event at t2", and the late t1 event
    must write nothing."""
    values = revoked_user(key=True, password=True)(account)
    t1 = ENFORCED_AT
    t2 = ENFORCED_AT + timedelta(seconds=40)
    account.iam.delete_login_profile(UserName="carol")
    account.iam.delete_access_key(UserName="carol", AccessKeyId=values["key_id"])

    completing, _ = account.send("iam.DeleteAccessKey", event_time=t2, caller="secops", **values)
    _, late = account.send("iam.DeleteLoginProfile", event_time=t1, caller="secops", **values)

    (record,) = account.ledger("user#carol")
    assert record.state is LedgerState.ENFORCED and record.enforced is not None
    assert record.enforced.event_id == completing["detail"]["eventID"]
    assert record.seconds_to_enforce == (t2 - REVOKED_AT).total_seconds()
    # the late event is kept on the record (so any order gives this answer), but re-credits nothing
    assert late["ledger_changes"] == 1
    assert not any("re-credited" in line for line in record.history)
    assert {c.event_name for c in record.changes} == {"DeleteAccessKey", "DeleteLoginProfile"}


# The redelivery adds no metric of its own; Powertools warns about the empty flush.
@pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")
def test_a_refused_enforcing_call_is_kept_on_the_record_and_shown_in_the_finding(account: EventAccount) -> None:
    """carol's key K is revoked and unenforced. secops tries UpdateAccessKey K Inactive and an SCP refuses it
    (AccessDenied, a failed call CloudTrail still delivers): the ledger record keeps the attempt (who, when, error,
    event id), exactly once even when the event is delivered again, and the unenforced-revocation finding then says
    "an attempt by ... was denied (AccessDenied)"."""
    values = revoked_key(account)
    account.send("iam.TagUser", **values)
    tried_at = ENFORCED_AT

    event, result = account.send(
        "iam.UpdateAccessKey.access-denied", event_time=tried_at, caller="secops", status="Inactive", **values
    )
    again = account.deliver(event)

    key = f"access_key#{values['key_id']}"
    assert result["status"] == "attempt" and result["recorded"] == [key]
    assert again == result  # the idempotency store answered: nothing recorded twice
    (record,) = account.ledger(key)
    (attempt,) = record.attempts
    assert (attempt.event_name, attempt.error_code, attempt.event_id) == (
        "UpdateAccessKey",
        "AccessDenied",
        event["detail"]["eventID"],
    )
    assert attempt.actor_arn == "arn:aws:iam::123456789012:user/secops" and attempt.at == tried_at
    assert attempt.actor == "IAM user secops (arn:aws:iam::123456789012:user/secops)"
    assert record.state is LedgerState.UNENFORCED

    # When the identity is evaluated again, the finding tells the responder about the refused attempt
    account.send("iam.TagUser", **values)
    finding = account.finding("unenforced-revocation", key)
    who = "IAM user secops (arn:aws:iam::123456789012:user/secops)"
    assert f"an attempt by {who} at {tried_at.isoformat()}" in finding["Description"]
    assert "was denied (AccessDenied)" in finding["Description"]


@pytest.mark.parametrize(
    ("caller_type", "who"),
    [
        ("root", "root user of account 123456789012"),
        ("assumed-role", "role ops-admin, session ops@example.com (arn:aws:iam::123456789012:role/ops-admin)"),
        ("aws-service", "AWS service sso.amazonaws.com"),
    ],
)
def test_a_refused_enforcing_call_says_who_tried_whatever_the_caller_type(
    account: EventAccount, caller_type: str, who: str
) -> None:
    """Input: carol's revoked key K; a refused UpdateAccessKey K Inactive whose userIdentity is the root user, a role
    session, or an AWS service (the shapes of the corpus's variant events). Before, root and service callers left
    the attempt saying "an unknown caller" (a service has no ARN). Must: the ledger's attempt and the finding name
    the caller, the role behind a session by its issuer's ARN."""
    values = revoked_key(account)
    account.send("iam.TagUser", **values)
    event = corpus.load("iam.UpdateAccessKey.access-denied", event_time=ENFORCED_AT, status="Inactive", **values)
    source = {
        "root": "iam.CreateUser.root",
        "assumed-role": "iam.AttachUserPolicy.assumed-role",
        "aws-service": "iam.CreateRole.aws-service",
    }[caller_type]
    event["detail"]["userIdentity"] = corpus.load(source)["detail"]["userIdentity"]

    result = account.deliver(event)

    key = f"access_key#{values['key_id']}"
    assert result["status"] == "attempt" and result["recorded"] == [key]
    (record,) = account.ledger(key)
    (attempt,) = record.attempts
    assert attempt.actor == who
    account.send("iam.TagUser", **values)
    assert f"an attempt by {who} at " in account.finding("unenforced-revocation", key)["Description"]


def test_a_refused_call_that_would_have_enabled_is_no_attempt(account: EventAccount) -> None:
    """A refused UpdateAccessKey to Active on a revoked key enforced nothing: nothing is kept."""
    values = revoked_key(account)
    account.send("iam.TagUser", **values)
    _, result = account.send("iam.UpdateAccessKey.access-denied", status="Active", **values)
    assert result["status"] == "skipped"
    assert account.ledger(f"access_key#{values['key_id']}")[0].attempts == ()


def test_the_event_path_matches_names_without_case(account: EventAccount) -> None:
    """The registry revoked user#bob; IAM's user is Bob (IAM names ignore case) with one Active key. Bob's key is
    deactivated and the event names "Bob": it is bob's revocation that is enforced and credited to that event (one
    ledger record, keyed user#bob), and no unregistered Bob is reported."""
    account.iam.create_user(UserName="Bob")
    key = account.sandbox.key("Bob")
    account.sandbox.register_user("bob", status="revoked", revoked_at=REVOKED_AT, ticket="SEC-7")
    account.send("iam.TagUser", user="Bob")
    account.sandbox.deactivate("Bob", key)

    event, result = account.send("iam.UpdateAccessKey", user="Bob", key_id=key, event_time=ENFORCED_AT, caller="secops")

    (record,) = account.ledger("user#bob")
    assert record.identity == "user#bob" and record.state is LedgerState.ENFORCED
    assert record.enforced is not None and record.enforced.event_id == event["detail"]["eventID"]
    assert "unregistered-identity" not in result["drifts_by_type"]
    assert account.state_of("unenforced-revocation", "user#bob") == "ARCHIVED"
