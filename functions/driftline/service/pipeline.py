"""Use cases: reconcile a whole account, or evaluate a few identities. Handlers and the CLI only call these.

Both end in the same pure ``compare``; they differ only in how much of IAM they read and which registry entries
they fetch.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from driftline.domain.compare import compare
from driftline.domain.credit import CredentialChange
from driftline.domain.dangling import settle as settle_dangling
from driftline.domain.drift import Comparison
from driftline.domain.enforcement import plan_enforcement
from driftline.domain.identity import IdentityRef, Kind
from driftline.domain.ledger import LedgerRecord
from driftline.domain.observed import ALL_FACETS, Facet, Inventory
from driftline.domain.registry import RegistryEntry
from driftline.domain.settings import CompareSettings
from driftline.service.enforcement import EnforcementReport, EnforcementSettings, enforce
from driftline.service.ledger_sync import LedgerSummary, sync_ledger, with_attempts
from driftline.service.ports import DriftSink, IamReader, Ledger, PublishReport, RegistryReader


class Evaluation(BaseModel):
    """What one reconcile or scoped evaluation found and did."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    account_id: str
    comparison: Comparison
    identities_observed: int
    registry_entries: int
    registry_problems: list[str]
    publish: PublishReport
    ledger: LedgerSummary | None = None
    enforcement: EnforcementReport | None = None

    @property
    def drift_count(self) -> int:
        return len(self.comparison.drifts)


def access_refs(entries: Iterable[RegistryEntry], now: datetime) -> frozenset[IdentityRef]:
    """The users and roles whose every way to act decides a verdict: revoked or expired entries (for a key, its user:
    a deny on the user settles the key too). Their verdict must not rest on what was not read."""
    refs: set[IdentityRef] = set()
    for entry in entries:
        if entry.is_revoked or entry.expired(now):
            if entry.kind is Kind.ACCESS_KEY:
                if entry.user:
                    refs.add(IdentityRef(kind=Kind.USER, name=entry.user))
            else:
                refs.add(entry.ref)
    return frozenset(refs)


def _revoked_principals(entries: Iterable[RegistryEntry], inventory: Inventory) -> list[str]:
    """The keys of the revoked users and roles ``inventory`` covers: the identities whose unique id matters."""
    return sorted(
        e.ref.key for e in entries if e.is_revoked and e.kind in (Kind.USER, Kind.ROLE) and inventory.covers(e.ref)
    )


def ids_of(records: Iterable[LedgerRecord], identities: Iterable[str]) -> dict[IdentityRef, str]:
    """The unique id each of ``identities`` (keys) was last seen holding, from its latest ledger record that has one."""
    wanted = set(identities)
    found: dict[IdentityRef, tuple[datetime, str]] = {}
    for record in records:
        if record.identity not in wanted or not record.principal_id:
            continue
        ref = IdentityRef.parse(record.identity)
        if ref not in found or found[ref][0] < record.requested_at:
            found[ref] = (record.requested_at, record.principal_id)
    return {ref: principal_id for ref, (_, principal_id) in found.items()}


def known_ids(
    ledger: Ledger | None, account_id: str, entries: Iterable[RegistryEntry], inventory: Inventory
) -> dict[IdentityRef, str]:
    """The unique ids the ledger saw a scoped evaluation's revoked users and roles hold, so that the comparison
    follows a rename (the id lives on under another name) and is not fooled by a decoy created under the old name.
    Reads the records of those identities only (none revoked: no read). A whole-account reconcile takes them from
    the ledger partition it reads anyway (``ids_of``)."""
    revoked = _revoked_principals(entries, inventory)
    if ledger is None or not revoked:
        return {}
    return ids_of(ledger.records(account_id, revoked), revoked)


