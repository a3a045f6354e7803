"""compare(): trust drift (domain/trust.py): who can assume a role against the registry's ``trusted_principals``."""

from __future__ import annotations

from typing import Any

import pytest

from driftline.domain.drift import DriftType, Severity
from driftline.domain.registry import RegistryEntry
from tests.unit.domain.builders import hours_ago, inventory, observed_role, revoked, role_entry, run, user_entry

GITHUB = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
MAIN = f"Federated:{GITHUB}#sub=repo:org/app:ref:refs/heads/main"
ANY_BRANCH = f"Federated:{GITHUB}#sub=repo:org/app:*"
LAMBDA, PARTNER = "Service:lambda.amazonaws.com", "AWS:111122223333"


def trust_drifts(entry: RegistryEntry, **role: Any) -> dict[DriftType, Any]:
    """The trust drifts of comparing ``entry`` with role ``ci`` built from ``role``, by type."""
    result = run([entry], inventory(roles=[observed_role("ci", **role)]))
    return {d.type: d for d in result.drifts if d.type in (DriftType.EXCESS_TRUST, DriftType.MISSING_TRUST)}


@pytest.mark.parametrize(
    ("approved", "present", "excess", "missing"),
    [
        # exactly the approved principals: nothing
        (["Service:lambda.amazonaws.com"], ("Service:lambda.amazonaws.com",), None, None),
        # an account approved as its root ARN matches the trust policy's account id
        (["arn:aws:iam::111122223333:root"], ("AWS:111122223333",), None, None),
        # a new principal in the trust policy (the persistence technique)
        (
            ["Service:lambda.amazonaws.com"],
            ("AWS:999988887777", "Service:lambda.amazonaws.com"),
            ["AWS:999988887777"],
            None,
        ),
        # [] = nobody approved: any principal is excess
        ([], ("Service:lambda.amazonaws.com",), ["Service:lambda.amazonaws.com"], None),
        # an approved principal gone from the trust policy
        (
            ["Service:lambda.amazonaws.com", "AWS:111122223333"],
            ("AWS:111122223333",),
            None,
            ["Service:lambda.amazonaws.com"],
        ),
        # a GitHub subject widened from main to every branch: excess and missing
        ([MAIN], (ANY_BRANCH,), [ANY_BRANCH], [MAIN]),
        # a provider approved for every subject covers one subject; the reverse does not
        ([f"Federated:{GITHUB}"], (MAIN,), None, None),
        ([MAIN], (f"Federated:{GITHUB}",), [f"Federated:{GITHUB}"], [MAIN]),
        # nobody can assume the role and nobody is approved: nothing
        ([], (), None, None),
    ],
)
def test_excess_and_missing_trust(
    approved: list[str], present: tuple[str, ...], excess: list[str] | None, missing: list[str] | None
) -> None:
    """Tried: role ci approving ``approved`` while its trust policy admits ``present``. Must: excess-trust (HIGH)
    listing exactly ``excess`` and missing-trust (LOW) listing exactly ``missing``, each only when non-empty."""
    found = trust_drifts(role_entry("ci", trusted_principals=approved), trusted_by=present)
    if excess is None:
        assert DriftType.EXCESS_TRUST not in found
    else:
        drift = found[DriftType.EXCESS_TRUST]
        assert (drift.severity, drift.evidence["excess"]) == (Severity.HIGH, excess)
    if missing is None:
        assert DriftType.MISSING_TRUST not in found
    else:
        drift = found[DriftType.MISSING_TRUST]
        assert (drift.severity, drift.evidence["missing"]) == (Severity.LOW, missing)


def test_anyone_without_a_condition_is_critical_and_with_one_is_high() -> None:
    """Tried: role ci approving only lambda while its trust policy admits "*" from a statement without any Condition,
    then the same "*" only under a condition (aws:PrincipalOrgID, say). Must: excess-trust CRITICAL naming "anyone,
    without any condition", then HIGH."""
    entry = role_entry("ci", trusted_principals=["Service:lambda.amazonaws.com"])
    present = ("*", "Service:lambda.amazonaws.com")
    open_drift = trust_drifts(entry, trusted_by=present, trusted_unconditionally=frozenset(present))
    assert open_drift[DriftType.EXCESS_TRUST].severity is Severity.CRITICAL
    assert "without any condition" in open_drift[DriftType.EXCESS_TRUST].summary
    conditioned = trust_drifts(entry, trusted_by=present, trusted_unconditionally=frozenset({present[1]}))
    assert conditioned[DriftType.EXCESS_TRUST].severity is Severity.HIGH


