"""``registry_changes.classify``: one raw DynamoDB stream record of the registry table -> what changed, decided from
the old and new images in code (a Lambda event filter cannot compare the two)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from aws_lambda_powertools.utilities.parser.models import DynamoDBStreamModel

from driftline.adapters.registry import to_item
from driftline.adapters.registry_log import RegistryLog, RegistryWrite
from driftline.domain.identity import IdentityRef
from driftline.domain.registry import RegistryEntry, Status
from driftline.triggers.registry_stream import BadRegistryImage, classify
from tests.unit.revocations.stream_events import EVENTS_DIR, load_event, load_record, stream_record

GOVERNANCE = "arn:aws:iam::123456789012:role/identity-governance"
ENTRY = RegistryEntry(
    kind="user",
    name="dave",
    owner="dave@example.com",
    managed_policies=("arn:aws:iam::123456789012:policy/payments-read",),
    groups=("engineers",),
    version=4,
    updated_at=datetime(2026, 4, 1, 10, 0, tzinfo=UTC),
    updated_by=GOVERNANCE,
)


def with_(entry: RegistryEntry, **changes: Any) -> RegistryEntry:
    """``entry`` with ``changes``, re-validated as the registry would."""
    return RegistryEntry.model_validate({**entry.model_dump(), **changes})


def revoked(entry: RegistryEntry, at: datetime, **changes: Any) -> RegistryEntry:
    return with_(entry, status=Status.REVOKED, revoked_at=at, version=entry.version + 1, **changes)


STREAM_FILES = sorted(p.stem.removeprefix("dynamodb_stream_") for p in EVENTS_DIR.glob("dynamodb_stream_*.json"))


@pytest.mark.parametrize("name", STREAM_FILES)
def test_stored_events_are_lambda_dynamodb_stream_events(name: str) -> None:
    """Every tests/events/dynamodb_stream_*.json must validate as a Lambda DynamoDB stream event (Powertools'
    DynamoDBStreamModel) with Keys, a SequenceNumber, the registry stream's ARN and the images its eventName implies."""
    # Given a stored event
    event = load_event(name)

    # When it is parsed as Lambda would deliver it
    parsed = DynamoDBStreamModel.model_validate(event)

    # Then it has the real shape
    assert len(STREAM_FILES) >= 4
    for record in parsed.Records:
        assert record.eventSource == "aws:dynamodb"
        assert ":table/driftline-registry/stream/" in record.eventSourceARN
        assert record.dynamodb.SequenceNumber and record.dynamodb.Keys
        assert record.dynamodb.StreamViewType == "NEW_AND_OLD_IMAGES"
        assert (record.dynamodb.NewImage is not None) == (record.eventName != "REMOVE")
        assert (record.dynamodb.OldImage is not None) == (record.eventName != "INSERT")


def test_modify_active_to_revoked_is_revoked() -> None:
    """The stored MODIFY of user#alice from active (v1) to revoked at 2026-05-01T09:30Z (v2, ticket SEC-1042) must
    classify as "revoked" for account 123456789012, with both images parsed."""
    # Given the stored MODIFY record
    record = load_record("modify_revoked")

    # When it is classified
    change = classify(record)

    # Then it is a revocation of alice, with the registry's facts
    assert change is not None
    assert change.change == "revoked"
    assert change.account_id == "123456789012"
    assert change.identity == IdentityRef.parse("user#alice")
    assert change.old is not None and not change.old.is_revoked
    assert change.new is not None and change.new.is_revoked
    assert change.new.revoked_at == datetime(2026, 5, 1, 9, 30, tzinfo=UTC)
    assert (change.new.ticket, change.new.reason) == ("SEC-1042", "left the company")


def test_insert_already_revoked_is_revoked() -> None:
    """The stored INSERT of access key AKIAQWERTYUIOPASDFGH (user bob), already revoked, must classify as "revoked"
    (not "created"), with no old image."""
    # Given / When
    change = classify(load_record("insert_revoked"))

    # Then
    assert change is not None
    assert change.change == "revoked"
    assert change.identity == IdentityRef.parse("access_key#AKIAQWERTYUIOPASDFGH")
    assert change.old is None and change.new is not None and change.new.user == "bob"


def test_revoked_at_changed_is_a_new_revocation() -> None:
    """A MODIFY from revoked at T1 to revoked at T2 (a re-revocation) must classify as "revoked"; the same revoked_at
    with only a new ticket must classify as "changed" (no second revocation)."""
    # Given an entry revoked at T1
    first = revoked(ENTRY, datetime(2026, 5, 1, 9, 0, tzinfo=UTC))
    again = with_(first, revoked_at=datetime(2026, 5, 4, 9, 0, tzinfo=UTC), version=first.version + 1)
    retitled = with_(first, ticket="SEC-9", version=first.version + 1)

    # When it is revoked again / only retitled
    moved = classify(stream_record("MODIFY", old=first, new=again))
    same = classify(stream_record("MODIFY", old=first, new=retitled))

    # Then
    assert moved is not None and moved.change == "revoked"
    assert same is not None and same.change == "changed"


