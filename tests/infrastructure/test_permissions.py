"""Least privilege per function: every statement of every role, no registry write anywhere, Security Hub scoped to
the product ARN, and enforcement permissions only in enforce mode, on the reconcile role, with explicit denies on
protected principals in the same policy."""

from __future__ import annotations

import json
from fnmatch import fnmatchcase
from typing import Any

import pytest

from driftline.domain.settings import DEFAULT_EXCLUDED_NAMES, DEFAULT_EXCLUDED_PATHS
from stacks.constants import REGISTRY_WRITER_IAM_ACTIONS, REGISTRY_WRITER_TABLE_ACTIONS
from stacks.partitions import partitions
from tests.infrastructure.helpers import (
    actions,
    as_list,
    grants_write_on,
    join,
    of_type,
    policies_of_role,
    policy_documents,
    references,
    role_statements,
    sid_in,
    statements,
)
from tests.infrastructure.synth import REGISTRY_STREAM_ARN, REGISTRY_TABLE_ARN, Synthesized

pytestmark = pytest.mark.infra

OWN = "arn:${AWS::Partition}:iam::${AWS::AccountId}:"
PRODUCT_ARN = "arn:${AWS::Partition}:securityhub:${AWS::Region}:${AWS::AccountId}:product/${AWS::AccountId}/default"
ACCOUNT_WIDE_READS = {"iam:GetAccountAuthorizationDetails", "iam:GenerateCredentialReport", "iam:GetCredentialReport"}
USER_READS = {
    "iam:ListAccessKeys",
    "iam:GetAccessKeyLastUsed",
    "iam:GetUser",
    "iam:GetLoginProfile",
    "iam:ListAttachedUserPolicies",
    "iam:ListUserPolicies",
    "iam:GetUserPolicy",
    "iam:ListGroupsForUser",
    "iam:ListSSHPublicKeys",
    "iam:ListServiceSpecificCredentials",
    "iam:ListSigningCertificates",
}
POLICY_READS = {"iam:GetPolicy", "iam:GetPolicyVersion"}
ROLE_READS = {"iam:GetRole", "iam:ListAttachedRolePolicies", "iam:ListRolePolicies", "iam:GetRolePolicy"}
GROUP_READS = {"iam:GetGroup"}
STATE_ACTIONS = {
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:Query",
    "dynamodb:BatchWriteItem",
}
REGISTRY_ACTIONS = {"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"}
STREAM_ACTIONS = {"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"}
CREDENTIAL_ACTIONS = {
    "iam:UpdateAccessKey",
    "iam:UpdateSSHPublicKey",
    "iam:UpdateServiceSpecificCredential",
    "iam:UpdateSigningCertificate",
}
ATTACH_ACTIONS = {"iam:AttachUserPolicy", "iam:AttachRolePolicy"}
BOUNDARY_ACTIONS = {"iam:PutUserPermissionsBoundary", "iam:PutRolePermissionsBoundary"}
ENFORCE_ACTIONS = CREDENTIAL_ACTIONS | ATTACH_ACTIONS | BOUNDARY_ACTIONS
# IAM writes no driftline role may ever hold: a policy document of its choosing, a deletion, a detach.
NEVER = {
    "iam:PutUserPolicy",
    "iam:PutRolePolicy",
    "iam:DeleteLoginProfile",
    "iam:DeleteUser",
    "iam:DeleteRole",
    "iam:DeleteAccessKey",
    "iam:CreatePolicyVersion",
    "iam:DetachUserPolicy",
    "iam:DetachRolePolicy",
}
POLICY_RESOURCES = "arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/* arn:${AWS::Partition}:iam::aws:policy/*"
XRAY = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
DLQ_SEND = {"sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"}

