"""DynamoDB stream records of the registry table, as Lambda delivers them (``tests/events/dynamodb_stream_*.json``),
and a builder for new ones whose images come from ``adapters.registry.to_item`` (exactly what the table holds)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from driftline.adapters.registry import to_item
from driftline.domain.registry import RegistryEntry

EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"
ACCOUNT = "123456789012"
STREAM_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/driftline-registry/stream/2026-04-02T08:15:31.204"
Image = dict[str, Any]


def load_event(name: str) -> dict[str, Any]:
    """One stored stream event (``modify_revoked`` -> tests/events/dynamodb_stream_modify_revoked.json)."""
    loaded: dict[str, Any] = json.loads((EVENTS_DIR / f"dynamodb_stream_{name}.json").read_text())
    return loaded


def load_record(name: str) -> dict[str, Any]:
    records: list[dict[str, Any]] = load_event(name)["Records"]
    assert len(records) == 1
    return records[0]


def stream_record(
    event_name: str,
    *,
    old: RegistryEntry | Image | None = None,
    new: RegistryEntry | Image | None = None,
    account: str = ACCOUNT,
    sequence: str = "140000000000000000000001",
    keys: Image | None = None,
) -> dict[str, Any]:
    """A stream record of the registry table (StreamViewType NEW_AND_OLD_IMAGES). Entries become images through
    ``to_item``; a raw image dict is used as is (for malformed items)."""
    old_image = to_item(account, old) if isinstance(old, RegistryEntry) else old
    new_image = to_item(account, new) if isinstance(new, RegistryEntry) else new
    if keys is None:
        present = new_image or old_image
        assert present is not None, "a record needs an image or explicit keys"
        keys = {"pk": present.get("pk", {"S": account}), "sk": present.get("sk", {"S": "?"})}
    body: dict[str, Any] = {
        "ApproximateCreationDateTime": int(datetime.now(UTC).timestamp()),
        "Keys": copy.deepcopy(keys),
    }
    if new_image is not None:
        body["NewImage"] = copy.deepcopy(new_image)
    if old_image is not None:
        body["OldImage"] = copy.deepcopy(old_image)
    body["SequenceNumber"] = sequence
    body["SizeBytes"] = len(json.dumps(body))
    body["StreamViewType"] = "NEW_AND_OLD_IMAGES"
    return {
        "eventID": f"{int(sequence):032x}"[-32:],
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": body,
        "eventSourceARN": STREAM_ARN,
    }


def batch(*records: dict[str, Any]) -> dict[str, Any]:
    return {"Records": list(records)}
