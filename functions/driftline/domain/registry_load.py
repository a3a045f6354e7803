"""The result of loading a registry: valid entries plus every problem found, so nothing is skipped silently."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from driftline.domain.identity import IdentityRef
from driftline.domain.registry import RegistryEntry


class RegistryLoad(BaseModel):
    """``unreadable`` names the identities whose items could not be read (by their sort key): a registry problem,
    so nothing is decided about them: no revocation opened, advanced or cancelled, no finding raised or resolved."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    account_id: str
    entries: list[RegistryEntry]
    problems: list[str] = []
    unreadable: frozenset[IdentityRef] = frozenset()
