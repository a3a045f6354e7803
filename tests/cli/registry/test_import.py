"""``driftline registry import FILE [--dry-run] [--prune]`` against a registry table on moto.

The table is read back raw (a full Scan, change-log partition included) so "nothing written" means exactly that.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from driftline.domain.registry import RegistryEntry
from driftline.domain.registry_diff import RegistryDiff, diff
from tests.cli.conftest import ACCOUNT, RunCli
from tests.cli.registry.conftest import Cli
from tests.cli.registry.support import (
    ACTOR,
    AUDIT,
    OTHER_ACCOUNT,
    READ_ONLY,
    Registry,
    entry,
    write_file,
    write_yaml_doc,
)

ALICE = entry("user", "alice", "alice@example.com", managed_policies=[READ_ONLY])
BOB = entry("user", "bob", "bob@example.com", groups=["developers"])
CAROL = entry("role", "carol-app", "platform@example.com")
DAVE = entry("user", "dave", "dave@example.com")
# alice as the next file says: another owner, one more policy.
ALICE_CHANGED = entry("user", "alice", "alice.new@example.com", managed_policies=[READ_ONLY, AUDIT])


def seed(registry: Registry, *entries: RegistryEntry) -> None:
    for item in entries:
        registry.put(item)


def test_one_invalid_entry_writes_nothing(registry: Registry, cli: Cli, tmp_path: Path) -> None:
    """A file with 3 valid entries (alice changed, bob unchanged, dave new) and then an invalid one (role without
    owner): exit 3, the problem is printed with the bad entry's line, no diff is shown, and the table (entries and
    change log) is unchanged."""
    # Given a table holding alice and bob, and a file that would change it but holds one invalid entry
    seed(registry, ALICE, BOB)
    before = registry.scan()
    path = write_yaml_doc(
        tmp_path / "registry.yaml",
        [
            ALICE_CHANGED.model_dump(mode="json", exclude_none=True),
            BOB.model_dump(mode="json", exclude_none=True),
            DAVE.model_dump(mode="json", exclude_none=True),
            {"kind": "role", "name": "ghost"},
        ],
    )
    ghost_line = path.read_text(encoding="utf-8").splitlines().index("- kind: role") + 1
    # When it is imported
    result = cli("import", str(path))
    # Then nothing at all is written and the problem is named
    assert result.code == 3
    assert "1 problem(s) in the registry file" in result.err
    assert f"entries[3] (line {ghost_line}) role#ghost: owner: Field required" in result.err
    assert result.out == ""
    assert registry.scan() == before


def test_dry_run_prints_the_diff_and_writes_nothing(registry: Registry, cli: Cli, tmp_path: Path) -> None:
    """Table alice, bob, carol-app; file alice (owner and policies changed), bob (same), dave (new), no carol-app.
    --dry-run --prune prints '+ user#dave', '~ user#alice: managed_policies, owner', '- role#carol-app' and the counts
    '1 added, 1 changed, 1 unchanged, 1 removed', then 'dry run: nothing written'; the table is unchanged."""
    # Given a table and a file that differs from it in every way
    seed(registry, ALICE, BOB, CAROL)
    before = registry.scan()
    path = write_file(tmp_path / "registry.yaml", [ALICE_CHANGED, BOB, DAVE])
    # When it is imported as a dry run with --prune
    result = cli("import", str(path), "--dry-run", "--prune")
    # Then the whole diff is printed and nothing is written
    assert result.code == 0, result.err
    assert result.out == (
        "  + user#dave (owner dave@example.com, active)\n"
        "  ~ user#alice: managed_policies, owner\n"
        "  - role#carol-app\n"
        "1 added, 1 changed, 1 unchanged, 1 removed\n"
        "dry run: nothing written\n"
    )
    assert registry.scan() == before


def test_dry_run_without_prune_removes_nothing(registry: Registry, cli: Cli, tmp_path: Path) -> None:
    """The same table and file without --prune: no '-' line, '0 removed', nothing written."""
    # Given the same table and file
    seed(registry, ALICE, BOB, CAROL)
    before = registry.scan()
    path = write_file(tmp_path / "registry.yaml", [ALICE_CHANGED, BOB, DAVE])
    # When it is imported as a dry run without --prune
    result = cli("import", str(path), "--dry-run")
    # Then the entry missing from the file is not proposed for removal
    assert result.code == 0, result.err
    assert "  - " not in result.out
    assert "1 added, 1 changed, 1 unchanged, 0 removed\n" in result.out
    assert result.out.endswith("dry run: nothing written\n")
    assert registry.scan() == before


def test_dry_run_on_an_empty_table_lists_every_entry_as_added(registry: Registry, cli: Cli, tmp_path: Path) -> None:
    """A 3-entry file (one revoked) against an empty table, --dry-run: three '+' lines with owner and status, sorted
    by kind#name, '3 added, 0 changed, 0 unchanged, 0 removed'; the table stays empty."""
    # Given an empty table and a file of three entries
    revoked = entry("user", "eve", "eve@example.com", status="revoked", revoked_at="2026-01-01T00:00:00Z")
    path = write_file(tmp_path / "registry.csv", [DAVE, revoked, CAROL])
    # When it is imported as a dry run
    result = cli("import", str(path), "--dry-run")
    # Then every entry is an addition and nothing is written
    assert result.code == 0, result.err
    assert result.out.splitlines() == [
        "  + role#carol-app (owner platform@example.com, active)",
        "  + user#dave (owner dave@example.com, active)",
        "  + user#eve (owner eve@example.com, revoked)",
        "3 added, 0 changed, 0 unchanged, 0 removed",
        "dry run: nothing written",
    ]
    assert registry.scan() == []


