"""The reconcile role: its own statements only, read-only IAM, read-only registry, read/write state."""

from __future__ import annotations

from typing import Any

import pytest

from tests.infrastructure.helpers import (
    actions,
    as_list,
    by_sid,
    grants_write_on,
    of_type,
    only,
    references,
    statements,
)
from tests.infrastructure.synth import Synthesized

pytestmark = pytest.mark.infra

IAM_READS = {
    "iam:GetAccountAuthorizationDetails",
    "iam:GenerateCredentialReport",
    "iam:GetCredentialReport",
    "iam:ListAccessKeys",
    "iam:GetAccessKeyLastUsed",
    "iam:GetUser",
    "iam:GetRole",
    "iam:GetLoginProfile",
    "iam:ListAttachedUserPolicies",
    "iam:ListUserPolicies",
    "iam:GetUserPolicy",
    "iam:ListGroupsForUser",
    "iam:ListAttachedRolePolicies",
    "iam:ListRolePolicies",
    "iam:GetRolePolicy",
    "iam:GetGroup",
}
STATE_ACTIONS = {
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:Query",
    "dynamodb:BatchWriteItem",
}
REGISTRY_ACTIONS = {"dynamodb:GetItem", "dynamodb:Query"}
SUPPORT_ACTIONS = {
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "sqs:SendMessage",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
}


def _own_arn(statement: dict[str, Any]) -> str:
    (resource,) = as_list(statement["Resource"])
    parts = resource["Fn::Join"][1]
    assert parts[:4] == ["arn:", {"Ref": "AWS::Partition"}, ":iam::", {"Ref": "AWS::AccountId"}]
    return str(parts[4])


def test_role_is_assumed_by_lambda_only_and_has_no_managed_policies(synthesized: Synthesized) -> None:
    # Given the only role in the stack
    _, role = only(synthesized.resources, "AWS::IAM::Role")
    props = role["Properties"]
    # Then only Lambda can assume it, and no (broad) managed policy is attached
    (trust,) = props["AssumeRolePolicyDocument"]["Statement"]
    assert trust == {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}}
    assert "ManagedPolicyArns" not in props
    assert of_type(synthesized.resources, "AWS::IAM::ManagedPolicy") == {}


def test_account_wide_iam_reads_use_resource_star(synthesized: Synthesized) -> None:
    # Given the account-wide IAM statement
    statement = by_sid(synthesized.resources, "ReadIamAccountWide")
    # Then it holds the three actions without resource-level permissions, on "*"
    assert actions(statement) == {
        "iam:GetAccountAuthorizationDetails",
        "iam:GenerateCredentialReport",
        "iam:GetCredentialReport",
    }
    assert statement["Resource"] == "*"


@pytest.mark.parametrize(
    ("sid", "expected_actions", "arn_suffix"),
    [
        (
            "ReadIamUsers",
            {
                "iam:ListAccessKeys",
                "iam:GetAccessKeyLastUsed",
                "iam:GetUser",
                "iam:GetLoginProfile",
                "iam:ListAttachedUserPolicies",
                "iam:ListUserPolicies",
                "iam:GetUserPolicy",
                "iam:ListGroupsForUser",
            },
            ":user/*",
        ),
        (
            "ReadIamRoles",
            {"iam:GetRole", "iam:ListAttachedRolePolicies", "iam:ListRolePolicies", "iam:GetRolePolicy"},
            ":role/*",
        ),
        ("ReadIamGroups", {"iam:GetGroup"}, ":group/*"),
    ],
)
def test_per_principal_iam_reads_are_scoped_to_this_account(
    synthesized: Synthesized, sid: str, expected_actions: set[str], arn_suffix: str
) -> None:
    # Given one per-principal IAM statement
    statement = by_sid(synthesized.resources, sid)
    # Then it holds exactly its read actions, on this account's principals of that kind
    assert actions(statement) == expected_actions
    assert _own_arn(statement) == arn_suffix


