"""The runtime environment every driftline function shares: exactly what ``driftline.settings.RuntimeSettings`` reads.

All three functions load the same settings model (``get_settings``), so they get the same ``DRIFTLINE_*`` variables;
an infrastructure test validates the synthesized environment against the model.
"""

from __future__ import annotations

from typing import Final

from ..config import DriftlineConfig
from ..constants import (
    CREDENTIAL_REPORT_WAIT_SECONDS,
    ENV_BREAK_GLASS_PRINCIPALS,
    ENV_CREDENTIAL_REPORT_WAIT_SECONDS,
    ENV_DENY_POLICY_ARN,
    ENV_EXCLUDED_NAME_PATTERNS,
    ENV_EXCLUDED_PATH_PREFIXES,
    ENV_GRACE_PERIOD_MINUTES,
    ENV_MAX_KEY_AGE_DAYS,
    ENV_MAX_UNUSED_DAYS,
    ENV_MODE,
    ENV_PUBLISH_FINDINGS,
    ENV_REGISTRY_TABLE,
    ENV_STATE_TABLE,
)

# The hygiene switch and the findings' refresh period (driftline:hygieneChecks, driftline:findingRefreshHours).
ENV_HYGIENE_CHECKS: Final = "DRIFTLINE_HYGIENE_CHECKS"
ENV_FINDING_REFRESH_HOURS: Final = "DRIFTLINE_FINDING_REFRESH_HOURS"


def runtime_environment(
    config: DriftlineConfig, *, registry_table: str, state_table: str, deny_policy_arn: str
) -> dict[str, str]:
    """The ``DRIFTLINE_*`` variables, and no others. ``registry_table`` is the table name, or its ARN for a registry
    in another account (DynamoDB resolves a bare name in the caller's own account)."""
    return {
        ENV_REGISTRY_TABLE: registry_table,
        ENV_STATE_TABLE: state_table,
        ENV_GRACE_PERIOD_MINUTES: str(config.grace_period_minutes),
        ENV_MAX_KEY_AGE_DAYS: str(config.max_key_age_days),
        ENV_MAX_UNUSED_DAYS: str(config.max_unused_days),
        ENV_EXCLUDED_NAME_PATTERNS: ",".join(config.excluded_name_patterns),
        ENV_EXCLUDED_PATH_PREFIXES: ",".join(config.excluded_path_prefixes),
        ENV_CREDENTIAL_REPORT_WAIT_SECONDS: str(CREDENTIAL_REPORT_WAIT_SECONDS),
        # Publishing needs securityhub:BatchImportFindings, which the stack grants only with driftline:securityHub.
        ENV_PUBLISH_FINDINGS: str(config.security_hub).lower(),
        ENV_FINDING_REFRESH_HOURS: str(config.finding_refresh_hours),
        ENV_HYGIENE_CHECKS: str(config.hygiene_checks).lower(),
        ENV_MODE: config.mode,
        ENV_BREAK_GLASS_PRINCIPALS: ",".join(config.break_glass_principals),
        ENV_DENY_POLICY_ARN: deny_policy_arn,
    }
