"""RegistryEntry and RegistrySnapshot validation: one test per rule, each checking the message people will read."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from driftline.domain.identity import IdentityRef, Kind
from driftline.domain.registry import RegistryEntry, RegistrySnapshot, Status
from tests.unit.domain.builders import ACCOUNT, NOW, key_entry, key_id, policy_arn, role_entry, user_entry

AWARE = datetime(2026, 1, 1, tzinfo=UTC)
NAIVE = datetime(2026, 1, 1, 12, 0)


def _field_errors(exc: pytest.ExceptionInfo[ValidationError]) -> dict[tuple[Any, ...], str]:
    return {tuple(e["loc"]): e["msg"] for e in exc.value.errors()}


# --- valid entries ---------------------------------------------------------------------------------------------


def test_valid_user_entry_parses_with_all_fields() -> None:
    """A fully specified user entry (policies, groups, inline, thresholds, expiry, audit fields) parses and keeps
    its values; whitespace around strings is stripped."""
    # Given a user entry as a registry file would hold it
    raw = {
        "kind": "user",
        "name": " alice ",
        "owner": "team-a",
        "purpose": "deploys",
        "managed_policies": [policy_arn("ReadOnlyAccess"), f"arn:aws:iam::{ACCOUNT}:policy/custom/Deploy"],
        "groups": ["devs"],
        "inline_policies": ["extra"],
        "max_key_age_days": 30,
        "max_unused_days": 45,
        "expires_at": "2027-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00+02:00",
        "version": 3,
    }
    # When it is validated
    entry = RegistryEntry.model_validate(raw)
    # Then every field is kept, the name stripped, and the identity reference is user#alice
    assert entry.name == "alice"
    assert entry.ref == IdentityRef(kind=Kind.USER, name="alice")
    assert entry.managed_policies == (policy_arn("ReadOnlyAccess"), f"arn:aws:iam::{ACCOUNT}:policy/custom/Deploy")
    assert entry.groups == ("devs",)
    assert entry.status is Status.ACTIVE
    assert not entry.is_revoked
    assert entry.expires_at == datetime(2027, 1, 1, tzinfo=UTC)


def test_valid_role_entry_parses() -> None:
    """A role entry with managed and inline policies (no groups) parses."""
    # Given / When
    entry = role_entry("deploy-role", managed_policies=[policy_arn("AdministratorAccess")], inline_policies=[])
    # Then
    assert entry.kind is Kind.ROLE
    assert entry.inline_policies == ()
    assert entry.groups is None


def test_valid_access_key_entry_parses() -> None:
    """An access key entry with a well-formed AKIA id and a user parses; its ref is access_key#<id>."""
    # Given / When
    entry = key_entry(key_id(7), "alice")
    # Then
    assert entry.ref.key == f"access_key#{key_id(7)}"
    assert entry.user == "alice"


def test_valid_revoked_entry_parses_and_is_revoked() -> None:
    """status revoked with an aware revoked_at is valid and reports is_revoked."""
    entry = user_entry("alice", status="revoked", revoked_at=NOW)
    assert entry.is_revoked


def test_expired_is_inclusive_of_the_expiry_instant() -> None:
    """expires_at == now counts as expired; one second earlier it does not."""
    entry = user_entry("alice", expires_at=NOW)
    assert entry.expired(NOW)
    assert not entry.expired(NOW - timedelta(seconds=1))


# --- access key rules ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad_id",
    [
        "AKIA123",  # too short
        "akia" + "A" * 16,  # lower-case prefix
        "AKIA" + "a" * 16,  # lower-case body
        "ASIA" + "A" * 16,  # temporary (STS) key
        "AKIA" + "A" * 17,  # too long
    ],
)
def test_access_key_id_must_be_akia_plus_16_uppercase(bad_id: str) -> None:
    """An access key entry named {bad_id} is rejected with a message saying what an access key id looks like."""
    with pytest.raises(ValidationError, match=re.escape(f"{bad_id!r} is not an access key id: expected AKIA")):
        RegistryEntry(kind=Kind.ACCESS_KEY, name=bad_id, user="alice", owner="o")


@pytest.mark.parametrize("user", [None, "", "   "], ids=["absent", "empty", "blank"])
def test_access_key_without_user_is_rejected(user: str | None) -> None:
    """An access key entry with no user (absent, empty or blank) is rejected: the key must name its IAM user."""
    with pytest.raises(ValidationError, match="an access key entry must name its IAM user in 'user'"):
        RegistryEntry(kind=Kind.ACCESS_KEY, name=key_id(1), owner="o", user=user)


