"""The state-table partitions each function owns: its grant on the table is limited to these leading keys
(``dynamodb:LeadingKeys``), so a function that parses untrusted input (the IAM event function) cannot touch another
function's items, nor an item of another account.

Plain Python (no CDK) so the tests that check every call the functions make against these lists (tests/integration/
state_partitions.py) load without jsii. ``{account}`` and ``{region}`` are the deployment's.

The hub's functions (hub and spoke) keep the state of every member account, so their partitions are patterns: ``*``
stands for any characters and ``?`` for one, as in IAM's ``StringLike`` (their grant uses ``StringLike`` on
``dynamodb:LeadingKeys``; ``allows`` reads them the same way). A partition without either is one exact key
(``StringEquals``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

# Every function: the revocation ledger, the finding states of its Region, and the IAM read caches.
SHARED: Final[tuple[str, ...]] = (
    "ledger#{account}",
    "finding#{account}#{region}",
    "keyset#{account}",
    "others#{account}",
)
# The hub's functions: the same partitions of any member account (the finding states of the hub's Region only).
SHARED_ANY_ACCOUNT: Final[tuple[str, ...]] = (
    "ledger#*",
    "finding#*#{region}",
    "keyset#*",
    "others#*",
)
STATE_PARTITIONS: Final[dict[str, tuple[str, ...]]] = {
    "ReconcileFunction": SHARED,
    # Powertools idempotency records of IAM events; the coalesced whole-account reconcile request.
    "IamEventFunction": (*SHARED, "idempotency#iam-event", "reconcile-request#{account}"),
    "RegistryChangeFunction": SHARED,
    # Hub and spoke: listing the organisation's accounts keeps no state; each member's reconcile keeps its own.
    "HubAccountsFunction": (),
    "HubAccountFunction": SHARED_ANY_ACCOUNT,
    # Forwarded member IAM events: their idempotency records, and any member's coalesced reconcile request.
    "HubEventFunction": (*SHARED_ANY_ACCOUNT, "idempotency#hub-event", "reconcile-request#*"),
}


def partitions(function: str, *, account: str, region: str) -> tuple[str, ...]:
    """The partition keys ``function`` may use in ``account`` and ``region``."""
    return tuple(p.format(account=account, region=region) for p in STATE_PARTITIONS[function])


def is_pattern(partition: str) -> bool:
    """Whether ``partition`` stands for many keys (``StringLike``) rather than one (``StringEquals``)."""
    return "*" in partition or "?" in partition


def _like(pattern: str) -> re.Pattern[str]:
    """IAM's ``StringLike``: ``*`` any characters (``#`` included), ``?`` one character, everything else itself."""
    wild = {"*": ".*", "?": "."}
    return re.compile("".join(wild.get(c, re.escape(c)) for c in pattern), re.DOTALL)


def allows(granted: Iterable[str], key: str) -> bool:
    """Whether ``key`` is one of the ``granted`` partitions: equal to an exact one, or matched by a pattern."""
    return any(_like(p).fullmatch(key) is not None if is_pattern(p) else key == p for p in granted)
