"""What one evaluation looks at: a trigger's answer to "which identities, which of their facets, and what did the
trigger itself prove?". A CloudTrail event, a registry stream record and an operator's scan each produce one."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from driftline.domain.credit import CredentialChange
from driftline.domain.identity import IdentityRef
from driftline.domain.observed import ALL_FACETS, Facet, Inventory

ChangesOf = Callable[[Inventory], Mapping[IdentityRef, Sequence[CredentialChange]]]
Observe = Callable[[Inventory], Inventory]


@dataclass(frozen=True)
class Scope:
    """``refs``: the identities to read and judge (findings are raised and resolved inside them only); ``facets``:
    what to read of users (and so which drift types are judged); ``changes``: the credential changes the trigger
    proves, given what IAM answered (the ledger's credit evidence); ``observe``: what the trigger saw that IAM does
    not say yet (a revoked credential's use)."""

    refs: tuple[IdentityRef, ...]
    facets: frozenset[Facet] = ALL_FACETS
    changes: ChangesOf | None = None
    observe: Observe | None = None