def test_iam_actions_are_exactly_the_read_only_list(synthesized: Synthesized) -> None:
    # Given every statement of every policy in the template
    granted = {a for stmt in statements(synthesized.resources) for a in actions(stmt) if a.startswith("iam:")}
    # Then the IAM actions are exactly the sixteen reads (no iam:* and nothing that writes)
    assert granted == IAM_READS


def test_registry_is_read_with_get_and_query_only(synthesized: Synthesized) -> None:
    # Given the registry statement
    statement = by_sid(synthesized.resources, "ReadRegistry")
    registry = synthesized.logical_id(synthesized.stack.registry.table)
    # Then it allows GetItem and Query on the registry table itself
    assert actions(statement) == REGISTRY_ACTIONS
    assert as_list(statement["Resource"]) == [{"Fn::GetAtt": [registry, "Arn"]}]


def test_state_is_read_and_written(synthesized: Synthesized) -> None:
    # Given the state statement
    statement = by_sid(synthesized.resources, "ReadWriteState")
    state = synthesized.logical_id(synthesized.stack.state.table)
    # Then it allows exactly the six item operations on the state table
    assert actions(statement) == STATE_ACTIONS
    assert as_list(statement["Resource"]) == [{"Fn::GetAtt": [state, "Arn"]}]


def test_no_statement_writes_the_registry(synthesized: Synthesized) -> None:
    # Given the registry's logical id, and every identity policy statement in the template
    registry = synthesized.logical_id(synthesized.stack.registry.table)
    # When collecting the write actions any statement grants on it (directly or via a wildcard resource)
    writes = {w for stmt in statements(synthesized.resources) for w in grants_write_on(stmt, registry)}
    # Then there are none: only operators (the CLI) change the registry
    assert writes == set()


def test_registry_write_check_detects_a_write(synthesized: Synthesized) -> None:
    # Given statements that would let a function write the registry, directly or through wildcards
    registry = synthesized.logical_id(synthesized.stack.registry.table)
    direct = {"Effect": "Allow", "Action": ["dynamodb:PutItem"], "Resource": {"Fn::GetAtt": [registry, "Arn"]}}
    wildcard = {"Effect": "Allow", "Action": "dynamodb:*Item", "Resource": "*"}
    joined = {
        "Effect": "Allow",
        "Action": ["dynamodb:BatchWriteItem"],
        "Resource": [{"Fn::Join": ["", [{"Fn::GetAtt": [registry, "Arn"]}, "/index/*"]]}],
    }
    # Then the check used above reports each of them
    assert grants_write_on(direct, registry) == {"dynamodb:PutItem"}
    assert {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"} <= grants_write_on(wildcard, registry)
    assert grants_write_on(joined, registry) == {"dynamodb:BatchWriteItem"}


def test_role_grants_nothing_beyond_the_expected_actions(synthesized: Synthesized) -> None:
    # Given every action in every policy of the template
    granted = {a for stmt in statements(synthesized.resources) for a in actions(stmt)}
    # Then it is the IAM reads, the table operations and the logging/tracing/DLQ plumbing; no Security Hub yet
    assert granted == IAM_READS | STATE_ACTIONS | SUPPORT_ACTIONS
    assert all(stmt["Effect"] == "Allow" and "NotAction" not in stmt for stmt in statements(synthesized.resources))


def test_support_statements_are_scoped_to_own_log_group_and_dlq(synthesized: Synthesized) -> None:
    # Given the log group and the dead-letter queue
    log_group, _ = only(synthesized.resources, "AWS::Logs::LogGroup")
    queue, _ = only(synthesized.resources, "AWS::SQS::Queue")
    # When finding the statements that grant log writes and queue sends
    logs = [s for s in statements(synthesized.resources) if actions(s) & {"logs:PutLogEvents"}]
    sends = [s for s in statements(synthesized.resources) if actions(s) & {"sqs:SendMessage"}]
    # Then logs go only to the function's own log group, and messages only to its DLQ
    assert [references(s["Resource"], log_group) for s in logs] == [True]
    assert [references(s["Resource"], queue) for s in sends] == [True]
