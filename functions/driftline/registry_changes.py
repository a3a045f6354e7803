"""What a registry change means, decided in code from the stream record's old and new images (a filter cannot
compare the two: AWS-FACTS section 7)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from driftline.adapters.registry import from_item
from driftline.domain.identity import IdentityRef
from driftline.domain.registry import RegistryEntry

Change = Literal["revoked", "restored", "deleted", "changed", "created", "unchanged"]


class RegistryChange(BaseModel):
    model_config = ConfigDict(frozen=True)

    account_id: str
    identity: IdentityRef
    change: Change
    old: RegistryEntry | None = None
    new: RegistryEntry | None = None


class BadRegistryImage(ValueError):
    """A stream image that is not a valid registry entry (bad input: logged and counted, never retried)."""


def _entry(image: Mapping[str, Any] | None) -> RegistryEntry | None:
    if not image:
        return None
    try:
        return from_item(image)
    except (ValidationError, ValueError, KeyError, TypeError) as exc:
        sk = image.get("sk", {}).get("S", "?") if isinstance(image.get("sk"), dict) else "?"
        raise BadRegistryImage(f"registry item {sk} in the stream is not a valid entry: {exc}") from exc


def classify(stream_record: Mapping[str, Any]) -> RegistryChange | None:
    """Turn one raw DynamoDB stream record into a registry change; None for items that are not registry entries."""
    body = stream_record.get("dynamodb") or {}
    keys = body.get("Keys") or {}
    account = (keys.get("pk") or {}).get("S")
    sort_key = (keys.get("sk") or {}).get("S", "")
    if not account or "#" not in sort_key:
        return None
    old, new = _entry(body.get("OldImage")), _entry(body.get("NewImage"))
    present = new or old
    subject = present.ref if present is not None else IdentityRef.parse(sort_key)
    change: Change
    if new is None:
        change = "deleted"
    elif new.is_revoked and (old is None or not old.is_revoked or old.revoked_at != new.revoked_at):
        change = "revoked"
    elif old is not None and old.is_revoked and not new.is_revoked:
        change = "restored"
    elif old is None:
        change = "created"
    elif old.model_dump(exclude={"version", "updated_at", "updated_by"}) == new.model_dump(
        exclude={"version", "updated_at", "updated_by"}
    ):
        change = "unchanged"
    else:
        change = "changed"
    return RegistryChange(account_id=account, identity=subject, change=change, old=old, new=new)
