"""Times and counts as the outside world writes them, validated before they reach any arithmetic.

A number is never a time (pydantic would read ``20261120`` or ``1`` as seconds since 1970), and a time outside
2000–2200 is a typo or an attack, not a revocation: ``9999-12-31T23:59:59Z`` plus a grace period overflows Python's
datetime and would stop every reconcile of the account. A count is an integer or its decimal digits (a CSV cell),
never ``true``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BeforeValidator

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
_NUMBER = re.compile(r"\s*[+-]?\d+(\.\d*)?\s*")


def _not_a_number(value: Any) -> Any:
    if isinstance(value, bool | int | float | Decimal) or (isinstance(value, str) and _NUMBER.fullmatch(value)):
        raise ValueError(
            f"{value!r} is a number, not a time: write an ISO 8601 time with a timezone, e.g. 2026-11-20T09:00:00Z"
        )
    return value


def _in_range(value: datetime) -> datetime:
    if not EARLIEST <= value < LATEST:
        raise ValueError(f"{value.isoformat()} is outside {EARLIEST.year}–{LATEST.year}: not a plausible time")
    return value


BoundedTime = Annotated[AwareDatetime, BeforeValidator(_not_a_number), AfterValidator(_in_range)]


def _count(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"{value!r} is not a whole number")
    if isinstance(value, str) and not value.strip().isdigit():
        raise ValueError(f"{value!r} is not a whole number")
    return int(value)


Count = Annotated[int, BeforeValidator(_count)]


def iso(value: datetime) -> str:
    """The fixed-width UTC text (microseconds) that storage keys and compared timestamps use: one spelling per
    instant, so text order is time order and equal instants are equal keys."""
    return value.astimezone(UTC).isoformat(timespec="microseconds")
