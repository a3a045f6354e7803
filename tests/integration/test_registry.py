"""The DynamoDB registry and key cache: Query pagination (Stubber), invalid items, versioned writes and errors
(moto)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.stub import Stubber

from driftline.adapters.key_cache import MAX_ROUNDS, DynamoKeyCache
from driftline.adapters.registry import MAX_BATCH_ROUNDS, DynamoRegistry, to_item
from driftline.domain.errors import RegistryError, StateStoreError, VersionConflict
from driftline.domain.registry import RegistryEntry
from driftline.service.ports import KnownKey
from tests.integration.support import ACCOUNT, GOVERNANCE, REGISTRY_TABLE, STATE_TABLE, Sandbox, ago, found

WHEN = datetime(2026, 11, 1, tzinfo=UTC)
QUERY = {
    "TableName": REGISTRY_TABLE,
    "KeyConditionExpression": "pk = :pk",
    "ExpressionAttributeValues": {":pk": {"S": ACCOUNT}},
    "ConsistentRead": True,
}


def _entry(name: str, **fields: Any) -> RegistryEntry:
    return RegistryEntry.model_validate(
        {"kind": "user", "name": name, "owner": f"{name}@example.com", "updated_by": GOVERNANCE, "updated_at": WHEN}
        | fields
    )


@pytest.fixture
def stubbed_dynamodb() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("dynamodb", region_name="us-east-1", config=Config(retries={"max_attempts": 1}))
    with Stubber(client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()


def test_registry_query_is_read_across_pages(stubbed_dynamodb: tuple[Any, Stubber]) -> None:
    """A registry Query answering two pages (LastEvaluatedKey): entries of both pages must load, and the second
    request must start at the first page's LastEvaluatedKey with a consistent read."""
    # Given a registry whose Query is split over two pages
    client, stub = stubbed_dynamodb
    last = {"pk": {"S": ACCOUNT}, "sk": {"S": "user#alice"}}
    stub.add_response("query", {"Items": [to_item(ACCOUNT, _entry("alice"))], "LastEvaluatedKey": last}, QUERY)
    stub.add_response("query", {"Items": [to_item(ACCOUNT, _entry("bob"))]}, {**QUERY, "ExclusiveStartKey": last})

    # When the registry is loaded
    load = DynamoRegistry(client, REGISTRY_TABLE).load(ACCOUNT)

    # Then both entries are there and nothing is reported as a problem
    assert [e.name for e in load.entries] == ["alice", "bob"]
    assert load.entries[0].owner == "alice@example.com"
    assert load.problems == []


def test_invalid_item_is_named_and_valid_entries_still_load(sandbox: Sandbox) -> None:
    """An access_key item with a malformed id written raw into the table must be reported in ``problems`` by its sort
    key (with what is wrong), while the valid entries around it load, and a reconcile reports it too."""
    # Given two valid entries and one raw item with a bad access key id
    sandbox.register_user("alice")
    sandbox.register_role("app-runtime")
    sandbox.dynamodb.put_item(
        TableName=REGISTRY_TABLE,
        Item={
            "pk": {"S": ACCOUNT},
            "sk": {"S": "access_key#not-a-key"},
            "kind": {"S": "access_key"},
            "name": {"S": "not-a-key"},
            "user": {"S": "alice"},
            "owner": {"S": "alice@example.com"},
        },
    )

    # When the registry is loaded
    load = sandbox.registry.load(ACCOUNT)

    # Then the bad item is named, and the others load
    assert sorted(e.ref.key for e in load.entries) == ["role#app-runtime", "user#alice"]
    assert len(load.problems) == 1
    assert load.problems[0].startswith("registry item access_key#not-a-key:")

    # And a reconcile carries the problem into its evaluation
    sandbox.user("alice")
    sandbox.role("app-runtime")
    evaluation = sandbox.reconcile()
    assert evaluation.registry_problems == load.problems
    assert evaluation.registry_entries == 2
    assert found(evaluation) == set()


