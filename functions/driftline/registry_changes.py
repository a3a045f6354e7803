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
    unreadable_old: str | None = None  # why the old image is no entry, when the new one is (then ``old`` is None)


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


def _subject(sort_key: str) -> IdentityRef:
    try:
        return IdentityRef.parse(sort_key)
    except ValueError as exc:
        raise BadRegistryImage(f"registry item {sort_key} in the stream names no identity: {exc}") from exc


def classify(stream_record: Mapping[str, Any]) -> RegistryChange | None:
    """Turn one raw DynamoDB stream record into a registry change; None for items that are not registry entries.

    Entries are keyed ``pk`` = account id, ``sk`` = ``kind#name``. Other items of the table are not entries: the change
    log's history items (``pk`` = ``<account>#history``, written with every registry change) and any item whose
    ``sk`` has no ``#``."""
    body = stream_record.get("dynamodb") or {}
    keys = body.get("Keys") or {}
    account = (keys.get("pk") or {}).get("S")
    sort_key = (keys.get("sk") or {}).get("S", "")
    if not account or "#" in account or "#" not in sort_key:
        return None
    new = _entry(body.get("NewImage"))
    unreadable: str | None = None
    try:
        old = _entry(body.get("OldImage"))
    except BadRegistryImage as exc:
        if new is None:
            raise
        # A valid entry written over a bad one (another tool's item, fixed): judge the new entry on its own.
        old, unreadable = None, str(exc)
    present = new or old
    subject = present.ref if present is not None else _subject(sort_key)
    change: Change
    if new is None:
        change = "deleted"
    elif new.is_revoked and (old is None or not old.is_revoked or old.revoked_at != new.revoked_at):
        change = "revoked"
    elif old is not None and old.is_revoked and not new.is_revoked:
        change = "restored"
    elif old is None:
        change = "changed" if unreadable else "created"
    elif old.model_dump(exclude={"version", "updated_at", "updated_by"}) == new.model_dump(
        exclude={"version", "updated_at", "updated_by"}
    ):
        change = "unchanged"
    else:
        change = "changed"
    return RegistryChange(
        account_id=account, identity=subject, change=change, old=old, new=new, unreadable_old=unreadable
    )
