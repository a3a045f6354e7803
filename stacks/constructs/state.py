"""Driftline's own working state: the revocation ledger, published finding state, caches (access-key last use) and
Powertools idempotency records of the IAM event function (``pk``/``sk`` keys). Entries expire through TTL."""

from __future__ import annotations

from constructs import Construct

from ..constants import TTL_ATTRIBUTE
from .tables import durable_table


class StateTable(Construct):
    """The state table; ``table`` is the ``TableV2``. Items set ``expiration`` (epoch seconds) to expire; Powertools
    idempotency writes the same attribute."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.table = durable_table(self, "Resource", time_to_live_attribute=TTL_ATTRIBUTE)
