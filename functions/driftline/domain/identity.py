"""Identity kinds and references: the vocabulary shared by the registry, the inventory and drifts."""

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


class IdentityRef(BaseModel):
    """Names one identity: a user or role by name, an access key by its id (``user`` names the key's user)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Kind
    name: str

    @property
    def key(self) -> str:
        """The registry sort key and the stable text form, e.g. ``user#alice``."""
        return f"{self.kind.value}#{self.name}"

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
