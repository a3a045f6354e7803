"""Use cases: reconcile a whole account, or evaluate a few identities. Handlers and the CLI only call these.

Both end in the same pure ``compare``; they differ only in how much of IAM they read and which registry entries
they fetch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from driftline.domain.compare import compare
from driftline.domain.drift import Comparison
from driftline.domain.enforcement import plan_enforcement
from driftline.domain.identity import IdentityRef, Kind
from driftline.domain.ledger import Enforcement
from driftline.domain.observed import ALL_FACETS, Facet, Inventory
from driftline.domain.registry import RegistryEntry
from driftline.domain.settings import CompareSettings
from driftline.enforcement import EnforcementReport, EnforcementSettings, enforce
from driftline.ports import DriftSink, IamReader, PublishReport, RegistryReader
from driftline.revocations import Ledger, LedgerSummary, sync_ledger


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


def fresh_users(entries: Iterable[RegistryEntry]) -> frozenset[str]:
    """Users whose credentials must be read directly: revoked users, and users of revoked keys. Their verdict
    (enforced or not) must not rest on a credential report that may be hours old."""
    names = set()
    for entry in entries:
        if entry.is_revoked:
            if entry.kind is Kind.USER:
                names.add(entry.name)
            elif entry.kind is Kind.ACCESS_KEY and entry.user:
                names.add(entry.user)
    return frozenset(names)


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
    inventory = iam.read_account(account_id, fresh_users=fresh_users(load.entries))
    comparison = compare(load.entries, inventory, settings, now)
    entries = {e.ref: e for e in load.entries}
    summary = sync_ledger(ledger, account_id, comparison, entries, now, whole_account=True) if ledger else None
    enforced: EnforcementReport | None = None
    if enforcement is not None:
        actions = plan_enforcement(comparison, inventory, settings, now, enforcement.break_glass)
        enforced = EnforcementReport(planned=[a.description for a in actions])
        if enforcement.mode == "enforce" and enforcement.enforcer is not None and ledger is not None and actions:
            by_key = {e.ref.key: e for e in load.entries}
            enforced = enforce(account_id, actions, by_key, enforcer=enforcement.enforcer, ledger=ledger, now=now)
            if enforced.applied:  # see the result in IAM, then judge again (the ledger records driftline's steps)
                touched = {a.revocation for a in actions} | {
                    IdentityRef(kind=Kind.USER, name=a.user) for a in actions if a.user
                }
                inventory = merge(inventory, iam.read_identities(account_id, touched))
                comparison = compare(load.entries, inventory, settings, now)
                summary = sync_ledger(ledger, account_id, comparison, entries, now, whole_account=True)
    report = sink.publish(comparison, inventory)
    return Evaluation(
        account_id=account_id,
        comparison=comparison,
        identities_observed=inventory.identity_count,
        registry_entries=len(load.entries),
        registry_problems=load.problems,
        publish=report,
        ledger=summary,
        enforcement=enforced,
    )


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
    evidence: Mapping[str, Enforcement] | None = None,
    observe: Callable[[Inventory], Inventory] | None = None,
    facets: frozenset[Facet] = ALL_FACETS,
) -> Evaluation:
    """Evaluate only ``refs`` (the event path): drifts, ledger updates and resolutions stay inside that scope.

    ``evidence`` maps identity keys to the event that may have enforced their revocation; ``observe`` lets the
    caller add what the event itself proves (a revoked credential's use) to what IAM answered. ``facets`` limits
    what is read of users (and so what is judged) to what the event could have changed."""
    inventory = iam.read_identities(account_id, refs, facets=facets)
    if observe is not None:
        inventory = observe(inventory)
    entries = _entries_for(account_id, inventory, registry)
    comparison = compare(entries, inventory, settings, now)
    by_ref = {e.ref: e for e in entries}
    summary = sync_ledger(ledger, account_id, comparison, by_ref, now, evidence=evidence) if ledger else None
    report = sink.publish(comparison, inventory)
    return Evaluation(
        account_id=account_id,
        comparison=comparison,
        identities_observed=inventory.identity_count,
        registry_entries=len(entries),
        registry_problems=[],
        publish=report,
        ledger=summary,
    )


def _entries_for(account_id: str, inventory: Inventory, registry: RegistryReader) -> list[RegistryEntry]:
    wanted: set[IdentityRef] = set(inventory.scope or ())
    wanted.update(k.ref for k in inventory.keys.values())
    wanted.update(IdentityRef(kind=Kind.USER, name=k.user_name) for k in inventory.keys.values())
    found = registry.get_many(account_id, wanted)
    return [found[ref] for ref in sorted(found, key=lambda r: r.key)]
