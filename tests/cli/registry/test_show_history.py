"""``driftline registry show IDENTITY`` and ``history IDENTITY``: the entry now, and every change made to it."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

from tests.cli.conftest import ACCOUNT
from tests.cli.registry.conftest import Cli
from tests.cli.registry.support import ACTOR, AUDIT, READ_ONLY, Registry, entry, write_file

ALICE_V1 = entry("user", "alice", "alice@example.com", managed_policies=[READ_ONLY])
ALICE_V2 = entry("user", "alice", "alice.new@example.com", managed_policies=[READ_ONLY, AUDIT])
LINE = re.compile(r"^(\S+)  v(\d+)  (\S+)\s+(\S+)\s+by (\S+)(?:  \((.*)\))?$")


def history_lines(out: str) -> list[tuple[str, str, str, str, str]]:
    """(version, action, status, by, note) of each printed line; the timestamp must parse and be non-decreasing."""
    rows = []
    last = None
    for line in out.splitlines():
        match = LINE.match(line)
        assert match, f"unexpected history line: {line!r}"
        when = datetime.fromisoformat(match[1])
        assert when.tzinfo is not None and (last is None or when >= last)
        last = when
        rows.append((match[2], match[3], match[4], match[5], match[6] or ""))
    return rows


def test_history_lists_every_change_in_order(registry: Registry, cli: Cli, tmp_path: Path) -> None:
    """import (v1), import of a changed file (v2), revoke (v3), restore (v4) of user#alice: history prints four
    lines in that order, each with its time, version, action 'put', status, the caller ARN and the note."""
    # Given alice imported, re-imported changed, revoked and restored
    first = write_file(tmp_path / "v1.yaml", [ALICE_V1])
    second = write_file(tmp_path / "v2.yaml", [ALICE_V2])
    assert cli("import", str(first)).code == 0
    assert cli("import", str(second)).code == 0
    assert cli("revoke", "user#alice", "--reason", "left", "--ticket", "SEC-1").code == 0
    assert cli("restore", "user#alice", "--reason", "rehired").code == 0
    # When her history is printed
    result = cli("history", "user#alice")
    # Then every change is there, in order, with who and which version
    assert result.code == 0, result.err
    assert history_lines(result.out) == [
        ("1", "put", "active", ACTOR, f"import {first}"),
        ("2", "put", "active", ACTOR, f"import {second}"),
        ("3", "put", "revoked", ACTOR, "revoke: left"),
        ("4", "put", "active", ACTOR, "restore: rehired"),
    ]


def test_overwritten_entry_keeps_its_earlier_versions(registry: Registry, cli: Cli, tmp_path: Path) -> None:
    """After an import overwrites alice (owner and policies), the change log still holds version 1 in full (old
    owner, one policy) next to version 2 (new owner, two policies); the table itself holds only version 2."""
    # Given alice imported and then overwritten by another import
    assert cli("import", str(write_file(tmp_path / "v1.yaml", [ALICE_V1]))).code == 0
    assert cli("import", str(write_file(tmp_path / "v2.yaml", [ALICE_V2]))).code == 0
    # When her change log is read
    records = registry.history("user#alice")
    # Then both versions are there in full
    assert [r.version for r in records] == [1, 2]
    old, new = (r.entry for r in records)
    assert old is not None and new is not None
    assert (old.owner, old.managed_policies, old.version) == ("alice@example.com", (READ_ONLY,), 1)
    assert (new.owner, new.managed_policies, new.version) == ("alice.new@example.com", (READ_ONLY, AUDIT), 2)
    assert registry.entries()["user#alice"].owner == "alice.new@example.com"


def test_history_of_a_pruned_entry_ends_with_its_deletion(registry: Registry, cli: Cli, tmp_path: Path) -> None:
    """alice imported, then removed by ``import --prune`` of a file without her: history shows v1 put active, then
    v2 delete 'deleted'; show of alice now exits 3."""
    # Given alice imported and then pruned
    assert cli("import", str(write_file(tmp_path / "v1.yaml", [ALICE_V1]))).code == 0
    other = write_file(tmp_path / "v2.yaml", [entry("user", "bob", "bob@example.com")])
    assert cli("import", str(other), "--prune").code == 0
    # When her history is printed
    result = cli("history", "user#alice")
    # Then the deletion is the last change
    assert result.code == 0, result.err
    assert [row[:3] for row in history_lines(result.out)] == [("1", "put", "active"), ("2", "delete", "deleted")]
    assert cli("show", "user#alice").code == 3


def test_history_of_an_adopted_entry_names_adoption(registry: Registry, cli: Cli) -> None:
    """A user adopted from IAM has one history line: v1 put active by the caller '(adopted from IAM)'."""
    # Given a user in IAM, adopted
    registry.clients.iam().create_user(UserName="carol")
    assert cli("adopt", "--default-owner", "platform@example.com", "--report-wait", "10").code == 0
    # When her history is printed
    result = cli("history", "user#carol")
    # Then it says she was adopted
    assert history_lines(result.out) == [("1", "put", "active", ACTOR, "adopted from IAM")]


def test_history_of_one_entry_does_not_show_a_namesake(registry: Registry, cli: Cli, tmp_path: Path) -> None:
    """user#al and user#alice (one a prefix of the other) and role#alice: history user#al shows only user#al's one
    change."""
    # Given entries whose keys share a prefix, and a role of the same name
    items = [entry("user", "al", "al@example.com"), ALICE_V1, entry("role", "alice", "platform@example.com")]
    assert cli("import", str(write_file(tmp_path / "r.yaml", items))).code == 0
    assert cli("revoke", "user#alice", "--reason", "r", "--ticket", "t").code == 0
    # When user#al's history is printed
    result = cli("history", "user#al")
    # Then it is user#al's alone
    assert [row[:3] for row in history_lines(result.out)] == [("1", "put", "active")]


def test_history_of_an_unknown_identity(registry: Registry, cli: Cli) -> None:
    """history user#nobody: exit 0 and 'user#nobody: no recorded changes'."""
    # Given an empty registry
    # When the history of an unregistered identity is asked for
    result = cli("history", "user#nobody")
    # Then it says there is none
    assert result.code == 0, result.err
    assert result.out == "user#nobody: no recorded changes\n"


