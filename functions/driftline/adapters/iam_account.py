"""Whole-account IAM read for the reconcile: GetAccountAuthorizationDetails pages plus the credential report, and
per-user key listing only where the report and the key cache cannot prove the key set unchanged.

Trade-off (README, "Reading IAM cheaply"): the credential report can be up to 4 hours old, so a key created or
re-activated since it was generated is seen by the next report, or at once by the event path. For the identities the
caller names in ``access`` (revoked or expired entries) every way to act is established:
- users: their other credentials (SSH public keys, service-specific credentials, signing certificates) come from a
  cache at most a day old (the event path refreshes it), else are read; whenever one of them could still act, the
  documents of its managed policies and boundary are read (a deny there settles the verdict without more reads);
  and a user the report still shows with a password or an active key, and no such deny, is read directly, since the
  report may predate the enforcement. A report that shows nothing usable needs no second look: enforcement only
  removes credentials (the event path catches a re-activation at once);
- roles: the trust policy comes with GAAD; the managed policy documents are read when it admits anyone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Final

from driftline.adapters.credential_report import fetch_credential_report
from driftline.adapters.iam_access import PolicyDocuments, could_act, other_credentials
from driftline.adapters.iam_errors import iam_call
from driftline.adapters.iam_identity import IdentityReads
from driftline.adapters.iam_parse import (
    KeySlot,
    ReportRow,
    aware,
    key_fingerprint,
    role_from_details,
    slot_for,
    user_from_details,
)
from driftline.domain.identity import IdentityRef, Kind, fold
from driftline.domain.observed import (
    ALL_FACETS,
    Facet,
    Inventory,
    KeyStatus,
    ObservedKey,
    ObservedRole,
    ObservedUser,
)
from driftline.service.ports import KeyCache, KnownKey, KnownOthers, NoKeyCache

if TYPE_CHECKING:
    from mypy_boto3_iam import IAMClient

# The AWS actions this module calls, by what they act on: stacks/constants.py grants them from here, and
# tests/infrastructure/test_code_calls_are_granted.py checks them against the calls in this file.
PERMISSIONS: Final[dict[str, tuple[str, ...]]] = {"account": ("iam:GetAccountAuthorizationDetails",)}

GAAD_PAGE_SIZE = 1000  # the API's maximum; IAM may still return fewer with IsTruncated set
# Per-user key reads (a cold cache lists every user with keys once) run on a few threads: IAM answers each in tens
# of milliseconds, so a 5,000-user first run takes minutes one at a time. botocore clients are thread-safe; its
# retry policy backs off on Throttling.
KEY_READ_WORKERS = 4
# How long a direct read of a user's other credentials stands in for a new one. Events that change them re-read the
# user at once; this bounds what a lost event can hide.
OTHERS_MAX_AGE = timedelta(days=1)


def _can_act(row: ReportRow) -> bool:
    return row.password_enabled or any(slot.active for slot in row.key_slots)


class Boto3IamReader:
    """Reads live IAM into an Inventory. Implements ``ports.IamReader``."""

    def __init__(
        self,
        iam: IAMClient,
        *,
        key_cache: KeyCache | None = None,
        report_wait_seconds: float = 60.0,
        sleep: Callable[[float], None] | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        workers: int = KEY_READ_WORKERS,
    ) -> None:
        self._iam = iam
        self._workers = workers
        self._cache = key_cache or NoKeyCache()
        self._report_wait = report_wait_seconds
        self._sleep = sleep
        self._now = now
        self._reads = IdentityReads(iam)

    def read_account(self, account_id: str, *, access: frozenset[IdentityRef] = frozenset()) -> Inventory:
        report = self._report()
        users: dict[str, ObservedUser] = {}
        roles: dict[str, ObservedRole] = {}
        with iam_call("GetAccountAuthorizationDetails"):
            pages = self._iam.get_paginator("get_account_authorization_details").paginate(
                Filter=["User", "Role"], PaginationConfig={"PageSize": GAAD_PAGE_SIZE}
            )
            for page in pages:
                for detail in page.get("UserDetailList", []):
                    user = user_from_details(detail, report.get(detail["UserName"]))
                    users[user.name] = user
                for role_detail in page.get("RoleDetailList", []):
                    role = role_from_details(role_detail)
                    roles[role.name] = role
        judged = {(r.kind, fold(r.name)) for r in access}
        docs = PolicyDocuments(self._iam)
        self._other_credentials(account_id, users, report, {n for k, n in judged if k is Kind.USER})
        fresh: set[str] = set()
        for name, user in users.items():
            if (Kind.USER, fold(name)) not in judged:
                continue
            row = report.get(name)
            usable_keys = sum(s.active for s in row.key_slots) if row else 1
            if could_act(user, usable_keys):
                users[name] = user = docs.denies(user)  # type: ignore[assignment]
            if user.denied_everything is None and (row is None or _can_act(row)):
                fresh.add(name)
        for name, role in roles.items():
            if (Kind.ROLE, fold(name)) in judged and could_act(role):
                roles[name] = docs.denies(role)  # type: ignore[assignment]
        keys = self._keys(account_id, users, report, frozenset(fresh))
        return Inventory(account_id=account_id, observed_at=self._now(), users=users, roles=roles, keys=keys)

    def _other_credentials(
        self, account_id: str, users: dict[str, ObservedUser], report: dict[str, ReportRow], judged: set[str]
    ) -> None:
        """Fill in the other credentials of the judged users: from the cache when it is recent and agrees with the
        report's certificate flags, else read (and remembered)."""
        if not judged:
            return
        cached = self._cache.load_others(account_id)
        now = self._now()
        read: dict[str, KnownOthers] = {}
        for name, user in users.items():
            folded = fold(name)
            if folded not in judged:
                continue
            known = cached.get(folded)
            row = report.get(name)
            certificates = sum(c.active for c in known.credentials if c.kind == "signing-certificate") if known else 0
            if (
                known is None
                or now - known.read_at > OTHERS_MAX_AGE
                or (row and row.active_certificates != certificates)
            ):
                known = read[folded] = KnownOthers(other_credentials(self._iam, name), now)
            users[name] = user.model_copy(update={"other_credentials": known.credentials})
        if read:
            self._cache.save_others(account_id, read)

    def read_identities(
        self,
        account_id: str,
        refs: Iterable[IdentityRef],
        *,
        facets: frozenset[Facet] = ALL_FACETS,
        access: frozenset[IdentityRef] = frozenset(),
    ) -> Inventory:
        inventory = self._reads.read(account_id, refs, self._now(), facets=facets, access=access)
        read = {
            fold(u.name): KnownOthers(u.other_credentials, inventory.observed_at)
            for u in inventory.users.values()
            if u.other_credentials is not None
        }
        if read:  # what a direct read saw replaces the reconcile's cached view at once
            self._cache.save_others(account_id, read)
        return inventory

    def group_members(self, group: str) -> list[str] | None:
        return self._reads.group_members(group)

    def _report(self) -> dict[str, ReportRow]:
        kwargs = {"sleep": self._sleep} if self._sleep else {}
        return fetch_credential_report(self._iam, wait_seconds=self._report_wait, **kwargs)  # type: ignore[arg-type]

    def _keys(
        self, account_id: str, users: dict[str, ObservedUser], report: dict[str, ReportRow], fresh: frozenset[str]
    ) -> dict[str, ObservedKey]:
        known = self._cache.load(account_id)
        found = self._read_keys(users, report, known, fresh)
        changed: dict[str, list[KnownKey]] = {}
        keys: dict[str, ObservedKey] = {}
        for name in users:
            for key in found[name]:
                keys[key.access_key_id] = key
            listing = [KnownKey(k.access_key_id, k.created_at, k.status.value) for k in found[name]]
            if listing != known.get(name, []):
                changed[name] = listing
        removed = [name for name in known if name not in users]
        if changed or removed:
            self._cache.save(account_id, changed, removed)
        return keys

    def _read_keys(
        self,
        users: dict[str, ObservedUser],
        report: dict[str, ReportRow],
        known: dict[str, list[KnownKey]],
        fresh: frozenset[str],
    ) -> dict[str, list[ObservedKey]]:
        """Each user's keys: from the report and the cache where they suffice, else read from IAM (on threads)."""

        def read(name: str) -> tuple[ObservedUser, list[ObservedKey]]:
            row = report.get(name)
            if row is None or (name in fresh and _can_act(row)):
                # Created after the report, or revoked and the report still shows a usable credential: the report
                # may predate the enforcement, so read directly (login profile included).
                return self._reads.user_credentials(users[name])
            return users[name], self._user_keys(name, row, known.get(name, []))

        names = list(users)
        with ThreadPoolExecutor(max_workers=self._workers) as pool:
            answers = list(pool.map(read, names))
        found: dict[str, list[ObservedKey]] = {}
        for name, (user, keys) in zip(names, answers, strict=True):
            users[name], found[name] = user, keys
        return found

    def _user_keys(self, name: str, row: ReportRow, known: list[KnownKey]) -> list[ObservedKey]:
        if not row.key_slots:
            return []
        if _twins_differ(row.key_slots):
            # Two keys created in the same second whose slots say different things: the report cannot tell which
            # key each slot describes, so ask IAM per key. Identical twins need no such care: either match is right.
            return self._listed(name, row, exact=True)
        cached = key_fingerprint([(k.created_at, k.status == "Active") for k in known])
        if known and cached == key_fingerprint([(s.created_at, s.active) for s in row.key_slots]):
            return [self._from_cache(name, k, row) for k in known]
        return self._listed(name, row)

    @staticmethod
    def _from_cache(user: str, known: KnownKey, row: ReportRow) -> ObservedKey:
        slot = slot_for(known.created_at, row.key_slots)
        return ObservedKey(
            access_key_id=known.access_key_id,
            user_name=user,
            status=KeyStatus.ACTIVE if slot and slot.active else KeyStatus.INACTIVE,
            created_at=aware(known.created_at),
            last_used_at=slot.last_used_at if slot else None,
        )

    def _listed(self, user: str, row: ReportRow, *, exact: bool = False) -> list[ObservedKey]:
        found = []
        for meta in self._reads.list_keys(user):
            slot = None if exact else slot_for(meta["CreateDate"], row.key_slots)
            last_used = slot.last_used_at if slot else self._reads.key_last_used(meta["AccessKeyId"])
            found.append(
                ObservedKey(
                    access_key_id=meta["AccessKeyId"],
                    user_name=user,
                    status=KeyStatus(meta["Status"]),
                    created_at=aware(meta["CreateDate"]),
                    last_used_at=last_used,
                )
            )
        return found


def _twins_differ(slots: tuple[KeySlot, ...]) -> bool:
    """Whether two slots share a creation second but differ in what they report (active flag or last use)."""
    by_second: dict[datetime, set[tuple[bool, datetime | None]]] = {}
    for slot in slots:
        by_second.setdefault(slot.created_at.replace(microsecond=0), set()).add((slot.active, slot.last_used_at))
    return any(len(reports) > 1 for reports in by_second.values())
