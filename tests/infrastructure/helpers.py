"""Small readers over a synthesized template: resources by type, references between resources, IAM statements."""

from __future__ import annotations

import json
from collections.abc import Iterator
from fnmatch import fnmatchcase
from typing import Any


def of_type(resources: dict[str, Any], resource_type: str) -> dict[str, Any]:
    return {lid: res for lid, res in resources.items() if res["Type"] == resource_type}


def only(resources: dict[str, Any], resource_type: str) -> tuple[str, dict[str, Any]]:
    found = of_type(resources, resource_type)
    assert len(found) == 1, f"expected exactly one {resource_type}, found {sorted(found)}"
    return next(iter(found.items()))


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def references(value: Any, logical_id: str) -> bool:
    """Whether ``value`` (any template fragment) points at ``logical_id`` through Ref, GetAtt or Sub."""
    if isinstance(value, dict):
        if value.get("Ref") == logical_id:
            return True
        get_att = value.get("Fn::GetAtt")
        if isinstance(get_att, list) and get_att and get_att[0] == logical_id:
            return True
        if isinstance(get_att, str) and get_att.split(".")[0] == logical_id:
            return True
        sub = value.get("Fn::Sub")
        if isinstance(sub, str) and "${" + logical_id in sub:
            return True
        return any(references(item, logical_id) for item in value.values())
    if isinstance(value, list):
        return any(references(item, logical_id) for item in value)
    return False


def policy_documents(resources: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every identity policy document in the template: IAM policies, managed policies, and roles' inline policies."""
    for lid, res in resources.items():
        props = res.get("Properties", {})
        if res["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            yield lid, props["PolicyDocument"]
        elif res["Type"] in ("AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group"):
            for inline in props.get("Policies", []):
                yield lid, inline["PolicyDocument"]


def statements(resources: dict[str, Any]) -> list[dict[str, Any]]:
    return [stmt for _, doc in policy_documents(resources) for stmt in as_list(doc["Statement"])]


def actions(statement: dict[str, Any]) -> set[str]:
    return set(as_list(statement.get("Action", [])))


# Every DynamoDB action that changes items or the table (PartiQL and transactions included).
DYNAMODB_WRITES = (
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:TransactWriteItems",
    "dynamodb:PartiQLInsert",
    "dynamodb:PartiQLUpdate",
    "dynamodb:PartiQLDelete",
    "dynamodb:UpdateTable",
    "dynamodb:DeleteTable",
    "dynamodb:RestoreTableToPointInTime",
    "dynamodb:UpdateTimeToLive",
)


def grants_write_on(statement: dict[str, Any], table: str) -> set[str]:
    """The write actions an Allow statement grants on ``table`` (a logical id, or the ARN of an existing table):
    directly, through a join that starts with it, or through a wildcard Resource (``*``, ``arn:...:table/*``)."""
    if statement.get("Effect") != "Allow":
        return set()
    if "NotAction" in statement or "NotResource" in statement:
        return set(DYNAMODB_WRITES)  # too broad to reason about: treat as granting everything
    covers = any(_covers(resource, table) for resource in as_list(statement.get("Resource", [])))
    if not covers:
        return set()
    granted = {a.lower() for a in actions(statement)}
    return {write for write in DYNAMODB_WRITES if any(fnmatchcase(write.lower(), a) for a in granted)}


def _covers(resource: Any, table: str) -> bool:
    if table.startswith("arn:"):
        rendered = json.dumps(resource)
        if table in rendered:  # the ARN itself, or a join that extends it (index, stream)
            return True
        return isinstance(resource, str) and (fnmatchcase(table, resource) or fnmatchcase(table + "/index/x", resource))
    return references(resource, table) or (isinstance(resource, str) and "*" in resource and _dynamodbish(resource))


def _dynamodbish(resource: str) -> bool:
    return resource == "*" or (resource.startswith("arn:") and ":dynamodb:" in resource) or resource.startswith("arn:*")


def policies_of_role(resources: dict[str, Any], role_id: str) -> dict[str, dict[str, Any]]:
    """The AWS::IAM::Policy resources attached to the role ``role_id``, by logical id."""
    return {
        lid: res
        for lid, res in of_type(resources, "AWS::IAM::Policy").items()
        if {"Ref": role_id} in res["Properties"].get("Roles", [])
    }


def role_statements(resources: dict[str, Any], role_id: str) -> list[dict[str, Any]]:
    """Every statement that applies to the role ``role_id``: its attached policies and its inline ones."""
    found = [
        stmt
        for res in policies_of_role(resources, role_id).values()
        for stmt in as_list(res["Properties"]["PolicyDocument"]["Statement"])
    ]
    for inline in resources[role_id]["Properties"].get("Policies", []):
        found += as_list(inline["PolicyDocument"]["Statement"])
    return found


def sid_in(statements_: list[dict[str, Any]], sid: str) -> dict[str, Any]:
    found = [stmt for stmt in statements_ if stmt.get("Sid") == sid]
    assert len(found) == 1, f"expected one statement with Sid {sid!r}, found {len(found)}"
    return found[0]


def join(value: Any) -> str:
    """A template string value with intrinsics rendered as ``${...}``: readable ARNs for assertions."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(join(part) for part in parts)
    if isinstance(value, dict) and "Ref" in value:
        return "${" + str(value["Ref"]) + "}"
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return "${" + ".".join(value["Fn::GetAtt"]) + "}"
    raise AssertionError(f"cannot render {value!r}")
