"""Drift: one difference between the registry and IAM, with its type, severity, evidence and a sentence for people."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, JsonValue

from driftline.domain.identity import IdentityRef


class DriftType(StrEnum):
    UNREGISTERED_IDENTITY = "unregistered-identity"
    UNENFORCED_REVOCATION = "unenforced-revocation"
    REVOKED_CREDENTIAL_USED = "revoked-credential-used"
    EXPIRED_BUT_ACTIVE = "expired-but-active"
    EXCESS_ENTITLEMENT = "excess-entitlement"
    MISSING_ENTITLEMENT = "missing-entitlement"
    EXCESS_TRUST = "excess-trust"
    MISSING_TRUST = "missing-trust"
    MISSING_IDENTITY = "missing-identity"
    STALE_CREDENTIAL = "stale-credential"


class Severity(StrEnum):
    CRITICAL = "CRITICAL"
    HIGH = "HIGH"
    MEDIUM = "MEDIUM"
    LOW = "LOW"
    INFORMATIONAL = "INFORMATIONAL"

    @property
    def rank(self) -> int:
        """Higher is worse; used to sort output."""
        return list(Severity).index(self) * -1 + len(Severity)


class Drift(BaseModel):
    """One drift. ``key`` is stable for the life of the drift: type plus identity, never wording or evidence."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: DriftType
    severity: Severity
    identity: IdentityRef
    arn: str | None = None
    user: str | None = Field(default=None, description="The owning user, for an access key.")
    owner: str | None = Field(default=None, description="The registry owner; None for an unregistered identity.")
    ticket: str | None = None
    summary: str
    evidence: dict[str, JsonValue] = Field(default_factory=dict)
    since: AwareDatetime | None = Field(default=None, description="When the drift began, where that is known.")

    @property
    def key(self) -> str:
        return f"{self.type.value}/{self.identity.key}"


class RevocationState(StrEnum):
    PENDING = "pending"
    UNENFORCED = "unenforced"
    ENFORCED = "enforced"


class RevocationCheck(BaseModel):
    """The state of one revoked registry entry as this observation saw it (the ledger builds on this)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    identity: IdentityRef
    revoked_at: AwareDatetime
    state: RevocationState
    still_active: tuple[str, ...] = Field(default=(), description="What still lets the identity act, if anything.")
    credentials: tuple[str, ...] = Field(default=(), description="A token per way to act (revocation.Access).")
    grace_ends_at: AwareDatetime
    basis: str | None = Field(default=None, description="Why nobody can act as it, when enforced.")
    principal_id: str | None = Field(
        default=None, description="IAM's unique id of the user or role when observed (kept across renames)."
    )


ENTITLEMENT_DRIFTS = frozenset({DriftType.EXCESS_ENTITLEMENT, DriftType.MISSING_ENTITLEMENT})
# What needs users' credentials (login profile, keys) to judge: whether an identity can act, is stale, or is used or
# enforced as a revocation. Existence, registration and entitlements do not.
CREDENTIAL_DRIFTS = frozenset(
    {
        DriftType.REVOKED_CREDENTIAL_USED,
        DriftType.UNENFORCED_REVOCATION,
        DriftType.EXPIRED_BUT_ACTIVE,
        DriftType.STALE_CREDENTIAL,
    }
)


class Comparison(BaseModel):
    """The outcome of comparing a registry with an inventory."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    drifts: tuple[Drift, ...] = ()
    revocations: tuple[RevocationCheck, ...] = ()
    compared_at: datetime
    # The drift types this comparison can speak for (None: every type). A finding of another type is neither
    # confirmed nor resolved by it.
    judged: frozenset[DriftType] | None = None
    # Identities whose registry items could not be read: nothing is decided about them (no finding raised or
    # resolved, no ledger record moved).
    undecided: frozenset[IdentityRef] = frozenset()

    def judges(self, drift_type: DriftType) -> bool:
        return self.judged is None or drift_type in self.judged

    def by_type(self) -> dict[DriftType, int]:
        counts: dict[DriftType, int] = {}
        for drift in self.drifts:
            counts[drift.type] = counts.get(drift.type, 0) + 1
        return counts
