"""The quiet account and the key cache: a reconcile with nothing changed must cost no per-user IAM reads and no cache
writes, a new key must be found by listing only its user, and revoked users must always be read directly.

IAM serves the same credential report for up to 4 hours (AWS-FACTS section 2); moto always builds a fresh one. Tests
that need a stale report pin the first report the reader fetched (``stale_report``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import driftline.adapters.iam_account as iam_account
from driftline.adapters import credential_report
from driftline.adapters.iam_identity import IdentityReads
from driftline.adapters.iam_parse import ReportRow
from driftline.cli.sandbox import set_key
from driftline.domain.drift import DriftType, RevocationState
from driftline.service.ports import KeyCache, MemoryKeyCache
from tests.integration.support import ACCOUNT, STATE_TABLE, RequestLog, Sandbox, ago, found, the_drift

CacheFactory = Callable[[], KeyCache]


@pytest.fixture(params=["memory", "dynamodb"])
def key_cache(request: pytest.FixtureRequest, sandbox: Sandbox) -> KeyCache:
    """One cache instance shared by every reconcile of a test: in process, or in the state table."""
    if request.param == "memory":
        return MemoryKeyCache()
    return sandbox.dynamo_key_cache()


@pytest.fixture
def requests_log(sandbox: Sandbox) -> RequestLog:
    return RequestLog(sandbox.iam, "ListAccessKeys", "GetLoginProfile")


@pytest.fixture
def stale_report(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, ReportRow]]]:
    """Serve every reconcile the credential report of the first one, as IAM does inside its 4-hour window."""
    real = credential_report.fetch_credential_report
    pinned: list[dict[str, ReportRow]] = []

    def fetch(iam: Any, **kwargs: Any) -> dict[str, ReportRow]:
        if not pinned:
            pinned.append(real(iam, **kwargs))
        return pinned[0]

    monkeypatch.setattr(iam_account, "fetch_credential_report", fetch)
    yield pinned


def seed_quiet_account(sandbox: Sandbox) -> dict[str, str]:
    """Three users (two with keys), one role, and a registry that matches IAM exactly. Keys are ten-odd days old,
    each created in its own second."""
    dev_read = sandbox.policy("DevRead")
    sandbox.group("developers")
    keys = {
        "alice": str(sandbox.user("alice", key=True, policies=[dev_read], groups=["developers"])),
        "bob": str(sandbox.user("bob", key=True, inline=["bob-s3"])),
    }
    sandbox.user("carol", password=True)
    sandbox.role("app-runtime", policies=[dev_read])
    for offset, key in enumerate(keys.values()):
        set_key(key, created=ago(days=10, seconds=offset * 7))
    sandbox.register_user("alice", managed_policies=[dev_read], groups=["developers"], inline_policies=[])
    sandbox.register_user("bob", managed_policies=[], groups=[], inline_policies=["bob-s3"])
    sandbox.register_user("carol", managed_policies=[], groups=[], inline_policies=[])
    sandbox.register_role("app-runtime", managed_policies=[dev_read], inline_policies=[])
    for user, key in keys.items():
        sandbox.register_key(key, user)
    return keys


def _state_items(sandbox: Sandbox) -> dict[str, list[str]]:
    answer = sandbox.dynamodb.query(
        TableName=STATE_TABLE,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"keyset#{ACCOUNT}"}},
    )
    return {item["sk"]["S"]: [k["M"]["id"]["S"] for k in item["keys"]["L"]] for item in answer["Items"]}


def test_quiet_account_has_no_drift(sandbox: Sandbox) -> None:
    """A registry that matches IAM exactly (entitlements, keys, roles) must yield zero drifts and no problems."""
    # Given an account whose registry matches IAM exactly
    seed_quiet_account(sandbox)

    # When the account is reconciled
    evaluation = sandbox.reconcile()

    # Then nothing drifts, and everything was observed
    assert found(evaluation) == set()
    assert evaluation.registry_problems == []
    assert evaluation.registry_entries == 6
    assert evaluation.identities_observed == 6  # 3 users, 1 role, 2 keys


def test_second_quiet_reconcile_reads_no_keys_and_writes_nothing(
    sandbox: Sandbox, key_cache: KeyCache, requests_log: RequestLog
) -> None:
    """First reconcile: ListAccessKeys once for each user with keys (not for the keyless user) and the cache is
    written. Second reconcile with nothing changed: zero ListAccessKeys, zero GetAccessKeyLastUsed, zero
    BatchWriteItem, and the same keys observed from the cache."""
    # Given a quiet account
    keys = seed_quiet_account(sandbox)
    counter = sandbox.clients.counter
    counter.calls.clear()

    # When it is reconciled for the first time
    first = sandbox.reconcile(key_cache=key_cache)

    # Then exactly the users with keys were listed, and the cache now knows their keys
    assert sorted(requests_log.users["ListAccessKeys"]) == ["alice", "bob"]
    assert counter.calls["iam.ListAccessKeys"] == 2
    assert found(first) == set()
    assert key_cache.load(ACCOUNT).keys() == {"alice", "bob"}
    if not isinstance(key_cache, MemoryKeyCache):
        assert counter.calls["dynamodb.BatchWriteItem"] >= 1
        assert _state_items(sandbox) == {"alice": [keys["alice"]], "bob": [keys["bob"]]}

    # When it is reconciled again with nothing changed
    counter.calls.clear()
    requests_log.clear()
    second = sandbox.reconcile(key_cache=key_cache)

    # Then no key was listed or looked up, nothing was written, and the verdict and inventory are unchanged
    assert requests_log.users["ListAccessKeys"] == []
    assert counter.calls["iam.ListAccessKeys"] == 0
    assert counter.calls["iam.GetAccessKeyLastUsed"] == 0
    assert counter.calls["dynamodb.BatchWriteItem"] == 0
    assert found(second) == set()
    assert second.identities_observed == first.identities_observed == 6


def test_new_key_is_listed_for_its_user_only_and_reported(
    sandbox: Sandbox, key_cache: KeyCache, requests_log: RequestLog
) -> None:
    """After a warm reconcile, a new key created for bob must cause exactly one ListAccessKeys (for bob), one cache
    write, and an unregistered-identity drift for the new key owned by bob's owner."""
    # Given a quiet account already reconciled once
    seed_quiet_account(sandbox)
    sandbox.reconcile(key_cache=key_cache)
    counter = sandbox.clients.counter

    # When a new key is created for bob and the account is reconciled
    new_key = sandbox.key("bob")
    counter.calls.clear()
    requests_log.clear()
    evaluation = sandbox.reconcile(key_cache=key_cache)

    # Then only bob was listed, the new key is unregistered, and only bob's cache item changed
    assert requests_log.users["ListAccessKeys"] == ["bob"]
    assert found(evaluation) == {("unregistered-identity", f"access_key#{new_key}")}
    drift = the_drift(evaluation, DriftType.UNREGISTERED_IDENTITY, f"access_key#{new_key}")
    assert (drift.user, drift.owner) == ("bob", "bob@example.com")
    assert {k.access_key_id for k in key_cache.load(ACCOUNT)["bob"]} >= {new_key}
    if not isinstance(key_cache, MemoryKeyCache):
        assert counter.calls["dynamodb.BatchWriteItem"] == 1