@pytest.mark.parametrize(
    "entitlement",
    [{"managed_policies": [policy_arn("ReadOnlyAccess")]}, {"groups": []}, {"inline_policies": ["p"]}],
)
def test_access_key_with_entitlements_is_rejected(entitlement: dict[str, list[str]]) -> None:
    """An access key entry that approves any entitlement dimension (even an empty list) is rejected."""
    with pytest.raises(ValidationError, match="an access key holds no entitlements: approve them on its user"):
        RegistryEntry(kind=Kind.ACCESS_KEY, name=key_id(1), user="alice", owner="o", **entitlement)


# --- times -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["revoked_at", "expires_at", "updated_at"])
def test_naive_datetimes_are_rejected(field: str) -> None:
    """A naive datetime in {field} is rejected (AwareDatetime), naming the field."""
    extra: dict[str, Any] = {"status": "revoked"} if field == "revoked_at" else {}
    with pytest.raises(ValidationError, match="Input should have timezone info") as exc:
        RegistryEntry(kind=Kind.USER, name="alice", owner="o", **{field: NAIVE}, **extra)
    assert (field,) in _field_errors(exc)


def test_revoked_without_revoked_at_is_rejected() -> None:
    """status revoked with no revoked_at is rejected, asking when the revocation was decided."""
    with pytest.raises(ValidationError, match="status is 'revoked' but 'revoked_at' is missing"):
        RegistryEntry(kind=Kind.USER, name="alice", owner="o", status=Status.REVOKED)


def test_revoked_at_with_active_status_is_rejected() -> None:
    """revoked_at on an active entry is rejected."""
    with pytest.raises(ValidationError, match="'revoked_at' is set but status is 'active'"):
        RegistryEntry(kind=Kind.ROLE, name="r", owner="o", revoked_at=AWARE)


# --- shape -----------------------------------------------------------------------------------------------------


def test_unknown_field_is_rejected() -> None:
    """A field the model does not know (a typo such as 'onwer') is rejected, not ignored."""
    with pytest.raises(ValidationError, match="Extra inputs are not permitted") as exc:
        RegistryEntry.model_validate({"kind": "user", "name": "alice", "owner": "o", "onwer": "x"})
    assert ("onwer",) in _field_errors(exc)


@pytest.mark.parametrize(
    "arn",
    [
        "ReadOnlyAccess",
        "arn:aws:iam::aws:role/ReadOnlyAccess",
        "arn:aws:iam::12345:policy/p",
        "arn:aws:s3:::bucket",
        "arn:aws:iam::aws:policy/",
    ],
)
def test_bad_managed_policy_arn_is_rejected(arn: str) -> None:
    """A managed policy that is not arn:aws*:iam::<account|aws>:policy/<name> is rejected, quoting it."""
    with pytest.raises(ValidationError, match=re.escape(f"{arn!r} is not an IAM managed policy ARN")):
        user_entry("alice", managed_policies=[arn])


def test_partition_policy_arns_are_accepted() -> None:
    """GovCloud and China partition policy ARNs are accepted."""
    arns = ("arn:aws-us-gov:iam::aws:policy/ReadOnlyAccess", f"arn:aws-cn:iam::{ACCOUNT}:policy/p")
    assert user_entry("alice", managed_policies=arns).managed_policies == arns


@pytest.mark.parametrize("kind", [Kind.USER, Kind.ROLE])
@pytest.mark.parametrize("name", ["has space", "slash/name", "x" * 129, "colon:name", "star*"])
def test_invalid_iam_name_is_rejected(kind: Kind, name: str) -> None:
    """A user or role name outside IAM's character set or longer than 128 is rejected, naming the kind."""
    with pytest.raises(ValidationError, match=re.escape(f"{name!r} is not a valid IAM {kind.value} name")):
        RegistryEntry(kind=kind, name=name, owner="o")


@pytest.mark.parametrize("name", ["ålice", "用户", "x" * 65])
def test_names_iam_cannot_hold_are_rejected(name: str) -> None:
    """A non-ASCII user name, or one longer than 64 characters, cannot exist in IAM and must be rejected."""
    with pytest.raises(ValidationError, match="is not a valid IAM user name"):
        RegistryEntry(kind=Kind.USER, name=name, owner="o")


@pytest.mark.parametrize("kind", [Kind.USER, Kind.ROLE])
def test_user_field_on_user_or_role_is_rejected(kind: Kind) -> None:
    """'user' applies to access keys only; on a user or role entry it is rejected."""
    with pytest.raises(ValidationError, match=f"'user' applies to access keys only, not to a {kind.value}"):
        RegistryEntry(kind=kind, name="alice", owner="o", user="bob")


