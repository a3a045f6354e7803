"""``driftline registry revoke IDENTITY --reason --ticket [--at]`` and ``restore IDENTITY --reason``.

Each change is a versioned write over the version read: status, revoked_at, ticket, reason and updated_by set, the
version bumped, a change-log item added. A concurrent writer between the read and the write is a conflict (exit 3)
and its change survives.
"""

from __future__ import annotations

import argparse
import io
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from driftline.adapters.registry_log import current
from driftline.cli.registry_cmd import COMMANDS, run_registry
from driftline.domain.identity import IdentityRef
from driftline.domain.registry import RegistryEntry, Status
from tests.cli.conftest import ACCOUNT
from tests.cli.registry.conftest import Cli
from tests.cli.registry.support import ACTOR, READ_ONLY, Registry, entry

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

ALICE = entry("user", "alice", "alice@example.com", managed_policies=[READ_ONLY], ticket="ONB-1")
AT = "2026-01-02T03:04:05Z"


@pytest.fixture
def alice(registry: Registry) -> RegistryEntry:
    """alice, active, at version 1 in the registry."""
    return registry.put(ALICE)


def test_revoke_sets_status_time_ticket_reason_and_author(alice: RegistryEntry, registry: Registry, cli: Cli) -> None:
    """revoke user#alice --reason 'left the company' --ticket SEC-42 --at 2026-01-02T03:04:05Z: exit 0,
    'user#alice: revoked (version 2)'; the entry is revoked at that instant with that ticket and reason, updated_by
    the caller, version 2, and everything else (owner, approvals) unchanged."""
    # Given alice active at version 1
    # When she is revoked at a given time
    result = cli("revoke", "user#alice", "--reason", "left the company", "--ticket", "SEC-42", "--at", AT)
    # Then the entry says so, at the next version, by the caller
    assert result.code == 0, result.err
    assert result.out == "user#alice: revoked (version 2)\n"
    stored = registry.entries()["user#alice"]
    assert stored.status is Status.REVOKED
    assert stored.revoked_at == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert (stored.ticket, stored.reason, stored.updated_by, stored.version) == (
        "SEC-42",
        "left the company",
        ACTOR,
        2,
    )
    assert (stored.owner, stored.managed_policies) == (alice.owner, alice.managed_policies)


def test_revoke_without_at_is_revoked_now(alice: RegistryEntry, registry: Registry, cli: Cli) -> None:
    """revoke without --at: revoked_at is the time of the command (between just before and just after it), aware."""
    # Given alice active
    before = datetime.now(UTC)
    # When she is revoked without a time
    result = cli("revoke", "user#alice", "--reason", "offboarding", "--ticket", "SEC-43")
    after = datetime.now(UTC)
    # Then the revocation time is now
    assert result.code == 0, result.err
    revoked_at = registry.entries()["user#alice"].revoked_at
    assert revoked_at is not None and before - timedelta(seconds=1) <= revoked_at <= after


def test_revoke_at_with_an_offset_keeps_the_instant(alice: RegistryEntry, registry: Registry, cli: Cli) -> None:
    """--at 2026-01-02T05:04:05+02:00 is stored as the same instant as 03:04:05Z."""
    # Given alice active
    # When she is revoked at a time with an offset
    result = cli("revoke", "user#alice", "--reason", "r", "--ticket", "t", "--at", "2026-01-02T05:04:05+02:00")
    # Then the instant is kept
    assert result.code == 0, result.err
    assert registry.entries()["user#alice"].revoked_at == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_restore_makes_the_entry_active_again(alice: RegistryEntry, registry: Registry, cli: Cli) -> None:
    """revoke (v2) then restore user#alice --reason 'rehired': 'user#alice: restored (version 3)'; the entry is active,
    revoked_at cleared, reason 'rehired', updated_by the caller, version 3."""
    # Given alice revoked
    assert cli("revoke", "user#alice", "--reason", "left", "--ticket", "SEC-42", "--at", AT).code == 0
    # When she is restored
    result = cli("restore", "user#alice", "--reason", "rehired")
    # Then the entry is active again, at the next version
    assert result.code == 0, result.err
    assert result.out == "user#alice: restored (version 3)\n"
    stored = registry.entries()["user#alice"]
    assert (stored.status, stored.revoked_at, stored.reason, stored.updated_by, stored.version) == (
        Status.ACTIVE,
        None,
        "rehired",
        ACTOR,
        3,
    )