@pytest.mark.parametrize("revoked", ["user", "access_key"])
def test_revoked_credentials_are_read_fresh_despite_stale_report_and_cache(
    sandbox: Sandbox,
    key_cache: KeyCache,
    requests_log: RequestLog,
    stale_report: list[dict[str, ReportRow]],
    revoked: str,
) -> None:
    """A revoked user (or the user of a revoked key) whose key was deactivated minutes ago, while the cache and the
    still-served report say Active, must be listed directly (ListAccessKeys + GetLoginProfile) and judged enforced;
    the non-revoked users are still served from the cache."""
    # Given a quiet account plus zed, revoked two days ago, whose key is still Active
    seed_quiet_account(sandbox)
    key = str(sandbox.user("zed", key=True))
    set_key(key, created=ago(days=30))
    if revoked == "user":
        sandbox.register_user("zed", status="revoked", revoked_at=ago(days=2))
        identity = "user#zed"
    else:
        sandbox.register_user("zed")
        sandbox.register_key(key, "zed", status="revoked", revoked_at=ago(days=2))
        identity = f"access_key#{key}"
    first = sandbox.reconcile(key_cache=key_cache)
    assert found(first) == {("unenforced-revocation", identity)}

    # When the key is deactivated and the account reconciled while IAM still serves the earlier report
    sandbox.deactivate("zed", key)
    requests_log.clear()
    second = sandbox.reconcile(key_cache=key_cache)

    # Then zed (and only zed) was read directly and the revocation is seen as enforced
    assert stale_report[0]["zed"].key_slots[0].active, "the pinned report must still show the key Active"
    assert requests_log.users == {"ListAccessKeys": ["zed"], "GetLoginProfile": ["zed"]}
    assert found(second) == set()
    check = next(r for r in second.comparison.revocations if r.identity.key == identity)
    assert check.state is RevocationState.ENFORCED


