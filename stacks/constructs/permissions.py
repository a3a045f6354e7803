"""The IAM statements of the driftline functions, one builder per concern, each with a stable Sid.

Every function gets exactly the statements its handler needs (see ``driftline/compose.py`` and the adapters):

- reconcile: account-wide IAM reads, user and role reads, registry read, state read/write, Security Hub import;
  in enforce mode also the enforcement policy (reversible IAM writes plus explicit denies on protected principals);
- IAM events: user, role and group reads, registry read, state read/write (ledger, finding state, idempotency),
  Security Hub import;
- registry changes: user and role reads, registry read, registry stream read, state read/write, Security Hub import.

No statement grants a write on the registry: operators change it (CLI, pipelines), never the detector.
"""

from __future__ import annotations

from collections.abc import Iterable

from aws_cdk import Aws
from aws_cdk import aws_iam as iam
from constructs import IConstruct

from .. import nag
from ..config import DriftlineConfig
from ..constants import (
    ENFORCE_ACTIONS,
    ENFORCE_ATTACH_ACTIONS,
    ENFORCE_BOUNDARY_ACTIONS,
    ENFORCE_CREDENTIAL_ACTIONS,
    IAM_ACCOUNT_READ_ACTIONS,
    IAM_GROUP_READ_ACTIONS,
    IAM_POLICY_READ_ACTIONS,
    IAM_ROLE_READ_ACTIONS,
    IAM_USER_READ_ACTIONS,
    PROTECTED_RESOURCE_PATHS,
    REGISTRY_READ_ACTIONS,
    REGISTRY_STREAM_READ_ACTIONS,
    SECURITY_HUB_IMPORT_ACTIONS,
    STATE_READ_WRITE_ACTIONS,
)
from ..partitions import is_pattern, partitions

IAM_KINDS = ("user", "role", "group")


def own_iam_arn(resource: str) -> str:
    """``arn:<partition>:iam::<this account>:<resource>`` (IAM ARNs have no Region)."""
    return f"arn:{Aws.PARTITION}:iam::{Aws.ACCOUNT_ID}:{resource}"


def security_hub_product_arn() -> str:
    """The custom-integration product every account has in every Region (findings/asff.py ``Place.product_arn``)."""
    return f"arn:{Aws.PARTITION}:securityhub:{Aws.REGION}:{Aws.ACCOUNT_ID}:product/{Aws.ACCOUNT_ID}/default"


def iam_read_statements(*, account_wide: bool, groups: bool) -> list[iam.PolicyStatement]:
    """Read-only IAM: per-principal reads scoped to this account's users and roles (and groups when ``groups``)."""
    statements = []
    if account_wide:
        statements.append(
            iam.PolicyStatement(sid="ReadIamAccountWide", actions=list(IAM_ACCOUNT_READ_ACTIONS), resources=["*"])
        )
    statements += [
        iam.PolicyStatement(sid="ReadIamUsers", actions=list(IAM_USER_READ_ACTIONS), resources=[own_iam_arn("user/*")]),
        iam.PolicyStatement(sid="ReadIamRoles", actions=list(IAM_ROLE_READ_ACTIONS), resources=[own_iam_arn("role/*")]),
        iam.PolicyStatement(
            sid="ReadIamPolicies",
            actions=list(IAM_POLICY_READ_ACTIONS),
            resources=[own_iam_arn("policy/*"), f"arn:{Aws.PARTITION}:iam::aws:policy/*"],
        ),
    ]
    if groups:
        statements.append(
            iam.PolicyStatement(
                sid="ReadIamGroups", actions=list(IAM_GROUP_READ_ACTIONS), resources=[own_iam_arn("group/*")]
            )
        )
    return statements


def registry_read_statement(registry_table_arn: str) -> iam.PolicyStatement:
    return iam.PolicyStatement(sid="ReadRegistry", actions=list(REGISTRY_READ_ACTIONS), resources=[registry_table_arn])