# Per function: Sid -> (actions, rendered resource or None for "the table/queue/log group checked separately").
EXPECTED: dict[str, dict[str, tuple[set[str], str | None]]] = {
    "ReconcileFunction": {
        "WriteOwnLogGroup": ({"logs:CreateLogStream", "logs:PutLogEvents"}, None),
        "ReadIamAccountWide": (ACCOUNT_WIDE_READS, "*"),
        "ReadIamUsers": (USER_READS, OWN + "user/*"),
        "ReadIamRoles": (ROLE_READS, OWN + "role/*"),
        "ReadIamPolicies": (POLICY_READS, POLICY_RESOURCES),
        "ReadRegistry": (REGISTRY_ACTIONS, None),
        "ReadWriteState": (STATE_ACTIONS, None),
        "ImportFindings": ({"securityhub:BatchImportFindings"}, PRODUCT_ARN),
    },
    "IamEventFunction": {
        "WriteOwnLogGroup": ({"logs:CreateLogStream", "logs:PutLogEvents"}, None),
        "ReadIamUsers": (USER_READS, OWN + "user/*"),
        "ReadIamRoles": (ROLE_READS, OWN + "role/*"),
        "ReadIamGroups": (GROUP_READS, OWN + "group/*"),
        "ReadIamPolicies": (POLICY_READS, POLICY_RESOURCES),
        "ReadRegistry": (REGISTRY_ACTIONS, None),
        "ReadWriteState": (STATE_ACTIONS, None),
        "ImportFindings": ({"securityhub:BatchImportFindings"}, PRODUCT_ARN),
        "RequestReconcile": ({"lambda:InvokeFunction"}, None),
    },
    "RegistryChangeFunction": {
        "WriteOwnLogGroup": ({"logs:CreateLogStream", "logs:PutLogEvents"}, None),
        "ReadIamUsers": (USER_READS, OWN + "user/*"),
        "ReadIamRoles": (ROLE_READS, OWN + "role/*"),
        "ReadIamPolicies": (POLICY_READS, POLICY_RESOURCES),
        "ReadRegistry": (REGISTRY_ACTIONS, None),
        "ReadRegistryStream": (STREAM_ACTIONS, None),
        "ReadWriteState": (STATE_ACTIONS, None),
        "ImportFindings": ({"securityhub:BatchImportFindings"}, PRODUCT_ARN),
    },
}
DLQ_OF = {
    "ReconcileFunction": ("detection", "dead_letter_queue"),
    "IamEventFunction": ("iam_events", "dead_letter_queue"),
    "RegistryChangeFunction": ("registry_changes", "dead_letter_queue"),
}


def _role_id(synthesized: Synthesized, name: str) -> str:
    return synthesized.logical_id(synthesized.stack.functions[name].role)


def _statements_of(synthesized: Synthesized, name: str) -> list[dict[str, Any]]:
    return role_statements(synthesized.resources, _role_id(synthesized, name))


def _resource(statement: dict[str, Any]) -> str:
    return " ".join(join(resource) for resource in as_list(statement["Resource"]))


@pytest.mark.parametrize("name", list(EXPECTED))
def test_role_is_assumed_by_lambda_only_and_has_no_managed_policies(synthesized: Synthesized, name: str) -> None:
    # Given the function's role
    props = synthesized.resources[_role_id(synthesized, name)]["Properties"]
    # Then only Lambda can assume it, no (broad) managed policy is attached, and CloudFormation names it
    (trust,) = props["AssumeRolePolicyDocument"]["Statement"]
    assert trust == {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}}
    assert "ManagedPolicyArns" not in props
    assert "RoleName" not in props  # generated "Driftline-...": protected by the Driftline* exclusion
    # The stack's managed policies are the deny policy for revoked identities and the registry writer policy for
    # operators, both attached to nothing
    policies = set(of_type(synthesized.resources, "AWS::IAM::ManagedPolicy"))
    assert policies == {
        synthesized.logical_id(synthesized.stack.enforcement.deny_policy),
        synthesized.logical_id(synthesized.stack.registry_writer.policy),
    }
    for policy in policies:
        assert not {"Roles", "Users", "Groups"} & set(synthesized.resources[policy]["Properties"])


