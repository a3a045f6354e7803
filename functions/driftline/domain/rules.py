"""Severity and a title per drift type, as data. The README's drift table is written from this table."""

from __future__ import annotations

from typing import NamedTuple

from driftline.domain.drift import DriftType, Severity
from driftline.domain.identity import Kind


class Rule(NamedTuple):
    severity: Severity
    title: str
    why: str


RULES: dict[DriftType, Rule] = {
    DriftType.REVOKED_CREDENTIAL_USED: Rule(
        Severity.CRITICAL,
        "Revoked credential used",
        "IAM recorded use of the identity after the registry revoked it.",
    ),
    DriftType.UNENFORCED_REVOCATION: Rule(
        Severity.HIGH,
        "Unenforced revocation",
        "The registry revoked the identity, and after the grace period IAM still lets it act.",
    ),
    DriftType.EXPIRED_BUT_ACTIVE: Rule(
        Severity.HIGH,
        "Expired but active",
        "The registry entry's expiry has passed and the identity can still act.",
    ),
    DriftType.EXCESS_ENTITLEMENT: Rule(
        Severity.HIGH,
        "Excess entitlement",
        "IAM grants a policy or group that the registry does not approve.",
    ),
    DriftType.EXCESS_TRUST: Rule(
        Severity.HIGH,
        "Excess trust",
        "The role's trust policy lets a principal assume it that the registry does not approve.",
    ),
    DriftType.UNREGISTERED_IDENTITY: Rule(
        Severity.MEDIUM,
        "Unregistered identity",
        "The identity exists in IAM and nobody registered it: it has no owner.",
    ),
    DriftType.STALE_CREDENTIAL: Rule(
        Severity.MEDIUM,
        "Stale credential",
        "A credential is older than its maximum age or has gone unused too long.",
    ),
    DriftType.MISSING_ENTITLEMENT: Rule(
        Severity.LOW,
        "Missing entitlement",
        "The registry approves an entitlement that IAM never applied.",
    ),
    DriftType.MISSING_TRUST: Rule(
        Severity.LOW,
        "Missing trust",
        "The registry approves a principal to assume the role and the trust policy no longer admits it.",
    ),
    DriftType.MISSING_IDENTITY: Rule(
        Severity.INFORMATIONAL,
        "Missing identity",
        "The registry says the identity is active, and IAM has no such identity.",
    ),
}

# An unregistered long-term key is a live secret nobody answers for: worse than an unregistered principal.
KIND_OVERRIDES: dict[tuple[DriftType, Kind], Severity] = {
    (DriftType.UNREGISTERED_IDENTITY, Kind.ACCESS_KEY): Severity.HIGH,
}


def severity_of(drift_type: DriftType, kind: Kind) -> Severity:
    return KIND_OVERRIDES.get((drift_type, kind), RULES[drift_type].severity)
