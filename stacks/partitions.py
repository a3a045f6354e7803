"""The state-table partitions each function owns: its grant on the table is limited to these leading keys
(``dynamodb:LeadingKeys``), so a function that parses untrusted input (the IAM event function) cannot touch another
function's items, nor an item of another account.

Plain Python (no CDK) so the tests that check every call the functions make against these lists (tests/integration/
state_partitions.py) load without jsii. ``{account}`` and ``{region}`` are the deployment's.
"""

from __future__ import annotations

from typing import Final

# Every function: the revocation ledger, the finding states of its Region, and the IAM read caches.
SHARED: Final[tuple[str, ...]] = (
    "ledger#{account}",
    "finding#{account}#{region}",
    "keyset#{account}",
    "others#{account}",
)
STATE_PARTITIONS: Final[dict[str, tuple[str, ...]]] = {
    "ReconcileFunction": SHARED,
    # Powertools idempotency records of IAM events; the coalesced whole-account reconcile request.
    "IamEventFunction": (*SHARED, "idempotency#iam-event", "reconcile-request#{account}"),
    "RegistryChangeFunction": SHARED,
}


def partitions(function: str, *, account: str, region: str) -> tuple[str, ...]:
    """The partition keys ``function`` may use in ``account`` and ``region``."""
    return tuple(p.format(account=account, region=region) for p in STATE_PARTITIONS[function])