def test_modify_revoked_to_active_is_restored() -> None:
    """The stored MODIFY of role#deploy-bot from revoked (v3) to active (v4) must classify as "restored", keeping the
    old image's revoked_at (the ledger record to cancel is keyed by it)."""
    # Given / When
    change = classify(load_record("modify_restored"))

    # Then
    assert change is not None
    assert change.change == "restored"
    assert change.identity == IdentityRef.parse("role#deploy-bot")
    assert change.old is not None and change.old.revoked_at == datetime(2026, 5, 3, 8, 0, tzinfo=UTC)
    assert change.new is not None and change.new.revoked_at is None


def test_remove_is_deleted() -> None:
    """The stored REMOVE of user#carol (OldImage only) must classify as "deleted", with the old entry and no new."""
    # Given / When
    change = classify(load_record("remove"))

    # Then
    assert change is not None
    assert change.change == "deleted"
    assert change.identity == IdentityRef.parse("user#carol")
    assert change.new is None and change.old is not None and change.old.owner == "carol@example.com"


def test_remove_without_images_names_the_identity_from_the_keys() -> None:
    """A REMOVE whose record carries only Keys (sk access_key#AKIA…) must still classify as "deleted" for the key."""
    # Given a record with keys only
    keys = {"pk": {"S": "123456789012"}, "sk": {"S": "access_key#AKIAZZZZZZZZZZZZZZZZ"}}

    # When / Then
    change = classify(stream_record("REMOVE", keys=keys))
    assert change is not None and change.change == "deleted"
    assert change.identity == IdentityRef.parse("access_key#AKIAZZZZZZZZZZZZZZZZ")


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"managed_policies": ("arn:aws:iam::123456789012:policy/payments-admin",)}, "changed"),
        ({"groups": ("engineers", "admins")}, "changed"),
        ({"inline_policies": ()}, "changed"),
        ({"owner": "someone-else@example.com"}, "changed"),
        ({"expires_at": datetime(2026, 12, 31, tzinfo=UTC)}, "changed"),
        ({}, "unchanged"),
        ({"updated_by": "arn:aws:iam::123456789012:user/pipeline"}, "unchanged"),
    ],
)
def test_modify_of_an_active_entry(changes: dict[str, Any], expected: str) -> None:
    """A MODIFY of an active user with ``changes`` (plus a new version and updated_at) must classify as ``expected``:
    entitlement/owner/expiry changes are "changed"; only version, updated_at or updated_by is "unchanged"."""
    # Given an active entry and its next version
    new = with_(ENTRY, version=ENTRY.version + 1, updated_at=datetime(2026, 4, 2, tzinfo=UTC), **changes)

    # When the write is classified
    change = classify(stream_record("MODIFY", old=ENTRY, new=new))

    # Then
    assert change is not None
    assert change.change == expected


def test_insert_active_is_created() -> None:
    """An INSERT of an active entry must classify as "created"."""
    change = classify(stream_record("INSERT", new=ENTRY))
    assert change is not None and change.change == "created" and change.old is None


@pytest.mark.parametrize(
    "keys",
    [
        {"pk": {"S": "123456789012"}, "sk": {"S": "schema-version"}},
        {"pk": {"S": "123456789012"}},
        {"sk": {"S": "user#alice"}},
        {},
    ],
)
def test_non_registry_items_are_ignored(keys: dict[str, Any]) -> None:
    """A record whose keys are not a registry entry's (sk without '#', or pk/sk missing) must classify as None,
    even when its image would not parse as an entry."""
    # Given a record of some other item
    record = stream_record("INSERT", new={**keys, "note": {"S": "not an entry"}}, keys=keys)

    # When / Then
    assert classify(record) is None


def test_record_without_dynamodb_body_is_rejected_as_bad_input() -> None:
    """A record without a ``dynamodb`` body at all is not a stream record: rejected with the reason (logged and
    counted by the handler, never retried), never an exception of another kind."""
    with pytest.raises(BadRegistryImage, match="not a DynamoDB stream record"):
        classify({"eventName": "INSERT", "eventSource": "aws:dynamodb"})


def _image(**overrides: Any) -> dict[str, Any]:
    image = to_item("123456789012", ENTRY)
    for name, value in overrides.items():
        if value is None:
            image.pop(name, None)
        else:
            image[name] = value
    return image