def test_item_with_unknown_field_is_a_problem_not_a_crash(sandbox: Sandbox) -> None:
    """A user item carrying a field the model forbids (a typo, ``owenr``) must be a problem naming the item."""
    # Given a raw item with a misspelt field next to a valid entry
    sandbox.register_user("bob")
    sandbox.dynamodb.put_item(
        TableName=REGISTRY_TABLE,
        Item={
            "pk": {"S": ACCOUNT},
            "sk": {"S": "user#alice"},
            "kind": {"S": "user"},
            "name": {"S": "alice"},
            "owenr": {"S": "alice@example.com"},
        },
    )

    # When the registry is loaded
    load = sandbox.registry.load(ACCOUNT)

    # Then the item is a problem and bob still loads
    assert [e.name for e in load.entries] == ["bob"]
    assert len(load.problems) == 1
    assert load.problems[0].startswith("registry item user#alice:")


def test_versioned_put_rejects_a_stale_version(sandbox: Sandbox) -> None:
    """Two writers that both read version 1: the first write makes version 2, the second must raise VersionConflict
    and leave the first write in place."""
    # Given an entry at version 1
    first = sandbox.writer.put(ACCOUNT, _entry("alice"), expected_version=None)
    assert first.version == 1

    # When one writer updates from version 1, and another then also writes from version 1
    second = sandbox.writer.put(ACCOUNT, _entry("alice", owner="team-a@example.com"), expected_version=1)
    with pytest.raises(VersionConflict, match="user#alice changed since version 1"):
        sandbox.writer.put(ACCOUNT, _entry("alice", owner="team-b@example.com"), expected_version=1)

    # Then the first update stands, at version 2
    assert second.version == 2
    stored = sandbox.registry.get(ACCOUNT, second.ref)
    assert stored is not None
    assert (stored.version, stored.owner) == (2, "team-a@example.com")


def test_create_when_entry_exists_is_a_conflict(sandbox: Sandbox) -> None:
    """Creating an entry (expected_version None) that already exists must raise VersionConflict, not overwrite."""
    # Given an existing entry
    sandbox.writer.put(ACCOUNT, _entry("alice"), expected_version=None)

    # When it is created again
    with pytest.raises(VersionConflict):
        sandbox.writer.put(ACCOUNT, _entry("alice", owner="someone-else@example.com"), expected_version=None)

    # Then the original is untouched
    stored = sandbox.registry.get(ACCOUNT, _entry("alice").ref)
    assert stored is not None
    assert (stored.version, stored.owner) == (1, "alice@example.com")


def test_missing_registry_table_is_a_registry_error(sandbox: Sandbox) -> None:
    """Loading from a table that does not exist must raise RegistryError naming the table and AWS's error code."""
    # Given the registry table is gone
    sandbox.dynamodb.delete_table(TableName=REGISTRY_TABLE)

    # When the registry is loaded, Then a RegistryError names the table and the code
    with pytest.raises(RegistryError, match=f"{REGISTRY_TABLE}.*ResourceNotFoundException"):
        sandbox.registry.load(ACCOUNT)


def test_dynamo_key_cache_round_trips_and_removes(sandbox: Sandbox) -> None:
    """Saving keys for two users, then removing one, must load back exactly the remaining user's keys with their
    creation time and status."""
    # Given a key cache on the state table
    cache = sandbox.dynamo_key_cache()
    created = ago(days=3)
    cache.save(
        ACCOUNT,
        {
            "alice": [KnownKey("AKIAAAAAAAAAAAAAAAA1", created, "Active")],
            "bob": [KnownKey("AKIAB", created, "Inactive")],
        },
        [],
    )

    # When bob is removed
    cache.save(ACCOUNT, {}, ["bob"])

    # Then only alice remains, intact
    assert cache.load(ACCOUNT) == {"alice": [KnownKey("AKIAAAAAAAAAAAAAAAA1", created, "Active")]}
    assert cache.load("210987654321") == {}


