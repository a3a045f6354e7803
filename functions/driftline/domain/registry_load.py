"""The result of loading a registry: valid entries plus every problem found, so nothing is skipped silently."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from driftline.domain.registry import RegistryEntry


class RegistryLoad(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    account_id: str
    entries: list[RegistryEntry]
    problems: list[str] = []
