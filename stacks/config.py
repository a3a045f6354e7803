"""Deployment configuration: the ``driftline:*`` CDK context, validated once at synth.

``cdk.json`` holds the defaults (the single source of them); ``cdk synth -c driftline:gracePeriodMinutes=30``
overrides one. Values given on the command line arrive as strings, so numbers and booleans are parsed and lists may
be given as JSON (``["a","b"]``) or comma-separated text. A bad value stops the synth with a ``ConfigError`` naming
the key. Optional keys (home Region, an existing registry, alarm destination) are absent from ``cdk.json``; an empty
value (``-c driftline:alarmEmail=``) means "not set".
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final, Literal

from constructs import Construct
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

CONTEXT_PREFIX = "driftline:"

RATE_EXPRESSION = re.compile(r"^rate\((?P<value>[1-9]\d*) (?P<unit>minute|minutes|hour|hours|day|days)\)$")
_CRON = re.compile(r"^cron\((\S+ ){5}\S+\)$")
# Commercial partition only: the Powertools layer, Security Hub product and IAM ARNs are built for "aws".
_REGION = re.compile(r"^(?!cn-|us-gov-|us-iso)[a-z]{2}(-[a-z]+)+-\d{1,2}$")
# IAM user/role names ([\w+=,.@-], comma excluded: the functions get lists comma-joined) plus the two wildcards that
# fnmatch and IAM ARNs both understand. fnmatch's [seq] has no IAM equivalent, so it is refused.
_NAME_GLOB = re.compile(r"^[A-Za-z0-9_+=.@*?-]{1,128}$")
_PATH_PREFIX = re.compile(r"^/[A-Za-z0-9_+=,.@/-]*$")
_TABLE_ARN = re.compile(
    r"^arn:aws:dynamodb:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):table/(?P<table>[A-Za-z0-9_.-]{3,255})$"
)
_STREAM_ARN = re.compile(
    r"^arn:aws:dynamodb:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):table/(?P<table>[A-Za-z0-9_.-]{3,255})"
    r"/stream/(?P<label>[0-9T:.-]+)$"
)
_TOPIC_ARN = re.compile(r"^arn:aws:sns:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):[A-Za-z0-9_-]{1,256}$")
# A layer version (the Lambda API's LayerVersionArn pattern, commercial partition): name, then a version number.
_LAYER_ARN = re.compile(
    r"^arn:aws:lambda:(?P<region>[a-z]{2}(-[a-z]+)+-\d{1,2}):(?P<account>\d{12}):layer:[A-Za-z0-9_-]{1,140}:[1-9]\d*$"
)
_EMAIL = re.compile(r"^[^@\s,]+@[^@\s,]+\.[^@\s,]+$")
_ORGANIZATION = re.compile(r"^o-[a-z0-9]{10,32}$")  # the Organizations API's pattern for an organization id
# StackSet targets: an organisation's root or an organizational unit (the Organizations API's patterns).
_TARGET = re.compile(r"^(r-[0-9a-z]{4,32}|ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})$")
_ACCOUNT = re.compile(r"^\d{12}$")
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


class ConfigError(ValueError):
    """The CDK context holds a value driftline cannot deploy with."""


class DriftlineConfig(BaseModel):
    """The validated ``driftline:*`` context. Field aliases are the context keys."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schedule_expression: str = Field(alias="driftline:scheduleExpression")
    grace_period_minutes: int = Field(alias="driftline:gracePeriodMinutes", ge=0, le=7 * 24 * 60)
    max_key_age_days: int = Field(alias="driftline:maxKeyAgeDays", gt=0, le=3650)
    max_unused_days: int = Field(alias="driftline:maxUnusedDays", gt=0, le=3650)
    excluded_name_patterns: tuple[str, ...] = Field(alias="driftline:excludedNamePatterns")
    excluded_path_prefixes: tuple[str, ...] = Field(alias="driftline:excludedPathPrefixes")
    mode: Literal["report", "enforce"] = Field(alias="driftline:mode")
    break_glass_principals: tuple[str, ...] = Field(alias="driftline:breakGlassPrincipals")
    create_trail: bool = Field(alias="driftline:createTrail")
    security_hub: bool = Field(alias="driftline:securityHub")
    # Optional: absent from cdk.json.
    home_region: str | None = Field(default=None, alias="driftline:homeRegion")
    registry_table_arn: str | None = Field(default=None, alias="driftline:registryTableArn")
    registry_stream_arn: str | None = Field(default=None, alias="driftline:registryStreamArn")
    alarm_email: str | None = Field(default=None, alias="driftline:alarmEmail")
    alarm_topic_arn: str | None = Field(default=None, alias="driftline:alarmTopicArn")
    # The Powertools layer version ARN, for a Region where Powertools publishes no SSM parameter of the pinned release
    # (stacks/constants.py); unset, the stack reads that parameter at deploy time.
    powertools_layer_arn: str | None = Field(default=None, alias="driftline:powertoolsLayerArn")
    # The central registry's organisation: the table (created here) is then encrypted with its own key and readable
    # by driftline's roles in the organisation's accounts, each in its own partition only.
    organization_id: str | None = Field(default=None, alias="driftline:organizationId")
    # A member of a central registry that forwards its stream (organizationId there): the registry's changes arrive
    # as events on this account's default bus instead of a stream read per member.
    registry_events: bool = Field(default=False, alias="driftline:registryEvents")
    # Many accounts (docs/DEPLOYMENT.md): "account" builds this account's stacks; "organization" the StackSets that
    # put them in every account of deploymentTargets; "hub" the hub stack and the spokes' StackSet.
    topology: Literal["account", "organization", "hub"] = Field(default="account", alias="driftline:topology")
    deployment_targets: tuple[str, ...] = Field(default=(), alias="driftline:deploymentTargets")
    delegated_admin: bool = Field(default=False, alias="driftline:delegatedAdmin")
    hub_account: str | None = Field(default=None, alias="driftline:hubAccount")
    hub_concurrency: int = Field(default=10, alias="driftline:hubConcurrency", ge=1, le=1000)
    # The stale-credential checks, which repeat Security Hub controls IAM.3/IAM.8/IAM.22 and IAM Access Analyzer's
    # unused-access findings: false where those already run (the functions then neither raise nor resolve them).
    hygiene_checks: bool = Field(default=True, alias="driftline:hygieneChecks")
    # How often an unchanged open finding is re-imported with a fresh LastObservedAt (1 hour to 60 days; Security Hub
    # deletes findings not updated for 90 days).
    finding_refresh_hours: int = Field(default=24, alias="driftline:findingRefreshHours", ge=1, le=60 * 24)

    @field_validator("schedule_expression")
    @classmethod
    def _schedule(cls, value: str) -> str:
        rate = RATE_EXPRESSION.match(value)
        if rate:
            # EventBridge wants "rate(1 hour)" but "rate(2 hours)": the unit is singular exactly for 1.
            if (rate["value"] == "1") != (not rate["unit"].endswith("s")):
                raise ValueError(f"use a singular unit for 1 and a plural one otherwise, got {value!r}")
            return value
        if _CRON.match(value):
            return value
        raise ValueError(f"expected an EventBridge expression like 'rate(1 hour)' or 'cron(0 * * * ? *)': {value!r}")

    @field_validator(
        "grace_period_minutes", "max_key_age_days", "max_unused_days", "finding_refresh_hours", mode="before"
    )
    @classmethod
    def _no_bool(cls, value: object) -> object:
        if isinstance(value, bool):
            raise ValueError("expected a whole number, got a boolean")
        return value

    @field_validator(
        "create_trail", "security_hub", "registry_events", "delegated_admin", "hygiene_checks", mode="before"
    )
    @classmethod
    def _bool(cls, value: object) -> object:
        # Stricter than pydantic's lax bool: no numbers, and only the spellings a person would type after -c.
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise ValueError(f"expected true or false, got {value!r}")

    @field_validator("mode", mode="before")
    @classmethod
    def _mode(cls, value: object) -> object:
        if isinstance(value, str) and value.strip().lower() in ("report", "enforce"):
            return value.strip().lower()
        raise ValueError(f"expected 'report' or 'enforce', got {value!r}")

    @field_validator(
        "excluded_name_patterns",
        "excluded_path_prefixes",
        "break_glass_principals",
        "deployment_targets",
        mode="before",
    )
    @classmethod
    def _list(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part for part in text.split(",") if part.strip()]
        return value

    @field_validator("excluded_name_patterns", "excluded_path_prefixes", "break_glass_principals")
    @classmethod
    def _items(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        items = tuple(item.strip() for item in value)
        for item in items:
            if not item or "," in item:
                # The function receives the list comma-joined in one environment variable.
                raise ValueError(f"entries must be non-empty and contain no comma, got {item!r}")
        return items

    @field_validator("deployment_targets")
    @classmethod
    def _targets(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for target in value:
            if not _TARGET.match(target):
                raise ValueError(f"expected an organisation root 'r-...' or an OU 'ou-...-...', got {target!r}")
        return value

    @field_validator("hub_account")
    @classmethod
    def _hub_account(cls, value: str | None) -> str | None:
        if value is not None and not _ACCOUNT.match(value):
            raise ValueError(f"expected a 12-digit account id, got {value!r}")
        return value

    @field_validator("excluded_name_patterns", "break_glass_principals")
    @classmethod
    def _names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in value:
            if not _NAME_GLOB.match(pattern):
                # The same pattern becomes an IAM ARN in the enforcement policy's explicit Deny.
                raise ValueError(
                    f"expected an IAM user/role name, optionally with * or ? wildcards "
                    f"(letters, digits and _+=.@- only), got {pattern!r}"
                )
        return value

    @field_validator("excluded_path_prefixes")
    @classmethod
    def _paths(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for prefix in value:
            if not prefix.startswith("/"):
                raise ValueError(f"IAM path prefixes start with '/', got {prefix!r}")
            if not _PATH_PREFIX.match(prefix):
                raise ValueError(f"IAM paths hold letters, digits, '/' and _+=,.@- only, got {prefix!r}")
        return value

    @field_validator(
        "home_region",
        "registry_table_arn",
        "registry_stream_arn",
        "alarm_email",
        "alarm_topic_arn",
        "organization_id",
        "hub_account",
        "powertools_layer_arn",
        mode="before",
    )
    @classmethod
    def _optional(cls, value: object) -> object:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if not isinstance(value, str):
            raise ValueError(f"expected text, got {value!r}")
        return value.strip()

    @field_validator("home_region")
    @classmethod
    def _region(cls, value: str | None) -> str | None:
        if value is not None and not _REGION.match(value):
            raise ValueError(f"expected a commercial AWS Region name like 'eu-west-1', got {value!r}")
        return value

    @field_validator("registry_table_arn")
    @classmethod
    def _table_arn(cls, value: str | None) -> str | None:
        if value is not None and not _TABLE_ARN.match(value):
            raise ValueError(f"expected a table ARN 'arn:aws:dynamodb:<region>:<account>:table/<name>', got {value!r}")
        return value

    @field_validator("registry_stream_arn")
    @classmethod
    def _stream_arn(cls, value: str | None) -> str | None:
        if value is not None and not _STREAM_ARN.match(value):
            raise ValueError(
                f"expected a stream ARN 'arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>', "
                f"got {value!r}"
            )
        return value

    @field_validator("organization_id")
    @classmethod
    def _organization(cls, value: str | None) -> str | None:
        if value is not None and not _ORGANIZATION.match(value):
            raise ValueError(f"expected an AWS Organizations id like 'o-a1b2c3d4e5', got {value!r}")
        return value

    @field_validator("alarm_email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and not _EMAIL.match(value):
            raise ValueError(f"expected one e-mail address, got {value!r}")
        return value

    @field_validator("alarm_topic_arn")
    @classmethod
    def _topic_arn(cls, value: str | None) -> str | None:
        if value is not None and not _TOPIC_ARN.match(value):
            raise ValueError(f"expected an SNS topic ARN 'arn:aws:sns:<region>:<account>:<name>', got {value!r}")
        return value

    @field_validator("powertools_layer_arn")
    @classmethod
    def _layer_arn(cls, value: str | None) -> str | None:
        if value is not None and not _LAYER_ARN.match(value):
            raise ValueError(
                f"expected a layer version ARN 'arn:aws:lambda:<region>:<account>:layer:<name>:<version>', "
                f"got {value!r}"
            )
        return value

    @model_validator(mode="after")
    def _together(self) -> DriftlineConfig:
        if self.registry_events and (self.registry_table_arn is None or self.registry_stream_arn is not None):
            raise ValueError(
                "driftline:registryEvents is for a member of a central registry: set driftline:registryTableArn and "
                "no driftline:registryStreamArn (the central account forwards the stream as events)"
            )
        if not self.registry_events and (self.registry_table_arn is None) != (self.registry_stream_arn is None):
            raise ValueError(
                "driftline:registryTableArn and driftline:registryStreamArn go together: the registry-change "
                "function reads the existing table's stream (set both, or neither to create the table, or set "
                "driftline:registryEvents when the central registry forwards its stream)"
            )
        if self.registry_table_arn and self.registry_stream_arn:
            table = _TABLE_ARN.match(self.registry_table_arn)
            stream = _STREAM_ARN.match(self.registry_stream_arn)
            assert table and stream
            if (table["region"], table["account"], table["table"]) != (
                stream["region"],
                stream["account"],
                stream["table"],
            ):
                raise ValueError("driftline:registryStreamArn must be the stream of driftline:registryTableArn")
        if self.alarm_email and self.alarm_topic_arn:
            raise ValueError("set driftline:alarmEmail (a new topic) or driftline:alarmTopicArn (yours), not both")
        if self.topology != "account":
            self._check_topology()
        elif self.organization_id and self.registry_table_arn:
            raise ValueError(
                "driftline:organizationId opens the registry this stack creates to the organisation; a member that "
                "uses an existing registry (driftline:registryTableArn) does not set it"
            )
        return self

    def _check_topology(self) -> None:
        needs = ["driftline:organizationId", "driftline:deploymentTargets"]
        given = [self.organization_id, self.deployment_targets]
        if self.topology == "organization":
            needs.append("driftline:registryTableArn (the central registry)")
            given.append(self.registry_table_arn)
        else:
            needs.append("driftline:hubAccount")
            given.append(self.hub_account)
            if self.registry_table_arn or self.registry_events:
                raise ValueError("the hub keeps the registry itself: no driftline:registryTableArn or registryEvents")
        missing = [key for key, value in zip(needs, given, strict=True) if not value]
        if missing:
            raise ValueError(f"driftline:topology={self.topology} needs {', '.join(missing)}")

    def member_config(self) -> DriftlineConfig:
        """The configuration each member stack of the organisation topology is built with."""
        return self.model_copy(update={"topology": "account", "organization_id": None, "deployment_targets": ()})

    def region(self, default: str | None) -> str:
        """The home Region: ``driftline:homeRegion``, else the CLI's default Region, else us-east-1."""
        return self.home_region or default or "us-east-1"

    def check_placement(self, home_region: str) -> None:
        """Resources that must live in the home Region: the existing registry (a stream mapping is regional) and
        the alarm topic (CloudWatch alarm actions are regional)."""
        for key, arn in (
            ("driftline:registryTableArn", self.registry_table_arn),
            ("driftline:alarmTopicArn", self.alarm_topic_arn),
            ("driftline:powertoolsLayerArn", self.powertools_layer_arn),  # a function's layers are in its Region
        ):
            if arn is not None and arn.split(":")[3] != home_region:
                raise ConfigError(
                    f"Invalid driftline CDK context:\n  - {key} = {arn!r}: must be in the home Region "
                    f"{home_region} (driftline:homeRegion)"
                )

    @classmethod
    def context_keys(cls) -> tuple[str, ...]:
        return tuple(str(field.alias) for field in cls.model_fields.values())

    @classmethod
    def from_context(cls, context: dict[str, Any]) -> DriftlineConfig:
        """Validate the ``driftline:*`` entries of ``context``; raise ``ConfigError`` listing every problem."""
        ours = {key: value for key, value in context.items() if key.startswith(CONTEXT_PREFIX)}
        try:
            return cls.model_validate(ours)
        except (ValidationError, json.JSONDecodeError) as exc:
            raise ConfigError(_describe(exc, ours)) from exc

    @classmethod
    def from_scope(cls, scope: Construct) -> DriftlineConfig:
        return cls.from_context(dict(scope.node.get_all_context()))


def _describe(exc: ValidationError | json.JSONDecodeError, given: dict[str, Any]) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"Invalid driftline CDK context: a list value is not valid JSON ({exc.msg})"
    lines = ["Invalid driftline CDK context (defaults are in cdk.json; override with -c key=value):"]
    for error in exc.errors():
        key = str(error["loc"][0]) if error["loc"] else None
        if key is None:  # a rule across keys: its message names them
            lines.append(f"  - {error['msg'].removeprefix('Value error, ')}")
        elif error["type"] == "missing":
            lines.append(f"  - {key}: missing (is cdk.json's context loaded?)")
        elif error["type"] == "extra_forbidden":
            lines.append(f"  - {key}: unknown key; known keys are {', '.join(DriftlineConfig.context_keys())}")
        else:
            lines.append(f"  - {key} = {given.get(key)!r}: {error['msg'].removeprefix('Value error, ')}")
    return "\n".join(lines)


# The defaults and feature flags this repository's cdk.json carries, for apps that install driftline and have their
# own cdk.json: ``App(context={**DEFAULT_CONTEXT, ...})``. tests/infrastructure/test_config.py keeps the two equal.
DEFAULT_CONTEXT: Final[Mapping[str, Any]] = MappingProxyType(
    {
        "driftline:scheduleExpression": "rate(1 hour)",
        "driftline:gracePeriodMinutes": 60,
        "driftline:maxKeyAgeDays": 90,
        "driftline:maxUnusedDays": 90,
        "driftline:excludedNamePatterns": [],
        "driftline:excludedPathPrefixes": [],
        "driftline:mode": "report",
        "driftline:breakGlassPrincipals": [],
        "driftline:createTrail": False,
        "driftline:securityHub": True,
        "@aws-cdk/aws-lambda:recognizeLayerVersion": True,
        "@aws-cdk/core:checkSecretUsage": True,
        "@aws-cdk/core:enablePartitionLiterals": True,
        "@aws-cdk/core:explicitStackTags": True,
        "@aws-cdk/aws-iam:standardizedServicePrincipals": True,
        "@aws-cdk/aws-iam:importedRoleStackSafeDefaultPolicyName": True,
        "@aws-cdk/aws-dynamodb:resourcePolicyPerReplica": True,
        "@aws-cdk/aws-dynamodb:retainTableReplica": True,
        "@aws-cdk/core:annotationsInValidationReport": True,
        "@aws-cdk/core:validateAgainstDefaultRules": True,
        "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy": True,
        "cli-telemetry": False,
    }
)


def cdk_json_context(path: Path) -> dict[str, Any]:
    """The ``context`` block of ``cdk.json``, so that ``python app.py`` synthesizes exactly like ``cdk synth``."""
    document = json.loads(path.read_text(encoding="utf-8"))
    context = document.get("context", {})
    if not isinstance(context, dict):
        raise ConfigError(f"{path}: 'context' must be an object")
    return context
