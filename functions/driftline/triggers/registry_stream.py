"""What a registry change means, decided in code from the stream record's old and new images (a filter cannot
compare the two: AWS-FACTS section 7)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from driftline.adapters.registry import from_item
from driftline.domain.identity import IdentityRef
from driftline.domain.ledger import opens
from driftline.domain.registry import RegistryEntry
from driftline.domain.text import valid_unicode

ChangeKind = Literal["revoked", "restored", "deleted", "changed", "created", "unchanged"]


class RegistryChange(BaseModel):
    model_config = ConfigDict(frozen=True)

    account_id: str
    identity: IdentityRef
    change: ChangeKind
    old: RegistryEntry | None = None
    new: RegistryEntry | None = None
    unreadable_old: str | None = None  # why the old image is no entry, when the new one is (then ``old`` is None)


class BadRegistryImage(ValueError):
    """A stream image that is not a valid registry entry (bad input: logged and counted, never retried)."""


def _entry(image: Any) -> RegistryEntry | None:
    if image is None or image == {}:
        return None
    if not isinstance(image, Mapping):
        raise BadRegistryImage(f"a stream image is a {type(image).__name__}, not a DynamoDB item")
    sk = image.get("sk", {}).get("S", "?") if isinstance(image.get("sk"), Mapping) else "?"
    try:
        return from_item(image)
    except (ValidationError, ValueError, KeyError, TypeError, ArithmeticError, AttributeError) as exc:
        # TypeDeserializer raises TypeError/ValueError on a wrong attribute type, decimal errors on a bad number
        raise BadRegistryImage(f"registry item {sk} in the stream is not a valid entry: {_first_line(exc)}") from exc


def _first_line(exc: Exception) -> str:
    """The first problem, with its field for a validation error (``revoked_at: Input should be …``)."""
    if isinstance(exc, ValidationError) and exc.errors():
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        return f"{where + ': ' if where else ''}{err['msg']}"[:300]
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__


def _text(node: Any, name: str) -> str | None:
    """``node[name]["S"]`` when every level has the expected type, else None."""
    value = node.get(name) if isinstance(node, Mapping) else None
    text = value.get("S") if isinstance(value, Mapping) else None
    return text if isinstance(text, str) else None


def _subject(sort_key: str) -> IdentityRef:
    try:
        return IdentityRef.parse(sort_key)
    except ValueError as exc:
        raise BadRegistryImage(f"registry item {sort_key} in the stream names no identity: {exc}") from exc


def classify(stream_record: Any) -> RegistryChange | None:
    """Turn one raw DynamoDB stream record into a registry change; None for items that are not registry entries.

    Entries are keyed ``pk`` = account id, ``sk`` = ``kind#name``. Other items of the table are not entries: the change
    log's history items (``pk`` = ``<account>#history``, written with every registry change) and any item whose
    ``sk`` has no ``#``. Whatever else arrives (wrong types at any level, text that is not valid Unicode) raises
    BadRegistryImage with the reason, and nothing else: bad input is never sent back to be retried."""
    if not isinstance(stream_record, Mapping) or not isinstance(stream_record.get("dynamodb"), Mapping):
        raise BadRegistryImage("not a DynamoDB stream record (no 'dynamodb' object)")
    if not valid_unicode(stream_record):
        raise BadRegistryImage("the stream record holds text that is not valid Unicode (a lone surrogate)")
    body = stream_record["dynamodb"]
    account = _text(body.get("Keys"), "pk")
    sort_key = _text(body.get("Keys"), "sk") or ""
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
    return RegistryChange(
        account_id=account,
        identity=subject,
        change=_kind_of_change(old, new, unreadable is not None),
        old=old,
        new=new,
        unreadable_old=unreadable,
    )


def _kind_of_change(old: RegistryEntry | None, new: RegistryEntry | None, old_unreadable: bool) -> ChangeKind:
    if new is None:
        return "deleted"
    if opens(old, new):
        return "revoked"
    if old is not None and old.is_revoked and not new.is_revoked:
        return "restored"
    if old is None:
        return "changed" if old_unreadable else "created"
    bookkeeping = {"version", "updated_at", "updated_by"}
    return "unchanged" if old.model_dump(exclude=bookkeeping) == new.model_dump(exclude=bookkeeping) else "changed"
