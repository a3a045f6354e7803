"""What each corpus event touched: the identities ``events.touched`` resolves, as a table over the whole corpus."""

from __future__ import annotations

from typing import Any

import pytest

from driftline.domain.identity import IdentityRef, Kind
from driftline.triggers import cloudtrail as events
from driftline.triggers.cloudtrail import CloudTrailDetail, caller, caller_key, touched
from driftline.triggers.triage import triage
from tests.events import corpus

KEY = "AKIAQ3EGUJ4XKTPVX7M2"
CALLER_KEY = "AKIAZ7ZBHDB2WQ5ND4HX"
VALUES = corpus.defaults(
    user="alice",
    key_id=KEY,
    role="app-role",
    group="developers",
    caller="admin",
    caller_key=CALLER_KEY,
    caller_role="ops-admin",
)

ALICE, ADMIN, RENAMED = "user#alice", "user#admin", "user#alice-renamed"
THE_KEY, ROLE = f"access_key#{KEY}", "role#app-role"
LINKED = "role#awsserviceroleforamazonelasticfilesystem"  # keys are folded to lower case
GROUP = {"developers"}

# corpus file -> (identity keys touched, groups touched); None: not an event driftline handles.
EXPECTED: dict[str, tuple[set[str], set[str]] | None] = {
    "iam.AddUserToGroup": ({ALICE}, set()),
    "iam.AttachGroupPolicy": (set(), GROUP),
    "iam.AttachRolePolicy": ({ROLE}, set()),
    "iam.AttachUserPolicy": ({ALICE}, set()),
    "iam.AttachUserPolicy.access-denied": ({ALICE}, set()),  # touched() ignores errorCode; triage skips it
    "iam.AttachUserPolicy.assumed-role": ({ALICE}, set()),
    "iam.CreateAccessKey": ({ALICE, THE_KEY}, set()),
    "iam.CreateAccessKey.self": ({ADMIN, THE_KEY}, set()),
    "iam.CreateAccessKey.self-null": ({ADMIN, THE_KEY}, set()),
    "iam.CreateLoginProfile": ({ALICE}, set()),
    "iam.CreatePolicyVersion": (set(), set()),  # a policy's document changed under every holder: widened
    "iam.CreateServiceSpecificCredential": ({ALICE}, set()),
    "iam.DeleteRolePermissionsBoundary": ({ROLE}, set()),
    "iam.DeleteServiceSpecificCredential": ({ALICE}, set()),
    "iam.DeleteSigningCertificate": ({ALICE}, set()),
    "iam.DeleteSSHPublicKey": ({ALICE}, set()),
    "iam.DeleteUserPermissionsBoundary": ({ALICE}, set()),
    "iam.PutRolePermissionsBoundary": ({ROLE}, set()),
    "iam.PutUserPermissionsBoundary": ({ALICE}, set()),
    "iam.ResetServiceSpecificCredential": ({ALICE}, set()),
    "iam.SetDefaultPolicyVersion": (set(), set()),
    "iam.UpdateAccessKey.access-denied": ({ALICE, THE_KEY}, set()),
    "iam.UpdateLoginProfile": ({ALICE}, set()),
    "iam.UpdateServiceSpecificCredential": ({ALICE}, set()),
    "iam.UpdateSigningCertificate": ({ALICE}, set()),
    "iam.UpdateSSHPublicKey": ({ALICE}, set()),
    "iam.UploadSigningCertificate": ({ALICE}, set()),
    "iam.UploadSSHPublicKey": ({ALICE}, set()),
    "iam.CreateRole": ({ROLE}, set()),
    "iam.CreateRole.aws-service": ({ROLE}, set()),
    "iam.CreateServiceLinkedRole": ({LINKED}, set()),  # named in responseElements only
    "iam.UpdateRole": ({ROLE}, set()),
    "iam.UpdateUser": ({ALICE, RENAMED}, set()),  # a rename: the old name and the new
    "iam.CreateUser": ({ALICE}, set()),
    "iam.CreateUser.root": ({ALICE}, set()),
    "iam.DeleteAccessKey": ({ALICE, THE_KEY}, set()),
    "iam.DeleteAccessKey.self": ({ADMIN, THE_KEY}, set()),
    "iam.DeleteGroupPolicy": (set(), GROUP),
    "iam.DeleteLoginProfile": ({ALICE}, set()),
    "iam.DeleteRole": ({ROLE}, set()),
    "iam.DeleteRolePolicy": ({ROLE}, set()),
    "iam.DeleteUser": ({ALICE}, set()),
    "iam.DeleteUserPolicy": ({ALICE}, set()),
    "iam.DetachGroupPolicy": (set(), GROUP),
    "iam.DetachRolePolicy": ({ROLE}, set()),
    "iam.DetachUserPolicy": ({ALICE}, set()),
    "iam.ListUsers": None,
    "iam.PutGroupPolicy": (set(), GROUP),
    "iam.PutRolePolicy": ({ROLE}, set()),
    "iam.PutUserPolicy": ({ALICE}, set()),
    "iam.PutUserPolicy.omitted": ({ALICE}, set()),  # the truncated document is never read: IAM is re-read
    "iam.PutUserPolicy.request-omitted": (set(), set()),  # nothing left to name: widened to the whole account
    "iam.RemoveUserFromGroup": ({ALICE}, set()),
    "iam.TagRole": ({ROLE}, set()),
    "iam.TagUser": ({ALICE}, set()),
    "iam.UntagRole": ({ROLE}, set()),
    "iam.UntagUser": ({ALICE}, set()),
    "iam.UpdateAccessKey": ({ALICE, THE_KEY}, set()),
    "iam.UpdateAccessKey.self": ({ADMIN, THE_KEY}, set()),
    "iam.UpdateAssumeRolePolicy": ({ROLE}, set()),
    "s3.CreateBucket": None,
}

