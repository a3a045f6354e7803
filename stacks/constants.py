"""Names and numbers the infrastructure shares: handler paths, runtime, layer release, environment keys, IAM actions.

Everything a reviewer may want to audit in one place; the constructs only wire these together.
"""

from __future__ import annotations

from types import ModuleType
from typing import Final

from aws_cdk import aws_lambda as lambda_

from driftline.adapters import (
    credential_report,
    enforcer,
    finding_state,
    iam_access,
    iam_account,
    iam_identity,
    key_cache,
    ledger,
    reconcile_request,
    registry,
    securityhub,
)


def declared(target: str, *modules: ModuleType) -> tuple[str, ...]:
    """The actions the adapter ``modules`` declare for ``target`` (their ``PERMISSIONS``), in order, once each."""
    actions: list[str] = []
    for module in modules:
        actions += [a for a in module.PERMISSIONS.get(target, ()) if a not in actions]
    if not actions:
        raise ValueError(f"no adapter declares permissions for {target!r}")
    return tuple(actions)


APP_TAGS: Final[dict[str, str]] = {"app": "driftline"}
# Stack names start with "Driftline": CloudFormation names the roles it creates "<stack name>-<logical id>-<suffix>",
# and the runtime's default exclusions (and the enforcement policy's explicit Deny) protect "Driftline*".
STACK_ID: Final = "Driftline"
STACK_DESCRIPTION: Final = (
    "driftline: IAM drift detection (registry, state, scheduled reconcile, IAM events, registry stream, alarms)"
)
FORWARDER_STACK_ID: Final = "DriftlineIamForwarder"
FORWARDER_STACK_DESCRIPTION: Final = (
    "driftline: forwards IAM CloudTrail events from us-east-1 (where IAM delivers them) to the home Region's bus"
)
# IAM is global: its CloudTrail events reach EventBridge only in us-east-1 (AWS-FACTS section 1).
IAM_EVENTS_REGION: Final = "us-east-1"

# --- Lambda -----------------------------------------------------------------------------------------------------
# The code asset is the runtime package alone (stacks/asset.py), wherever it is installed.
RECONCILE_HANDLER: Final = "driftline.handlers.on_schedule.handler"
IAM_EVENT_HANDLER: Final = "driftline.handlers.on_iam_event.handler"
REGISTRY_CHANGE_HANDLER: Final = "driftline.handlers.on_registry_change.handler"
# A member of a central registry that forwards its stream: the same function, fed by events on the default bus.
REGISTRY_EVENT_HANDLER: Final = "driftline.handlers.on_registry_change.handle_event"
# The central registry's one stream reader, forwarding each record to its member account's default bus.
REGISTRY_FANOUT_HANDLER: Final = "driftline.handlers.on_registry_fanout.handler"
# Hub and spoke: the hub lists the organisation's accounts and reconciles each through its roles.
HUB_ACCOUNTS_HANDLER: Final = "driftline.handlers.on_hub_accounts.handler"
HUB_ACCOUNT_HANDLER: Final = "driftline.handlers.on_hub_account.handler"
HUB_EVENT_HANDLER: Final = "driftline.handlers.on_hub_event.handler"
HUB_ACCOUNT_MEMORY_MB: Final = 1024  # a 5,000-user reconcile peaks near 450 MB (README figures); headroom for more
HUB_ACCOUNT_TIMEOUT_MINUTES: Final = 15
REGISTRY_EVENT_SOURCE: Final = "driftline.registry"  # functions/driftline/triggers/registry_fanout.py SOURCE
REGISTRY_EVENT_DETAIL_TYPE: Final = "Registry Entry Changed"  # ... DETAIL_TYPE
RUNTIME: Final = lambda_.Runtime.PYTHON_3_14
ARCHITECTURE: Final = lambda_.Architecture.ARM_64

# Powertools for AWS Lambda (Python) v3 public layer, resolved at deploy time. Layer version numbers do not follow
# releases one to one, so none is written here: Powertools publishes, in every commercial Region it serves, one public
# SSM parameter per release, Python runtime and architecture, whose value is that layer version's ARN:
#   /aws/service/powertools/python/<arm64|x86_64>/<python3.x>/<3.x.y>   (or .../latest)
# Sources: the Powertools for AWS Lambda (Python) docs, "Installation" > "Lambda Layer" > "Using SSM Parameter Store"
# (docs.aws.amazon.com/powertools/python/latest/getting-started/install/), and the parameter-writing workflow of
# aws-powertools/powertools-lambda-python (.github/workflows/update_ssm.yml: one put-parameter per architecture and
# python3.10 to python3.14, for the package version and for "latest"). The stack reads the parameter of the exact
# release below (never "latest"); in a Region without it, the driftline:powertoolsLayerArn context gives the ARN.
# Keep the release equal to the aws-lambda-powertools pin in pyproject.toml (a test checks the installed release).
POWERTOOLS_RELEASE: Final = "3.37.0"
POWERTOOLS_PARAMETER_PREFIX: Final = "/aws/service/powertools/python"


