"""Helpers of the ``driftline registry …`` CLI tests: the registry table on moto, registry files, raw table reads.

Tests import these; the fixtures that build them live in this package's conftest.py (on top of tests/cli/conftest.py:
``run_cli``, the session moto server and ``aws``, which resets moto for each test).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from driftline.adapters.aws import Clients
from driftline.adapters.registry import from_item
from driftline.adapters.registry_log import HistoryRecord, RegistryLog
from driftline.cli.registry_file import dump_registry
from driftline.domain.identity import IdentityRef
from driftline.domain.registry import RegistryEntry, RegistrySnapshot
from tests.cli.conftest import ACCOUNT, CliResult, RunCli
from tests.registry_writes import RawRegistryWriter

REGISTRY = "driftline-registry"
STATE = "driftline-state"
OTHER_ACCOUNT = "210987654321"
# What moto's STS answers to GetCallerIdentity with the fake credentials of tests/conftest.py.
ACTOR = f"arn:aws:sts::{ACCOUNT}:user/moto"
READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
AUDIT = "arn:aws:iam::aws:policy/SecurityAudit"


def entry(kind: str, name: str, owner: str, **fields: Any) -> RegistryEntry:
    return RegistryEntry.model_validate({"kind": kind, "name": name, "owner": owner, **fields})


def write_file(path: Path, entries: list[RegistryEntry], account: str = ACCOUNT) -> Path:
    """A registry file in the format of ``path``'s suffix (yaml, json or csv), as ``dump_registry`` writes it."""
    fmt = {".yaml": "yaml", ".yml": "yaml", ".json": "json", ".csv": "csv"}[path.suffix]
    path.write_text(dump_registry(RegistrySnapshot(account_id=account, entries=tuple(entries)), fmt), encoding="utf-8")
    return path


def write_yaml_doc(path: Path, entries: list[dict[str, Any]], account: str = ACCOUNT) -> Path:
    """A YAML registry file from raw entry mappings (nothing validated on the way)."""
    path.write_text(yaml.safe_dump({"account_id": account, "entries": entries}, sort_keys=False), encoding="utf-8")
    return path


@dataclass(frozen=True)
class Registry:
    """The registry table of a reset moto account, and ways to look at it without the code under test's reader."""

    clients: Clients
    endpoint: str
    table: str = REGISTRY

    def aws_args(self) -> list[str]:
        return ["--registry-table", self.table, "--endpoint-url", self.endpoint]

    def scan(self) -> list[dict[str, Any]]:
        """Every raw item of the table (entries and change-log items of every account), in a stable order."""
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"TableName": self.table, "ConsistentRead": True}
        while True:
            page = self.clients.dynamodb().scan(**kwargs)
            items.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return sorted(items, key=lambda i: (i["pk"]["S"], i["sk"]["S"]))

    def entries(self, account: str = ACCOUNT, items: list[dict[str, Any]] | None = None) -> dict[str, RegistryEntry]:
        """The account's entries by ``kind#name`` (change-log items excluded), from ``items`` or a fresh scan."""
        return {
            i["sk"]["S"]: from_item(i) for i in (self.scan() if items is None else items) if i["pk"]["S"] == account
        }

    def history_items(self, account: str = ACCOUNT, items: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
        """The account's change-log items, from ``items`` or a fresh scan."""
        return [i for i in (self.scan() if items is None else items) if i["pk"]["S"] == f"{account}#history"]

    def history(self, identity: str, account: str = ACCOUNT) -> list[HistoryRecord]:
        return RegistryLog(self.clients.dynamodb(), self.table, actor="-").history(account, IdentityRef.parse(identity))

    def put(self, item: RegistryEntry, expected_version: int | None = None) -> RegistryEntry:
        """Write an entry as another writer would (no change log), returning what was stored."""
        return RawRegistryWriter(self.clients.dynamodb(), self.table).put(
            ACCOUNT, item, expected_version=expected_version
        )


def registry_cli(run_cli: RunCli, registry: Registry, *argv: str) -> CliResult:
    """``driftline registry <argv> --registry-table … --endpoint-url …``."""
    return run_cli(["registry", *argv, *registry.aws_args()])


def json_of(text: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(text)
    return data
