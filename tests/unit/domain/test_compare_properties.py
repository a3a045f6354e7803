"""Properties of compare(): a registry that describes IAM exactly yields no drift, and one injected difference yields
exactly the one drift it should, about the identity it touched, and nothing else.

Every generated time lies between 1 and 60 days before ``NOW``: nothing is stale under the default 90-day limits,
and a revocation decided in the last day comes after every recorded use.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from driftline.domain.compare import compare
from driftline.domain.drift import DriftType
from driftline.domain.identity import IdentityRef, Kind
from driftline.domain.observed import (
    Inventory,
    KeyStatus,
    ObservedKey,
    ObservedPrincipal,
    ObservedRole,
    ObservedUser,
)
from driftline.domain.registry import RegistryEntry, Status
from driftline.domain.settings import CompareSettings
from tests.unit.domain.builders import (
    ACCOUNT,
    NOW,
    key_entry,
    key_id,
    kinds_and_names,
    observed_key,
    observed_role,
    observed_user,
    policy_arn,
    role_entry,
    user_entry,
)

PROPERTY = settings(max_examples=30, deadline=None)
POLICIES = [policy_arn(f"Policy{i}") for i in range(6)]
GROUPS = [f"group-{i}" for i in range(5)]
INLINES = [f"inline-{i}" for i in range(5)]
INJECTED_POLICY = policy_arn("InjectedPolicy")
MINUTES = st.integers(min_value=24 * 60, max_value=60 * 24 * 60)  # 1 to 60 days, in minutes
Registry = dict[IdentityRef, RegistryEntry]


def _ago(minutes: int) -> datetime:
    return NOW - timedelta(minutes=minutes)


@st.composite
def entitlements(draw: st.DrawFn) -> dict[str, frozenset[str]]:
    return {
        "managed_policies": draw(st.frozensets(st.sampled_from(POLICIES), max_size=3)),
        "inline_policies": draw(st.frozensets(st.sampled_from(INLINES), max_size=2)),
    }


@st.composite
def inventories(draw: st.DrawFn) -> Inventory:
    """A random account: 1-5 users with groups, policies, a password and 0-2 keys each; 0-3 roles. The first
    user always holds one Active key, so there is always something a revocation or expiry can catch."""
    user_numbers = sorted(draw(st.sets(st.integers(0, 40), min_size=1, max_size=5)))
    role_numbers = sorted(draw(st.sets(st.integers(0, 40), max_size=3)))
    users: list[ObservedUser] = []
    roles: list[ObservedRole] = []
    keys: list[ObservedKey] = []
    for index, number in enumerate(user_numbers):
        name = f"user-{number}"
        password = draw(st.booleans())
        users.append(
            observed_user(
                name,
                created_at=_ago(draw(MINUTES)),
                groups=draw(st.frozensets(st.sampled_from(GROUPS), max_size=3)),
                password_enabled=password,
                password_last_used_at=_ago(draw(MINUTES)) if password and draw(st.booleans()) else None,
                **draw(entitlements()),
            )
        )
        statuses = [KeyStatus.ACTIVE] if index == 0 else []
        statuses += draw(st.lists(st.sampled_from(KeyStatus), max_size=2 - len(statuses)))
        for status in statuses:
            last_used = _ago(draw(MINUTES)) if draw(st.booleans()) else None
            keys.append(
                observed_key(
                    key_id(len(keys) + 1), name, status=status, created_at=_ago(draw(MINUTES)), last_used_at=last_used
                )
            )
    for number in role_numbers:
        last_used = _ago(draw(MINUTES)) if draw(st.booleans()) else None
        roles.append(
            observed_role(
                f"role-{number}", created_at=_ago(draw(MINUTES)), last_used_at=last_used, **draw(entitlements())
            )
        )
    return Inventory(
        account_id=ACCOUNT,
        observed_at=NOW,
        users={u.name: u for u in users},
        roles={r.name: r for r in roles},
        keys={k.access_key_id: k for k in keys},
    )


def registry_for(inv: Inventory) -> Registry:
    """The registry that describes exactly what IAM holds: every identity, with exactly its entitlements."""
    entries = [
        *(
            user_entry(
                u.name,
                managed_policies=sorted(u.managed_policies),
                groups=sorted(u.groups),
                inline_policies=sorted(u.inline_policies),
            )
            for u in inv.users.values()
        ),
        *(
            role_entry(r.name, managed_policies=sorted(r.managed_policies), inline_policies=sorted(r.inline_policies))
            for r in inv.roles.values()
        ),
        *(key_entry(k.access_key_id, k.user_name) for k in inv.keys.values()),
    ]
    return {e.ref: e for e in entries}


def _compare(registry: Registry, inv: Inventory) -> list[tuple[DriftType, str]]:
    return kinds_and_names(compare(registry, inv, CompareSettings(), NOW))


def _with(entry: RegistryEntry, **changes: object) -> RegistryEntry:
    return RegistryEntry(**{**entry.model_dump(), **changes})


def _active_keys(inv: Inventory) -> list[ObservedKey]:
    return sorted((k for k in inv.keys.values() if k.active), key=lambda k: k.access_key_id)


def _principals(inv: Inventory) -> list[ObservedPrincipal]:
    return [*inv.users.values(), *inv.roles.values()]


def _can_act(inv: Inventory) -> list[IdentityRef]:
    """Identities IAM still lets act: Active keys, users with a password or an Active key, every role."""
    users = [u.ref for u in inv.users.values() if u.password_enabled or any(k.active for k in inv.keys_of(u.name))]
    return [*(k.ref for k in _active_keys(inv)), *users, *(r.ref for r in inv.roles.values())]


# --- the baseline ----------------------------------------------------------------------------------------------


@PROPERTY
@given(inv=inventories())
def test_registry_describing_iam_exactly_gives_no_drift(inv: Inventory) -> None:
    """Any generated account compared with the registry built from it: no drift and no revocation checks."""
    # Given a registry that describes IAM exactly
    registry = registry_for(inv)
    # When compared
    result = compare(registry, inv, CompareSettings(), NOW)
    # Then nothing drifts
    assert result.drifts == ()
    assert result.revocations == ()


@PROPERTY
@given(inv=inventories(), data=st.data())
def test_result_does_not_depend_on_entry_order(inv: Inventory, data: st.DataObject) -> None:
    """Shuffling the registry entries (with one user dropped so there is drift) does not change the result."""
    registry = registry_for(inv)
    dropped = data.draw(st.sampled_from(sorted(inv.users)))
    entries = [e for e in registry.values() if e.ref != IdentityRef.parse(f"user#{dropped}")]
    shuffled = data.draw(st.permutations(entries))
    assert compare(shuffled, inv, CompareSettings(), NOW) == compare(entries, inv, CompareSettings(), NOW)


# --- one injected difference -> exactly one drift --------------------------------------------------------------


@PROPERTY
@given(inv=inventories(), data=st.data())
def test_dropping_a_users_entry_gives_one_unregistered_identity(inv: Inventory, data: st.DataObject) -> None:
    """Remove one user's entry (its keys stay registered): exactly one unregistered-identity for that user."""
    # Given
    registry = registry_for(inv)
    name = data.draw(st.sampled_from(sorted(inv.users)))
    del registry[inv.users[name].ref]
    # When / Then
    assert _compare(registry, inv) == [(DriftType.UNREGISTERED_IDENTITY, f"user#{name}")]