@pytest.mark.parametrize("name", list(EXPECTED))
def test_every_statement_of_the_role_is_expected(synthesized: Synthesized, name: str) -> None:
    # Given every statement that applies to the function's role
    found = _statements_of(synthesized, name)
    # Then the named statements are exactly the expected ones, each with exactly its actions and resource
    assert sorted(s["Sid"] for s in found if "Sid" in s) == sorted(EXPECTED[name])
    for sid, (expected_actions, expected_resource) in EXPECTED[name].items():
        statement = sid_in(found, sid)
        assert statement["Effect"] == "Allow"
        assert actions(statement) == expected_actions, sid
        if expected_resource is not None:
            assert _resource(statement) == expected_resource, sid
    # And the unnamed ones are the plumbing CDK adds: X-Ray on "*" and sends to the function's own DLQ
    plumbing = sorted((sorted(actions(s)), _resource(s)) for s in found if "Sid" not in s)
    queue = synthesized.logical_id(getattr(getattr(synthesized.stack, DLQ_OF[name][0]), DLQ_OF[name][1]))
    assert plumbing == sorted([(sorted(XRAY), "*"), (sorted(DLQ_SEND), "${" + queue + ".Arn}")])


@pytest.mark.parametrize("name", list(EXPECTED))
def test_tables_and_log_group_statements_name_their_own_resources(synthesized: Synthesized, name: str) -> None:
    # Given the function's statements and the resources they should name
    found = _statements_of(synthesized, name)
    stack = synthesized.stack
    registry = synthesized.logical_id(stack.registry.table)
    state = synthesized.logical_id(stack.state.table)
    log_group = synthesized.logical_id(stack.functions[name].log_group)
    # Then logs go to the function's own log group, and each table statement names exactly its table
    assert _resource(sid_in(found, "WriteOwnLogGroup")) == "${" + log_group + ".Arn}"
    assert _resource(sid_in(found, "ReadRegistry")) == "${" + registry + ".Arn}"
    assert _resource(sid_in(found, "ReadWriteState")) == "${" + state + ".Arn}"


def test_stream_read_names_the_registry_stream(synthesized: Synthesized) -> None:
    # Given the registry-change function's stream statement
    statement = sid_in(_statements_of(synthesized, "RegistryChangeFunction"), "ReadRegistryStream")
    registry = synthesized.logical_id(synthesized.stack.registry.table)
    # Then it reads exactly the registry table's stream
    assert _resource(statement) == "${" + registry + ".StreamArn}"


def test_an_existing_registry_is_read_by_arn(existing: Synthesized) -> None:
    # Given a deployment on an existing (central) registry
    for name in EXPECTED:
        found = _statements_of(existing, name)
        # Then every function reads that table (and the stream function its stream) by ARN, read-only
        assert _resource(sid_in(found, "ReadRegistry")) == REGISTRY_TABLE_ARN
    stream = sid_in(_statements_of(existing, "RegistryChangeFunction"), "ReadRegistryStream")
    assert _resource(stream) == REGISTRY_STREAM_ARN


@pytest.mark.parametrize("name", list(EXPECTED))
def test_iam_actions_are_read_only(every: Synthesized, name: str) -> None:
    # Given every Allow of the function's role outside the enforcement policy
    enforcement = every.stack.detection.enforcement_policy
    excluded = {every.logical_id(enforcement)} if enforcement is not None else set()
    role_id = _role_id(every, name)
    granted = {
        a
        for lid, res in policies_of_role(every.resources, role_id).items()
        if lid not in excluded
        for s in res["Properties"]["PolicyDocument"]["Statement"]
        for a in actions(s)
        if a.startswith("iam:")
    }
    # Then the IAM actions are reads (Get/List/Generate), never iam:* nor a write
    assert granted
    assert all(a.split(":")[1].startswith(("Get", "List", "GenerateCredentialReport")) for a in granted), granted