def powertools_layer_parameter(
    runtime: lambda_.Runtime = RUNTIME, architecture: lambda_.Architecture = ARCHITECTURE
) -> str:
    """``/aws/service/powertools/python/arm64/python3.14/3.37.0``: derived from the function's runtime and
    architecture, so the layer cannot be built for another Python or processor."""
    return f"{POWERTOOLS_PARAMETER_PREFIX}/{architecture.name}/{runtime.name}/{POWERTOOLS_RELEASE}"


RECONCILE_MEMORY_MB: Final = 512
RECONCILE_TIMEOUT_MINUTES: Final = 5
# A reconcile never overlaps itself: a second invocation waits (async retry) instead of racing the first.
RECONCILE_RESERVED_CONCURRENCY: Final = 1
# Async invocations (the schedule) are retried this often by Lambda, and dropped to the DLQ after this age:
# an hour-old reconcile is stale because the next scheduled one is due.
RECONCILE_ASYNC_RETRY_ATTEMPTS: Final = 2
RECONCILE_MAX_EVENT_AGE_MINUTES: Final = 60
# EventBridge delivery retries of the schedule target before the event goes to the DLQ.
SCHEDULE_RETRY_ATTEMPTS: Final = 4
SCHEDULE_MAX_EVENT_AGE_MINUTES: Final = 60
DLQ_RETENTION_DAYS: Final = 14
# Waiting for IAM to finish a credential report; well inside the function timeout.
CREDENTIAL_REPORT_WAIT_SECONDS: Final = 60

# The IAM event function re-reads the few identities one event touched; the registry-change function one identity
# per record. Neither reserves concurrency: a reservation takes from the account's unreserved pool (and fails the
# deployment in accounts whose limit is still 10); IAM throttling is absorbed by the SDK's retries.
EVENT_MEMORY_MB: Final = 256
EVENT_TIMEOUT_SECONDS: Final = 60
# Lambda's own async retries of an IAM event, and how long an event may wait; idempotency records last 24 h.
EVENT_ASYNC_RETRY_ATTEMPTS: Final = 2
EVENT_MAX_EVENT_AGE_HOURS: Final = 6
# EventBridge delivery retries of the IAM event target before the event goes to the DLQ.
EVENT_TARGET_RETRY_ATTEMPTS: Final = 8
EVENT_TARGET_MAX_EVENT_AGE_HOURS: Final = 6

# Registry stream: small batches (each record re-reads one identity from IAM), a bounded number of retries, bisect
# on error, and a record age after which the next reconcile is the better place to judge the identity.
STREAM_BATCH_SIZE: Final = 10
STREAM_MAX_BATCHING_WINDOW_SECONDS: Final = 1
STREAM_RETRY_ATTEMPTS: Final = 3
STREAM_MAX_RECORD_AGE_HOURS: Final = 1
STREAM_PARALLELIZATION_FACTOR: Final = 1

SERVICE_NAME: Final = "driftline"
METRICS_NAMESPACE: Final = "Driftline"
LOG_LEVEL: Final = "INFO"