@PROPERTY
@given(inv=inventories(), data=st.data())
def test_extra_attached_policy_gives_one_excess_entitlement(inv: Inventory, data: st.DataObject) -> None:
    """Attach a policy the registry does not approve to one user or role: exactly one excess-entitlement for it."""
    # Given IAM gains a policy on one principal
    registry = registry_for(inv)
    principal = data.draw(st.sampled_from(_principals(inv)))
    changed = principal.model_copy(update={"managed_policies": principal.managed_policies | {INJECTED_POLICY}})
    group = "users" if principal.ref.kind is Kind.USER else "roles"
    inv = inv.model_copy(update={group: {**getattr(inv, group), principal.name: changed}})
    # When / Then
    assert _compare(registry, inv) == [(DriftType.EXCESS_ENTITLEMENT, principal.ref.key)]


@PROPERTY
@given(inv=inventories(), data=st.data())
def test_approved_policy_not_held_gives_one_missing_entitlement(inv: Inventory, data: st.DataObject) -> None:
    """Approve a policy IAM never attached on one user or role: exactly one missing-entitlement for it."""
    # Given the registry approves one more policy
    registry = registry_for(inv)
    ref = data.draw(st.sampled_from([p.ref for p in _principals(inv)]))
    entry = registry[ref]
    registry[ref] = _with(entry, managed_policies=(*(entry.managed_policies or ()), INJECTED_POLICY))
    # When / Then
    assert _compare(registry, inv) == [(DriftType.MISSING_ENTITLEMENT, ref.key)]