def test_groups_on_role_are_rejected() -> None:
    """A role entry with groups (even an empty list) is rejected."""
    with pytest.raises(ValidationError, match="a role cannot be a member of groups; remove 'groups'"):
        RegistryEntry(kind=Kind.ROLE, name="r", owner="o", groups=[])


@pytest.mark.parametrize("owner", ["", "   "])
def test_empty_owner_is_rejected(owner: str) -> None:
    """An empty or blank owner is rejected: every identity has someone who answers for it."""
    with pytest.raises(ValidationError, match="String should have at least 1 character") as exc:
        RegistryEntry(kind=Kind.USER, name="alice", owner=owner)
    assert ("owner",) in _field_errors(exc)


def test_missing_owner_is_rejected() -> None:
    """An entry with no owner at all is rejected."""
    with pytest.raises(ValidationError, match="Field required") as exc:
        RegistryEntry.model_validate({"kind": "user", "name": "alice"})
    assert ("owner",) in _field_errors(exc)


@pytest.mark.parametrize("field", ["max_key_age_days", "max_unused_days"])
@pytest.mark.parametrize("value", [0, -1])
def test_non_positive_thresholds_are_rejected(field: str, value: int) -> None:
    """A zero or negative threshold is rejected, naming the field."""
    with pytest.raises(ValidationError, match="Input should be greater than 0") as exc:
        RegistryEntry(kind=Kind.USER, name="alice", owner="o", **{field: value})
    assert (field,) in _field_errors(exc)


def test_negative_version_is_rejected() -> None:
    """version counts writes and cannot be negative."""
    with pytest.raises(ValidationError, match="Input should be greater than or equal to 0"):
        RegistryEntry(kind=Kind.USER, name="alice", owner="o", version=-1)


def test_unknown_kind_is_rejected() -> None:
    """kind must be user, role or access_key."""
    with pytest.raises(ValidationError, match="Input should be 'user', 'role' or 'access_key'"):
        RegistryEntry.model_validate({"kind": "group", "name": "g", "owner": "o"})


def test_entries_are_frozen() -> None:
    """Entries are immutable: assignment raises."""
    entry = user_entry("alice")
    with pytest.raises(ValidationError, match="Instance is frozen"):
        entry.owner = "someone-else"  # type: ignore[misc]


# --- snapshot --------------------------------------------------------------------------------------------------


def test_snapshot_rejects_duplicate_entries() -> None:
    """Two entries for user#alice in one snapshot are rejected, naming the duplicate."""
    with pytest.raises(ValidationError, match="duplicate registry entry: user#alice and user#alice"):
        RegistrySnapshot(account_id=ACCOUNT, entries=(user_entry("alice"), user_entry("alice", owner="other")))


def test_snapshot_allows_same_name_in_different_kinds() -> None:
    """A user and a role may share a name: they are different identities."""
    snapshot = RegistrySnapshot(account_id=ACCOUNT, entries=(user_entry("ops"), role_entry("ops")))
    assert set(snapshot.by_ref()) == {IdentityRef.parse("user#ops"), IdentityRef.parse("role#ops")}


@pytest.mark.parametrize("account_id", ["12345", "1234567890123", "12345678901a", ""])
def test_snapshot_rejects_bad_account_id(account_id: str) -> None:
    """An account id that is not exactly 12 digits is rejected."""
    with pytest.raises(ValidationError, match=re.escape(r"String should match pattern '^\d{12}$'")):
        RegistrySnapshot(account_id=account_id)


# --- identity references ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "name"),
    [
        ("user#alice", Kind.USER, "alice"),
        ("role/x", Kind.ROLE, "x"),
        (f"access_key#{key_id(3)}", Kind.ACCESS_KEY, key_id(3)),
    ],
)
def test_identity_ref_parse(text: str, kind: Kind, name: str) -> None:
    """kind#name and kind/name both parse; str() gives the canonical kind#name form."""
    parsed = IdentityRef.parse(text)
    assert (parsed.kind, parsed.name) == (kind, name)
    assert str(parsed) == f"{kind.value}#{name}"


@pytest.mark.parametrize("text", ["alice", "user#", "user/", ""])
def test_identity_ref_parse_rejects_text_without_kind_and_name(text: str) -> None:
    """Text with no separator, or an empty name, is rejected with the expected form in the message."""
    with pytest.raises(ValueError, match="is not of the form kind#name"):
        IdentityRef.parse(text)


def test_identity_ref_parse_rejects_unknown_kind() -> None:
    """An unknown kind before the separator is rejected with the friendly form message, which names the kinds."""
    with pytest.raises(
        ValueError, match=r"'group#admins' is not of the form kind#name \(kind: user, role or access_key\)"
    ):
        IdentityRef.parse("group#admins")
