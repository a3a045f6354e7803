"""RuntimeSettings: the environment of a driftline function, read once and validated strictly."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from driftline.domain.settings import DEFAULT_EXCLUDED_NAMES, DEFAULT_EXCLUDED_PATHS, CompareSettings
from driftline.settings import RuntimeSettings, env_names

REQUIRED = {"DRIFTLINE_REGISTRY_TABLE": "registry", "DRIFTLINE_STATE_TABLE": "state"}


def test_defaults_apply_when_only_tables_are_set() -> None:
    """With only the two table names set, every other setting takes its documented default."""
    # Given only the required variables
    # When the settings are read
    settings = RuntimeSettings.from_env(REQUIRED)
    # Then the defaults apply
    assert settings.registry_table == "registry"
    assert settings.state_table == "state"
    assert settings.grace_period_minutes == 60
    assert settings.max_key_age_days == 90
    assert settings.max_unused_days == 90
    assert settings.excluded_name_patterns == ()
    assert settings.excluded_path_prefixes == ()
    assert settings.credential_report_wait_seconds == 60


def test_values_are_read_from_prefixed_variables_and_others_ignored() -> None:
    """DRIFTLINE_* variables set the fields; variables without the prefix (PATH, AWS_REGION) are ignored."""
    env = {
        **REQUIRED,
        "DRIFTLINE_GRACE_PERIOD_MINUTES": "15",
        "DRIFTLINE_MAX_KEY_AGE_DAYS": "30",
        "DRIFTLINE_MAX_UNUSED_DAYS": "45",
        "MAX_KEY_AGE_DAYS": "1",
        "PATH": "/usr/bin",
    }
    settings = RuntimeSettings.from_env(env)
    assert (settings.grace_period_minutes, settings.max_key_age_days, settings.max_unused_days) == (15, 30, 45)


def test_exclusions_are_comma_split_and_trimmed() -> None:
    """Comma-separated exclusions are split, blanks trimmed, and empty items dropped."""
    env = {
        **REQUIRED,
        "DRIFTLINE_EXCLUDED_NAME_PATTERNS": " breakglass-* , legacy-app,, ",
        "DRIFTLINE_EXCLUDED_PATH_PREFIXES": "/vendor/",
    }
    settings = RuntimeSettings.from_env(env)
    assert settings.excluded_name_patterns == ("breakglass-*", "legacy-app")
    assert settings.excluded_path_prefixes == ("/vendor/",)


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("DRIFTLINE_GRACE_PERIOD_MINUTES", "-1", "Input should be greater than or equal to 0"),
        ("DRIFTLINE_GRACE_PERIOD_MINUTES", "abc", "Input should be a valid integer"),
        ("DRIFTLINE_MAX_KEY_AGE_DAYS", "0", "Input should be greater than 0"),
        ("DRIFTLINE_MAX_UNUSED_DAYS", "1.5", "Input should be a valid integer"),
        ("DRIFTLINE_CREDENTIAL_REPORT_WAIT_SECONDS", "601", "Input should be less than or equal to 600"),
        ("DRIFTLINE_REGISTRY_TABLE", "ab", "String should have at least 3 characters"),
    ],
)
def test_bad_value_raises_naming_the_field(variable: str, value: str, message: str) -> None:
    """A bad {variable}={value} fails validation with a message that names the field and the problem."""
    field = variable.removeprefix("DRIFTLINE_").lower()
    with pytest.raises(ValidationError, match=message) as exc:
        RuntimeSettings.from_env({**REQUIRED, variable: value})
    assert [e["loc"] for e in exc.value.errors()] == [(field,)]


@pytest.mark.parametrize("missing", sorted(REQUIRED))
def test_missing_table_name_raises(missing: str) -> None:
    """Without DRIFTLINE_REGISTRY_TABLE (or the state table) the settings do not load: 'Field required'."""
    env = {k: v for k, v in REQUIRED.items() if k != missing}
    with pytest.raises(ValidationError, match="Field required") as exc:
        RuntimeSettings.from_env(env)
    assert [e["loc"] for e in exc.value.errors()] == [(missing.removeprefix("DRIFTLINE_").lower(),)]


def test_compare_settings_carry_thresholds_and_grace_period() -> None:
    """compare_settings() turns minutes into a timedelta and passes thresholds through."""
    settings = RuntimeSettings.from_env(
        {**REQUIRED, "DRIFTLINE_GRACE_PERIOD_MINUTES": "0", "DRIFTLINE_MAX_KEY_AGE_DAYS": "7"}
    ).compare_settings()
    assert isinstance(settings, CompareSettings)
    assert settings.grace_period == timedelta(0)
    assert settings.max_key_age_days == 7
    assert settings.max_unused_days == 90


def test_compare_settings_merge_default_exclusions_with_extras() -> None:
    """Extra exclusions are added after the defaults; the defaults are never dropped."""
    env = {
        **REQUIRED,
        "DRIFTLINE_EXCLUDED_NAME_PATTERNS": "breakglass-*",
        "DRIFTLINE_EXCLUDED_PATH_PREFIXES": "/vendor/",
    }
    exclusions = RuntimeSettings.from_env(env).compare_settings().exclusions
    assert exclusions.name_patterns == (*DEFAULT_EXCLUDED_NAMES, "breakglass-*")
    assert exclusions.path_prefixes == (*DEFAULT_EXCLUDED_PATHS, "/vendor/")
    assert exclusions.excludes("breakglass-admin")
    assert exclusions.excludes("anything", "/vendor/tool/")
    assert exclusions.excludes("AWSServiceRoleForSupport")


def test_compare_settings_without_extras_are_the_defaults() -> None:
    """With no extra exclusions the comparison uses exactly the default exclusions."""
    exclusions = RuntimeSettings.from_env(REQUIRED).compare_settings().exclusions
    assert exclusions.name_patterns == DEFAULT_EXCLUDED_NAMES
    assert exclusions.path_prefixes == DEFAULT_EXCLUDED_PATHS


def test_env_names_list_every_field_with_the_prefix() -> None:
    """env_names() is the set of variables the stack may set: one per field, prefixed and upper-cased."""
    names = env_names()
    assert "DRIFTLINE_REGISTRY_TABLE" in names
    assert "DRIFTLINE_GRACE_PERIOD_MINUTES" in names
    assert len(names) == len(RuntimeSettings.model_fields)
    assert all(n.startswith("DRIFTLINE_") and n == n.upper() for n in names)


def test_hub_settings_default_to_the_spoke_roles_and_every_account() -> None:
    """The hub's roles default to DriftlineReadOnly / DriftlineFindingsPublisher, the units to none (all accounts)."""
    settings = RuntimeSettings.from_env(REQUIRED)
    assert settings.member_role_name == "DriftlineReadOnly"
    assert settings.findings_role_name == "DriftlineFindingsPublisher"
    assert settings.organization_units == ()


