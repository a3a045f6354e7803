"""Size bounds on what driftline writes about one identity, so one huge identity (an entry approving 50,000
policies, a step failing every hour for months) can never make a log line, a finding or a ledger item too large to
write, which would stop the account's reporting. Clipping says how much it left out, and JSON stays JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

LIST_MAX = 50  # items of one list in a drift's evidence
NAMES_MAX = 10  # names in a drift's one-line summary
TEXT_MAX = 500  # characters of one string in evidence


def named(items: Sequence[str], limit: int = NAMES_MAX) -> str:
    """``a, b, c`` for a summary; beyond ``limit`` names, ``… and N more``."""
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def clipped(value: Any, limit: int = LIST_MAX) -> Any:
    """``value`` with every list longer than ``limit`` cut to ``limit`` items plus a ``… and N more`` item, and
    every string cut to TEXT_MAX characters (recursively)."""
    if isinstance(value, dict):
        return {k: clipped(v, limit) for k, v in value.items()}
    if isinstance(value, list | tuple):
        items = [clipped(v, limit) for v in value[:limit]]
        return items + ([f"… and {len(value) - limit} more"] if len(value) > limit else [])
    if isinstance(value, str) and len(value) > TEXT_MAX:
        return value[: TEXT_MAX - 1] + "…"
    return value


def bounded_json(value: Any, limit: int) -> str:
    """JSON of ``value`` in at most ``limit`` characters, always valid: lists are shortened until it fits; what still
    does not fit is replaced by the list of its keys."""
    for cap in (LIST_MAX, 20, 10, 5, 2, 1, 0):
        text = json.dumps(clipped(value, cap), sort_keys=True, default=str)
        if len(text) <= limit:
            return text
    keys = sorted(value) if isinstance(value, dict) else []
    text = json.dumps({"clipped": True, "keys": keys}, default=str)
    return text if len(text) <= limit else json.dumps({"clipped": True})
