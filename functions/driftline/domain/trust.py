"""Trust drift: who can assume a role, against the principals its registry entry approves (``trusted_principals``).

Severity: an unapproved principal is ``excess-trust`` HIGH, and CRITICAL when it is ``*`` admitted by a statement
without any Condition (anyone at all can assume the role), or, where the caller knows the organisation's accounts
(``CompareSettings.organization_accounts``: ``driftline scan --org``), an account outside the organisation. Where
the organisation is not known (a member's own functions, the hub), another account's principal is HIGH like any
other unapproved principal; a conditioned ``*`` (an ``aws:PrincipalOrgID`` condition, say) is HIGH too. An approved
principal the trust policy no longer admits is ``missing-trust`` LOW.
"""

from __future__ import annotations

from driftline.domain.bounds import named
from driftline.domain.context import Context
from driftline.domain.drift import Drift, DriftType, Severity
from driftline.domain.observed import ObservedRole
from driftline.domain.principals import ANYONE, account_of, covers
from driftline.domain.registry import RegistryEntry


def check_trust(ctx: Context, entry: RegistryEntry, role: ObservedRole) -> list[Drift]:
    """Excess and missing trust of one active role entry; nothing when trust is not governed or was not read."""
    approved, present = entry.trusted_principals, role.trusted_by
    if approved is None or present is None:
        return []
    excess = sorted(p for p in present if not any(covers(a, p) for a in approved))
    missing = sorted(a for a in approved if not any(covers(a, p) for p in present))
    drifts: list[Drift] = []
    if excess:
        open_to_anyone = ANYONE in excess and ANYONE in role.trusted_unconditionally
        org = ctx.settings.organization_accounts
        outside = sorted({a for p in excess if (a := account_of(p)) and org is not None and a not in org})
        drift = ctx.drift(
            DriftType.EXCESS_TRUST,
            entry.ref,
            f"role {entry.name} can be assumed by principals the registry does not approve: {named(excess)}"
            + (" (anyone, without any condition)" if open_to_anyone else "")
            + (f" (outside the organisation: {named(outside)})" if outside else ""),
            excess=excess,
            approved=sorted(approved),
            unconditioned=sorted(set(excess) & role.trusted_unconditionally),
            **({"outside_organization": outside} if outside else {}),
        )
        critical = open_to_anyone or bool(outside)
        drifts.append(drift.model_copy(update={"severity": Severity.CRITICAL}) if critical else drift)
    if missing:
        drifts.append(
            ctx.drift(
                DriftType.MISSING_TRUST,
                entry.ref,
                f"role {entry.name}'s trust policy no longer admits approved principals: {named(missing)}",
                missing=missing,
            )
        )
    return drifts