def test_cached_keys_created_in_the_same_second_keep_their_own_status(sandbox: Sandbox) -> None:
    """A user with an Active registered key and an Inactive unregistered key created in the same second: the warm
    (cached) reconcile must not call the Inactive key Active (no unregistered-identity drift), just like the cold
    one."""
    # Given twin's two keys created in the same second, the second one Inactive and unregistered
    sandbox.user("twin")
    first_key, second_key = sandbox.key("twin"), sandbox.key("twin")
    created = ago(days=10)
    set_key(first_key, created=created)
    set_key(second_key, created=created)
    sandbox.deactivate("twin", second_key)
    sandbox.register_user("twin")
    sandbox.register_key(first_key, "twin")
    cache = MemoryKeyCache()
    assert found(sandbox.reconcile(key_cache=cache)) == set()

    # When the account is reconciled again from the warm cache
    evaluation = sandbox.reconcile(key_cache=cache)

    # Then the Inactive key is still Inactive, so nothing is reported
    assert found(evaluation) == set()


def test_keys_created_in_the_same_second_keep_their_own_last_use(sandbox: Sandbox) -> None:
    """Two Active keys created in the same second 100 days ago, the first used yesterday and the second never: the
    second must be stale-credential (never used, idle 100 days), not credited with the first key's use."""
    # Given twin's two keys, only the first of them ever used; key age is allowed up to a year
    sandbox.user("twin")
    first_key, second_key = sandbox.key("twin"), sandbox.key("twin")
    created = ago(days=100)
    set_key(first_key, created=created, last_used=ago(days=1))
    set_key(second_key, created=created)
    sandbox.register_user("twin", max_key_age_days=365)
    sandbox.register_key(first_key, "twin")
    sandbox.register_key(second_key, "twin")

    # When the account is reconciled
    evaluation = sandbox.reconcile()

    # Then the never-used key is stale
    assert found(evaluation) == {("stale-credential", f"access_key#{second_key}")}
    assert "last_used_at" not in the_drift(evaluation, DriftType.STALE_CREDENTIAL, f"access_key#{second_key}").evidence


def test_identical_twin_keys_are_served_from_the_cache(sandbox: Sandbox) -> None:
    """Two Active, never-used keys created in the same second (automation that makes both at once): their report
    slots are identical, so either match is right. The cold run lists the user once and asks for no per-key last
    use; the warm run asks IAM nothing about them; both judge the unregistered twin."""
    # Given twin's two identical keys, only the first registered
    sandbox.user("twin")
    first_key, second_key = sandbox.key("twin"), sandbox.key("twin")
    created = ago(days=10)
    set_key(first_key, created=created)
    set_key(second_key, created=created)
    sandbox.register_user("twin")
    sandbox.register_key(first_key, "twin")
    log = RequestLog(sandbox.iam, "ListAccessKeys", "GetAccessKeyLastUsed")
    cache = MemoryKeyCache()

    # When the account is reconciled cold, then warm
    cold = sandbox.reconcile(key_cache=cache)
    cold_calls = {op: list(users) for op, users in log.users.items()}
    log.clear()
    warm = sandbox.reconcile(key_cache=cache)

    # Then one listing, no per-key reads, and the same verdict both times
    assert cold_calls == {"ListAccessKeys": ["twin"], "GetAccessKeyLastUsed": []}
    assert log.users == {"ListAccessKeys": [], "GetAccessKeyLastUsed": []}
    expected = {("unregistered-identity", f"access_key#{second_key}")}
    assert found(cold) == expected
    assert found(warm) == expected


def test_cold_cache_key_listings_run_concurrently(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    """Four users with keys and a cold cache: their ListAccessKeys must be in flight together (a 4-party barrier
    inside the listing; one at a time, the first would wait alone and the barrier break after 10 s), and every
    key must still be found."""
    keys = {name: str(sandbox.user(name, key=True)) for name in ("u1", "u2", "u3", "u4")}
    barrier = threading.Barrier(4, timeout=10)
    real = IdentityReads.list_keys

    def list_keys(self: IdentityReads, user: str) -> list[dict[str, Any]]:
        barrier.wait()
        return real(self, user)

    monkeypatch.setattr(IdentityReads, "list_keys", list_keys)

    inventory = sandbox.reader(MemoryKeyCache()).read_account(ACCOUNT)

    assert set(inventory.keys) == set(keys.values())
    assert not barrier.broken