def test_import_then_rerun_is_idempotent(registry: Registry, cli: Cli, tmp_path: Path) -> None:
    """Importing a 4-entry file into an empty table writes 4 changes (versions 1, updated_by the caller, 4 change-log
    items); importing it again prints '0 added, 0 changed, 4 unchanged, 0 removed' and 'nothing to write' and
    leaves every item of the table as it was."""
    # Given a file and an empty table
    key = entry("access_key", "AKIAABCDEFGHIJKLMNOP", "alice@example.com", user="alice")
    path = write_file(tmp_path / "registry.yaml", [ALICE, BOB, CAROL, key])
    # When it is imported
    first = cli("import", str(path))
    # Then the four entries are written as version 1 by the caller, each with a change-log item
    assert first.code == 0, first.err
    assert "4 added, 0 changed, 0 unchanged, 0 removed\n" in first.out
    assert first.out.endswith("wrote 4 change(s)\n")
    stored = registry.entries()
    assert sorted(stored) == sorted(e.ref.key for e in (ALICE, BOB, CAROL, key))
    assert {(e.version, e.updated_by) for e in stored.values()} == {(1, ACTOR)}
    assert stored["user#alice"].managed_policies == (READ_ONLY,)
    assert len(registry.history_items()) == 4
    after_first = registry.scan()
    # When the same file is imported again
    second = cli("import", str(path))
    # Then nothing is written
    assert second.code == 0, second.err
    assert second.out == "0 added, 0 changed, 4 unchanged, 0 removed\nnothing to write\n"
    assert registry.scan() == after_first


def test_changed_entries_get_the_next_version_and_the_caller_as_updated_by(
    registry: Registry, cli: Cli, tmp_path: Path
) -> None:
    """Table: alice v1 and bob v3 written by 'pipeline' (no change log). File: alice changed, bob unchanged, dave new.
    After import alice is v2 with the new owner and policies, updated_by the STS caller ARN and a fresh updated_at;
    bob is untouched (v3, updated_by 'pipeline'); dave is v1."""
    # Given entries written by another writer, bob already at version 3
    registry.put(ALICE.model_copy(update={"updated_by": "pipeline"}))
    bob = BOB.model_copy(update={"updated_by": "pipeline"})
    registry.put(bob)
    registry.put(bob, expected_version=1)
    registry.put(bob, expected_version=2)
    assert registry.entries()["user#bob"].version == 3
    path = write_file(tmp_path / "registry.json", [ALICE_CHANGED, BOB, DAVE])
    started = datetime.now(UTC)
    # When the file is imported
    result = cli("import", str(path))
    # Then only the changed and the new entries were written, with the right versions and author
    assert result.code == 0, result.err
    assert "  ~ user#alice: managed_policies, owner\n" in result.out
    assert result.out.endswith("1 added, 1 changed, 1 unchanged, 0 removed\nwrote 2 change(s)\n")
    stored = registry.entries()
    alice = stored["user#alice"]
    assert (alice.version, alice.owner, alice.managed_policies) == (2, "alice.new@example.com", (READ_ONLY, AUDIT))
    assert alice.updated_by == ACTOR
    assert alice.updated_at is not None and started - timedelta(seconds=5) <= alice.updated_at <= datetime.now(UTC)
    assert (stored["user#bob"].version, stored["user#bob"].updated_by) == (3, "pipeline")
    assert (stored["user#dave"].version, stored["user#dave"].updated_by) == (1, ACTOR)


