"""The pure helpers the handler builds an evaluation from: revoked callers, the use an event proves, and the
enforcement evidence it carries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from driftline.domain.identity import IdentityRef, Kind
from driftline.domain.observed import Inventory, KeyStatus, ObservedKey, ObservedRole, ObservedUser
from driftline.triggers.cloudtrail import CloudTrailDetail, group_member_refs, mark_use, revoked_callers
from tests.events import corpus

KEY = "AKIAQ3EGUJ4XKTPVX7M2"
WHEN = datetime(2026, 11, 25, 10, 0, 0, tzinfo=UTC)
KEY_REF = IdentityRef(kind=Kind.ACCESS_KEY, name=KEY)
BOB = IdentityRef(kind=Kind.USER, name="bob")
OPS = IdentityRef(kind=Kind.ROLE, name="ops-admin")


def detail(name: str = "iam.TagUser", **values: object) -> CloudTrailDetail:
    event = corpus.load(name, caller="bob", caller_key=KEY, event_time=WHEN, event_id="ev-1", **values)
    return CloudTrailDetail.model_validate(event["detail"])


def inventory(*, key_used: datetime | None = None, role_used: datetime | None = None) -> Inventory:
    created = WHEN - timedelta(days=30)
    common = {"arn": "arn:aws:iam::123456789012:x", "principal_id": "AIDAX", "created_at": created}
    return Inventory(
        account_id="123456789012",
        observed_at=WHEN,
        users={"bob": ObservedUser(name="bob", password_enabled=True, **common)},
        roles={"ops-admin": ObservedRole(name="ops-admin", last_used_at=role_used, **common)},
        keys={
            KEY: ObservedKey(
                access_key_id=KEY, user_name="bob", status=KeyStatus.ACTIVE, created_at=created, last_used_at=key_used
            )
        },
    )


def test_revoked_key_of_the_caller_is_found() -> None:
    assert revoked_callers(detail(), lambda ref: ref == KEY_REF) == [KEY_REF]


def test_revoked_calling_user_brings_its_signing_key() -> None:
    """A revoked user's key is a revoked credential too, even without a revoked entry of its own."""
    assert revoked_callers(detail(), lambda ref: ref == BOB) == [KEY_REF, BOB]


def test_nothing_revoked_nothing_found() -> None:
    assert revoked_callers(detail(), lambda ref: False) == []


def test_revoked_role_behind_an_assumed_role_session() -> None:
    assumed = detail("iam.AttachUserPolicy.assumed-role")

    assert revoked_callers(assumed, lambda ref: ref == OPS) == [OPS]


def test_root_and_service_callers_are_never_revoked_callers() -> None:
    for name in ("iam.CreateUser.root", "iam.CreateRole.aws-service"):
        assert revoked_callers(detail(name), lambda ref: True) == []


def test_mark_use_records_the_event_as_the_keys_last_use() -> None:
    observed = mark_use([KEY_REF], detail())(inventory(key_used=WHEN - timedelta(days=2)))

    key = observed.keys[KEY]
    assert (key.last_used_at, key.last_use_event) == (WHEN, "ev-1")
    assert observed.users["bob"].password_last_used_at is None  # signed with a key: not a console use


def test_mark_use_never_moves_a_later_last_use_back() -> None:
    later = WHEN + timedelta(minutes=5)

    observed = mark_use([KEY_REF], detail())(inventory(key_used=later))

    assert (observed.keys[KEY].last_used_at, observed.keys[KEY].last_use_event) == (later, None)


def test_mark_use_of_a_role_session() -> None:
    observed = mark_use([OPS], detail("iam.AttachUserPolicy.assumed-role"))(inventory())

    assert (observed.roles["ops-admin"].last_used_at, observed.roles["ops-admin"].last_use_event) == (WHEN, "ev-1")


def test_mark_use_of_a_user_without_a_long_term_key_is_a_password_use() -> None:
    console = CloudTrailDetail.model_validate(
        corpus.load("iam.TagUser", caller="bob", caller_key="ASIAQ3EGUJ4XKTPVX7M2", event_time=WHEN)["detail"]
    )

    observed = mark_use([BOB], console)(inventory())

    assert observed.users["bob"].password_last_used_at == WHEN


def test_group_member_refs() -> None:
    assert group_member_refs(["a", "b"]) == [
        IdentityRef(kind=Kind.USER, name="a"),
        IdentityRef(kind=Kind.USER, name="b"),
    ]