# corpus file -> triage status, where it is not "process".
NOT_PROCESSED = {
    "iam.AttachUserPolicy.access-denied": ("attempt", "failed enforcing call AttachUserPolicy (AccessDenied)"),
    "iam.UpdateAccessKey.access-denied": ("attempt", "failed enforcing call UpdateAccessKey (AccessDenied)"),
    "iam.CreatePolicyVersion": ("widen", "a managed policy's document may have changed"),
    "iam.SetDefaultPolicyVersion": ("widen", "a managed policy's document may have changed"),
    "iam.ListUsers": ("skipped", "ListUsers is not one driftline evaluates"),
    "s3.CreateBucket": ("skipped", "not an IAM API call (aws.s3, s3.amazonaws.com)"),
    "iam.PutUserPolicy.request-omitted": ("widen", "CloudTrail left out the request parameters"),
}
# Statuses whose decision still carries the parsed event (the handler acts on it).
CARRIES_DETAIL = {"process", "widen", "attempt"}


def detail_of(event: dict[str, Any]) -> CloudTrailDetail:
    return CloudTrailDetail.model_validate(event["detail"])


def test_every_handled_event_name_has_a_corpus_event() -> None:
    """Supporting an event is one EVENT_RULES row plus one corpus file: none may be missing."""
    in_corpus = {corpus.event_name_of(name) for name in corpus.names() if name.startswith("iam.")}
    assert set(events.EVENT_RULES) - in_corpus == set()


def test_every_corpus_event_is_in_the_table() -> None:
    assert set(corpus.names()) == set(EXPECTED)