def test_prune_removes_entries_missing_from_the_file(registry: Registry, cli: Cli, tmp_path: Path) -> None:
    """Table alice, bob, carol-app; file alice and bob only; import --prune deletes carol-app (printed
    '- role#carol-app', '1 removed', 'wrote 1 change(s)'), keeps alice and bob, and logs a delete for carol-app at
    version 2."""
    # Given a table with an entry the file no longer has
    seed(registry, ALICE, BOB, CAROL)
    path = write_file(tmp_path / "registry.yaml", [ALICE, BOB])
    # When the file is imported with --prune
    result = cli("import", str(path), "--prune")
    # Then the missing entry is deleted, and only it
    assert result.code == 0, result.err
    assert result.out == ("  - role#carol-app\n0 added, 0 changed, 2 unchanged, 1 removed\nwrote 1 change(s)\n")
    assert sorted(registry.entries()) == ["user#alice", "user#bob"]
    [record] = registry.history("role#carol-app")
    assert (record.action, record.version, record.entry, record.by) == ("delete", 2, None, ACTOR)


def test_without_prune_entries_missing_from_the_file_stay(registry: Registry, cli: Cli, tmp_path: Path) -> None:
    """The same table and file imported without --prune: 'nothing to write', carol-app is still there."""
    # Given a table with an entry the file does not mention
    seed(registry, ALICE, BOB, CAROL)
    path = write_file(tmp_path / "registry.yaml", [ALICE, BOB])
    # When the file is imported without --prune
    result = cli("import", str(path))
    # Then nothing is removed
    assert result.code == 0, result.err
    assert result.out.endswith("nothing to write\n")
    assert sorted(registry.entries()) == ["role#carol-app", "user#alice", "user#bob"]


def test_file_for_another_account_exits_3(registry: Registry, cli: Cli, tmp_path: Path) -> None:
    """A valid file for account 210987654321 imported with the credentials of 123456789012: exit 3, a message naming
    both accounts, and nothing written."""
    # Given a file for another account
    path = write_file(tmp_path / "registry.yaml", [ALICE], account=OTHER_ACCOUNT)
    # When it is imported
    result = cli("import", str(path))
    # Then it is refused
    assert result.code == 3
    assert f"is for account {OTHER_ACCOUNT}" in result.err
    assert ACCOUNT in result.err
    assert result.out == ""
    assert registry.scan() == []


def test_missing_table_exits_3(registry: Registry, run_cli: RunCli, tmp_path: Path) -> None:
    """Import into a table that does not exist: exit 3 with the DynamoDB error, no traceback."""
    # Given a valid file and a table name that does not exist
    path = write_file(tmp_path / "registry.yaml", [ALICE])
    # When it is imported there
    argv = ["registry", "import", str(path), "--registry-table", "no-such-table", "--endpoint-url", registry.endpoint]
    result = run_cli(argv)
    # Then the error is reported as an error
    assert result.code == 3
    assert "driftline registry import: error:" in result.err
    assert "ResourceNotFoundException" in result.err


