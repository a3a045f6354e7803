"""Identity kinds and references: the vocabulary shared by the registry, the inventory and drifts.

IAM user, group, role and policy names are unique within an account *regardless of case* ("Names are not
distinguished by case": you cannot create both ``Bob`` and ``bob``), so a registry entry for ``user#bob`` governs the
IAM user ``Bob``. Two references are therefore equal when their kinds are equal and their names are equal without
case (access key ids are compared exactly: IAM issues them in upper case). ``key`` is the canonical text form used
for storage and finding ids; ``name`` keeps the spelling it was given, for people.
Reference: https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateUser.html (UserName).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class Kind(StrEnum):
    """The three kinds of identity driftline governs."""

    USER = "user"
    ROLE = "role"
    ACCESS_KEY = "access_key"

    @property
    def label(self) -> str:
        """The kind as people write it in a sentence: ``access key``."""
        return self.value.replace("_", " ")


def fold(name: str) -> str:
    """The case-free form of an IAM user, role, group or policy name (names are ASCII, so ``lower`` is exact)."""
    return name.lower()


class IdentityRef(BaseModel):
    """Names one identity: a user or role by name, an access key by its id (``user`` names the key's user)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Kind
    name: str

    @property
    def canonical_name(self) -> str:
        return self.name if self.kind is Kind.ACCESS_KEY else fold(self.name)

    @property
    def key(self) -> str:
        """The identity's canonical text, e.g. ``user#alice`` (user and role names folded to lower case, so every
        spelling IAM accepts gives the same key). Adapters use it in storage keys; the domain knows no storage."""
        return f"{self.kind.value}#{self.canonical_name}"

    @property
    def label(self) -> str:
        """The reference as it was spelled, for people: ``user#Bob``."""
        return f"{self.kind.value}#{self.name}"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, IdentityRef):
            return NotImplemented
        return self.kind is other.kind and self.canonical_name == other.canonical_name

    def __hash__(self) -> int:
        return hash((self.kind, self.canonical_name))

    @classmethod
    def parse(cls, text: str) -> IdentityRef:
        """Parse ``kind#name`` (or ``kind/name``) as written by operators and stored in the registry."""
        kinds = {k.value for k in Kind}
        for sep in ("#", "/"):
            kind, found, name = text.partition(sep)
            if found and name and kind in kinds:
                return cls(kind=Kind(kind), name=name)
        raise ValueError(f"identity {text!r} is not of the form kind#name (kind: user, role or access_key)")

    def __str__(self) -> str:
        return self.key