# --- Environment (driftline.settings.RuntimeSettings reads exactly the DRIFTLINE_ ones) --------------------------
ENV_REGISTRY_TABLE: Final = "DRIFTLINE_REGISTRY_TABLE"
ENV_STATE_TABLE: Final = "DRIFTLINE_STATE_TABLE"
ENV_GRACE_PERIOD_MINUTES: Final = "DRIFTLINE_GRACE_PERIOD_MINUTES"
ENV_MAX_KEY_AGE_DAYS: Final = "DRIFTLINE_MAX_KEY_AGE_DAYS"
ENV_MAX_UNUSED_DAYS: Final = "DRIFTLINE_MAX_UNUSED_DAYS"
ENV_EXCLUDED_NAME_PATTERNS: Final = "DRIFTLINE_EXCLUDED_NAME_PATTERNS"
ENV_EXCLUDED_PATH_PREFIXES: Final = "DRIFTLINE_EXCLUDED_PATH_PREFIXES"
ENV_CREDENTIAL_REPORT_WAIT_SECONDS: Final = "DRIFTLINE_CREDENTIAL_REPORT_WAIT_SECONDS"
ENV_PUBLISH_FINDINGS: Final = "DRIFTLINE_PUBLISH_FINDINGS"
ENV_MODE: Final = "DRIFTLINE_MODE"
ENV_BREAK_GLASS_PRINCIPALS: Final = "DRIFTLINE_BREAK_GLASS_PRINCIPALS"
ENV_DENY_POLICY_ARN: Final = "DRIFTLINE_DENY_POLICY_ARN"
ENV_RECONCILE_FUNCTION: Final = "DRIFTLINE_RECONCILE_FUNCTION"
# The hub's functions only (hub and spoke): the roles they assume in each member, and which accounts they judge.
ENV_MEMBER_ROLE_NAME: Final = "DRIFTLINE_MEMBER_ROLE_NAME"
ENV_FINDINGS_ROLE_NAME: Final = "DRIFTLINE_FINDINGS_ROLE_NAME"
ENV_ORGANIZATION_UNITS: Final = "DRIFTLINE_ORGANIZATION_UNITS"
HUB_ONLY_ENV: Final = frozenset({ENV_MEMBER_ROLE_NAME, ENV_FINDINGS_ROLE_NAME, ENV_ORGANIZATION_UNITS})

# --- DynamoDB ---------------------------------------------------------------------------------------------------
PARTITION_KEY: Final = "pk"  # the AWS account id
SORT_KEY: Final = "sk"  # "kind#name" in the registry
TTL_ATTRIBUTE: Final = "expiration"