def test_an_approved_wildcard_is_not_excess_even_unconditioned() -> None:
    """Tried: an entry that approves "*" and a trust policy admitting "*" unconditionally. Must: no trust drift (the
    owner approved it; the registry review is where that is questioned)."""
    found = trust_drifts(role_entry("ci", trusted_principals=["*"]), trusted_by=("*",), trusted_unconditionally={"*"})
    assert found == {}


@pytest.mark.parametrize(
    ("entry", "role"),
    [
        (role_entry("ci"), {"trusted_by": ("AWS:999988887777",)}),  # trust not governed
        (role_entry("ci", trusted_principals=[]), {"trusted_by": None}),  # trust policy not read
        (  # a revoked role is judged by its revocation, not its trust
            revoked(role_entry("ci", trusted_principals=[]), hours_ago(1)),
            {"trusted_by": ("AWS:999988887777",)},
        ),
    ],
    ids=["not-governed", "not-read", "revoked"],
)
def test_no_trust_drift_when_nothing_can_be_judged(entry: RegistryEntry, role: dict[str, Any]) -> None:
    """Tried: trust not governed (trusted_principals omitted), a trust policy not read, a revoked entry. Must: no
    excess- or missing-trust drift."""
    assert trust_drifts(entry, **role) == {}


def test_registry_rejects_trust_on_a_user_and_duplicate_principals() -> None:
    """Tried: a user entry with trusted_principals, a role listing an account by id and by root ARN, and a role with
    101 principals. Must: each refused with a reason."""
    with pytest.raises(ValueError, match="only a role has a trust policy"):
        user_entry("alice", trusted_principals=[])
    with pytest.raises(ValueError, match="the same principal"):
        role_entry("ci", trusted_principals=["111122223333", "arn:aws:iam::111122223333:root"])
    with pytest.raises(ValueError, match="at most 100"):
        role_entry("ci", trusted_principals=[f"AWS:{n:012d}" for n in range(101)])


@pytest.mark.parametrize(
    ("present", "organization", "severity"),
    [
        # the organisation is not known (a member's own functions, the hub): another account is HIGH
        ((PARTNER,), None, Severity.HIGH),
        # known, and the partner is a member account: HIGH
        ((PARTNER,), frozenset({"111122223333", "123456789012"}), Severity.HIGH),
        # known, and the partner is outside it: CRITICAL
        ((PARTNER,), frozenset({"123456789012"}), Severity.CRITICAL),
        # a role ARN of an outside account counts by its account
        (("AWS:arn:aws:iam::999988887777:role/x",), frozenset({"123456789012"}), Severity.CRITICAL),
        # a service is never "outside the organisation"
        (("Service:ec2.amazonaws.com",), frozenset({"123456789012"}), Severity.HIGH),
    ],
    ids=["org-unknown", "member-account", "outside-account", "outside-role-arn", "service"],
)
def test_an_unapproved_account_outside_the_organisation_is_critical_where_the_organisation_is_known(
    present: tuple[str, ...], organization: frozenset[str] | None, severity: Severity
) -> None:
    """Tried: role ci approved for lambda only, its trust policy admitting ``present`` too, compared with and without
    the organisation's account list (``scan --org`` knows it). Must: excess-trust with ``severity``; the summary names
    the outside accounts only when there are some."""
    from driftline.domain.settings import CompareSettings

    entry = role_entry("ci", trusted_principals=[LAMBDA])
    role = observed_role("ci", trusted_by=frozenset({LAMBDA, *present}), trusted_unconditionally=frozenset())
    result = run([entry], inventory(roles=[role]), CompareSettings(organization_accounts=organization))
    (drift,) = [d for d in result.drifts if d.type is DriftType.EXCESS_TRUST]
    assert drift.severity is severity
    assert ("outside the organisation" in drift.summary) is (severity is Severity.CRITICAL)
