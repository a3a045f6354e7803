"""Runtime settings of the Lambda functions: the only module that reads the environment.

The CDK stack writes exactly these variables; an infrastructure test validates the synthesized template against
this model, so the stack and the runtime cannot drift apart.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from driftline.adapters.member_access import FINDINGS_PUBLISHER_ROLE, MEMBER_READ_ROLE
from driftline.domain.settings import DEFAULT_EXCLUDED_NAMES, DEFAULT_EXCLUDED_PATHS, CompareSettings, Exclusions

ENV_PREFIX = "DRIFTLINE_"
ROLE_NAME = r"^[A-Za-z0-9+=,.@_-]{1,64}$"  # what IAM accepts as a role name


class RuntimeSettings(BaseModel):
    """Environment of a driftline function (names without the ``DRIFTLINE_`` prefix, lower-cased)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    registry_table: str = Field(min_length=3)
    state_table: str = Field(min_length=3)
    grace_period_minutes: int = Field(default=60, ge=0)
    max_key_age_days: int = Field(default=90, gt=0)
    max_unused_days: int = Field(default=90, gt=0)
    excluded_name_patterns: tuple[str, ...] = ()
    excluded_path_prefixes: tuple[str, ...] = ()
    credential_report_wait_seconds: int = Field(default=60, ge=1, le=600)
    publish_findings: bool = Field(default=True, description="import drifts into Security Hub CSPM")
    hygiene_checks: bool = Field(
        default=True,
        description="raise stale-credential drifts (off where Security Hub IAM.3/IAM.8/IAM.22 or Access Analyzer "
        "unused access already report them)",
    )
    finding_refresh_hours: int = Field(
        default=24,
        ge=1,
        le=60 * 24,
        description="re-import an unchanged open finding this often (its LastObservedAt then says it is current); "
        "Security Hub deletes findings not updated for 90 days",
    )
    mode: Literal["report", "enforce"] = Field(default="report", description="enforce: act on unenforced revocations")
    break_glass_principals: tuple[str, ...] = Field(default=(), description="name globs enforcement never touches")
    deny_policy_arn: str | None = Field(default=None, description="the stack's deny-everything managed policy")
    reconcile_function: str | None = Field(
        default=None, description="the reconcile function an event that names nobody asks for (IAM event function)"
    )
    # Hub and spoke (the hub's functions only): the roles assumed in each member account, and which accounts.
    member_role_name: str = Field(
        default=MEMBER_READ_ROLE, pattern=ROLE_NAME, description="the IAM read-only role of each member account"
    )
    findings_role_name: str = Field(
        default=FINDINGS_PUBLISHER_ROLE,
        pattern=ROLE_NAME,
        description="the role of each member account that imports its findings into its own Security Hub",
    )
    organization_units: tuple[str, ...] = Field(
        default=(), description="the organisational units (or root) whose accounts the hub judges; none: all accounts"
    )

    @field_validator(
        "excluded_name_patterns",
        "excluded_path_prefixes",
        "break_glass_principals",
        "organization_units",
        mode="before",
    )
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @property
    def finding_refresh(self) -> timedelta:
        return timedelta(hours=self.finding_refresh_hours)

    def compare_settings(self) -> CompareSettings:
        return CompareSettings(
            grace_period=timedelta(minutes=self.grace_period_minutes),
            max_key_age_days=self.max_key_age_days,
            max_unused_days=self.max_unused_days,
            hygiene=self.hygiene_checks,
            exclusions=Exclusions(
                path_prefixes=DEFAULT_EXCLUDED_PATHS + self.excluded_path_prefixes,
                name_patterns=DEFAULT_EXCLUDED_NAMES + self.excluded_name_patterns,
            ),
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> RuntimeSettings:
        values = {k[len(ENV_PREFIX) :].lower(): v for k, v in environ.items() if k.startswith(ENV_PREFIX)}
        return cls.model_validate(values)


def env_names() -> set[str]:
    """The environment variable names the runtime reads (the stack must set no others with our prefix)."""
    return {ENV_PREFIX + name.upper() for name in RuntimeSettings.model_fields}


@lru_cache(maxsize=1)
def get_settings() -> RuntimeSettings:
    """Settings read once per cold start; a bad value fails the cold start with a clear validation error."""
    return RuntimeSettings.from_env(os.environ)
