"""What IAM says now: observed users, roles and access keys, and the inventory that holds them.

An inventory is always *scoped*: the reconcile observes a whole account, the event path a few identities. The
comparison never concludes anything about an identity outside the inventory's scope.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from functools import cached_property
from typing import Any, ClassVar, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from driftline.domain.identity import IdentityRef, Kind, fold


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
    """A policy of the principal's own that denies everything: unconditionally, or only to sessions issued before a
    time (session revocation, which stops no new session). ``via`` says where it sits: an inline policy (by name), an
    attached managed policy or the permissions boundary (by ARN; a boundary counts when it allows nothing)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    policy_name: str
    issued_before: AwareDatetime | None = Field(
        default=None, description="None: denies every request (quarantine); else denies tokens issued before it."
    )
    via: Literal["inline", "managed", "boundary"] = "inline"

    @property
    def unconditional(self) -> bool:
        return self.issued_before is None

    @property
    def description(self) -> str:
        where = {"inline": "inline policy", "managed": "managed policy", "boundary": "permissions boundary"}[self.via]
        return f"{where} {self.policy_name}"


CredentialKind = Literal["ssh-public-key", "service-specific-credential", "signing-certificate"]


class OtherCredential(BaseModel):
    """A user credential besides passwords and access keys: an SSH public key (CodeCommit), a service-specific
    credential (CodeCommit/Keyspaces Git credentials, Bedrock API keys) or an X.509 signing certificate."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: CredentialKind
    credential_id: str
    active: bool
    service: str | None = None

    @property
    def description(self) -> str:
        what = self.kind.replace("-", " ")
        return f"{what} {self.credential_id}" + (f" ({self.service})" if self.service else "")


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
    permissions_boundary: str | None = None
    last_use_event: str | None = Field(default=None, description="CloudTrail event id that proved the last use.")

    kind: ClassVar[Kind]

    @property
    def ref(self) -> IdentityRef:
        return IdentityRef(kind=self.kind, name=self.name)

    @property
    def denied_everything(self) -> SessionDeny | None:
        """The first of the principal's own policies that denies every action unconditionally (nobody can act as
        it, whatever its credentials or sessions), if any."""
        return next((d for d in self.session_denies if d.unconditional), None)

    def sessions_revoked_since(self, when: datetime) -> bool:
        """True when a deny blocks every session, or every session issued before ``when`` or later."""
        return any(d.issued_before is None or d.issued_before >= when for d in self.session_denies)


class ObservedUser(ObservedPrincipal):
    kind: ClassVar[Kind] = Kind.USER
    groups: frozenset[str] = frozenset()
    password_enabled: bool = False
    password_last_used_at: AwareDatetime | None = None
    # SSH public keys, service-specific credentials and signing certificates; None when they were not read (then
    # nothing can be concluded from their absence).
    other_credentials: tuple[OtherCredential, ...] | None = None


class ObservedRole(ObservedPrincipal):
    kind: ClassVar[Kind] = Kind.ROLE
    last_used_at: AwareDatetime | None = None
    # Who the trust policy lets assume the role ("AWS:<arn or account>", "Service:<principal>", "Federated:<provider>",
    # "*"); empty when nobody can; None when the trust policy was not read.
    assumable_by: tuple[str, ...] | None = None
    # The same, principal by principal in canonical form (domain/principals.py: accounts as ids, web-identity subject
    # patterns kept), for trust drift; None when the trust policy was not read.
    trusted_by: tuple[str, ...] | None = None
    # Those of ``trusted_by`` that a statement without any Condition admits (an unconditioned ``*`` is CRITICAL).
    trusted_unconditionally: frozenset[str] = frozenset()


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

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Inventory:
        copied = super().model_copy(update=update, deep=deep)
        copied.__dict__.pop("_folded", None)  # the case-free index describes the original's identities
        copied.__dict__.pop("_by_id", None)
        return copied

    @cached_property
    def _folded(self) -> tuple[dict[str, ObservedUser], dict[str, ObservedRole]]:
        return {fold(n): u for n, u in self.users.items()}, {fold(n): r for n, r in self.roles.items()}

    @cached_property
    def _by_id(self) -> dict[str, ObservedUser | ObservedRole]:
        found: dict[str, ObservedUser | ObservedRole] = {u.principal_id: u for u in self.users.values()}
        return found | {r.principal_id: r for r in self.roles.values()}

    def by_principal_id(self, kind: Kind, principal_id: str) -> ObservedUser | ObservedRole | None:
        """The user or role IAM knows by ``principal_id`` (AIDA…/AROA…), whatever it is called now: a rename keeps
        the id, so this finds a revoked identity that lives on under another name."""
        found = self._by_id.get(principal_id)
        wanted = ObservedUser if kind is Kind.USER else ObservedRole
        return found if isinstance(found, wanted) else None

    def user(self, name: str) -> ObservedUser | None:
        """The user called ``name`` in any case (IAM names are unique regardless of case)."""
        return self.users.get(name) or self._folded[0].get(fold(name))

    def role(self, name: str) -> ObservedRole | None:
        return self.roles.get(name) or self._folded[1].get(fold(name))

    def principal(self, ref: IdentityRef) -> ObservedUser | ObservedRole | None:
        if ref.kind is Kind.USER:
            return self.user(ref.name)
        if ref.kind is Kind.ROLE:
            return self.role(ref.name)
        return None

    def keys_of(self, user_name: str) -> list[ObservedKey]:
        folded = fold(user_name)
        return [k for k in self.keys.values() if fold(k.user_name) == folded]

    def exists(self, ref: IdentityRef) -> bool:
        if ref.kind is Kind.ACCESS_KEY:
            return ref.name in self.keys
        return self.principal(ref) is not None

    @property
    def identity_count(self) -> int:
        return len(self.users) + len(self.roles) + len(self.keys)
