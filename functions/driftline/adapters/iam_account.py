"""Whole-account IAM read for the reconcile: GetAccountAuthorizationDetails pages plus the credential report, and
per-user key listing only where the report and the key cache cannot prove the key set unchanged.

Trade-off (README, "Reading IAM cheaply"): the credential report can be up to 4 hours old, so a key created or
re-activated since it was generated is seen by the next report, or at once by the event path. Users the caller marks
``fresh`` (every user with a revoked registry entry or revoked key) are read directly whenever the report still
shows them able to act: enforcement only removes credentials, so a report that shows none needs no second look.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from driftline.adapters.credential_report import fetch_credential_report
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
from driftline.domain.identity import IdentityRef
from driftline.domain.observed import (
    ALL_FACETS,
    Facet,
    Inventory,
    KeyStatus,
    ObservedKey,
    ObservedRole,
    ObservedUser,
)
from driftline.ports import KeyCache, KnownKey, NoKeyCache

if TYPE_CHECKING:
    from mypy_boto3_iam import IAMClient

GAAD_PAGE_SIZE = 1000  # the API's maximum; IAM may still return fewer with IsTruncated set
# Per-user key reads (a cold cache lists every user with keys once) run on a few threads: IAM answers each in tens
# of milliseconds, so a 5,000-user first run takes minutes one at a time. botocore clients are thread-safe; its
# retry policy backs off on Throttling.
KEY_READ_WORKERS = 4


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

    def read_account(self, account_id: str, *, fresh_users: frozenset[str] = frozenset()) -> Inventory:
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
        keys = self._keys(account_id, users, report, fresh_users)
        return Inventory(account_id=account_id, observed_at=self._now(), users=users, roles=roles, keys=keys)

    def read_identities(
        self, account_id: str, refs: Iterable[IdentityRef], *, facets: frozenset[Facet] = ALL_FACETS
    ) -> Inventory:
        return self._reads.read(account_id, refs, self._now(), facets=facets)

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
