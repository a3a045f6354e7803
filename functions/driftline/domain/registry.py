"""The registry entry: the desired state of one identity, validated strictly so a bad entry never reaches a decision.

An entitlement list that is ``None`` means "not governed" (driftline does not judge that dimension); an empty
list means "nothing approved", so anything IAM holds there is excess.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from driftline.domain.identity import IdentityRef, Kind
from driftline.domain.principals import parse_principal
from driftline.domain.times import BoundedTime, Count

ACCESS_KEY_ID = re.compile(r"^AKIA[A-Z0-9]{16}$")
POLICY_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(aws|[0-9]{12}):policy/.+$")
# IAM user and role names: ASCII letters, digits and +=,.@_- only, at most 64 characters (CreateUser/CreateRole).
IAM_NAME = re.compile(r"^[A-Za-z0-9+=,.@_-]{1,64}$")

NO_BOUNDARY = "none"  # permissions_boundary: approved to have no boundary (omitted: the boundary is not governed)
MAX_TRUSTED = 100  # a trust policy holds at most 4,096 characters: far fewer principals than this
NonEmpty = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class Status(StrEnum):
    """Lifecycle state of a registry entry."""

    ACTIVE = "active"
    REVOKED = "revoked"


class RegistryEntry(BaseModel):
    """Desired state of one IAM identity, as the identity governance team declares it."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    kind: Kind
    name: NonEmpty = Field(description="User or role name, or the access key id for kind access_key.")
    user: str | None = Field(default=None, description="For an access key: the IAM user that owns it.")
    owner: NonEmpty
    purpose: str | None = None
    status: Status = Status.ACTIVE
    revoked_at: BoundedTime | None = None
    expires_at: BoundedTime | None = None
    managed_policies: tuple[str, ...] | None = None
    groups: tuple[str, ...] | None = None
    inline_policies: tuple[str, ...] | None = None
    trusted_principals: Annotated[tuple[str, ...], Field(max_length=MAX_TRUSTED)] | None = Field(
        default=None,
        description="For a role: the principals approved to assume it (domain/principals.py forms); [] = nobody.",
    )
    permissions_boundary: str | None = Field(
        default=None,
        description="Users and roles: the approved permissions boundary's policy ARN, or 'none' for no boundary.",
    )
    max_key_age_days: Annotated[Count, Field(gt=0, le=36500)] | None = None
    max_unused_days: Annotated[Count, Field(gt=0, le=36500)] | None = None
    ticket: str | None = None
    reason: str | None = None
    version: Annotated[Count, Field(ge=0)] = 0
    updated_at: BoundedTime | None = None
    updated_by: str | None = None

    @property
    def ref(self) -> IdentityRef:
        return IdentityRef(kind=self.kind, name=self.name)

    @property
    def is_revoked(self) -> bool:
        return self.status is Status.REVOKED

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now

    @field_validator("managed_policies")
    @classmethod
    def _policy_arns(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        for arn in value or ():
            if not POLICY_ARN.match(arn):
                raise ValueError(f"{arn!r} is not an IAM managed policy ARN (arn:aws:iam::<account|aws>:policy/...)")
        return value

    @field_validator("permissions_boundary")
    @classmethod
    def _boundary_arn(cls, value: str | None) -> str | None:
        if value is None or value == NO_BOUNDARY:
            return value
        if not POLICY_ARN.match(value):
            raise ValueError(
                f"permissions_boundary {value!r} is not an IAM managed policy ARN (or '{NO_BOUNDARY}' for no boundary)"
            )
        return value

    @field_validator("trusted_principals")
    @classmethod
    def _principals(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is None:
            return None
        canonical = tuple(parse_principal(p) for p in value)
        seen: dict[str, str] = {}
        for written, form in zip(value, canonical, strict=True):
            if form in seen:
                raise ValueError(f"trusted principals {seen[form]!r} and {written!r} are the same principal ({form})")
            seen[form] = written
        return canonical

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.kind is Kind.ACCESS_KEY:
            self._check_access_key()
        elif not IAM_NAME.match(self.name):
            raise ValueError(f"{self.name!r} is not a valid IAM {self.kind.value} name")
        elif self.user is not None:
            raise ValueError(f"'user' applies to access keys only, not to a {self.kind.value}")
        if self.kind is not Kind.ROLE and self.trusted_principals is not None:
            raise ValueError(f"only a role has a trust policy: remove 'trusted_principals' from this {self.kind.value}")
        if self.kind is Kind.ROLE and self.groups is not None:
            raise ValueError("a role cannot be a member of groups; remove 'groups'")
        if self.status is Status.REVOKED and self.revoked_at is None:
            raise ValueError("status is 'revoked' but 'revoked_at' is missing: say when the revocation was decided")
        if self.status is Status.ACTIVE and self.revoked_at is not None:
            raise ValueError("'revoked_at' is set but status is 'active': set status 'revoked' or drop 'revoked_at'")
        return self

    def _check_access_key(self) -> None:
        if not ACCESS_KEY_ID.match(self.name):
            raise ValueError(
                f"{self.name!r} is not an access key id: expected AKIA followed by 16 upper-case letters or digits"
            )
        if not self.user:
            raise ValueError("an access key entry must name its IAM user in 'user'")
        if not IAM_NAME.match(self.user):
            raise ValueError(f"'user' {self.user!r} is not a valid IAM user name")
        if any(
            v is not None for v in (self.managed_policies, self.groups, self.inline_policies, self.permissions_boundary)
        ):
            raise ValueError("an access key holds no entitlements: approve them on its user instead")


class RegistrySnapshot(BaseModel):
    """All registry entries of one account, as read at one moment."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    account_id: Annotated[str, StringConstraints(pattern=r"^\d{12}$")]
    entries: tuple[RegistryEntry, ...] = ()

    @model_validator(mode="after")
    def _unique(self) -> Self:
        seen: dict[str, RegistryEntry] = {}
        for entry in self.entries:
            if (other := seen.get(entry.ref.key)) is not None:
                raise ValueError(
                    f"duplicate registry entry: {other.ref.label} and {entry.ref.label} are the same IAM identity "
                    "(IAM names ignore case)"
                )
            seen[entry.ref.key] = entry
        return self

    def by_ref(self) -> dict[IdentityRef, RegistryEntry]:
        return {entry.ref: entry for entry in self.entries}