def test_corpus_events_carry_the_full_envelope() -> None:
    envelope = {"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"}
    detail = {
        "eventVersion",
        "userIdentity",
        "eventTime",
        "eventSource",
        "eventName",
        "awsRegion",
        "sourceIPAddress",
        "userAgent",
        "requestParameters",
        "requestID",
        "eventID",
        "readOnly",
        "eventType",
        "managementEvent",
        "recipientAccountId",
        "eventCategory",
    }
    for name in corpus.names():
        event = corpus.fill(name, VALUES)
        assert envelope <= set(event), name
        assert detail <= set(event["detail"]), name
        assert event["region"] == event["detail"]["awsRegion"] == "us-east-1", name
        assert event["detail"]["eventName"] == corpus.event_name_of(name), name
        failed = "errorCode" in event["detail"]
        assert ("responseElements" in event["detail"]) is not failed, name  # failed calls have none


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_touched_resolves_the_identities_of_every_corpus_event(name: str) -> None:
    event = corpus.fill(name, VALUES)

    hit = touched(detail_of(event))

    expected = EXPECTED[name]
    if expected is None:
        assert hit is None
        return
    assert hit is not None
    refs, groups = expected
    assert {ref.key for ref in hit.refs} == refs
    assert set(hit.groups) == groups
    assert (hit.widen is not None) is (not refs and not groups), "an event that names nobody is widened"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_triage_of_every_corpus_event(name: str) -> None:
    decision = triage(corpus.fill(name, VALUES))

    status, reason = NOT_PROCESSED.get(name, ("process", ""))
    assert decision.status == status
    assert reason in decision.reason
    if status in CARRIES_DETAIL:
        assert decision.detail is not None and decision.raw_detail is not None
        assert decision.detail.eventID == VALUES["event_id"]
    if status == "process":
        assert decision.touched == touched(decision.detail)  # type: ignore[arg-type]
    if status not in CARRIES_DETAIL:
        assert decision.reason and decision.detail is None


def test_create_user_quirky_create_date_is_not_parsed_as_a_time() -> None:
    """responseElements.user.createDate ("Aug 1, 2024 1:33:28 PM") is opaque: it must not make the event fail."""
    event = corpus.fill("iam.CreateUser", VALUES | {"create_date": "Aug 1, 2024 1:33:28 PM"})
    assert event["detail"]["responseElements"]["user"]["createDate"] == "Aug 1, 2024 1:33:28 PM"

    decision = triage(event)

    assert decision.status == "process"
    assert decision.touched is not None
    assert {r.key for r in decision.touched.refs} == {ALICE}


def test_create_access_key_response_carries_no_secret() -> None:
    for name in ("iam.CreateAccessKey", "iam.CreateAccessKey.self", "iam.CreateAccessKey.self-null"):
        access_key = corpus.fill(name, VALUES)["detail"]["responseElements"]["accessKey"]
        assert access_key["accessKeyId"] == KEY
        assert not any("secret" in field.lower() for field in access_key)


# -- a user acting on its own keys: no userName, the caller is the target ---------------------------------------
SELF_KEY_EVENTS = ["iam.CreateAccessKey.self", "iam.CreateAccessKey.self-null", "iam.UpdateAccessKey.self"]
SELF_KEY_EVENTS += ["iam.DeleteAccessKey.self"]


@pytest.mark.parametrize("name", SELF_KEY_EVENTS)
def test_key_event_without_user_name_targets_the_calling_user(name: str) -> None:
    event = corpus.fill(name, VALUES | {"caller": "bob"})
    assert not (event["detail"]["requestParameters"] or {}).get("userName")

    hit = touched(detail_of(event))

    assert hit is not None
    assert {r.key for r in hit.refs} == {"user#bob", THE_KEY}


@pytest.mark.parametrize("name", SELF_KEY_EVENTS)
@pytest.mark.parametrize("who", ["assumed-role", "root", "aws-service"])
def test_key_event_without_user_name_from_a_non_user_caller_touches_only_the_key(name: str, who: str) -> None:
    """A role session or the root user has no IAM user to fall back on: only the key is named (its owner is looked
    up in IAM), never the role as if it were a user."""
    event = corpus.fill(name, VALUES)
    event["detail"]["userIdentity"] = caller_identity(who)

    hit = touched(detail_of(event))

    assert hit is not None
    assert {r.key for r in hit.refs} == {THE_KEY}


@pytest.mark.parametrize("bad", [42, ["alice"], {"name": "alice"}, ""])
def test_key_event_with_unusable_user_name_falls_back_to_the_caller(bad: object) -> None:
    event = corpus.fill("iam.UpdateAccessKey", VALUES)
    event["detail"]["requestParameters"]["userName"] = bad

    hit = touched(detail_of(event))

    assert hit is not None
    assert {r.key for r in hit.refs} == {ADMIN, THE_KEY}


