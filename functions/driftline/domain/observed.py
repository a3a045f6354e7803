"""What IAM says now: observed users, roles and access keys, and the inventory that holds them.

An inventory is always *scoped*: the reconcile observes a whole account, the event path a few identities. The
comparison never concludes anything about an identity outside the inventory's scope.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from driftline.domain.identity import IdentityRef, Kind


class KeyStatus(StrEnum):
    ACTIVE = "Active"
    INACTIVE = "Inactive"


class ObservedKey(BaseModel):
    """One IAM access key (long-term credential of a user)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    access_key_id: str
    user_name: str
    status: KeyStatus
    created_at: AwareDatetime
    last_used_at: AwareDatetime | None = None
    last_use_event: str | None = Field(default=None, description="CloudTrail event id that proved the last use.")

    @property
    def ref(self) -> IdentityRef:
        return IdentityRef(kind=Kind.ACCESS_KEY, name=self.access_key_id)

    @property
    def active(self) -> bool:
        return self.status is KeyStatus.ACTIVE


class SessionDeny(BaseModel):
    """An inline deny-everything policy, optionally limited to sessions issued before a time (session revocation)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    policy_name: str
    issued_before: AwareDatetime | None = Field(
        default=None, description="None: denies every request (quarantine); else denies tokens issued before it."
    )


class ObservedPrincipal(BaseModel):
    """Fields that users and roles share."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    arn: str
    principal_id: str
    path: str = "/"
    created_at: AwareDatetime
    managed_policies: frozenset[str] = frozenset()
    inline_policies: frozenset[str] = frozenset()
    tags: dict[str, str] = Field(default_factory=dict)
    session_denies: tuple[SessionDeny, ...] = ()
    last_use_event: str | None = Field(default=None, description="CloudTrail event id that proved the last use.")

    kind: ClassVar[Kind]

    @property
    def ref(self) -> IdentityRef:
        return IdentityRef(kind=self.kind, name=self.name)

    def sessions_revoked_since(self, when: datetime) -> bool:
        """True when an inline deny blocks every session, or every session issued before ``when`` or later."""
        return any(d.issued_before is None or d.issued_before >= when for d in self.session_denies)


class ObservedUser(ObservedPrincipal):
    kind: ClassVar[Kind] = Kind.USER
    groups: frozenset[str] = frozenset()
    password_enabled: bool = False
    password_last_used_at: AwareDatetime | None = None


class ObservedRole(ObservedPrincipal):
    kind: ClassVar[Kind] = Kind.ROLE
    last_used_at: AwareDatetime | None = None


class Facet(StrEnum):
    """What a read of users covered beyond the user itself (existence, path, tags, password last use)."""

    CREDENTIALS = "credentials"  # login profile and access keys (with their last use)
    ENTITLEMENTS = "entitlements"  # attached and inline policies, groups


ALL_FACETS = frozenset(Facet)


class Inventory(BaseModel):
    """Observed identities of one account, and the scope the observation covered.

    ``scope`` is None for a whole-account observation; otherwise it lists the identities that were looked up
    (whether or not IAM has them). Keys of an observed user are part of the scope of that user.

    ``facets`` says what was read of each user: an event that changed only a user's policies or groups reads no
    credentials (keys are then outside the scope), one that changed only credentials reads no entitlements. Roles
    are always read whole. The comparison judges only what the facets read can prove.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    account_id: str
    observed_at: AwareDatetime
    users: dict[str, ObservedUser] = Field(default_factory=dict)
    roles: dict[str, ObservedRole] = Field(default_factory=dict)
    keys: dict[str, ObservedKey] = Field(default_factory=dict)
    scope: frozenset[IdentityRef] | None = None
    facets: frozenset[Facet] = ALL_FACETS

    def covers(self, ref: IdentityRef, key_user: str | None = None) -> bool:
        """Whether this observation looked at ``ref`` (an access key is covered when its user was looked at with
        its credentials)."""
        if Facet.CREDENTIALS not in self.facets and ref.kind is Kind.ACCESS_KEY:
            return False
        if self.scope is None or ref in self.scope:
            return True
        return key_user is not None and IdentityRef(kind=Kind.USER, name=key_user) in self.scope

    def keys_of(self, user_name: str) -> list[ObservedKey]:
        return [k for k in self.keys.values() if k.user_name == user_name]

    def exists(self, ref: IdentityRef) -> bool:
        if ref.kind is Kind.USER:
            return ref.name in self.users
        if ref.kind is Kind.ROLE:
            return ref.name in self.roles
        return ref.name in self.keys

    @property
    def identity_count(self) -> int:
        return len(self.users) + len(self.roles) + len(self.keys)