def registry_stream_read_statement(stream_arn: str) -> iam.PolicyStatement:
    """What the event source mapping needs to poll the registry stream (the function itself never calls it)."""
    return iam.PolicyStatement(
        sid="ReadRegistryStream", actions=list(REGISTRY_STREAM_READ_ACTIONS), resources=[stream_arn]
    )


def state_read_write_statement(state_table_arn: str, function: str) -> iam.PolicyStatement:
    """State reads and writes on the partitions ``function`` owns only (stacks/partitions.py). ``ForAllValues``
    passes a request without partition keys, which is why no Scan is granted (a template test checks it)."""
    own = partitions(function, account=Aws.ACCOUNT_ID, region=Aws.REGION)
    # The hub's functions keep every member's partitions: patterns (``ledger#*``) need StringLike.
    operator = "ForAllValues:StringLike" if any(is_pattern(p) for p in own) else "ForAllValues:StringEquals"
    return iam.PolicyStatement(
        sid="ReadWriteState",
        actions=list(STATE_READ_WRITE_ACTIONS),
        resources=[state_table_arn],
        conditions={operator: {"dynamodb:LeadingKeys": list(own)}},
    )


def central_key_arn(registry_table_arn: str) -> str:
    """Any KMS key of the central registry's account and Region (the member does not know which one encrypts it)."""
    arn, partition, _service, region, account = registry_table_arn.split(":")[:5]
    return f"{arn}:{partition}:kms:{region}:{account}:key/*"


def central_registry_key_statement(registry_table_arn: str) -> iam.PolicyStatement:
    """A central registry encrypted with its own key (stacks/constructs/central_registry.py) is read across accounts
    only when both the key policy and the reader's own policy allow the decrypt: this is the reader's half, limited
    to decrypting through DynamoDB in the registry's Region."""
    region = registry_table_arn.split(":")[3]
    return iam.PolicyStatement(
        sid="DecryptTheCentralRegistry",
        actions=["kms:Decrypt", "kms:DescribeKey"],
        resources=[central_key_arn(registry_table_arn)],
        conditions={"StringEquals": {"kms:ViaService": f"dynamodb.{region}.amazonaws.com"}},
    )


def security_hub_statement() -> iam.PolicyStatement:
    return iam.PolicyStatement(
        sid="ImportFindings", actions=list(SECURITY_HUB_IMPORT_ACTIONS), resources=[security_hub_product_arn()]
    )


def function_statements(
    config: DriftlineConfig,
    *,
    iam_reads: list[iam.PolicyStatement],
    registry_table_arn: str,
    state_table_arn: str,
    function: str,
    extra: Iterable[iam.PolicyStatement] = (),
) -> list[iam.PolicyStatement]:
    """What every driftline function holds: its IAM reads, registry reads (never writes), state read/write,
    anything specific to it, and the Security Hub import when publishing is on."""
    statements = [
        *iam_reads,
        registry_read_statement(registry_table_arn),
        *extra,
        state_read_write_statement(state_table_arn, function),
    ]
    if config.registry_table_arn:
        statements.append(central_registry_key_statement(config.registry_table_arn))
    if config.security_hub:
        statements.append(security_hub_statement())
    return statements


def _name_arns(patterns: Iterable[str]) -> list[str]:
    """Users and roles named ``pattern`` on any path: ``*`` in an IAM ARN also matches ``/``."""
    return [
        own_iam_arn(f"{kind}/{prefix}{pattern}")
        for pattern in patterns
        for kind in ("user", "role")
        for prefix in ("", "*/")
    ]


def _path_arns(prefixes: Iterable[str]) -> list[str]:
    return [own_iam_arn(f"{kind}{prefix}*") for prefix in prefixes for kind in ("user", "role")]