def test_key_cache_retries_unprocessed_items() -> None:
    """BatchWriteItem handing an item back as unprocessed must be retried with just that item until it is written;
    an item that stays unprocessed must end in StateStoreError after the bounded rounds."""
    client = boto3.client("dynamodb", region_name="us-east-1", config=Config(retries={"max_attempts": 1}))
    sleeps: list[float] = []
    cache = DynamoKeyCache(client, STATE_TABLE, sleep=sleeps.append)
    keys = {"alice": [KnownKey("AKIAAAAAAAAAAAAAAAA1", WHEN, "Active")], "bob": []}
    put_bob = {"PutRequest": {"Item": {"pk": {"S": f"keyset#{ACCOUNT}"}, "sk": {"S": "bob"}, "keys": {"L": []}}}}

    with Stubber(client) as stub:
        # Given DynamoDB leaves bob's item unprocessed once
        stub.add_response("batch_write_item", {"UnprocessedItems": {STATE_TABLE: [put_bob]}}, None)
        stub.add_response("batch_write_item", {"UnprocessedItems": {}}, {"RequestItems": {STATE_TABLE: [put_bob]}})

        # When the cache is saved, Then bob alone is written again after one back-off
        cache.save(ACCOUNT, keys, [])
        stub.assert_no_pending_responses()
        assert len(sleeps) == 1

        # Given DynamoDB never processes the item
        for _ in range(MAX_ROUNDS):
            stub.add_response("batch_write_item", {"UnprocessedItems": {STATE_TABLE: [put_bob]}}, None)

        # When the cache is saved, Then it gives up with a StateStoreError
        with pytest.raises(StateStoreError, match="stayed unprocessed"):
            cache.save(ACCOUNT, {"bob": []}, [])


def test_get_many_reads_existing_entries_in_batches_of_100(sandbox: Sandbox) -> None:
    """150 refs, of which 120 are registered: one consistent BatchGetItem per 100 refs (2 calls), every registered
    entry returned with its fields, the 30 unregistered refs simply absent (no error, no None values)."""
    # Given 120 registered users
    db = sandbox.dynamodb
    for n in range(120):
        db.put_item(TableName=REGISTRY_TABLE, Item=to_item(ACCOUNT, _entry(f"user{n:03}")))
    refs = [_entry(f"user{n:03}").ref for n in range(150)]
    sent: list[dict[str, Any]] = []
    db.meta.events.register("before-parameter-build.dynamodb.BatchGetItem", lambda params, **_: sent.append(params))

    # When they are asked for together
    found = DynamoRegistry(db, REGISTRY_TABLE).get_many(ACCOUNT, refs)

    # Then two consistent batches answered exactly the registered ones
    assert [len(p["RequestItems"][REGISTRY_TABLE]["Keys"]) for p in sent] == [100, 50]
    assert all(p["RequestItems"][REGISTRY_TABLE]["ConsistentRead"] for p in sent)
    assert set(found) == set(refs[:120])
    assert found[refs[7]].owner == "user007@example.com"


def test_get_many_retries_unprocessed_keys_and_then_fails_loudly() -> None:
    """BatchGetItem handing keys back as UnprocessedKeys: those keys alone are asked again after a back-off; if
    they stay unprocessed for every round, a RegistryError says so (an unread entry must never read as
    "not registered")."""
    client = boto3.client("dynamodb", region_name="us-east-1", config=Config(retries={"max_attempts": 1}))
    sleeps: list[float] = []
    registry = DynamoRegistry(client, REGISTRY_TABLE, sleep=sleeps.append)
    alice, bob = _entry("alice"), _entry("bob")
    key = {"pk": {"S": ACCOUNT}, "sk": {"S": "user#bob"}}
    unprocessed = {REGISTRY_TABLE: {"Keys": [key], "ConsistentRead": True}}

    with Stubber(client) as stub:
        # Given bob's key comes back unprocessed once
        stub.add_response(
            "batch_get_item",
            {"Responses": {REGISTRY_TABLE: [to_item(ACCOUNT, alice)]}, "UnprocessedKeys": unprocessed},
            None,
        )
        stub.add_response(
            "batch_get_item", {"Responses": {REGISTRY_TABLE: [to_item(ACCOUNT, bob)]}}, {"RequestItems": unprocessed}
        )

        # When both are asked for, Then both arrive after one back-off
        assert set(registry.get_many(ACCOUNT, [alice.ref, bob.ref])) == {alice.ref, bob.ref}
        stub.assert_no_pending_responses()
        assert len(sleeps) == 1

        # Given bob's key is never processed
        for _ in range(MAX_BATCH_ROUNDS):
            stub.add_response("batch_get_item", {"Responses": {}, "UnprocessedKeys": unprocessed}, None)

        # Then the read fails with a RegistryError instead of calling bob unregistered
        with pytest.raises(RegistryError, match="still unprocessed"):
            registry.get_many(ACCOUNT, [bob.ref])
