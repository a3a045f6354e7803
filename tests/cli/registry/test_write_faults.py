"""Registry writes under races and faults: concurrent imports, entries too large for DynamoDB, a process killed
between an entry and its change-log record. Nothing is overwritten unseen and no entry is left without a record."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import pytest

from driftline.adapters.registry_log import COMPLETED_NOTE
from driftline.domain.registry import RegistryEntry
from driftline.domain.registry_diff import RegistryDiff, diff
from tests.cli.registry.support import ACTOR, Registry, entry, write_file
from tests.fault_injection import Killed, inject

from .conftest import Cli


def users(count: int, owner: str) -> list[RegistryEntry]:
    return [entry("user", f"user-{i:04d}", owner) for i in range(count)]


def assert_every_entry_has_its_record(registry: Registry) -> None:
    """Each entry's history holds versions 1..n once each, and its last record is the entry as stored."""
    for key, stored in registry.entries().items():
        records = registry.history(key)
        assert [r.version for r in records] == list(range(1, stored.version + 1)), key
        assert records[-1].entry == stored, key


def test_new_entries_created_meanwhile_by_another_import_are_conflicts(
    registry: Registry, cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two imports of the same 40 new users (owners 'first' and 'second') race: the second reads an empty table,
    then the first writes all 40 before the second writes. The second must exit 3 with 40 conflicts and write
    nothing; every user keeps the first import's owner and has exactly one version-1 record (BatchWriteItem used to
    overwrite all 40 silently, leaving two version-1 records each)."""
    # Given the first import's file and the second's
    first = write_file(tmp_path / "first.yaml", users(40, "first@example.com"))
    second = write_file(tmp_path / "second.yaml", users(40, "second@example.com"))

    def racing_diff(current: Iterable[RegistryEntry], desired: Iterable[RegistryEntry], *, prune: bool) -> RegistryDiff:
        result = diff(current, desired, prune=prune)
        monkeypatch.setattr("driftline.cli.registry_cmd.diff", diff)
        assert cli("import", str(first)).code == 0  # the first import runs to the end in between
        return result

    monkeypatch.setattr("driftline.cli.registry_cmd.diff", racing_diff)
    # When the second import runs, with the first one overtaking it
    result = cli("import", str(second))
    # Then every one of its 40 writes is a conflict and the first import's entries stand
    assert result.code == 3
    assert "wrote 0 change(s)\n" in result.out
    assert result.out.count("  conflict: user#user-") == 40
    stored = registry.entries()
    assert {e.owner for e in stored.values()} == {"first@example.com"}
    assert {e.version for e in stored.values()} == {1}
    assert len(registry.history_items()) == 40
    assert_every_entry_has_its_record(registry)


@pytest.mark.slow
def test_two_import_processes_at_once_lose_no_write(registry: Registry, tmp_path: Path) -> None:
    """Two ``driftline registry import`` processes start together against one moto server, each with the same 300
    users under its own owner. Whatever the interleaving: each exits 0 or 3; the changes they report written add up
    to the change-log items in the table; every user's history is versions 1..n once each and ends with the entry as
    stored; and each process's conflicts plus its writes are its 300 changes."""
    files = [write_file(tmp_path / f"{side}.yaml", users(300, f"{side}@example.com")) for side in ("left", "right")]
    command = [sys.executable, "-m", "driftline.cli.main", "registry", "import"]
    # When both imports run at the same time
    procs = [
        subprocess.Popen(
            [*command, str(f), *registry.aws_args()],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=os.environ | {"PYTHONPATH": os.pathsep.join(sys.path)},
        )
        for f in files
    ]
    outcomes = [(p.wait(timeout=120), *p.communicate()) for p in procs]
    # Then nothing was overwritten unseen
    written = 0
    for code, out, err in outcomes:
        assert code in (0, 3), err
        wrote = int(out.split("wrote ")[1].split(" change")[0])
        conflicts = out.count("  conflict: ")
        added_or_changed = out.count("  + ") + out.count("  ~ ")
        assert wrote + conflicts == added_or_changed, out[-500:]
        written += wrote
    assert len(registry.entries()) == 300
    assert len(registry.history_items()) == written
    assert_every_entry_has_its_record(registry)