def enforcement_statements(config: DriftlineConfig, deny_policy_arn: str) -> list[iam.PolicyStatement]:
    """The reversible IAM writes of enforce mode, and in the same policy explicit denies of the same actions on every
    protected principal: AWS-owned and CDK roles, driftline's own identities, the account's administrative roles,
    break-glass principals and the configured exclusions. The code skips these principals too; the denies hold even
    if it did not. Attaching or setting a boundary is allowed for exactly one policy: ``deny_policy_arn``."""
    principals = [own_iam_arn("user/*"), own_iam_arn("role/*")]
    statements = [
        iam.PolicyStatement(
            sid="DeactivateCredentials", actions=list(ENFORCE_CREDENTIAL_ACTIONS), resources=[own_iam_arn("user/*")]
        ),
        iam.PolicyStatement(
            sid="AttachOnlyTheDenyPolicy",
            actions=list(ENFORCE_ATTACH_ACTIONS),
            resources=principals,
            conditions={"ArnEquals": {"iam:PolicyARN": deny_policy_arn}},
        ),
        iam.PolicyStatement(
            sid="BoundOnlyByTheDenyPolicy",
            actions=list(ENFORCE_BOUNDARY_ACTIONS),
            resources=principals,
            conditions={"ArnEquals": {"iam:PermissionsBoundary": deny_policy_arn}},
        ),
        iam.PolicyStatement(
            sid="DenyEnforcingProtectedPrincipals",
            effect=iam.Effect.DENY,
            actions=list(ENFORCE_ACTIONS),
            resources=[own_iam_arn(path) for path in PROTECTED_RESOURCE_PATHS],
        ),
    ]
    if config.break_glass_principals:
        statements.append(
            iam.PolicyStatement(
                sid="DenyEnforcingBreakGlassPrincipals",
                effect=iam.Effect.DENY,
                actions=list(ENFORCE_ACTIONS),
                resources=_name_arns(config.break_glass_principals),
            )
        )
    excluded = _name_arns(config.excluded_name_patterns) + _path_arns(config.excluded_path_prefixes)
    if excluded:
        statements.append(
            iam.PolicyStatement(
                sid="DenyEnforcingExcludedPrincipals",
                effect=iam.Effect.DENY,
                actions=list(ENFORCE_ACTIONS),
                resources=excluded,
            )
        )
    return statements


def acknowledge_iam_reads(
    role: IConstruct, *, kinds: Iterable[str], function: str, central_registry: str | None = None
) -> None:
    """The wildcard findings every function role carries: X-Ray's ``*`` and this account's principals of ``kinds``;
    with a central registry, its account's keys."""
    if central_registry:
        nag.acknowledge(
            role,
            f"AwsSolutions-IAM5[Resource::{central_key_arn(central_registry)}]",
            f"The {function} function decrypts the central registry (kms:Decrypt, kms:DescribeKey) only through "
            "DynamoDB (kms:ViaService); which key of that account encrypts the table is the central account's "
            "choice, and its key policy decides who may use it.",
        )
    nag.acknowledge(
        role,
        "AwsSolutions-IAM5[Resource::*]",
        f"The {function} role's '*' statements are X-Ray's PutTraceSegments and PutTelemetryRecords (added for active "
        "tracing), which accept no other Resource"
        + (
            ", and iam:GetAccountAuthorizationDetails, iam:GenerateCredentialReport and iam:GetCredentialReport, "
            "account-level reads without resource-level permissions."
            if function == "reconcile"
            else "."
        ),
    )
    nag.acknowledge(
        role,
        "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:policy/*]",
        f"The {function} function reads the documents of managed policies (iam:GetPolicy, iam:GetPolicyVersion) that "
        "a revoked or expired identity holds, to tell whether one denies it everything; which policies cannot be "
        "known in advance. Read-only.",
    )
    nag.acknowledge(
        role,
        "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::aws:policy/*]",
        f"The {function} function reads AWS managed policy documents (e.g. AWSDenyAll) attached to a revoked or "
        "expired identity, to tell whether one denies it everything. Read-only.",
    )
    for kind in kinds:
        nag.acknowledge(
            role,
            f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:{kind}/*]",
            f"The {function} function reads IAM {kind}s of its own account to compare them with the registry; "
            f"the statement holds read-only {kind} actions on this account's {kind}s only.",
        )
