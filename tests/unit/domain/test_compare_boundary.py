"""compare(): the approved permissions boundary (``permissions_boundary``) as entitlement drift."""

from __future__ import annotations

from typing import Any

import pytest

from driftline.domain.drift import DriftType, Severity
from driftline.domain.registry import RegistryEntry
from tests.unit.domain.builders import (
    inventory,
    key_entry,
    key_id,
    observed_role,
    observed_user,
    policy_arn,
    role_entry,
    run,
    user_entry,
)

DEV, WIDE = policy_arn("DevBoundary"), policy_arn("WideBoundary")


def boundary_drifts(entry: RegistryEntry, held: str | None) -> dict[DriftType, Any]:
    """Entitlement drifts of ``entry`` against its principal holding boundary ``held``, by type."""
    if entry.kind.value == "role":
        inv = inventory(roles=[observed_role(entry.name, permissions_boundary=held)])
    else:
        inv = inventory(users=[observed_user(entry.name, permissions_boundary=held)])
    result = run([entry], inv)
    wanted = (DriftType.EXCESS_ENTITLEMENT, DriftType.MISSING_ENTITLEMENT)
    return {d.type: d for d in result.drifts if d.type in wanted}


@pytest.mark.parametrize("make", [role_entry, user_entry], ids=["role", "user"])
@pytest.mark.parametrize(
    ("approved", "held", "excess", "missing"),
    [
        (DEV, DEV, None, None),  # the approved boundary: nothing
        (DEV, None, [f"none (approved {DEV})"], None),  # removed: excess (HIGH)
        (DEV, WIDE, [f"{WIDE} (approved {DEV})"], None),  # replaced: excess (HIGH)
        ("none", WIDE, None, [f"none (IAM has {WIDE})"]),  # one where none is approved: missing (LOW)
        ("none", None, None, None),  # none approved, none held: nothing
        (None, WIDE, None, None),  # not governed
    ],
)
def test_permissions_boundary_drift(
    make: Any, approved: str | None, held: str | None, excess: list[str] | None, missing: list[str] | None
) -> None:
    """Tried: an entry approving boundary ``approved`` (None: field omitted; 'none': no boundary) and IAM holding
    ``held``. Must: excess-entitlement (HIGH) with evidence permissions_boundary == ``excess`` when the boundary was
    removed or replaced, missing-entitlement (LOW) with ``missing`` when one is held and none approved, else none."""
    fields = {} if approved is None else {"permissions_boundary": approved}
    found = boundary_drifts(make("ci", **fields), held)
    if excess is None:
        assert DriftType.EXCESS_ENTITLEMENT not in found
    else:
        drift = found[DriftType.EXCESS_ENTITLEMENT]
        assert drift.severity is Severity.HIGH
        assert drift.evidence["excess"] == {"permissions_boundary": excess}
        assert "permissions boundary" in drift.summary
    if missing is None:
        assert DriftType.MISSING_ENTITLEMENT not in found
    else:
        assert found[DriftType.MISSING_ENTITLEMENT].evidence["missing"] == {"permissions_boundary": missing}


def test_permissions_boundary_validation() -> None:
    """Tried: a boundary that is not a policy ARN, and a boundary on an access key. Must: both refused, naming the
    problem; 'none' and a policy ARN are accepted."""
    with pytest.raises(ValueError, match="not an IAM managed policy ARN"):
        role_entry("ci", permissions_boundary="DevBoundary")
    with pytest.raises(ValueError, match="holds no entitlements"):
        key_entry(key_id(1), "alice", permissions_boundary=DEV)
    assert role_entry("ci", permissions_boundary="none").permissions_boundary == "none"
    assert user_entry("alice", permissions_boundary=DEV).permissions_boundary == DEV
