"""The registry and state tables: keys, durability (PITR, deletion protection, Retain), stream, TTL, encryption."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Match

from tests.infrastructure.helpers import of_type
from tests.infrastructure.synth import Synthesized

pytestmark = pytest.mark.infra

KEY_SCHEMA = [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}]
ATTRIBUTES = [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}]


def _table(synthesized: Synthesized, name: str) -> dict[str, Any]:
    construct = synthesized.stack.registry.table if name == "registry" else synthesized.stack.state.table
    resource: dict[str, Any] = synthesized.resources[synthesized.logical_id(construct)]
    return resource


def test_there_are_exactly_two_global_tables(synthesized: Synthesized) -> None:
    # Given the synthesized stack
    # When listing its DynamoDB tables
    tables = of_type(synthesized.resources, "AWS::DynamoDB::GlobalTable")
    # Then there are the registry and the state table, and no plain AWS::DynamoDB::Table
    assert len(tables) == 2
    assert of_type(synthesized.resources, "AWS::DynamoDB::Table") == {}


@pytest.mark.parametrize("name", ["registry", "state"])
def test_table_is_keyed_pk_sk_strings_on_demand(synthesized: Synthesized, name: str) -> None:
    # Given one of the tables
    props = _table(synthesized, name)["Properties"]
    # Then it is keyed by pk (account id) and sk, both strings, and billed on demand
    assert props["KeySchema"] == KEY_SCHEMA
    assert sorted(props["AttributeDefinitions"], key=lambda a: a["AttributeName"]) == ATTRIBUTES
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert "GlobalSecondaryIndexes" not in props


@pytest.mark.parametrize("name", ["registry", "state"])
def test_table_is_durable(synthesized: Synthesized, name: str) -> None:
    # Given one of the tables
    table = _table(synthesized, name)
    # Then CloudFormation never deletes it, its one replica has PITR and deletion protection
    assert table["DeletionPolicy"] == "Retain"
    assert table["UpdateReplacePolicy"] == "Retain"
    (replica,) = table["Properties"]["Replicas"]
    assert replica["Region"] == synthesized.stack.region == "us-east-1"  # the home Region, one replica
    assert replica["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert replica["DeletionProtectionEnabled"] is True


@pytest.mark.parametrize("name", ["registry", "state"])
def test_table_is_encrypted_with_the_aws_managed_key(synthesized: Synthesized, name: str) -> None:
    # Given one of the tables
    props = _table(synthesized, name)["Properties"]
    # Then it uses SSE-KMS with the AWS managed key (no customer key id anywhere)
    assert props["SSESpecification"] == {"SSEEnabled": True, "SSEType": "KMS"}
    (replica,) = props["Replicas"]
    assert "KMSMasterKeyId" not in replica.get("SSESpecification", {})


def test_registry_streams_new_and_old_images(synthesized: Synthesized) -> None:
    # Given the registry table
    props = _table(synthesized, "registry")["Properties"]
    # Then registry edits are streamed with both images, and registry items never expire
    assert props["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert "TimeToLiveSpecification" not in props


def test_state_expires_items_through_ttl(synthesized: Synthesized) -> None:
    # Given the state table (ledger, finding state, caches and the IAM event function's idempotency records)
    props = _table(synthesized, "state")["Properties"]
    # Then items expire through the `expiration` attribute (Powertools idempotency's expiry attribute too), and the
    # table has no stream
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}
    assert "StreamSpecification" not in props


def test_only_the_registry_has_a_stream(synthesized: Synthesized) -> None:
    # Given the template
    # When matching tables with a NEW_AND_OLD_IMAGES stream
    streamed = synthesized.template.find_resources(
        "AWS::DynamoDB::GlobalTable",
        {"Properties": {"StreamSpecification": Match.object_like({"StreamViewType": "NEW_AND_OLD_IMAGES"})}},
    )
    # Then that is exactly the registry table
    assert list(streamed) == [synthesized.logical_id(synthesized.stack.registry.table)]


def test_idempotency_records_fit_the_state_table(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the IAM event handler's Powertools persistence layer, as the composition root builds it
    from driftline.adapters.aws import Clients
    from driftline.compose import compose
    from driftline.settings import get_settings

    monkeypatch.setenv("DRIFTLINE_REGISTRY_TABLE", "registry")
    monkeypatch.setenv("DRIFTLINE_STATE_TABLE", "state")
    get_settings.cache_clear()
    store = compose("123456789012", Clients(region="us-east-1")).idempotency_store()
    get_settings.cache_clear()
    # Then it keys records by pk/sk (the table's keys) and expires them through `expiration` (the table's TTL)
    assert (store.key_attr, store.sort_key_attr, store.expiry_attr) == ("pk", "sk", "expiration")


def test_an_existing_registry_is_not_created(existing: Synthesized) -> None:
    # Given a deployment on an existing (central) registry
    tables = of_type(existing.resources, "AWS::DynamoDB::GlobalTable")
    # Then the stack creates only the state table, with the same protections
    assert list(tables) == [existing.logical_id(existing.stack.state.table)]
    assert existing.stack.registry.created is False
    (table,) = tables.values()
    assert table["DeletionPolicy"] == "Retain"
    assert table["Properties"]["Replicas"][0]["DeletionProtectionEnabled"] is True


def test_stack_outputs_name_the_tables_functions_and_dashboard(synthesized: Synthesized) -> None:
    # Given the stack's outputs
    outputs = synthesized.template.to_json()["Outputs"]
    registry = synthesized.logical_id(synthesized.stack.registry.table)
    state = synthesized.logical_id(synthesized.stack.state.table)
    # Then an operator finds the tables (for the CLI), the three functions and the dashboard
    assert set(outputs) == {
        "RegistryTableReference",
        "RegistryWriterPolicyArn",
        "StateTableName",
        "ReconcileFunctionName",
        "IamEventFunctionName",
        "RegistryChangeFunctionName",
        "DashboardName",
    }
    assert outputs["RegistryTableReference"]["Value"] == {"Ref": registry}
    assert outputs["StateTableName"]["Value"] == {"Ref": state}
    assert outputs["DashboardName"]["Value"] == {"Ref": synthesized.logical_id(synthesized.stack.monitoring.dashboard)}