def test_organization_units_are_comma_split_and_role_names_read() -> None:
    env = {
        **REQUIRED,
        "DRIFTLINE_ORGANIZATION_UNITS": " ou-ab12-11111111 ,, r-ab12 ",
        "DRIFTLINE_MEMBER_ROLE_NAME": "AuditRead",
        "DRIFTLINE_FINDINGS_ROLE_NAME": "AuditFindings",
    }
    settings = RuntimeSettings.from_env(env)
    assert settings.organization_units == ("ou-ab12-11111111", "r-ab12")
    assert (settings.member_role_name, settings.findings_role_name) == ("AuditRead", "AuditFindings")


@pytest.mark.parametrize("field", ["member_role_name", "findings_role_name"])
@pytest.mark.parametrize("value", ["", "role/with/path", "x" * 65])
def test_a_role_name_iam_would_refuse_is_refused(field: str, value: str) -> None:
    with pytest.raises(ValidationError, match="String should match pattern") as exc:
        RuntimeSettings.from_env({**REQUIRED, f"DRIFTLINE_{field.upper()}": value})
    assert [e["loc"] for e in exc.value.errors()] == [(field,)]


def test_hygiene_checks_default_on_and_turn_off_from_the_environment() -> None:
    """Input: no DRIFTLINE_HYGIENE_CHECKS, then "false". Must give hygiene on by default and off with "false", in
    the comparison's settings too (the stack writes this variable from driftline:hygieneChecks)."""
    assert RuntimeSettings.from_env(REQUIRED).compare_settings().hygiene is True
    off = RuntimeSettings.from_env({**REQUIRED, "DRIFTLINE_HYGIENE_CHECKS": "false"})
    assert off.hygiene_checks is False
    assert off.compare_settings().hygiene is False


@pytest.mark.parametrize(
    ("value", "period"),
    [(None, timedelta(days=1)), ("6", timedelta(hours=6)), ("336", timedelta(days=14))],
    ids=["default", "6h", "14d"],
)
def test_finding_refresh_period_comes_from_the_environment(value: str | None, period: timedelta) -> None:
    """Input: DRIFTLINE_FINDING_REFRESH_HOURS unset, 6 and 336. Must give a refresh period of a day, 6 hours and 14
    days."""
    env = REQUIRED if value is None else {**REQUIRED, "DRIFTLINE_FINDING_REFRESH_HOURS": value}
    assert RuntimeSettings.from_env(env).finding_refresh == period


@pytest.mark.parametrize("value", ["0", "1441", "soon"])
def test_a_refresh_period_outside_one_hour_to_sixty_days_fails_the_cold_start(value: str) -> None:
    """Input: DRIFTLINE_FINDING_REFRESH_HOURS 0, 1441 (over 60 days, too close to Security Hub's 90-day deletion)
    and "soon". Must fail validation naming the field."""
    with pytest.raises(ValidationError) as exc:
        RuntimeSettings.from_env({**REQUIRED, "DRIFTLINE_FINDING_REFRESH_HOURS": value})
    assert [e["loc"] for e in exc.value.errors()] == [("finding_refresh_hours",)]
