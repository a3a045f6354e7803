"""The central registry's stream, read once and handed to each member account as an EventBridge event.

DynamoDB Streams serves about two readers per shard, so fifty member functions cannot each read the central
registry's stream. One reader in the central account puts every entry's stream record on the default event bus of
the account the entry belongs to (``pk``); that account's registry-change function takes it from there, exactly as
it would take the stream record itself. History items and items of no account are not sent.

An EventBridge entry holds at most 256 KB; a record whose images are larger is sent without them (``images_dropped``),
and the member then judges the identity from the registry as it is now, not from the change.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from driftline.triggers.registry_stream import BadRegistryImage

SOURCE = "driftline.registry"
DETAIL_TYPE = "Registry Entry Changed"
MAX_DETAIL_BYTES = 200_000  # EventBridge's 256 KB per entry, with room for the envelope
_ACCOUNT = re.compile(r"^\d{12}$")


def member_of(record: Mapping[str, Any]) -> str | None:
    """The member account a stream record belongs to (its ``pk``), or None for items of no account."""
    body = record.get("dynamodb") if isinstance(record, Mapping) else None
    keys = body.get("Keys") if isinstance(body, Mapping) else None
    pk = keys.get("pk") if isinstance(keys, Mapping) else None
    account = pk.get("S") if isinstance(pk, Mapping) else None
    if not isinstance(account, str):
        raise BadRegistryImage("not a DynamoDB stream record of the registry (no pk key)")
    return account if _ACCOUNT.match(account) else None


def fanout_entry(record: Mapping[str, Any], *, partition: str, region: str) -> dict[str, str] | None:
    """The PutEvents entry that hands ``record`` to its member account's default bus; None when it goes nowhere."""
    account = member_of(record)
    if account is None:
        return None
    detail = json.dumps({"record": record}, separators=(",", ":"))
    if len(detail.encode("utf-8")) > MAX_DETAIL_BYTES:
        body = {k: v for k, v in record["dynamodb"].items() if k not in ("NewImage", "OldImage")}
        detail = json.dumps(
            {"record": dict(record) | {"dynamodb": body}, "images_dropped": True}, separators=(",", ":")
        )
    return {
        "Source": SOURCE,
        "DetailType": DETAIL_TYPE,
        "Detail": detail,
        "EventBusName": f"arn:{partition}:events:{region}:{account}:event-bus/default",
    }
