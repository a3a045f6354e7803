"""``driftline registry export --format yaml|json|csv``: what it prints imports back as a no-op."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
import yaml

from tests.cli.conftest import ACCOUNT
from tests.cli.registry.conftest import Cli
from tests.cli.registry.support import AUDIT, READ_ONLY, Registry, entry, write_file

ENTRIES = [
    entry(
        "user",
        "alice",
        "alice@example.com",
        purpose="developer, on-call",
        managed_policies=[READ_ONLY, AUDIT],
        groups=["developers", "on-call"],
        inline_policies=[],
        max_key_age_days=30,
    ),
    entry("access_key", "AKIAABCDEFGHIJKLMNOP", "alice@example.com", user="alice", max_unused_days=14),
    entry(
        "user",
        "carol",
        'Carol "CJ" Jones',
        status="revoked",
        revoked_at="2026-03-01T09:30:00+01:00",
        ticket="SEC-42",
        reason="left the company; laptop returned",
    ),
    entry("role", "app-runtime", "platform@example.com", expires_at="2029-12-31T23:00:00Z", managed_policies=[]),
    entry("role", "ci-deploy", "platform@example.com"),
]


@pytest.fixture
def imported(registry: Registry, cli: Cli, tmp_path: Path) -> Registry:
    """The registry after importing ENTRIES (every optional field, both empty and absent lists, a revoked entry)."""
    result = cli("import", str(write_file(tmp_path / "seed.yaml", ENTRIES)))
    assert result.code == 0, result.err
    return registry


@pytest.mark.parametrize("fmt", ["yaml", "json", "csv"])
def test_export_then_import_is_a_no_op(fmt: str, imported: Registry, cli: Cli, tmp_path: Path) -> None:
    """Export of the 5-entry registry in each format, saved to a file and imported (with --prune): exit 0,
    '0 added, 0 changed, 5 unchanged, 0 removed', 'nothing to write', and the table is byte-for-byte unchanged."""
    # Given an exported registry saved as a file
    exported = cli("export", "--format", fmt)
    assert exported.code == 0, exported.err
    path = tmp_path / f"export.{fmt}"
    path.write_text(exported.out, encoding="utf-8")
    before = imported.scan()
    # When that file is imported back
    result = cli("import", str(path), "--prune")
    # Then nothing changes
    assert result.code == 0, result.err
    assert result.out == "0 added, 0 changed, 5 unchanged, 0 removed\nnothing to write\n"
    assert imported.scan() == before


def test_yaml_and_json_exports_hold_every_field(imported: Registry, cli: Cli) -> None:
    """The YAML and JSON exports are the same document: account, entries sorted by kind#name, with version,
    updated_by, 'not governed' lists absent and 'nothing approved' lists empty."""
    # Given the imported registry
    # When it is exported as YAML and as JSON
    as_yaml = yaml.safe_load(cli("export").out)
    as_json = json.loads(cli("export", "--format", "json").out)
    # Then both hold the same full entries
    assert as_yaml == as_json
    assert as_json["account_id"] == ACCOUNT
    names = [f"{e['kind']}#{e['name']}" for e in as_json["entries"]]
    assert names == sorted(names) and len(names) == 5
    role = next(e for e in as_json["entries"] if e["name"] == "app-runtime")
    assert role["managed_policies"] == [] and "inline_policies" not in role
    assert role["version"] == 1 and role["updated_by"].startswith("arn:aws:sts::")


def test_csv_export_writes_dash_for_empty_lists_and_nothing_for_absent_ones(imported: Registry, cli: Cli) -> None:
    """In the CSV export, alice's empty inline_policies cell is '-', app-runtime's absent inline_policies cell is
    empty, several items are ';'-separated, and the cell with a comma and quotes survives CSV quoting."""
    # Given the imported registry
    # When it is exported as CSV
    result = cli("export", "--format", "csv")
    # Then the list cells tell 'nothing approved' from 'not governed'
    assert result.code == 0, result.err
    rows = {r["name"]: r for r in csv.DictReader(io.StringIO(result.out))}
    assert rows["alice"]["inline_policies"] == "-"
    assert rows["alice"]["managed_policies"] == f"{READ_ONLY};{AUDIT}"
    assert rows["app-runtime"]["managed_policies"] == "-"
    assert rows["app-runtime"]["inline_policies"] == ""
    assert rows["carol"]["owner"] == 'Carol "CJ" Jones'
    assert rows["alice"]["purpose"] == "developer, on-call"
    assert {r["account_id"] for r in rows.values()} == {ACCOUNT}


@pytest.mark.parametrize("fmt", ["yaml", "json", "csv"])
def test_empty_registry_export_imports_back(fmt: str, registry: Registry, cli: Cli, tmp_path: Path) -> None:
    """Export of an empty registry, then import of that file: exit 0, '0 added, ...' and 'nothing to write'.
    CSV: the export is the header and a row naming only the account (a header alone names no account)."""
    # Given the export of an empty registry
    exported = cli("export", "--format", fmt)
    assert exported.code == 0, exported.err
    path = tmp_path / f"export.{fmt}"
    path.write_text(exported.out, encoding="utf-8")
    # When it is imported back
    result = cli("import", str(path))
    # Then it is a no-op
    assert result.code == 0, result.err
    assert result.out == "0 added, 0 changed, 0 unchanged, 0 removed\nnothing to write\n"