def test_revoke_of_an_access_key(registry: Registry, cli: Cli) -> None:
    """revoke access_key#AKIA… works like a user: the key entry is revoked at version 2 and keeps its user."""
    # Given a registered access key
    registry.put(entry("access_key", "AKIAABCDEFGHIJKLMNOP", "alice@example.com", user="alice"))
    # When it is revoked
    result = cli("revoke", "access_key#AKIAABCDEFGHIJKLMNOP", "--reason", "leaked", "--ticket", "INC-7", "--at", AT)
    # Then it is revoked
    assert result.code == 0, result.err
    stored = registry.entries()["access_key#AKIAABCDEFGHIJKLMNOP"]
    assert (stored.status, stored.user, stored.version) == (Status.REVOKED, "alice", 2)


@pytest.mark.parametrize(
    "argv",
    [
        ("revoke", "user#nobody", "--reason", "r", "--ticket", "t"),
        ("restore", "user#nobody", "--reason", "r"),
    ],
    ids=["revoke", "restore"],
)
def test_unknown_identity_exits_3_with_a_clear_message(
    argv: tuple[str, ...], alice: RegistryEntry, registry: Registry, cli: Cli
) -> None:
    """revoke / restore of user#nobody (not registered): exit 3, 'user#nobody is not in the registry of account
    123456789012' on stderr, nothing on stdout, nothing written."""
    # Given a registry without nobody
    before = registry.scan()
    # When nobody is revoked or restored
    result = cli(*argv)
    # Then it is a clear error and nothing changes
    assert result.code == 3
    assert result.err == (
        f"driftline registry {argv[0]}: error: user#nobody is not in the registry of account {ACCOUNT}\n"
    )
    assert result.out == ""
    assert registry.scan() == before


@pytest.mark.parametrize("at", ["2026-01-02T03:04:05", "2026-01-02", "yesterday"])
def test_at_without_timezone_or_unparseable_is_a_usage_error(
    at: str, alice: RegistryEntry, registry: Registry, cli: Cli
) -> None:
    """--at with a naive time, a bare date or text: argparse usage error (exit 2) naming --at, nothing written."""
    # Given alice active
    before = registry.scan()
    # When a revocation time without a timezone is given
    result = cli("revoke", "user#alice", "--reason", "r", "--ticket", "t", "--at", at)
    # Then it is a usage error and nothing is written
    assert result.code == 2
    err = result.err
    assert "argument --at:" in err
    if at != "yesterday":
        assert "has no timezone" in err
    assert registry.scan() == before


