"""Who acted: ``callers.caller_of`` on every ``userIdentity.type``, from the shapes the CloudTrail User Guide documents
("CloudTrail userIdentity element": its examples and field list; the Amazon EFS guide's CreateServiceLinkedRole
entry for a call a service made with a user's credentials). The ledger and the findings say who acted with
``Caller.display``; before, a root or service caller left them saying nothing (no IAM identity, no ARN)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from driftline.domain.ledger import Attempt
from driftline.triggers.callers import DISPLAY_MAX, FIELD_MAX, Caller, CallerKind, UserIdentity, caller_of
from driftline.triggers.cloudtrail import CloudTrailDetail, caller
from driftline.triggers.event_changes import credential_changes
from driftline.triggers.event_scope import refused_attempt
from driftline.triggers.triage import triage
from tests.events import corpus
from tests.unit.domain.builders import inventory

# The documented examples (account 123456789012 and the guide's example ids).
IAM_USER = {
    "type": "IAMUser",
    "principalId": "AIDAJ45Q7YFFAREXAMPLE",
    "arn": "arn:aws:iam::123456789012:user/Alice",
    "accountId": "123456789012",
    "accessKeyId": "",
    "userName": "Alice",
}
ASSUMED_ROLE = {
    "type": "AssumedRole",
    "principalId": "AROAIDPPEZS35WEXAMPLE:AssumedRoleSessionName",
    "arn": "arn:aws:sts::123456789012:assumed-role/RoleToBeAssumed/MySessionName",
    "accountId": "123456789012",
    "accessKeyId": "",
    "sessionContext": {
        "sessionIssuer": {
            "type": "Role",
            "principalId": "AROAIDPPEZS35WEXAMPLE",
            "arn": "arn:aws:iam::123456789012:role/RoleToBeAssumed",
            "accountId": "123456789012",
            "userName": "RoleToBeAssumed",
        },
        "attributes": {"mfaAuthenticated": "false", "creationDate": "20131102T010628Z"},
    },
}
ROOT = {
    "type": "Root",
    "principalId": "123456789012",
    "arn": "arn:aws:iam::123456789012:root",
    "accountId": "123456789012",
    "accessKeyId": "ASIAIOSFODNN7EXAMPLE",
}
AWS_SERVICE = {"type": "AWSService", "invokedBy": "sso.amazonaws.com"}
FEDERATED_USER = {  # GetFederationToken called with the IAM user Bob's credentials: the issuer is that user
    "type": "FederatedUser",
    "principalId": "123456789012:bob-session",
    "arn": "arn:aws:sts::123456789012:federated-user/bob-session",
    "accountId": "123456789012",
    "accessKeyId": "ASIAIOSFODNN7EXAMPLE",
    "sessionContext": {
        "sessionIssuer": {
            "type": "IAMUser",
            "principalId": "AIDAJ45Q7YFFAREXAMPLE",
            "arn": "arn:aws:iam::123456789012:user/Bob",
            "accountId": "123456789012",
            "userName": "Bob",
        },
        "attributes": {"mfaAuthenticated": "false", "creationDate": "2024-08-01T13:33:28Z"},
    },
}
IDENTITY_CENTER_USER = {
    "type": "IdentityCenterUser",
    "accountId": "123456789012",
    "onBehalfOf": {
        "userId": "544894e8-80c1-707f-60e3-3ba6510dfac1",
        "identityStoreArn": "arn:aws:identitystore::123456789012:identitystore/d-9067642ac7",
    },
    "credentialId": "EXAMPLEVHULjJdTUdPJfofVa1sufHDoj7aYcOYcxFVllWR_Whr1fEXAMPLE",
}
AWS_ACCOUNT = {"type": "AWSAccount", "principalId": "AIDAJ45Q7YFFAREXAMPLE", "accountId": "111122223333"}
UNKNOWN = {"type": "Unknown"}
USER_VIA_SERVICE = {  # the EFS guide's CreateServiceLinkedRole: a user's call the service made (invokedBy)
    "type": "IAMUser",
    "principalId": "111122223333",
    "arn": "arn:aws:iam::111122223333:user/user1",
    "accountId": "111122223333",
    "accessKeyId": "A111122223333",
    "userName": "user1",
    "sessionContext": {"attributes": {"mfaAuthenticated": "false", "creationDate": "2019-10-23T22:45:41Z"}},
    "invokedBy": "elasticfilesystem.amazonaws.com",
}

CASES: list[tuple[str, dict[str, Any], Caller, str]] = [
    (
        "IAMUser",
        IAM_USER,
        Caller(CallerKind.IAM_USER, "Alice", "arn:aws:iam::123456789012:user/Alice", "123456789012"),
        "IAM user Alice (arn:aws:iam::123456789012:user/Alice)",
    ),
    (
        "AssumedRole",
        ASSUMED_ROLE,
        Caller(
            CallerKind.ASSUMED_ROLE,
            "RoleToBeAssumed",
            "arn:aws:iam::123456789012:role/RoleToBeAssumed",
            "123456789012",
            session="MySessionName",
        ),
        "role RoleToBeAssumed, session MySessionName (arn:aws:iam::123456789012:role/RoleToBeAssumed)",
    ),
    (
        "Root",
        ROOT,
        Caller(CallerKind.ROOT, None, "arn:aws:iam::123456789012:root", "123456789012"),
        "root user of account 123456789012",
    ),
    (
        "AWSService",
        AWS_SERVICE,
        Caller(CallerKind.AWS_SERVICE, "sso.amazonaws.com"),
        "AWS service sso.amazonaws.com",
    ),
    (
        "FederatedUser",
        FEDERATED_USER,
        Caller(
            CallerKind.FEDERATED_USER,
            "Bob",
            "arn:aws:iam::123456789012:user/Bob",
            "123456789012",
            session="bob-session",
        ),
        "federated user bob-session, issued by IAM user Bob (arn:aws:iam::123456789012:user/Bob)",
    ),
    (
        "IdentityCenterUser",
        IDENTITY_CENTER_USER,
        Caller(
            CallerKind.IDENTITY_CENTER_USER,
            "544894e8-80c1-707f-60e3-3ba6510dfac1",
            "arn:aws:identitystore::123456789012:identitystore/d-9067642ac7",
            "123456789012",
        ),
        "IAM Identity Center user 544894e8-80c1-707f-60e3-3ba6510dfac1 "
        "(identity store arn:aws:identitystore::123456789012:identitystore/d-9067642ac7)",
    ),
    (
        "AWSAccount",
        AWS_ACCOUNT,
        Caller(CallerKind.AWS_ACCOUNT, "AIDAJ45Q7YFFAREXAMPLE", None, "111122223333"),
        "AWS account 111122223333 (principal AIDAJ45Q7YFFAREXAMPLE)",
    ),
    ("Unknown", UNKNOWN, Caller(CallerKind.UNKNOWN), "an unknown caller"),
    (
        "IAMUser via a service",
        USER_VIA_SERVICE,
        Caller(
            CallerKind.IAM_USER,
            "user1",
            "arn:aws:iam::111122223333:user/user1",
            "111122223333",
            via="elasticfilesystem.amazonaws.com",
        ),
        "IAM user user1 (arn:aws:iam::111122223333:user/user1) via elasticfilesystem.amazonaws.com",
    ),
]


@pytest.mark.parametrize(("label", "identity", "expected", "display"), CASES, ids=[c[0] for c in CASES])
def test_every_documented_caller_type_says_who_acted(
    label: str, identity: dict[str, Any], expected: Caller, display: str
) -> None:
    """Input: the documented userIdentity of a caller type. Must: the caller read from it, field by field, and the
    one line the ledger and the findings show."""
    who = caller_of(UserIdentity.model_validate(identity))

    assert who == expected
    assert who.display == display


def test_the_root_user_with_an_account_alias() -> None:
    """Input: a Root caller whose userName is the account alias (the guide: "If the userIdentity type is Root, and
    you set an alias for your account, the userName field contains your account alias"). Must: shown as the root
    user, the alias in parentheses, never as an IAM user of that name."""
    who = caller_of(UserIdentity.model_validate(ROOT | {"userName": "corp-prod"}))

    assert who.display == "root user of account 123456789012 (alias corp-prod)"


def test_a_federated_session_issued_by_the_root_user() -> None:
    identity = FEDERATED_USER | {
        "sessionContext": {"sessionIssuer": {"type": "Root", "arn": "arn:aws:iam::123456789012:root"}}
    }
    who = caller_of(UserIdentity.model_validate(identity))

    assert who.display == ("federated user bob-session, issued by the root user (arn:aws:iam::123456789012:root)")


@pytest.mark.parametrize(
    ("identity", "display"),
    [
        (
            {"type": "Role", "userName": "deployer", "arn": "arn:aws:iam::123456789012:role/deployer"},
            "role deployer (arn:aws:iam::123456789012:role/deployer)",
        ),
        (
            {"type": "Directory", "userName": "jdoe", "accountId": "123456789012"},
            "directory user jdoe in account 123456789012",
        ),
        (
            {"type": "SAMLUser", "userName": "jdoe@example.com", "identityProvider": "https://idp.example.com"},
            "SAML user jdoe@example.com via https://idp.example.com",
        ),
        (
            {"type": "WebIdentityUser", "userName": "user-id", "identityProvider": "accounts.google.com"},
            "web identity user user-id via accounts.google.com",
        ),
        ({"type": "SomethingNew", "principalId": "AIDAEXAMPLE"}, "unknown caller AIDAEXAMPLE"),
        ({}, "an unknown caller"),
    ],
)
def test_the_other_documented_types_and_an_undocumented_one(identity: dict[str, Any], display: str) -> None:
    """Input: the remaining documented types (Role, Directory, SAMLUser, WebIdentityUser), a type CloudTrail may add
    one day, and no userIdentity at all. Must: each says what is known; an unlisted type is an unknown caller."""
    assert caller_of(UserIdentity.model_validate(identity)).display == display


def test_an_assumed_role_without_a_session_issuer_is_read_from_its_arn() -> None:
    """Input: an AssumedRole caller whose sessionContext is missing. Must: the role and the session still come from
    the session ARN (assumed-role/ROLE/SESSION)."""
    identity = {k: v for k, v in ASSUMED_ROLE.items() if k != "sessionContext"}
    who = caller_of(UserIdentity.model_validate(identity))

    assert (who.name, who.session) == ("RoleToBeAssumed", "MySessionName")
    assert who.arn == "arn:aws:sts::123456789012:assumed-role/RoleToBeAssumed/MySessionName"


@pytest.mark.parametrize("odd", [42, ["x"], {"userId": 7}, "", None, {"nested": {"deep": True}}])
def test_fields_of_an_unexpected_type_are_absent_not_an_error(odd: object) -> None:
    """Input: an IdentityCenterUser whose onBehalfOf, principalId and identityProvider hold an odd value. Must: the
    event is not turned away (those fields are only said to people) and the caller is read without them."""
    identity = {"type": "IdentityCenterUser", "onBehalfOf": odd, "principalId": odd, "identityProvider": odd}

    who = caller_of(UserIdentity.model_validate(identity))

    assert who.kind is CallerKind.IDENTITY_CENTER_USER
    assert who.display == "IAM Identity Center user (unknown)"


def test_every_field_and_the_display_stay_bounded() -> None:
    """Input: a userIdentity whose every string is 200,000 characters (an event under EventBridge's 256 KB limit can
    carry one). Must: each caller field at most FIELD_MAX characters, the display at most DISPLAY_MAX."""
    huge = "x" * 200_000
    identity = ASSUMED_ROLE | {"arn": f"arn:aws:sts::1:assumed-role/{huge}/{huge}", "invokedBy": huge}
    identity["sessionContext"] = {"sessionIssuer": {"type": "Role", "userName": huge, "arn": huge}}

    who = caller_of(UserIdentity.model_validate(identity))

    for value in (who.name, who.arn, who.account, who.session, who.via):
        assert value is None or len(value) <= FIELD_MAX
    assert len(who.display) <= DISPLAY_MAX and who.display.endswith("…")


texts = st.one_of(st.none(), st.text(max_size=40), st.sampled_from(["", ":", "/", "assumed-role/", ":root"]))
anything = st.one_of(texts, st.integers(), st.lists(texts, max_size=2), st.dictionaries(texts.map(str), texts))


@settings(max_examples=300, deadline=None, database=None)
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "type": st.one_of(texts, st.sampled_from([k.value for k in CallerKind])),
            "arn": texts,
            "userName": texts,
            "accountId": texts,
            "invokedBy": texts,
            "principalId": anything,
            "onBehalfOf": anything,
            "identityProvider": anything,
            "sessionContext": st.one_of(
                st.none(),
                st.fixed_dictionaries(
                    {},
                    optional={
                        "sessionIssuer": st.one_of(
                            st.none(),
                            st.fixed_dictionaries({}, optional={"type": texts, "userName": texts, "arn": texts}),
                        )
                    },
                ),
            ),
        },
    )
)
def test_any_user_identity_gives_a_caller_and_a_bounded_display(identity: dict[str, Any]) -> None:
    """Input: generated userIdentity elements (any documented type or junk, any mix of fields, odd values where the
    model is lenient). Must: reading the caller never raises, and the display is a non-empty bounded line."""
    try:
        parsed = UserIdentity.model_validate(identity)
    except ValidationError:
        return  # a strict field of the wrong type: triage rejects the event before any caller is read
    who = caller_of(parsed)

    assert who.display.strip() and len(who.display) <= DISPLAY_MAX


# -- who acted, in the ledger ---------------------------------------------------------------------------------------
VARIANTS = {
    "iam-user": ("iam.AttachUserPolicy", "IAM user admin (arn:aws:iam::123456789012:user/admin)"),
    "assumed-role": (
        "iam.AttachUserPolicy.assumed-role",
        "role ops-admin, session ops@example.com (arn:aws:iam::123456789012:role/ops-admin)",
    ),
    "root": ("iam.CreateUser.root", "root user of account 123456789012"),
    "aws-service": ("iam.CreateRole.aws-service", "AWS service sso.amazonaws.com"),
}


def with_caller_of(variant: str, event: dict[str, Any]) -> dict[str, Any]:
    source, _ = VARIANTS[variant]
    event["detail"]["userIdentity"] = corpus.load(source)["detail"]["userIdentity"]
    return event


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_a_credit_change_says_who_acted_whatever_the_caller(variant: str) -> None:
    """Input: DeleteUser of alice (IAM, re-read, has no alice) made by each caller of the corpus's variants. Must:
    the ledger's change says who acted; before, an AWS service left no actor at all and root only an ARN."""
    event = with_caller_of(variant, corpus.load("iam.DeleteUser", user="alice"))
    detail = CloudTrailDetail.model_validate(event["detail"])

    (change,) = next(iter(credential_changes(detail)(inventory()).values()))

    assert change.actor == VARIANTS[variant][1]
    assert change.actor_arn == event["detail"]["userIdentity"].get("arn")


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_a_refused_attempt_says_who_tried_whatever_the_caller(variant: str) -> None:
    """Input: a refused DeleteUser of alice (AccessDenied) by each caller. Must: the attempt the ledger keeps, and its
    description (shown in the finding), name the caller; "an unknown caller" never appears for a known type."""
    event = with_caller_of(variant, corpus.load("iam.DeleteUser", user="alice"))
    event["detail"]["errorCode"] = "AccessDenied"
    event["detail"].pop("responseElements")
    decision = triage(event)
    assert decision.status == "attempt"

    refused = refused_attempt(decision)

    assert refused is not None
    _, attempt = refused
    assert attempt.actor == VARIANTS[variant][1]
    assert attempt.description.startswith(f"an attempt by {VARIANTS[variant][1]} at ")


def test_an_attempt_recorded_before_actors_were_kept_still_describes_its_arn() -> None:
    """Input: an Attempt as stored before this change (actor_arn only). Must: its description still names the ARN;
    with neither, "an unknown caller"."""
    old = Attempt.model_validate(
        {
            "at": "2026-01-01T00:00:00Z",
            "event_name": "UpdateAccessKey",
            "error_code": "AccessDenied",
            "actor_arn": "arn:aws:iam::123456789012:user/secops",
        }
    )
    assert old.description.startswith("an attempt by arn:aws:iam::123456789012:user/secops at ")
    assert old.model_copy(update={"actor_arn": None}).description.startswith("an attempt by an unknown caller at ")


def test_the_iam_identity_behind_a_caller_is_unchanged_for_root_and_services() -> None:
    """Input: root and AWS service callers. Must: still no IAM identity the registry could govern (a revoked-caller
    check only concerns IAM users and roles), though the display now names them."""
    for variant in ("root", "aws-service"):
        event = with_caller_of(variant, corpus.load("iam.TagUser"))
        assert caller(CloudTrailDetail.model_validate(event["detail"])) is None