# --- IAM actions of the functions -------------------------------------------------------------------------------
# Declared beside the code that makes each call (``PERMISSIONS`` in every adapter module; a test checks each against
# the calls in its file) and gathered here by what they act on. The reconcile reads the whole account
# (GetAccountAuthorizationDetails, credential report) and then single users/roles; the event and registry-change
# functions read single users/roles only; only the IAM event function resolves group members (GetGroup).
# Account-wide reads: these actions support no resource-level permissions, so "*" is the only valid Resource.
IAM_ACCOUNT_READ_ACTIONS: Final = declared("account", iam_account, credential_report)
IAM_USER_READ_ACTIONS: Final = declared("user", iam_identity, iam_access)
IAM_ROLE_READ_ACTIONS: Final = declared("role", iam_identity)
IAM_GROUP_READ_ACTIONS: Final = declared("group", iam_identity)
# Documents of managed policies and boundaries held by revoked or expired identities: does one deny everything?
IAM_POLICY_READ_ACTIONS: Final = declared("policy", iam_access)
REGISTRY_READ_ACTIONS: Final = declared("registry", registry)
# The registry writer: people and pipelines running ``driftline registry …`` (never a function). Exactly what the
# commands call (tests/cli/registry/test_writer_policy.py runs each one and compares): the entry writes are
# conditional PutItem/DeleteItem, the change log goes in BatchWriteItem, the reads are Query/GetItem/BatchGetItem.
REGISTRY_WRITER_TABLE_ACTIONS: Final[tuple[str, ...]] = (
    "dynamodb:BatchGetItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:DeleteItem",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
)
# ``registry adopt`` reads the whole account's IAM (every user's keys too), so their Resource is "*"; the first
# three support no resource-level permissions at all.
REGISTRY_WRITER_IAM_ACTIONS: Final[tuple[str, ...]] = (
    "iam:GenerateCredentialReport",
    "iam:GetAccountAuthorizationDetails",
    "iam:GetCredentialReport",
    "iam:ListAccessKeys",
)
# What a DynamoDB stream event source mapping needs on the stream (AWS DynamoDB developer guide's example policy).
REGISTRY_STREAM_READ_ACTIONS: Final[tuple[str, ...]] = (
    "dynamodb:DescribeStream",
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
    "dynamodb:ListStreams",
)
# The state table: the adapters' own calls, and Powertools idempotency's (its records: PutItem, GetItem, UpdateItem,
# DeleteItem).
IDEMPOTENCY_STORE_ACTIONS: Final[tuple[str, ...]] = (
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
)
STATE_READ_WRITE_ACTIONS: Final = declared("state", ledger, finding_state, key_cache, reconcile_request) + tuple(
    a
    for a in IDEMPOTENCY_STORE_ACTIONS
    if a not in declared("state", ledger, finding_state, key_cache, reconcile_request)
)
LOG_WRITE_ACTIONS: Final[tuple[str, ...]] = ("logs:CreateLogStream", "logs:PutLogEvents")
SECURITY_HUB_IMPORT_ACTIONS: Final = declared("product", securityhub)
# Enforce mode only, reconcile function only (domain/enforcement.py, adapters/enforcer.py): every step is reversible,
# none deletes anything, and the only policy the role can attach or set as a boundary is the stack's own
# deny-everything policy (an iam:PolicyARN / iam:PermissionsBoundary condition): no policy document of its choosing.
ENFORCE_CREDENTIAL_ACTIONS: Final = declared("credential", enforcer)
ENFORCE_ATTACH_ACTIONS: Final = declared("attach", enforcer)
ENFORCE_BOUNDARY_ACTIONS: Final = declared("boundary", enforcer)
ENFORCE_ACTIONS: Final[tuple[str, ...]] = ENFORCE_CREDENTIAL_ACTIONS + ENFORCE_ATTACH_ACTIONS + ENFORCE_BOUNDARY_ACTIONS
# The deny-everything managed policy (domain/enforcement.py DENY_POLICY_NAME / DENY_POLICY_PATH) and where the stack
# publishes the break-glass list for the CLI (cli/account.py BREAK_GLASS_PARAMETER).
DENY_POLICY_NAME: Final = "DriftlineRevoked"
DENY_POLICY_PATH: Final = "/driftline/"
BREAK_GLASS_PARAMETER: Final = "/driftline/break-glass-principals"
# Principals the enforcement policy denies explicitly, whatever the code decides (ARN resource paths after
# "arn:<partition>:iam::<account>:"). IAM ARN wildcards match across "/", so "role/aws-service-role/*" covers every
# service-linked role. Break-glass names and the configured exclusions are added per deployment.
PROTECTED_RESOURCE_PATHS: Final[tuple[str, ...]] = (
    "role/aws-service-role/*",  # service-linked roles
    "role/aws-reserved/*",  # IAM Identity Center (SSO) roles
    "role/cdk-*",  # CDK bootstrap roles (every qualifier)
    "role/Driftline*",  # driftline's own roles (CloudFormation prefixes them with the stack name)
    "user/Driftline*",
    # the account's administrative and deployment roles (domain/enforcement.py ADMIN_ROLE_PATTERNS)
    "role/OrganizationAccountAccessRole",
    "role/AWSControlTowerExecution",
    "role/AWSCloudFormationStackSetExecutionRole",
    "role/stacksets-exec-*",
)

# --- Metrics (functions/driftline/handlers/report.py, observability.py) -------------------------------------------
# Powertools Metrics(namespace="Driftline", service="driftline") adds the dimension service=driftline to every metric;
# single_metric (DriftDetected by DriftType) adds it too, because the functions set POWERTOOLS_SERVICE_NAME.
METRIC_DIMENSIONS: Final[dict[str, str]] = {"service": SERVICE_NAME}
METRIC_DRIFT_DETECTED: Final = "DriftDetected"
METRIC_DRIFT_TYPE_DIMENSION: Final = "DriftType"
METRIC_OPEN_UNENFORCED: Final = "OpenUnenforcedRevocations"
METRIC_OLDEST_UNENFORCED: Final = "OldestUnenforcedRevocationSeconds"
METRIC_TIME_TO_ENFORCE: Final = "TimeToEnforceSeconds"
METRIC_FINDINGS_PUBLISHED: Final = "FindingsPublished"
METRIC_FINDINGS_RESOLVED: Final = "FindingsResolved"
METRIC_FINDINGS_FAILED: Final = "FindingsFailed"
METRIC_PUBLISH_ERRORS: Final = "PublishErrors"
METRIC_RECONCILE_ERRORS: Final = "ReconcileErrors"
METRIC_REJECTED_REGISTRY_RECORDS: Final = "RejectedRegistryRecords"
METRIC_LEDGER_PROBLEMS: Final = "LedgerProblems"
METRIC_REGISTRY_PROBLEMS: Final = "RegistryProblems"
METRIC_ENFORCEMENT_ACTIONS: Final = "EnforcementActions"
METRIC_ENFORCEMENT_FAILURES: Final = "EnforcementFailures"