@PROPERTY
@given(inv=inventories())
def test_entry_for_nonexistent_user_gives_one_missing_identity(inv: Inventory) -> None:
    """Register a user IAM does not have: exactly one missing-identity for it."""
    registry = registry_for(inv)
    ghost = user_entry("ghost-user")
    registry[ghost.ref] = ghost
    assert _compare(registry, inv) == [(DriftType.MISSING_IDENTITY, "user#ghost-user")]


@PROPERTY
@given(inv=inventories(), data=st.data(), hours=st.integers(min_value=2, max_value=23))
def test_revoking_an_entry_that_can_act_gives_one_unenforced_revocation(
    inv: Inventory, data: st.DataObject, hours: int
) -> None:
    """Revoke an Active key's entry, or a user that still has a password or an Active key, 2-23 h ago (grace 1 h,
    after every recorded use): exactly one unenforced-revocation for it."""
    # Given a revocation IAM has not enforced
    registry = registry_for(inv)
    candidates = [r for r in _can_act(inv) if r.kind is not Kind.ROLE]
    ref = data.draw(st.sampled_from(candidates))
    registry[ref] = _with(registry[ref], status=Status.REVOKED, revoked_at=NOW - timedelta(hours=hours))
    # When / Then
    assert _compare(registry, inv) == [(DriftType.UNENFORCED_REVOCATION, ref.key)]


@PROPERTY
@given(inv=inventories(), data=st.data(), minutes=st.integers(min_value=0, max_value=10 * 24 * 60))
def test_past_expiry_gives_one_expired_but_active(inv: Inventory, data: st.DataObject, minutes: int) -> None:
    """Set expires_at up to 10 days in the past on an identity that can still act: exactly one expired-but-active."""
    registry = registry_for(inv)
    ref = data.draw(st.sampled_from(_can_act(inv)))
    registry[ref] = _with(registry[ref], expires_at=NOW - timedelta(minutes=minutes))
    assert _compare(registry, inv) == [(DriftType.EXPIRED_BUT_ACTIVE, ref.key)]


@PROPERTY
@given(inv=inventories(), data=st.data(), age=st.integers(min_value=91, max_value=2000))
def test_key_past_max_age_gives_one_stale_credential(inv: Inventory, data: st.DataObject, age: int) -> None:
    """Make one Active key 91-2000 days old (used yesterday): exactly one stale-credential for that key."""
    registry = registry_for(inv)
    key = data.draw(st.sampled_from(_active_keys(inv)))
    aged = key.model_copy(update={"created_at": NOW - timedelta(days=age), "last_used_at": NOW - timedelta(days=1)})
    inv = inv.model_copy(update={"keys": {**inv.keys, key.access_key_id: aged}})
    assert _compare(registry, inv) == [(DriftType.STALE_CREDENTIAL, key.ref.key)]
