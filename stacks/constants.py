"""Names and numbers the infrastructure shares: handler paths, runtime, layer pin, environment keys, IAM actions.

Everything a reviewer may want to audit in one place; the constructs only wire these together.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from aws_cdk import aws_lambda as lambda_

APP_TAGS: Final[dict[str, str]] = {"app": "driftline"}
STACK_ID: Final = "Driftline"
STACK_DESCRIPTION: Final = "driftline: IAM drift detection core (registry, state, scheduled reconcile)"

# --- Lambda -----------------------------------------------------------------------------------------------------
# Absolute, so synthesis does not depend on the working directory; the asset hash depends on content only.
ASSET_ROOT: Final = str(Path(__file__).resolve().parents[1] / "functions")
# The CLI and build artefacts never ship to Lambda. Excluding a directory excludes everything under it, so these
# also cover "driftline/cli/**", "**/__pycache__/**" and "*.egg-info/**" without leaving empty directories behind.
ASSET_EXCLUDES: Final[tuple[str, ...]] = ("driftline/cli", "**/__pycache__", "*.pyc", "*.egg-info")
RECONCILE_HANDLER: Final = "driftline.handlers.on_schedule.handler"
RUNTIME: Final = lambda_.Runtime.PYTHON_3_14
ARCHITECTURE: Final = lambda_.Architecture.ARM_64

# Powertools for AWS Lambda (Python) v3 public layer. One layer version number per PyPI release, identical in
# every commercial Region and for every Python/architecture variant (3.23.0 is 27; 3.31.1 is 36; 3.32/3.33 were
# never released, hence 3.37.0 is 40: inferred from that sequence, so confirm it with the command below before the
# first deploy). Keep it equal to the aws-lambda-powertools pin in pyproject.toml (a test checks the release).
# To move it: bump the pyproject pin, then read the new number with
#   aws ssm get-parameter --name /aws/service/powertools/python/arm64/python3.14/<3.x.y> --query Parameter.Value
# (or `aws lambda get-layer-version-by-arn --arn <arn>`), and update POWERTOOLS_LAYER_VERSION below.
POWERTOOLS_ACCOUNT: Final = "017000801446"
POWERTOOLS_RELEASE: Final = "3.37.0"
POWERTOOLS_LAYER_VERSION: Final = 40


def powertools_layer_name(runtime: lambda_.Runtime = RUNTIME, architecture: lambda_.Architecture = ARCHITECTURE) -> str:
    """``AWSLambdaPowertoolsPythonV3-python314-arm64``: derived from the function's runtime so they cannot diverge."""
    return f"AWSLambdaPowertoolsPythonV3-{runtime.name.replace('.', '')}-{architecture.name}"


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
# Security Hub publishing stays off until the stack grants securityhub:BatchImportFindings (a later part adds it);
# the runtime defaults to publishing, so the stack must say so explicitly.
PUBLISH_FINDINGS: Final = False
# Detection only: "enforce" would need IAM write permissions, which this role deliberately lacks.
MODE: Final = "report"
BREAK_GLASS_PRINCIPALS: Final[tuple[str, ...]] = ()

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

# --- DynamoDB ---------------------------------------------------------------------------------------------------
PARTITION_KEY: Final = "pk"  # the AWS account id
SORT_KEY: Final = "sk"  # "kind#name" in the registry
TTL_ATTRIBUTE: Final = "expiration"

# --- IAM actions of the reconcile function ----------------------------------------------------------------------
# Account-wide reads: these actions support no resource-level permissions, so "*" is the only valid Resource.
IAM_ACCOUNT_READ_ACTIONS: Final[tuple[str, ...]] = (
    "iam:GetAccountAuthorizationDetails",
    "iam:GenerateCredentialReport",
    "iam:GetCredentialReport",
)
IAM_USER_READ_ACTIONS: Final[tuple[str, ...]] = (
    "iam:ListAccessKeys",
    "iam:GetAccessKeyLastUsed",
    "iam:GetUser",
    "iam:GetLoginProfile",
    "iam:ListAttachedUserPolicies",
    "iam:ListUserPolicies",
    "iam:GetUserPolicy",
    "iam:ListGroupsForUser",
)
IAM_ROLE_READ_ACTIONS: Final[tuple[str, ...]] = (
    "iam:GetRole",
    "iam:ListAttachedRolePolicies",
    "iam:ListRolePolicies",
    "iam:GetRolePolicy",
)
IAM_GROUP_READ_ACTIONS: Final[tuple[str, ...]] = ("iam:GetGroup",)
REGISTRY_READ_ACTIONS: Final[tuple[str, ...]] = ("dynamodb:GetItem", "dynamodb:Query")
STATE_READ_WRITE_ACTIONS: Final[tuple[str, ...]] = (
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:Query",
    "dynamodb:BatchWriteItem",
)
LOG_WRITE_ACTIONS: Final[tuple[str, ...]] = ("logs:CreateLogStream", "logs:PutLogEvents")