@pytest.mark.parametrize("bad", [42, ["alice"], None, ""])
def test_user_event_with_unusable_user_name_is_widened_not_dropped(bad: object) -> None:
    """Not a key event: there is no caller fallback, so the event names nobody. A real change may hide behind it, so
    it is never dropped: triage widens it (the handler asks for a whole-account reconcile)."""
    event = corpus.fill("iam.AttachUserPolicy", VALUES)
    event["detail"]["requestParameters"]["userName"] = bad

    hit = touched(detail_of(event))

    assert hit is not None and not hit.refs and not hit.groups
    assert hit.widen is not None and "names no identity" in hit.widen
    assert triage(event).status == "widen"


@pytest.mark.parametrize(
    "name", ["iam.AttachGroupPolicy", "iam.DetachGroupPolicy", "iam.PutGroupPolicy", "iam.DeleteGroupPolicy"]
)
def test_group_events_name_the_group_not_a_principal(name: str) -> None:
    event = corpus.fill(name, VALUES | {"group": "platform-admins"})

    hit = touched(detail_of(event))

    assert hit is not None
    assert hit.refs == frozenset()
    assert hit.groups == frozenset({"platform-admins"})


def test_group_membership_events_name_the_user_not_the_group() -> None:
    for name in ("iam.AddUserToGroup", "iam.RemoveUserFromGroup"):
        hit = touched(detail_of(corpus.fill(name, VALUES)))
        assert hit is not None
        assert {r.key for r in hit.refs} == {ALICE} and hit.groups == frozenset()


def test_create_access_key_without_response_still_names_the_user() -> None:
    event = corpus.fill("iam.CreateAccessKey", VALUES)
    event["detail"]["responseElements"] = None

    hit = touched(detail_of(event))

    assert hit is not None
    assert {r.key for r in hit.refs} == {ALICE}


# -- who called ----------------------------------------------------------------------------------------------------
def caller_identity(who: str) -> dict[str, Any]:
    """The userIdentity of the corpus's variant events, by caller type."""
    source = {
        "iam-user": "iam.AttachUserPolicy",
        "assumed-role": "iam.AttachUserPolicy.assumed-role",
        "root": "iam.CreateUser.root",
        "aws-service": "iam.CreateRole.aws-service",
    }[who]
    identity: dict[str, Any] = corpus.fill(source, VALUES)["detail"]["userIdentity"]
    return identity


@pytest.mark.parametrize(
    ("who", "expected_caller", "expected_key"),
    [
        ("iam-user", IdentityRef(kind=Kind.USER, name="admin"), IdentityRef(kind=Kind.ACCESS_KEY, name=CALLER_KEY)),
        ("assumed-role", IdentityRef(kind=Kind.ROLE, name="ops-admin"), None),  # ASIA session keys are not keys
        ("root", None, None),
        ("aws-service", None, None),
    ],
)
def test_caller_and_caller_key_by_caller_type(
    who: str, expected_caller: IdentityRef | None, expected_key: IdentityRef | None
) -> None:
    event = corpus.fill("iam.TagUser", VALUES)
    event["detail"]["userIdentity"] = caller_identity(who)
    detail = detail_of(event)

    assert caller(detail) == expected_caller
    assert caller_key(detail) == expected_key


def test_iam_user_signing_with_a_session_key_has_no_caller_key() -> None:
    event = corpus.fill("iam.TagUser", VALUES)
    event["detail"]["userIdentity"]["accessKeyId"] = "ASIAZ7ZBHDB2WQ5ND4HX"

    detail = detail_of(event)

    assert caller(detail) == IdentityRef(kind=Kind.USER, name="admin")
    assert caller_key(detail) is None


def test_failed_calls_of_exactly_the_enforcing_events_are_kept() -> None:
    """The calls whose failure the ledger keeps as a denied attempt: those that disable a way to act (never a
    CreateUser or an Attach of a group policy), and each is an event driftline handles."""
    assert set(events.EVENT_RULES) >= events.ENFORCING_EVENT_NAMES
    assert {"UpdateAccessKey", "DeleteAccessKey", "AttachUserPolicy", "AttachRolePolicy", "DeleteUser"} <= (
        events.ENFORCING_EVENT_NAMES
    )
    assert not {"CreateUser", "CreateAccessKey", "AttachGroupPolicy", "TagUser"} & events.ENFORCING_EVENT_NAMES
