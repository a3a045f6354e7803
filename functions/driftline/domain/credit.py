"""Which change enforced a revocation, decided from the set of changes seen: never from the order they arrived in.

Every way an identity can act has a token (``revocation.Access``): ``access_key:AKIA…``, ``password``,
``ssh-public-key:…``, ``role-session`` …; ``*`` stands for the whole identity (a deny-everything policy attached, the
identity deleted). A ``CredentialChange`` disables or enables one token at a time, from a CloudTrail event or from
driftline's own step.

The identity became unable to act at the earliest of:
- the moment its whole-identity channel (``*``) was last disabled: the first disable after its last enable;
- the moment its last needed credential went: for each credential, the first disable after its last enable; the
  latest of those. The needed credentials are the ones seen usable since the revocation, and any (re)enabled since.

A credential whose disable is unknown makes the second answer unknown (the evidence is incomplete; the ledger then
says "observed"). Changes before the revocation, or before the ledger last saw IAM undo an enforcement, do not count.
Ties are broken by the change's own content, so any permutation of the same changes gives the same answer.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict

WHOLE = "*"


class CredentialChange(BaseModel):
    """One change to one way of acting: what, disabled or enabled, when, and by which event or step."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    credential: str
    effect: Literal["disable", "enable"]
    at: AwareDatetime
    source: Literal["cloudtrail", "driftline"] = "cloudtrail"
    event_id: str | None = None
    event_name: str | None = None
    actor_arn: str | None = None
    actor: str | None = None  # who acted, for people: every caller type has one, with or without an ARN

    @property
    def identity_key(self) -> tuple[str, ...]:
        """What makes two records of a change the same change (a redelivered event, a re-applied step)."""
        return (self.source, self.event_id or "", self.credential, self.effect, self.at.isoformat())

    def order(self) -> tuple[datetime, int, str, str, str]:
        """Total order: time, then enables before disables at the same time (a re-enable and a disable in one second
        leaves the credential disabled), then content."""
        return (self.at, 0 if self.effect == "enable" else 1, self.source, self.event_id or "", self.credential)


def merge(existing: Iterable[CredentialChange], new: Iterable[CredentialChange]) -> tuple[CredentialChange, ...]:
    """Both sets as one, each change once, in their total order."""
    seen: dict[tuple[str, ...], CredentialChange] = {}
    for change in (*existing, *new):
        seen.setdefault(change.identity_key, change)
    return tuple(sorted(seen.values(), key=CredentialChange.order))


def _disabled_since(changes: list[CredentialChange], floor: datetime) -> CredentialChange | None:
    """The first disable after the last enable (changes in total order, all on one channel, all after ``floor``)."""
    last_enable = max((i for i, c in enumerate(changes) if c.effect == "enable"), default=-1)
    return next((c for c in changes[last_enable + 1 :] if c.effect == "disable" and c.at >= floor), None)


def enforcing_change(
    changes: Iterable[CredentialChange],
    needed: Iterable[str],
    *,
    since: datetime,
    until: datetime,
) -> CredentialChange | None:
    """The change that left the identity unable to act, or None when the changes do not prove it.

    ``since`` is the revocation time (or the ledger's last sighting of IAM undoing an enforcement, if later);
    ``until`` the time the identity was seen enforced: a change after it enforced nothing.
    """
    window = sorted((c for c in changes if since <= c.at <= until), key=CredentialChange.order)
    channels: dict[str, list[CredentialChange]] = {}
    for change in window:
        channels.setdefault(change.credential, []).append(change)
    whole = _disabled_since(channels.pop(WHOLE, []), since)
    wanted = set(needed) | {c.credential for c in window if c.effect == "enable" and c.credential != WHOLE}
    if not wanted:  # nothing seen usable: whatever was disabled since the revocation, the last of it
        wanted = set(channels)
    lasts = [_disabled_since(channels.get(token, []), since) for token in sorted(wanted)]
    known = [c for c in lasts if c is not None]
    individual = max(known, key=CredentialChange.order) if known and len(known) == len(lasts) else None
    found = [c for c in (whole, individual) if c is not None]
    return min(found, key=CredentialChange.order) if found else None
