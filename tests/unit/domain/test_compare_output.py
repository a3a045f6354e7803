"""compare(): the shape of its output: severities, ordering, keys, owners and stable wording."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from driftline.domain.compare import compare
from driftline.domain.drift import Comparison, DriftType, Severity
from driftline.domain.observed import Inventory
from driftline.domain.registry import RegistryEntry
from driftline.domain.rules import RULES, severity_of
from driftline.domain.settings import CompareSettings
from tests.unit.domain.builders import (
    NOW,
    days_ago,
    hours_ago,
    inactive,
    inventory,
    key_entry,
    key_id,
    observed_key,
    observed_role,
    observed_user,
    policy_arn,
    revoked,
    role_entry,
    run,
    user_entry,
)

ALICE_KEY, UNREG_KEY, REVOKED_KEY = key_id(1), key_id(2), key_id(3)


def _every_drift_type() -> tuple[list[RegistryEntry], Inventory]:
    """A registry and an account that between them show every drift type at least once."""
    inv = inventory(
        users=[
            observed_user("alice", managed_policies=frozenset({policy_arn("AdministratorAccess")})),
            observed_user("bob"),
            observed_user("ghost"),
            observed_user("temp", password_enabled=True, password_last_used_at=days_ago(1)),
        ],
        roles=[
            observed_role("ops", last_used_at=hours_ago(1)),
            observed_role("old", created_at=days_ago(400), last_used_at=None),
            observed_role(
                "ci", trusted_by=("AWS:111122223333", "Service:ec2.amazonaws.com"), last_used_at=hours_ago(1)
            ),
        ],
        keys=[
            observed_key(ALICE_KEY, "alice"),
            observed_key(UNREG_KEY, "bob"),
            observed_key(REVOKED_KEY, "bob", last_used_at=days_ago(2)),
        ],
    )
    entries = [
        user_entry("alice", owner="alice-owner", managed_policies=[]),
        key_entry(ALICE_KEY, "alice", owner="alice-key-owner"),
        user_entry("bob", owner="bob-owner", groups=["devs"]),
        revoked(key_entry(REVOKED_KEY, "bob"), days_ago(1)),
        user_entry("temp", expires_at=days_ago(2)),
        revoked(role_entry("ops"), hours_ago(5)),
        role_entry("old"),
        role_entry("ci", trusted_principals=["Service:ec2.amazonaws.com", "Service:lambda.amazonaws.com"]),
        user_entry("carol"),
    ]
    return entries, inv


@pytest.fixture
def result() -> Comparison:
    entries, inv = _every_drift_type()
    return run(entries, inv)


def test_scenario_shows_every_drift_type(result: Comparison) -> None:
    """Guard for the tests below: the scenario yields each of the ten drift types."""
    assert set(result.by_type()) == set(DriftType)


def test_severity_of_every_drift_matches_the_rules(result: Comparison) -> None:
    """Every drift's severity is rules.severity_of(type, kind)."""
    for drift in result.drifts:
        assert drift.severity is severity_of(drift.type, drift.identity.kind), drift.key


@pytest.mark.parametrize(
    ("drift_key", "severity"),
    [
        (f"unregistered-identity/access_key#{UNREG_KEY}", Severity.HIGH),
        ("unregistered-identity/user#ghost", Severity.MEDIUM),
        ("revoked-credential-used/role#ops", Severity.CRITICAL),
        ("unenforced-revocation/role#ops", Severity.HIGH),
        (f"unenforced-revocation/access_key#{REVOKED_KEY}", Severity.HIGH),
        ("expired-but-active/user#temp", Severity.HIGH),
        ("excess-entitlement/user#alice", Severity.HIGH),
        ("missing-entitlement/user#bob", Severity.LOW),
        ("missing-identity/user#carol", Severity.INFORMATIONAL),
        ("stale-credential/role#old", Severity.MEDIUM),
        ("excess-trust/role#ci", Severity.HIGH),
        ("missing-trust/role#ci", Severity.LOW),
    ],
)
def test_expected_drift_with_expected_severity(result: Comparison, drift_key: str, severity: Severity) -> None:
    """The drift {drift_key} is present with severity {severity}; its key is f'{type}/{kind}#{name}'."""
    by_key = {d.key: d for d in result.drifts}
    assert drift_key in by_key, sorted(by_key)
    drift = by_key[drift_key]
    assert drift.severity is severity
    assert drift.key == f"{drift.type.value}/{drift.identity.kind.value}#{drift.identity.name}"