def test_an_entry_too_large_for_dynamodb_stops_the_import_before_any_write(
    registry: Registry, cli: Cli, tmp_path: Path
) -> None:
    """150 new users, the 120th with a 450 KB ``purpose`` (DynamoDB's item limit is 400 KB): the import exits 3
    naming user-0119 and its size, and writes nothing at all (it used to leave 119 entries and no change log)."""
    declared = users(150, "team@example.com")
    declared[119] = declared[119].model_copy(update={"purpose": "x" * 450 * 1024})
    path = write_file(tmp_path / "registry.yaml", declared)
    # When it is imported
    result = cli("import", str(path))
    # Then it is refused whole
    assert result.code == 3
    assert "user-0119: 46" in result.err and "nothing was written" in result.err
    assert registry.scan() == []


def test_a_run_killed_between_entries_and_records_is_completed_by_the_next(
    registry: Registry, cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An import of 60 users is killed when it starts writing the change log (every entry written, no record). The
    re-run must say the 60 entries lacked their record, record them (version 1, by the writer of the entry, noted as
    completed) and exit 0 with nothing else to write; a third run finds nothing missing. A dry run before that only
    names them. (The re-run used to say 'nothing to write' and the records were lost for good.)"""
    path = write_file(tmp_path / "registry.yaml", users(60, "team@example.com"))
    fault = inject(monkeypatch, "dynamodb.BatchWriteItem", Killed, times=1)
    # When the import is killed at its first change-log write
    with pytest.raises(Killed):
        cli("import", str(path))
    assert fault.raised == 1
    assert len(registry.entries()) == 60 and registry.history_items() == []
    # Then a dry run names the gap and writes nothing
    dry = cli("import", str(path), "--dry-run")
    assert dry.code == 0, dry.err
    assert "60 entries lack a change-log record (an import writes them)\n" in dry.out
    assert registry.history_items() == []
    # And the re-run completes it
    again = cli("import", str(path))
    assert again.code == 0, again.err
    assert "60 entries lacked a change-log record; recorded now\n" in again.out
    assert again.out.endswith("nothing to write\n")
    assert_every_entry_has_its_record(registry)
    record = registry.history("user#user-0000")[0]
    assert (record.by, record.action) == (ACTOR, "put")
    assert record.note.startswith(COMPLETED_NOTE)
    # And a third run finds nothing missing
    third = cli("import", str(path))
    assert "lacked" not in third.out and third.out.endswith("nothing to write\n")


def test_a_revoke_killed_before_its_record_is_completed_by_the_next_command(
    registry: Registry, cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``revoke user#user-0001`` is killed after writing the revocation (v2) and before its record. The next
    ``restore`` of that user must first record v2 (so the history shows the revocation that happened), then write v3
    with its own record."""
    assert cli("import", str(write_file(tmp_path / "r.yaml", users(3, "team@example.com")))).code == 0
    inject(monkeypatch, "dynamodb.BatchWriteItem", Killed, times=1)
    with pytest.raises(Killed):
        cli("revoke", "user#user-0001", "--reason", "left", "--ticket", "SEC-1")
    # When it is restored
    result = cli("restore", "user#user-0001", "--reason", "came back")
    # Then the lost revocation record is back in its place, before the restore
    assert result.code == 0, result.err
    records = registry.history("user#user-0001")
    assert [(r.version, r.entry.status.value if r.entry else None) for r in records] == [
        (1, "active"),
        (2, "revoked"),
        (3, "active"),
    ]
    assert_every_entry_has_its_record(registry)


def test_a_prune_refused_by_dynamodb_keeps_no_deletion_record(
    registry: Registry, cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``import --prune`` removing user-0002, whose DeleteItem DynamoDB refuses (AccessDenied): the import exits 3,
    the entry stays, and its history holds no deletion record (records of deletions are written first and taken
    back when the deletion did not happen)."""
    from botocore.exceptions import ClientError

    assert cli("import", str(write_file(tmp_path / "r.yaml", users(3, "team@example.com")))).code == 0
    denied = ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "DeleteItem")
    inject(monkeypatch, "dynamodb.DeleteItem", denied)
    # When a file without user-0002 is imported with --prune
    result = cli("import", str(write_file(tmp_path / "p.yaml", users(2, "team@example.com"))), "--prune")
    # Then the failure is reported and nothing about user-0002 changed
    assert result.code == 3
    assert "AccessDenied" in result.err
    assert "user#user-0002" in registry.entries()
    assert [r.action for r in registry.history("user#user-0002")] == ["put"]