def test_only_the_reconcile_reads_the_whole_account_and_only_the_event_function_reads_groups(
    synthesized: Synthesized,
) -> None:
    # Given the IAM actions per function
    granted = {name: {a for s in _statements_of(synthesized, name) for a in actions(s)} for name in EXPECTED}
    # Then account-wide reads belong to the reconcile, group reads to the IAM event function
    assert [n for n, a in granted.items() if a & ACCOUNT_WIDE_READS] == ["ReconcileFunction"]
    assert [n for n, a in granted.items() if a & GROUP_READS] == ["IamEventFunction"]


def test_no_statement_writes_the_registry(every: Synthesized) -> None:
    # Given the registry (its logical id, or the ARN of an existing one), and every policy of every stack but the
    # registry writer policy, which no principal of the stack holds (test_role_is_assumed_by_lambda_only_...)
    registry = REGISTRY_TABLE_ARN if not every.stack.registry.created else every.logical_id(every.stack.registry.table)
    writer = every.logical_id(every.stack.registry_writer.policy)
    every_statement = [
        s
        for stack in every.deployment.stacks
        for s in statements({k: v for k, v in every.resources_of(stack).items() if k != writer})
    ]
    # When collecting the write actions any statement grants on it (directly or via a wildcard resource)
    writes = {w for stmt in every_statement for w in grants_write_on(stmt, registry)}
    # Then there are none: only operators (the CLI) change the registry
    assert writes == set()