def test_show_prints_the_current_entry(registry: Registry, cli: Cli, tmp_path: Path) -> None:
    """show user#alice after an import and a revoke: exit 0 and a JSON document of the entry as stored now
    (status revoked, ticket, version 2, updated_by), without null fields."""
    # Given alice imported and revoked
    assert cli("import", str(write_file(tmp_path / "v1.yaml", [ALICE_V1]))).code == 0
    assert cli("revoke", "user#alice", "--reason", "left", "--ticket", "SEC-1").code == 0
    # When she is shown
    result = cli("show", "user#alice")
    # Then the output is her current entry
    assert result.code == 0, result.err
    shown = json.loads(result.out)
    assert shown["status"] == "revoked" and shown["ticket"] == "SEC-1" and shown["version"] == 2
    assert shown["updated_by"] == ACTOR and shown["managed_policies"] == [READ_ONLY]
    assert None not in shown.values() and "expires_at" not in shown
    assert shown == registry.entries()["user#alice"].model_dump(mode="json", exclude_none=True)


def test_show_of_an_unknown_identity_exits_3(registry: Registry, cli: Cli) -> None:
    """show role#ghost: exit 3, 'role#ghost is not in the registry of account 123456789012'."""
    # Given an empty registry
    # When an unregistered identity is shown
    result = cli("show", "role#ghost")
    # Then it is a clear error
    assert result.code == 3
    assert f"role#ghost is not in the registry of account {ACCOUNT}" in result.err
