"""What an IAM event did to the ways its identity can act (``event_changes``): credit only by content, confirmed by
the re-read. The issue's false-credit case first: an ordinary Allow policy is never an enforcing change."""

from __future__ import annotations

import json
from typing import Any

import pytest

from driftline.domain.identity import IdentityRef, Kind
from driftline.domain.observed import Inventory, OtherCredential, SessionDeny
from driftline.triggers.cloudtrail import CloudTrailDetail
from driftline.triggers.event_changes import attempted, credential_changes
from tests.events import corpus
from tests.unit.domain.builders import inactive, inventory, observed_key, observed_role, observed_user

KEY = "AKIAQ3EGUJ4XKTPVX7M2"
ALICE = IdentityRef(kind=Kind.USER, name="alice")
ROLE = IdentityRef(kind=Kind.ROLE, name="app-role")
THE_KEY = IdentityRef(kind=Kind.ACCESS_KEY, name=KEY)
DENY_ALL = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]})
ALLOW = corpus.READ_ONLY_DOCUMENT
DENIED = SessionDeny(policy_name="quarantine", via="inline")


def detail(name: str, **values: Any) -> CloudTrailDetail:
    event = corpus.load(name, user="alice", key_id=KEY, role="app-role", event_id="ev-1", **values)
    return CloudTrailDetail.model_validate(event["detail"])


def changes(name: str, inv: Inventory, **values: Any) -> dict[IdentityRef, list[tuple[str, str]]]:
    found = credential_changes(detail(name, **values))(inv)
    return {ref: [(c.credential, c.effect) for c in told] for ref, told in found.items()}


def alice(**overrides: Any) -> Inventory:
    key = observed_key(KEY, "alice")
    keys = [inactive(key)] if overrides.pop("key_inactive", False) else [key]
    return inventory(users=[observed_user("alice", **overrides)], keys=keys)


def test_key_deactivation_confirmed_by_the_re_read_disables_the_key_for_user_and_key() -> None:
    found = changes("iam.UpdateAccessKey", alice(key_inactive=True), status="Inactive")
    assert found == {ALICE: [(f"access_key:{KEY}", "disable")], THE_KEY: [(f"access_key:{KEY}", "disable")]}


def test_key_deactivation_the_re_read_does_not_confirm_is_no_change() -> None:
    """Deactivated, then re-activated before this event was processed: the re-read shows it Active, so the event is
    not recorded as disabling it (the re-activation's own event will say enable)."""
    assert changes("iam.UpdateAccessKey", alice(), status="Inactive") == {}


def test_key_activation_is_an_enabling_change() -> None:
    found = changes("iam.UpdateAccessKey", alice(), status="Active")
    assert found[THE_KEY] == [(f"access_key:{KEY}", "enable")]


@pytest.mark.parametrize("name", ["iam.PutUserPolicy"])
def test_an_ordinary_allow_policy_is_never_an_enforcing_change(name: str) -> None:
    """PutUserPolicy with an Allow document, on a user who happens to be denied everything by another policy: the
    event did not enforce anything, so it is no evidence."""
    assert changes(name, alice(session_denies=(DENIED,)), policy_document=ALLOW) == {}


def test_a_deny_everything_policy_put_and_confirmed_disables_the_whole_identity_and_its_keys() -> None:
    found = changes("iam.PutUserPolicy", alice(session_denies=(DENIED,)), policy_document=DENY_ALL)
    assert found == {ALICE: [("*", "disable")], THE_KEY: [("*", "disable")]}


def test_a_truncated_document_counts_only_when_the_re_read_shows_a_deny() -> None:
    """CloudTrail left the document out: the re-read decides."""
    assert changes("iam.PutUserPolicy.omitted", alice(session_denies=(DENIED,)))[ALICE] == [("*", "disable")]
    assert changes("iam.PutUserPolicy.omitted", alice()) == {}


def test_attaching_a_policy_counts_only_when_it_denies_the_principal_everything() -> None:
    assert changes("iam.AttachRolePolicy", inventory(roles=[observed_role("app-role", session_denies=(DENIED,))])) == {
        ROLE: [("*", "disable")]
    }
    assert changes("iam.AttachRolePolicy", inventory(roles=[observed_role("app-role")])) == {}


def test_deleting_the_user_disables_it() -> None:
    assert changes("iam.DeleteUser", inventory())[ALICE] == [("*", "disable")]


def test_a_trust_policy_that_admits_nobody_disables_the_role_and_one_that_admits_someone_enables_it() -> None:
    nobody = inventory(roles=[observed_role("app-role", assumable_by=())])
    someone = inventory(roles=[observed_role("app-role")])
    assert changes("iam.UpdateAssumeRolePolicy", nobody) == {ROLE: [("role-session", "disable")]}
    assert changes("iam.UpdateAssumeRolePolicy", someone) == {ROLE: [("role-session", "enable")]}


def test_detaching_the_deny_reopens_the_identity_only_when_nothing_denies_it_any_more() -> None:
    assert changes("iam.DetachRolePolicy", inventory(roles=[observed_role("app-role")])) == {ROLE: [("*", "enable")]}
    still_denied = inventory(roles=[observed_role("app-role", session_denies=(DENIED,))])
    assert changes("iam.DetachRolePolicy", still_denied) == {}


@pytest.mark.parametrize(
    ("name", "kind", "id_field"),
    [
        ("iam.UpdateSSHPublicKey", "ssh-public-key", "ssh_key_id"),
        ("iam.UpdateServiceSpecificCredential", "service-specific-credential", "credential_id"),
        ("iam.UpdateSigningCertificate", "signing-certificate", "certificate_id"),
    ],
)
def test_other_credentials_deactivated_and_confirmed(name: str, kind: Any, id_field: str) -> None:
    credential_id = "IDOFTHECREDENTIAL1"
    others = (OtherCredential(kind=kind, credential_id=credential_id, active=False),)
    found = changes(name, alice(other_credentials=others), status="Inactive", **{id_field: credential_id})
    assert found == {ALICE: [(f"{kind}:{credential_id}", "disable")]}
    still_active = (OtherCredential(kind=kind, credential_id=credential_id, active=True),)
    assert changes(name, alice(other_credentials=still_active), status="Inactive", **{id_field: credential_id}) == {}


def test_the_change_carries_the_event_and_its_actor() -> None:
    (change,) = credential_changes(detail("iam.DeleteLoginProfile", caller="secops"))(alice())[ALICE]
    assert (change.credential, change.effect, change.event_id, change.event_name) == (
        "password",
        "disable",
        "ev-1",
        "DeleteLoginProfile",
    )
    assert change.actor_arn == "arn:aws:iam::123456789012:user/secops"


# -- failed calls ------------------------------------------------------------------------------------------------
def test_a_denied_key_deactivation_is_an_attempt_on_the_user_and_the_key() -> None:
    assert attempted(detail("iam.UpdateAccessKey.access-denied", status="Inactive")) == (
        [ALICE, THE_KEY],
        f"access key {KEY}",
    )


def test_a_denied_key_activation_or_allow_policy_is_no_attempt_to_enforce() -> None:
    assert attempted(detail("iam.UpdateAccessKey.access-denied", status="Active")) is None
    failed_allow = detail("iam.PutUserPolicy", policy_document=ALLOW)
    assert attempted(failed_allow) is None


def test_a_denied_attach_is_an_attempt_on_the_principal() -> None:
    assert attempted(detail("iam.AttachUserPolicy.access-denied")) == ([ALICE], "user#alice")