def test_the_registry_writer_policy_grants_exactly_the_cli_actions_on_the_registry(every: Synthesized) -> None:
    """The writer policy: the registry commands' table actions on the registry table (created or existing), adopt's
    IAM reads on '*', nothing else (tests/cli/registry/test_writer_policy.py checks these lists against the calls)."""
    writer = every.logical_id(every.stack.registry_writer.policy)
    document = every.resources[writer]["Properties"]["PolicyDocument"]
    by_sid = {s["Sid"]: s for s in as_list(document["Statement"])}
    registry = REGISTRY_TABLE_ARN if not every.stack.registry.created else every.logical_id(every.stack.registry.table)
    table = by_sid["ReadAndWriteTheRegistry"]
    assert sorted(as_list(table["Action"])) == sorted(REGISTRY_WRITER_TABLE_ACTIONS)
    assert registry in json.dumps(table["Resource"]) and len(as_list(table["Resource"])) == 1
    assert sorted(as_list(by_sid["ReadIamForAdopt"]["Action"])) == sorted(REGISTRY_WRITER_IAM_ACTIONS)
    assert set(by_sid) == {"ReadAndWriteTheRegistry", "ReadIamForAdopt"}


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
    by_arn = {"Effect": "Allow", "Action": "dynamodb:UpdateItem", "Resource": REGISTRY_TABLE_ARN}
    any_table = {"Effect": "Allow", "Action": "dynamodb:DeleteItem", "Resource": "arn:aws:dynamodb:*:*:table/*"}
    # Then the check used above reports each of them
    assert grants_write_on(direct, registry) == {"dynamodb:PutItem"}
    assert {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"} <= grants_write_on(wildcard, registry)
    assert grants_write_on(joined, registry) == {"dynamodb:BatchWriteItem"}
    assert grants_write_on(by_arn, REGISTRY_TABLE_ARN) == {"dynamodb:UpdateItem"}
    assert grants_write_on(any_table, REGISTRY_TABLE_ARN) == {"dynamodb:DeleteItem"}


def test_security_hub_import_is_scoped_to_the_custom_product(synthesized: Synthesized) -> None:
    # Given every statement that mentions Security Hub
    found = [s for s in statements(synthesized.resources) if any(a.startswith("securityhub:") for a in actions(s))]
    # Then each function has one, allowing only BatchImportFindings on this account's default product ARN
    assert len(found) == 3
    for statement in found:
        assert actions(statement) == {"securityhub:BatchImportFindings"}
        assert _resource(statement) == PRODUCT_ARN


def test_security_hub_off_grants_nothing(existing: Synthesized) -> None:
    # Given driftline:securityHub=false
    granted = {a for s in statements(existing.resources) for a in actions(s)}
    # Then no role may call Security Hub
    assert not [a for a in granted if a.startswith("securityhub:")]


def test_report_mode_has_no_enforcement_permissions(synthesized: Synthesized) -> None:
    # Given report mode (cdk.json's default): every statement of every role's policy (the deny policy for revoked
    # identities is attached to none of them)
    deny_policy = synthesized.logical_id(synthesized.stack.enforcement.deny_policy)
    granting = [
        stmt
        for lid, doc in policy_documents(synthesized.resources)
        if lid != deny_policy
        for stmt in as_list(doc["Statement"])
    ]
    granted = {a for stmt in granting for a in actions(stmt)}
    # Then no enforcement action and no Deny exist, and there is no enforcement policy
    assert granting and granted.isdisjoint(ENFORCE_ACTIONS | NEVER)
    assert synthesized.stack.detection.enforcement_policy is None
    assert all(stmt["Effect"] == "Allow" and "NotAction" not in stmt for stmt in granting)


def test_enforcement_permissions_exist_only_on_the_reconcile_role(enforcing: Synthesized) -> None:
    # Given enforce mode: which documents grant an enforcement action
    holders = {
        lid
        for lid, doc in policy_documents(enforcing.resources)
        for stmt in as_list(doc["Statement"])
        if stmt["Effect"] == "Allow" and actions(stmt) & ENFORCE_ACTIONS
    }
    policy_id = enforcing.logical_id(enforcing.stack.detection.enforcement_policy)
    # Then only the enforcement policy does, and it is attached to the reconcile role alone
    assert holders == {policy_id}
    attached = enforcing.resources[policy_id]["Properties"]["Roles"]
    assert attached == [{"Ref": _role_id(enforcing, "ReconcileFunction")}]


def test_enforcement_allows_exactly_the_reversible_writes(enforcing: Synthesized) -> None:
    # Given the enforcement policy
    document = _enforcement_document(enforcing)
    allows = [s for s in as_list(document["Statement"]) if s["Effect"] == "Allow"]
    # Then it allows deactivating users' credentials, and attaching (or setting as boundary) one policy, nothing else
    principals = OWN + "user/* " + OWN + "role/*"
    assert {s["Sid"]: (actions(s), _resource(s)) for s in allows} == {
        "DeactivateCredentials": (CREDENTIAL_ACTIONS, OWN + "user/*"),
        "AttachOnlyTheDenyPolicy": (ATTACH_ACTIONS, principals),
        "BoundOnlyByTheDenyPolicy": (BOUNDARY_ACTIONS, principals),
    }
    assert not {a for s in allows for a in actions(s)} & NEVER


def test_the_enforce_role_can_attach_only_the_stacks_deny_policy(enforcing: Synthesized) -> None:
    """The privilege-escalation test: an attach or boundary grant without a condition would let the reconcile role
    give any unprotected principal AdministratorAccess. Both are limited to the stack's own deny policy by ARN."""
    document = _enforcement_document(enforcing)
    deny_policy = enforcing.logical_id(enforcing.stack.enforcement.deny_policy)
    attach, boundary = (
        sid_in(document["Statement"], "AttachOnlyTheDenyPolicy"),
        sid_in(document["Statement"], "BoundOnlyByTheDenyPolicy"),
    )
    assert attach["Condition"] == {"ArnEquals": {"iam:PolicyARN": {"Ref": deny_policy}}}
    assert boundary["Condition"] == {"ArnEquals": {"iam:PermissionsBoundary": {"Ref": deny_policy}}}


def test_the_deny_policy_denies_every_action_on_every_resource(synthesized: Synthesized) -> None:
    """What enforce attaches: driftline's own policy reading must call it a deny of everything."""
    from driftline.domain.policy import session_deny

    deny_id = synthesized.logical_id(synthesized.stack.enforcement.deny_policy)
    props = synthesized.resources[deny_id]["Properties"]
    assert (props["ManagedPolicyName"], props["Path"]) == ("DriftlineRevoked", "/driftline/")
    found = session_deny("DriftlineRevoked", props["PolicyDocument"], via="managed")
    assert found is not None and found.unconditional


def test_the_same_policy_denies_enforcement_on_protected_principals(enforcing: Synthesized) -> None:
    # Given the enforcement policy's denies
    denies = {s["Sid"]: s for s in as_list(_enforcement_document(enforcing)["Statement"]) if s["Effect"] == "Deny"}
    # Then each denies all four enforcement actions
    assert set(denies) == {
        "DenyEnforcingProtectedPrincipals",
        "DenyEnforcingBreakGlassPrincipals",
        "DenyEnforcingExcludedPrincipals",
    }
    for statement in denies.values():
        assert actions(statement) == ENFORCE_ACTIONS
    # On AWS-owned roles, CDK bootstrap roles, driftline's own identities and the account's administrative roles
    assert _resources(denies["DenyEnforcingProtectedPrincipals"]) == {
        OWN + "role/aws-service-role/*",
        OWN + "role/aws-reserved/*",
        OWN + "role/cdk-*",
        OWN + "role/Driftline*",
        OWN + "user/Driftline*",
        OWN + "role/OrganizationAccountAccessRole",
        OWN + "role/AWSControlTowerExecution",
        OWN + "role/AWSCloudFormationStackSetExecutionRole",
        OWN + "role/stacksets-exec-*",
    }
    # On each break-glass name as a user or a role, on any path
    assert _resources(denies["DenyEnforcingBreakGlassPrincipals"]) == {
        OWN + f"{kind}/{path}{name}"
        for name in ("breakglass-admin", "oncall-*")
        for kind in ("user", "role")
        for path in ("", "*/")
    }
    # And on the configured exclusions (name patterns and path prefixes)
    assert _resources(denies["DenyEnforcingExcludedPrincipals"]) == {
        OWN + "user/ci-*",
        OWN + "user/*/ci-*",
        OWN + "role/ci-*",
        OWN + "role/*/ci-*",
        OWN + "user/service/*",
        OWN + "role/service/*",
    }


@pytest.mark.parametrize(
    ("arn", "protected"),
    [
        ("role/aws-service-role/elasticloadbalancing.amazonaws.com/AWSServiceRoleForElasticLoadBalancing", True),
        ("role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Admin_0123456789abcdef", True),
        ("role/cdk-hnb659fds-cfn-exec-role-111122223333-eu-west-1", True),
        ("role/Driftline-DetectionReconcileFunctionRo-AbCdEf123456", True),
        ("role/DriftlineIamForwarder-IamEventForwardRuleEven-AbCdEf123456", True),
        ("role/OrganizationAccountAccessRole", True),
        ("role/stacksets-exec-0123456789abcdef", True),
        ("user/breakglass-admin", True),
        ("user/emergency/breakglass-admin", True),
        ("role/oncall-primary", True),
        ("user/ci-deployer", True),
        ("role/service/batch-runner", True),
        ("user/alice", False),
        ("role/app/payments-service", False),
        ("user/breakglass-admin-2", False),
    ],
)
def test_denies_cover_exactly_the_protected_principals(enforcing: Synthesized, arn: str, protected: bool) -> None:
    # Given the deny patterns, evaluated the way IAM matches ARNs (* and ? match any characters, "/" included)
    patterns = {
        p.removeprefix(OWN)
        for s in as_list(_enforcement_document(enforcing)["Statement"])
        if s["Effect"] == "Deny"
        for p in _resources(s)
    }
    # Then a principal is denied exactly when driftline treats it as protected
    assert any(fnmatchcase(arn, pattern) for pattern in patterns) is protected


def test_denies_cover_the_runtime_default_exclusions() -> None:
    # Given the runtime's default exclusions (paths and names) and the policy's fixed protected patterns
    from stacks.constants import PROTECTED_RESOURCE_PATHS

    # Then every default path prefix is denied for roles, and every default name pattern either lives under such a
    # path (AWSServiceRoleFor*, AWSReservedSSO_*) or is matched by a fixed pattern
    for path in DEFAULT_EXCLUDED_PATHS:
        assert any(fnmatchcase(f"role{path}x/y", p) for p in PROTECTED_RESOURCE_PATHS), path
    samples = {
        "AWSServiceRoleFor*": "role/aws-service-role/x.amazonaws.com/AWSServiceRoleForX",
        "AWSReservedSSO_*": "role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_1",
        "cdk-*-deploy-role-*": "role/cdk-hnb659fds-deploy-role-1-us-east-1",
        "cdk-*-file-publishing-role-*": "role/cdk-hnb659fds-file-publishing-role-1-us-east-1",
        "cdk-*-image-publishing-role-*": "role/cdk-hnb659fds-image-publishing-role-1-us-east-1",
        "cdk-*-lookup-role-*": "role/cdk-hnb659fds-lookup-role-1-us-east-1",
        "cdk-*-cfn-exec-role-*": "role/cdk-hnb659fds-cfn-exec-role-1-us-east-1",
        "Driftline*": "role/Driftline-Anything",
    }
    assert set(samples) == set(DEFAULT_EXCLUDED_NAMES)
    for name, arn in samples.items():
        assert any(fnmatchcase(arn, p) for p in PROTECTED_RESOURCE_PATHS), name


def test_nothing_outside_the_enforcement_policy_grants_iam_writes(enforcing: Synthesized) -> None:
    # Given every statement outside the enforcement policy, in enforce mode
    policy_id = enforcing.logical_id(enforcing.stack.detection.enforcement_policy)
    others = [
        stmt
        for lid, doc in policy_documents(enforcing.resources)
        if lid != policy_id
        for stmt in as_list(doc["Statement"])
    ]
    # Then none grants an IAM write or uses NotAction/NotResource
    for stmt in others:
        assert "NotAction" not in stmt and "NotResource" not in stmt
        assert not {a for a in actions(stmt) if a.startswith("iam:")} & (ENFORCE_ACTIONS | NEVER)


def test_stack_names_start_with_driftline_so_generated_role_names_do(enforcing: Synthesized) -> None:
    # Given both stacks and every role in them
    roles = [
        res
        for stack in enforcing.deployment.stacks
        for res in of_type(enforcing.resources_of(stack), "AWS::IAM::Role").values()
    ]
    # Then CloudFormation names every role "<stack name>-...", and every stack name starts with Driftline
    assert roles and all("RoleName" not in r["Properties"] for r in roles)
    assert [s.stack_name for s in enforcing.deployment.stacks] == ["Driftline", "DriftlineIamForwarder"]


def test_support_statements_are_scoped_to_own_log_group_and_dlq(synthesized: Synthesized) -> None:
    # Given each function's log group and dead-letter queue
    for name, (construct, attribute) in DLQ_OF.items():
        found = _statements_of(synthesized, name)
        queue = synthesized.logical_id(getattr(getattr(synthesized.stack, construct), attribute))
        log_group = synthesized.logical_id(synthesized.stack.functions[name].log_group)
        # Then logs go only to the function's own log group, and messages only to its own DLQ
        logs = [s for s in found if actions(s) & {"logs:PutLogEvents"}]
        sends = [s for s in found if actions(s) & {"sqs:SendMessage"}]
        assert [references(s["Resource"], log_group) for s in logs] == [True]
        assert [references(s["Resource"], queue) for s in sends] == [True]


def _enforcement_document(enforcing: Synthesized) -> dict[str, Any]:
    policy = enforcing.stack.detection.enforcement_policy
    assert policy is not None
    document: dict[str, Any] = enforcing.resources[enforcing.logical_id(policy)]["Properties"]["PolicyDocument"]
    return document


def _resources(statement: dict[str, Any]) -> set[str]:
    return {join(r) for r in as_list(statement["Resource"])}


@pytest.mark.parametrize(
    "arn",
    [
        "role/aws-service-role/elasticloadbalancing.amazonaws.com/AWSServiceRoleForElasticLoadBalancing",
        "role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_0123456789abcdef",
        "role/cdk-hnb659fds-cfn-exec-role-111122223333-eu-west-1",
        "role/Driftline-DetectionReconcileFunctionRo-AbCdEf123456",
        "user/DriftlineSomething",
        "role/OrganizationAccountAccessRole",
        "role/AWSControlTowerExecution",
        "role/AWSCloudFormationStackSetExecutionRole",
        "role/stacksets-exec-0123456789abcdef",
    ],
)
def test_the_plan_never_proposes_a_step_the_stacks_policy_denies(arn: str) -> None:
    """A step the enforce policy denies would fail every run and grow its ledger record: for every principal the
    stack's fixed denies cover, the plan's own protections already skip it."""
    from driftline.domain.enforcement import Protections, deny_policy_arn
    from driftline.domain.identity import IdentityRef, Kind
    from driftline.domain.settings import CompareSettings
    from stacks.constants import PROTECTED_RESOURCE_PATHS

    assert any(fnmatchcase(arn, pattern) for pattern in PROTECTED_RESOURCE_PATHS)
    kind, _, rest = arn.partition("/")
    path, _, name = rest.rpartition("/")
    ref = IdentityRef(kind=Kind.USER if kind == "user" else Kind.ROLE, name=name)
    reason = Protections(deny_policy_arn=deny_policy_arn("123456789012")).reason(
        ref, f"/{path}/" if path else "/", CompareSettings()
    )
    assert reason is not None


@pytest.mark.parametrize("name", list(EXPECTED))
def test_state_access_is_limited_to_the_functions_own_partitions(every: Synthesized, name: str) -> None:
    """Each function's state-table statement carries ForAllValues:StringEquals dynamodb:LeadingKeys with exactly its
    partitions from stacks/partitions.py (this account and Region), and grants no Scan (ForAllValues passes a request
    that names no partition key). The IAM event function, which parses untrusted input, is the only one with the
    idempotency and reconcile-request partitions."""
    state = every.logical_id(every.stack.state.table)
    (statement,) = [s for s in _statements_of(every, name) if s.get("Sid") == "ReadWriteState"]
    assert references(statement["Resource"], state)
    condition = statement["Condition"]
    assert set(condition) == {"ForAllValues:StringEquals"}
    keys = sorted(join(k) for k in as_list(condition["ForAllValues:StringEquals"]["dynamodb:LeadingKeys"]))
    expected = sorted(partitions(name, account="${AWS::AccountId}", region="${AWS::Region}"))
    assert keys == expected
    on_state = [s for s in _statements_of(every, name) if references(s.get("Resource"), state)]
    assert all(not any(fnmatchcase("dynamodb:Scan", a) for a in actions(s)) for s in on_state)


def test_a_member_of_a_central_registry_may_decrypt_it_only_through_dynamodb(existing: Synthesized) -> None:
    """With an existing (central) registry, each function holds the reader's half of the cross-account decrypt:
    kms:Decrypt and kms:DescribeKey on the central account's keys in the registry's Region, only via DynamoDB there;
    without one, no function holds any KMS permission."""
    for name in EXPECTED:
        (statement,) = [s for s in _statements_of(existing, name) if s.get("Sid") == "DecryptTheCentralRegistry"]
        assert actions(statement) == {"kms:Decrypt", "kms:DescribeKey"}
        assert _resource(statement) == "arn:aws:kms:us-east-1:111122223333:key/*"
        assert statement["Condition"] == {"StringEquals": {"kms:ViaService": "dynamodb.us-east-1.amazonaws.com"}}


def test_without_a_central_registry_no_function_holds_kms_permissions(synthesized: Synthesized) -> None:
    for name in EXPECTED:
        assert not [s for s in _statements_of(synthesized, name) if any(a.startswith("kms:") for a in actions(s))]
