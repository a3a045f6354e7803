"""What the comparison is told besides the two states: thresholds, the grace period and the exclusions."""

from __future__ import annotations

from datetime import timedelta
from fnmatch import fnmatchcase

from pydantic import BaseModel, ConfigDict, Field

from driftline.domain.identity import Kind

# AWS-owned identities (AWS-FACTS section 3): service-linked roles, IAM Identity Center roles, CDK bootstrap roles.
DEFAULT_EXCLUDED_PATHS: tuple[str, ...] = ("/aws-service-role/", "/aws-reserved/sso.amazonaws.com/")
DEFAULT_EXCLUDED_NAMES: tuple[str, ...] = (
    "AWSServiceRoleFor*",
    "AWSReservedSSO_*",
    "cdk-*-deploy-role-*",
    "cdk-*-file-publishing-role-*",
    "cdk-*-image-publishing-role-*",
    "cdk-*-lookup-role-*",
    "cdk-*-cfn-exec-role-*",
    "Driftline*",
)


class Exclusions(BaseModel):
    """Identities that driftline never calls unregistered. An explicit registry entry still covers any of them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    path_prefixes: tuple[str, ...] = DEFAULT_EXCLUDED_PATHS
    name_patterns: tuple[str, ...] = DEFAULT_EXCLUDED_NAMES

    def excludes(self, name: str, path: str = "/", kind: Kind = Kind.ROLE) -> bool:
        """Whether an identity is excluded. The built-in name patterns describe AWS-owned and driftline's own
        *roles*: a user (or a user's key) that borrows such a name is still judged."""
        if any(path.startswith(prefix) for prefix in self.path_prefixes):
            return True
        patterns = self.name_patterns
        if kind is not Kind.ROLE:
            patterns = tuple(p for p in patterns if p not in DEFAULT_EXCLUDED_NAMES)
        return any(fnmatchcase(name, pattern) for pattern in patterns)


class CompareSettings(BaseModel):
    """Thresholds and policy for one comparison. Per-identity thresholds in the registry override the defaults."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    grace_period: timedelta = Field(default=timedelta(hours=1), ge=timedelta(0))
    max_key_age_days: int = Field(default=90, gt=0)
    max_unused_days: int = Field(default=90, gt=0)
    exclusions: Exclusions = Field(default_factory=Exclusions)
    # The stale-credential checks (key age, unused keys, passwords and roles) repeat Security Hub controls IAM.3,
    # IAM.8 and IAM.22 and IAM Access Analyzer's unused-access findings: an account that has those turns them off.
    # Off, stale-credential is neither raised nor resolved (the comparison does not judge it).
    hygiene: bool = True
    # The organisation's account ids, where the caller knows them (``driftline scan --org``): an unapproved principal
    # of an account outside the organisation can then be told apart and is CRITICAL. None: not known (HIGH).
    organization_accounts: frozenset[str] | None = None