def reconcile(
    account_id: str,
    *,
    iam: IamReader,
    registry: RegistryReader,
    sink: DriftSink,
    settings: CompareSettings,
    now: datetime,
    ledger: Ledger | None = None,
    enforcement: EnforcementSettings | None = None,
) -> Evaluation:
    """Compare the whole account with its registry, keep the ledger in step, enforce unenforced revocations when
    the deployment says so, and hand every drift to ``sink``."""
    load = registry.load(account_id)
    inventory = iam.read_account(account_id, access=access_refs(load.entries, now))
    # The ledger partition, read once: the unique ids of revoked users and roles for the comparison, then the records
    # the ledger sync advances.
    records = ledger.records(account_id) if ledger is not None else []
    known = ids_of(records, _revoked_principals(load.entries, inventory))
    comparison = compare(load.entries, inventory, settings, now, undecided=load.unreadable, known_ids=known)
    entries = {e.ref: e for e in load.entries}
    settle = functools.partial(settle_dangling, inventory=inventory, now=now)
    summary = (
        sync_ledger(ledger, account_id, comparison, entries, now, whole_account=True, settle=settle, records=records)
        if ledger
        else None
    )
    enforced: EnforcementReport | None = None
    if enforcement is not None:
        actions = plan_enforcement(comparison, inventory, settings, enforcement.protections)
        enforced = EnforcementReport(
            planned=[a.description for a in actions], skipped=[a.description for a in actions if a.skipped]
        )
        if enforcement.mode == "enforce" and enforcement.enforcer is not None and ledger is not None and actions:
            by_key = {e.ref.key: e for e in load.entries}
            enforced = enforce(
                account_id,
                actions,
                by_key,
                enforcer=enforcement.enforcer,
                ledger=ledger,
                inventory=inventory,
                now=now,
            )
            if enforced.applied:  # see the result in IAM, then judge again (the ledger records driftline's steps)
                touched = {a.revocation for a in actions} | {
                    IdentityRef(kind=Kind.USER, name=a.user) for a in actions if a.user
                }
                touched_access = frozenset(r for r in touched if r.kind is not Kind.ACCESS_KEY)
                inventory = merge(inventory, iam.read_identities(account_id, touched, access=touched_access))
                comparison = compare(load.entries, inventory, settings, now, undecided=load.unreadable, known_ids=known)
                settle = functools.partial(settle_dangling, inventory=inventory, now=now)
                summary = sync_ledger(ledger, account_id, comparison, entries, now, whole_account=True, settle=settle)
    return _published(
        account_id, comparison, inventory, sink, summary, entries=len(load.entries), problems=load.problems
    ).model_copy(update={"enforcement": enforced})


def merge(whole: Inventory, scoped: Inventory) -> Inventory:
    """``whole`` with every identity in ``scoped``'s scope replaced by what ``scoped`` observed."""
    scope = scoped.scope or frozenset()
    users = {n: u for n, u in whole.users.items() if u.ref not in scope} | scoped.users
    roles = {n: r for n, r in whole.roles.items() if r.ref not in scope} | scoped.roles
    keys = {
        k: v for k, v in whole.keys.items() if v.ref not in scope and not scoped.covers(v.ref, v.user_name)
    } | scoped.keys
    return whole.model_copy(update={"users": users, "roles": roles, "keys": keys})


def evaluate_identities(
    account_id: str,
    refs: Iterable[IdentityRef],
    *,
    iam: IamReader,
    registry: RegistryReader,
    sink: DriftSink,
    settings: CompareSettings,
    now: datetime,
    ledger: Ledger | None = None,
    changes: Callable[[Inventory], Mapping[IdentityRef, Sequence[CredentialChange]]] | None = None,
    observe: Callable[[Inventory], Inventory] | None = None,
    facets: frozenset[Facet] = ALL_FACETS,
) -> Evaluation:
    """Evaluate only ``refs`` (the event path): drifts, ledger updates and resolutions stay inside that scope.

    ``changes`` turns what IAM answered into the credential changes the event proves (per revoked identity, for the
    ledger's credit); ``observe`` lets the caller add what the event itself proves (a revoked credential's use) to
    what IAM answered. ``facets`` limits what is read of users (and so what is judged) to what the event could have
    changed. Of revoked or expired identities every way to act is read."""
    refs = list(refs)
    access = access_refs(registry.get_many(account_id, refs).values(), now)
    inventory = iam.read_identities(account_id, refs, facets=facets, access=access)
    entries = _entries_for(account_id, inventory, registry)
    # A revoked or expired identity found only by reading (a key's revoked user): read every way it can act too.
    late = access_refs(entries, now) - access
    if late:
        inventory = merge(inventory, iam.read_identities(account_id, late, facets=facets, access=late))
    if observe is not None:
        inventory = observe(inventory)
    comparison = compare(entries, inventory, settings, now, known_ids=known_ids(ledger, account_id, entries, inventory))
    by_ref = {e.ref: e for e in entries}
    told = changes(inventory) if changes is not None else None
    summary = sync_ledger(ledger, account_id, comparison, by_ref, now, changes=told) if ledger else None
    return _published(account_id, comparison, inventory, sink, summary, entries=len(entries), problems=[])


def _published(
    account_id: str,
    comparison: Comparison,
    inventory: Inventory,
    sink: DriftSink,
    summary: LedgerSummary | None,
    *,
    entries: int,
    problems: list[str],
) -> Evaluation:
    """The tail every evaluation shares: refused enforcing calls into the findings, publish, the result."""
    comparison = with_attempts(comparison, summary)
    return Evaluation(
        account_id=account_id,
        comparison=comparison,
        identities_observed=inventory.identity_count,
        registry_entries=entries,
        registry_problems=problems,
        publish=sink.publish(comparison, inventory),
        ledger=summary,
    )


def _entries_for(account_id: str, inventory: Inventory, registry: RegistryReader) -> list[RegistryEntry]:
    wanted: set[IdentityRef] = set(inventory.scope or ())
    wanted.update(k.ref for k in inventory.keys.values())
    wanted.update(IdentityRef(kind=Kind.USER, name=k.user_name) for k in inventory.keys.values())
    found = registry.get_many(account_id, wanted)
    return [found[ref] for ref in sorted(found, key=lambda r: r.key)]