@pytest.mark.parametrize(
    "argv",
    [
        ("revoke", "user#alice", "--reason", "left", "--ticket", "SEC-42", "--at", AT),
        ("restore", "user#alice", "--reason", "rehired"),
    ],
    ids=["revoke", "restore"],
)
def test_racing_writer_is_a_conflict_and_its_change_is_kept(
    argv: tuple[str, ...], registry: Registry, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another writer changes alice (owner 'racer', v1 -> v2) after the command read v1 and before it writes: exit 3,
    stderr 'user#alice changed since version 1 was read', and the table holds the racer's v2 (active, owner racer):
    no lost update, no change-log item for the refused write."""
    # Given alice at version 1 (revoked first when the command is a restore) and a writer racing the command
    start = ALICE
    if argv[0] == "restore":
        start = ALICE.model_copy(update={"status": Status.REVOKED, "revoked_at": datetime(2026, 1, 1, tzinfo=UTC)})
    read = registry.put(start)
    assert read.version == 1
    racer = read.model_copy(update={"owner": "racer"})

    def current_then_race(dynamodb: DynamoDBClient, table: str, account: str, ref: IdentityRef) -> RegistryEntry | None:
        seen = current(dynamodb, table, account, ref)
        registry.put(racer, expected_version=1)  # the other writer lands between read and write
        return seen

    monkeypatch.setattr("driftline.cli.registry_cmd.current", current_then_race)
    # When the command runs
    result = cli(*argv)
    # Then it is refused with a clear conflict, and the racer's change is what the table holds
    assert result.code == 3
    assert result.err.startswith(f"driftline registry {argv[0]}: error: ")
    assert "user#alice changed since version 1 was read" in result.err
    assert result.out == ""
    stored = registry.entries()["user#alice"]
    assert (stored.owner, stored.version, stored.status) == ("racer", 2, start.status)
    assert registry.history("user#alice") == []


def test_a_second_revoke_on_a_stale_read_does_not_overwrite_the_first(
    registry: Registry, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two operators read alice at v1; the first revokes (SEC-1, v2); the second's revoke (SEC-2), still based on
    v1, is refused with exit 3: the registry keeps SEC-1's revocation."""
    # Given alice at v1, read by a second operator before the first revokes
    read = registry.put(ALICE)
    assert cli("revoke", "user#alice", "--reason", "first", "--ticket", "SEC-1", "--at", AT).code == 0
    monkeypatch.setattr("driftline.cli.registry_cmd.current", lambda *args: read)
    # When the second operator's revoke is written over the version they read
    result = cli("revoke", "user#alice", "--reason", "second", "--ticket", "SEC-2", "--at", AT)
    # Then it is a conflict, and the first revocation stands
    assert result.code == 3
    assert "changed since version 1 was read" in result.err
    stored = registry.entries()["user#alice"]
    assert (stored.ticket, stored.reason, stored.version) == ("SEC-1", "first", 2)


@pytest.mark.parametrize("command", ["revoke", "restore", "show", "history"])
def test_malformed_identity_is_a_clear_error(command: str, alice: RegistryEntry, cli: Cli) -> None:
    """``<command> alice`` (no 'kind#'): a usage mistake, exit 2 with the message "identity 'alice' is not of the
    form kind#name", not a ValueError traceback out of main()."""
    # Given a registry with alice
    extra = {"revoke": ("--reason", "r", "--ticket", "t"), "restore": ("--reason", "r")}.get(command, ())
    # When the identity is written without its kind
    result = cli(command, "alice", *extra)
    # Then the operator gets a clear error, not a traceback
    assert result.code == 2
    assert "is not of the form kind#name" in result.err


def test_an_invalid_entry_value_is_a_one_line_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """A command that builds an entry from a bad value (owner ' '): exit 3 and pydantic's problem on one line of
    stderr, never a traceback."""
    # Given a command whose entry fails validation
    monkeypatch.setitem(COMMANDS, "show", lambda args, out: RegistryEntry(kind="user", name="a", owner=" ").version)
    err = io.StringIO()
    # When it runs
    code = run_registry(argparse.Namespace(registry_command="show"), io.StringIO(), err)
    # Then the problem is one clear line
    assert code == 3
    assert err.getvalue() == (
        "driftline registry show: error: invalid RegistryEntry: owner: String should have at least 1 character\n"
    )


def test_identity_written_with_a_slash_is_accepted(alice: RegistryEntry, registry: Registry, cli: Cli) -> None:
    """``revoke user/alice`` (the documented alternative separator) revokes user#alice."""
    # Given alice active
    # When she is named with a slash
    result = cli("revoke", "user/alice", "--reason", "r", "--ticket", "t", "--at", AT)
    # Then the same entry is revoked
    assert result.code == 0, result.err
    assert registry.entries()["user#alice"].status is Status.REVOKED
    assert IdentityRef.parse("user/alice").key == "user#alice"


def test_revoking_a_revoked_entry_again_changes_nothing(registry: Registry, cli: Cli) -> None:
    """alice revoked at AT (v2). ``revoke`` again without --at must write nothing (exit 0, 'is revoked already,
    since …', still v2 with AT, two history records): it used to move revoked_at to now, which cancelled the open
    ledger record, archived the finding and restarted the grace period. The same --at also writes nothing."""
    registry.put(ALICE)
    assert cli("revoke", "user#alice", "--reason", "left", "--ticket", "SEC-42", "--at", AT).code == 0
    # When she is revoked again, without a time and with the same time
    for extra in ((), ("--at", AT)):
        result = cli("revoke", "user#alice", "--reason", "again", "--ticket", "SEC-43", *extra)
        # Then nothing is written
        assert result.code == 0, result.err
        assert "user#alice: is revoked already" in result.out and "nothing written (version 2)" in result.out
    stored = registry.entries()["user#alice"]
    assert (stored.version, stored.revoked_at, stored.ticket) == (2, datetime.fromisoformat(AT), "SEC-42")
    assert [r.version for r in registry.history("user#alice")] == [2]


def test_revoking_again_with_a_new_time_is_a_new_revocation(registry: Registry, cli: Cli) -> None:
    """alice revoked at AT; ``revoke --at`` a day later is what an operator asks explicitly: v3 with the new time
    (the ledger then keeps both records; see test_re_revocation_is_a_new_record)."""
    registry.put(ALICE)
    assert cli("revoke", "user#alice", "--reason", "left", "--ticket", "SEC-42", "--at", AT).code == 0
    later = "2026-01-03T03:04:05+00:00"
    # When she is revoked again at a new time
    result = cli("revoke", "user#alice", "--reason", "re-dated", "--ticket", "SEC-44", "--at", later)
    # Then the new revocation is written
    assert result.code == 0, result.err
    stored = registry.entries()["user#alice"]
    assert (stored.version, stored.revoked_at, stored.ticket) == (3, datetime.fromisoformat(later), "SEC-44")


def test_restoring_an_active_entry_changes_nothing(registry: Registry, cli: Cli) -> None:
    """``restore`` of active alice: exit 0, 'is active already', nothing written (still v1)."""
    registry.put(ALICE)
    result = cli("restore", "user#alice", "--reason", "why not")
    assert result.code == 0, result.err
    assert result.out == "user#alice: is active already; nothing written (version 1)\n"
    assert registry.entries()["user#alice"].version == 1