@pytest.mark.parametrize(
    ("image", "what"),
    [
        (_image(status={"S": "revoked"}), "revoked without revoked_at"),
        (_image(kind={"S": "group"}), "unknown kind"),
        (_image(owner=None), "no owner"),
        (_image(status={"S": "revoked"}, revoked_at={"S": "yesterday"}), "revoked_at not a date"),
        (_image(revoked_at={"S": "2026-05-01T09:30:00"}, status={"S": "revoked"}), "naive revoked_at"),
        (_image(version={"S": "four"}), "version not a number"),
        (_image(colour={"S": "blue"}), "unknown attribute"),
        (_image(owner={"XX": "dave"}), "unknown DynamoDB type"),
        (_image(name={"S": "dave smith"}), "invalid IAM name"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_malformed_new_image_is_bad_registry_image(image: dict[str, Any], what: str) -> None:
    """A MODIFY whose new image is a registry item that is not a valid entry (``what``) must raise BadRegistryImage
    naming the item's sort key, so the handler can reject and count it instead of retrying."""
    # Given a valid old image and a malformed new one
    record = stream_record("MODIFY", old=ENTRY, new=image)

    # When / Then
    with pytest.raises(BadRegistryImage, match="user#dave"):
        classify(record)


def test_stored_malformed_event_is_bad_registry_image() -> None:
    """The stored MODIFY of user#alice whose new image says revoked without revoked_at must raise BadRegistryImage."""
    with pytest.raises(BadRegistryImage, match="revoked_at"):
        classify(load_record("modify_malformed"))


def test_malformed_old_image_is_bad_registry_image() -> None:
    """A REMOVE whose old image is malformed (no owner) must raise BadRegistryImage, not classify as deleted."""
    with pytest.raises(BadRegistryImage):
        classify(stream_record("REMOVE", old=_image(owner=None)))


def test_classify_does_not_modify_the_record() -> None:
    """classify must leave the raw record as it was (Powertools keeps it for the failure response)."""
    record = load_record("modify_revoked")
    before = json.dumps(record, sort_keys=True)
    classify(copy.deepcopy(record))
    classify(record)
    assert json.dumps(record, sort_keys=True) == before


def test_change_log_history_items_are_not_entries() -> None:
    """The history item RegistryLog writes with every registry change (pk ``<account>#history``, sk
    ``user#dave#<time>#<version>``, one ``record`` attribute) must classify as None. It used to raise
    BadRegistryImage, so every registry write was logged as a rejected record and counted in
    RejectedRegistryRecords."""
    # Given the history item of a change to dave, exactly as the change log writes it
    log = RegistryLog(cast("Any", None), "driftline-registry", actor=GOVERNANCE)
    put = RegistryWrite(action="put", ref=ENTRY.ref, entry=ENTRY, expected_version=ENTRY.version)
    now = datetime(2026, 5, 1, 9, 30, tzinfo=UTC)
    item = log._prepare("123456789012", put, now).history
    assert item["pk"] == {"S": "123456789012#history"} and item["sk"]["S"].startswith("user#dave#")

    # When its INSERT is classified / Then it is not a registry entry
    assert classify(stream_record("INSERT", new=item)) is None


def test_keys_naming_no_identity_are_bad_registry_image() -> None:
    """A REMOVE with keys only whose sk is ``group#admins`` (no identity kind) must raise BadRegistryImage (rejected
    and counted), not a bare ValueError (which failed the record and retried it until the on-failure destination)."""
    keys = {"pk": {"S": "123456789012"}, "sk": {"S": "group#admins"}}
    with pytest.raises(BadRegistryImage, match="group#admins"):
        classify(stream_record("REMOVE", keys=keys))


@pytest.mark.parametrize(("status", "expected"), [("revoked", "revoked"), ("active", "changed")])
def test_valid_entry_written_over_a_malformed_one_is_judged_on_its_own(status: str, expected: str) -> None:
    """A MODIFY whose old image is the stored malformed item (alice revoked without revoked_at, another tool's write)
    and whose new image is a valid entry (``status``) must classify as ``expected`` from the new entry alone, with
    old None and the old image's problem kept in unreadable_old. It used to raise BadRegistryImage: the fix was
    dropped, and a revocation in it waited for the next reconcile."""
    # Given the malformed item, and a valid entry written over it
    bad = load_record("modify_malformed")["dynamodb"]["NewImage"]
    fields: dict[str, Any] = {"status": status}
    if status == "revoked":
        fields |= {"revoked_at": datetime(2026, 5, 1, 9, 30, tzinfo=UTC), "ticket": "SEC-1042"}
    fixed = RegistryEntry(kind="user", name="alice", owner="alice@example.com", version=3, **fields)

    # When / Then
    change = classify(stream_record("MODIFY", old=bad, new=fixed))
    assert change is not None and change.change == expected
    assert change.old is None and change.new == fixed
    assert change.unreadable_old is not None and "revoked_at" in change.unreadable_old