def test_a_concurrent_change_during_import_is_a_conflict_not_a_lost_update(
    registry: Registry, cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between the import's read (the diff) and its write, another writer changes alice to owner 'racer' (v2). The
    import exits 3 naming alice as a conflict; alice keeps the other writer's v2; the file's other change (new dave)
    is still written."""
    # Given a table with alice at v1 and a file that changes alice and adds dave
    seed(registry, ALICE)
    path = write_file(tmp_path / "registry.yaml", [ALICE_CHANGED, DAVE])

    def racing_diff(current: Iterable[RegistryEntry], desired: Iterable[RegistryEntry], *, prune: bool) -> RegistryDiff:
        result = diff(current, desired, prune=prune)
        registry.put(ALICE.model_copy(update={"owner": "racer"}), expected_version=1)  # the other writer wins
        return result

    monkeypatch.setattr("driftline.cli.registry_cmd.diff", racing_diff)
    # When the file is imported
    result = cli("import", str(path))
    # Then alice is a conflict, the other writer's change is kept, and dave is written
    assert result.code == 3
    assert "wrote 1 change(s)\n" in result.out
    assert "conflict: user#alice changed meanwhile; not written" in result.out
    stored = registry.entries()
    assert (stored["user#alice"].owner, stored["user#alice"].version) == ("racer", 2)
    assert stored["user#dave"].version == 1
    assert [r.version for r in registry.history("user#alice")] == []


@pytest.mark.slow
def test_a_thousand_entries_import_and_reimport(registry: Registry, cli: Cli, tmp_path: Path) -> None:
    """A 1,000-entry file (600 users with a policy, 200 roles, 200 access keys): import prints '1000 added, ...' and
    'wrote 1000 change(s)', the table then holds 1,000 entries at version 1 and 1,000 change-log items; the re-import
    is 'nothing to write' with '1000 unchanged'."""
    # Given a file of 1,000 valid entries
    declared = [
        entry("user", f"user-{i:04d}", f"team-{i % 7}@example.com", managed_policies=[READ_ONLY]) for i in range(600)
    ]
    declared += [entry("role", f"role-{i:04d}", "platform@example.com", inline_policies=[]) for i in range(200)]
    declared += [
        entry("access_key", f"AKIA{i:016d}", f"team-{i % 7}@example.com", user=f"user-{i:04d}") for i in range(200)
    ]
    path = write_file(tmp_path / "registry.yaml", declared)
    started = time.perf_counter()
    # When it is imported
    result = cli("import", str(path))
    elapsed = time.perf_counter() - started
    # Then every entry is written, with its change-log item
    assert result.code == 0, result.err
    assert "1000 added, 0 changed, 0 unchanged, 0 removed\n" in result.out
    assert result.out.endswith("wrote 1000 change(s)\n")
    items = registry.scan()
    stored = registry.entries(items=items)
    assert len(stored) == 1000
    assert {e.version for e in stored.values()} == {1}
    assert stored["access_key#AKIA0000000000000199"].user == "user-0199"
    assert len(registry.history_items(items=items)) == 1000
    assert elapsed < 60, f"1,000 entries took {elapsed:.1f}s"
    # When it is imported again
    again = cli("import", str(path))
    # Then nothing is written
    assert again.code == 0, again.err
    assert again.out == "0 added, 0 changed, 1000 unchanged, 0 removed\nnothing to write\n"


def test_a_file_with_two_entries_blocks_is_refused_before_prune(registry: Registry, cli: Cli, tmp_path: Path) -> None:
    """The table holds revoked mallory and alice; the file repeats ``entries:`` (mallory in the first block, alice in
    the second). ``import --prune`` must exit 3 naming lines 8 and 2 and delete nothing: YAML's last-wins used to
    read alice alone, and the prune deleted mallory's revocation."""
    from tests.unit.registry_ops.test_duplicate_keys import TWO_BLOCKS

    mallory = entry("user", "mallory", "sec@example.com", status="revoked", revoked_at="2026-01-01T00:00:00Z")
    seed(registry, mallory, entry("user", "alice", "alice@example.com"))
    before = registry.scan()
    path = tmp_path / "registry.yaml"
    path.write_text(TWO_BLOCKS, encoding="utf-8")
    # When it is imported with --prune
    result = cli("import", str(path), "--prune")
    # Then it is refused and the table is untouched
    assert result.code == 3
    assert "line 8: duplicate key 'entries' (first at line 2)" in result.err
    assert registry.scan() == before
