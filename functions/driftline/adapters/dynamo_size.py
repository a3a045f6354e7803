"""The size DynamoDB counts for an item, so a write too large is refused before anything is written.

DynamoDB's item limit is 400 KB, counted as the UTF-8 length of every attribute name plus the size of its value:
strings and binaries by their length, a number at most 21 bytes, booleans and nulls 1 byte, and a list or map 3
bytes plus 1 byte per element on top of its elements (map keys count as names). The figure here follows those
rules and rounds numbers up, so it never says "fits" for an item DynamoDB would refuse.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MAX_ITEM_BYTES = 400 * 1024
NUMBER_BYTES = 21  # the most a number can take; we count every number at the most


def value_size(value: Mapping[str, Any]) -> int:
    """Bytes of one typed attribute value (``{"S": "x"}``, ``{"L": [...]}``, …)."""
    (kind, inner), *_ = value.items()
    if kind == "S":
        return len(str(inner).encode("utf-8"))
    if kind == "N":
        return NUMBER_BYTES
    if kind == "B":
        return len(inner)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(str(s).encode("utf-8")) for s in inner)
    if kind == "NS":
        return NUMBER_BYTES * len(inner)
    if kind == "BS":
        return sum(len(b) for b in inner)
    if kind == "L":
        return 3 + sum(1 + value_size(v) for v in inner)
    if kind == "M":
        return 3 + sum(1 + len(k.encode("utf-8")) + value_size(v) for k, v in inner.items())
    raise ValueError(f"unknown DynamoDB attribute type {kind!r}")


def item_size(item: Mapping[str, Mapping[str, Any]]) -> int:
    """Bytes DynamoDB counts for ``item`` (low-level form, as PutItem takes it)."""
    return sum(len(name.encode("utf-8")) + value_size(value) for name, value in item.items())