def test_drift_keys_are_unique(result: Comparison) -> None:
    """No two drifts share a key: a finding id derived from it is stable and unambiguous."""
    keys = [d.key for d in result.drifts]
    assert len(keys) == len(set(keys))


def test_output_is_sorted_worst_first_then_type_then_identity(result: Comparison) -> None:
    """Drifts come worst severity first, ties by type name, then identity key."""
    order = [(-d.severity.rank, d.type.value, d.identity.key) for d in result.drifts]
    assert order == sorted(order)
    assert result.drifts[0].severity is Severity.CRITICAL
    assert result.drifts[-1].severity is Severity.INFORMATIONAL


def test_severity_rank_orders_critical_to_informational() -> None:
    """rank is strictly decreasing from CRITICAL to INFORMATIONAL."""
    ranks = [s.rank for s in (Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW, Severity.INFORMATIONAL)]
    assert ranks == sorted(ranks, reverse=True)
    assert len(set(ranks)) == len(ranks)


def test_rules_cover_every_drift_type() -> None:
    """Every drift type has a rule; only the unregistered access key overrides its type's severity."""
    assert set(RULES) == set(DriftType)
    assert severity_of(DriftType.UNREGISTERED_IDENTITY, key_entry(key_id(1), "a").kind) is Severity.HIGH
    assert RULES[DriftType.UNREGISTERED_IDENTITY].severity is Severity.MEDIUM
    assert RULES[DriftType.REVOKED_CREDENTIAL_USED].severity is Severity.CRITICAL


@pytest.mark.parametrize(
    ("drift_key", "owner", "user"),
    [
        ("excess-entitlement/user#alice", "alice-owner", None),
        (f"unregistered-identity/access_key#{UNREG_KEY}", "bob-owner", "bob"),
        ("missing-entitlement/user#bob", "bob-owner", None),
        ("unregistered-identity/user#ghost", None, None),
    ],
)
def test_owner_comes_from_the_registry(result: Comparison, drift_key: str, owner: str | None, user: str | None) -> None:
    """Owner is the entry's owner; an unregistered key of a registered user gets the user's owner; an unregistered
    user has none."""
    drift = next(d for d in result.drifts if d.key == drift_key)
    assert (drift.owner, drift.user) == (owner, user)


def test_every_drift_has_an_arn_when_iam_holds_the_identity(result: Comparison) -> None:
    """Drifts about identities IAM holds carry the principal's ARN (a key carries its user's); missing ones do not."""
    for drift in result.drifts:
        if drift.type is DriftType.MISSING_IDENTITY:
            assert drift.arn is None
        else:
            assert drift.arn is not None and drift.arn.startswith("arn:aws:iam::"), drift.key


def test_comparison_is_json_serialisable(result: Comparison) -> None:
    """The whole comparison (evidence included) dumps to JSON and back."""
    loaded = json.loads(result.model_dump_json())
    assert len(loaded["drifts"]) == len(result.drifts)


def test_unchanged_drift_reads_the_same_a_day_later() -> None:
    """The same account compared now and one day later: every drift present both times has the same summary and
    evidence (wording uses absolute times, so findings do not churn)."""
    # Given the same registry and account
    entries, inv = _every_drift_type()
    # When compared at two moments
    first = compare(entries, inv, CompareSettings(), NOW)
    later = compare(entries, inv, CompareSettings(), NOW + timedelta(days=1))
    # Then the drifts present both times read the same
    first_by_key = {d.key: d for d in first.drifts}
    common = [d for d in later.drifts if d.key in first_by_key]
    assert len(common) == len(first.drifts)
    for drift in common:
        assert (drift.summary, drift.evidence) == (first_by_key[drift.key].summary, first_by_key[drift.key].evidence)


def test_compare_accepts_a_mapping_of_entries() -> None:
    """compare() takes a {ref: entry} mapping as well as an iterable, with the same result."""
    entries, inv = _every_drift_type()
    as_list = compare(entries, inv, CompareSettings(), NOW)
    as_map = compare({e.ref: e for e in entries}, inv, CompareSettings(), NOW)
    assert as_map == as_list


def test_inactive_key_of_unregistered_user_adds_nothing() -> None:
    """Adding an Inactive unregistered key changes nothing: same drifts as without it."""
    entries, inv = _every_drift_type()
    with_key = inv.model_copy(update={"keys": {**inv.keys, key_id(99): inactive(observed_key(key_id(99), "ghost"))}})
    assert run(entries, with_key).drifts == run(entries, inv).drifts
