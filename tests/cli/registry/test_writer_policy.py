"""The registry writer policy (docs/registry-writer-policy.json, and the stack's ``RegistryWriterPolicy``) holds every
action the ``driftline registry`` commands call, and nothing else.

moto does not evaluate IAM, so a call missing from the published policy would pass every test and fail with
AccessDenied for the first operator who used it (``revoke`` used to fail on BatchWriteItem, after writing the
revocation). Here every command runs end to end against moto with each AWS call recorded at botocore's
``before-call`` hook; each call's IAM action must be in the policy, and each action of the policy must have been
called by some command.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from driftline.adapters.aws import Clients
from stacks.constants import REGISTRY_WRITER_IAM_ACTIONS, REGISTRY_WRITER_TABLE_ACTIONS
from tests.cli.registry.conftest import Cli
from tests.cli.registry.support import Registry, entry, write_file

POLICY_FILE = Path(__file__).resolve().parents[3] / "docs" / "registry-writer-policy.json"
# sts:GetCallerIdentity needs no permission: it answers for any valid credentials (even with an explicit deny).
NEEDS_NO_PERMISSION = {"sts:GetCallerIdentity"}


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """The IAM action of every call made by Clients built from now on ("dynamodb:PutItem", …): the commands' own,
    not the set-up's (the ``aws`` and ``registry`` fixtures are built before this one)."""
    seen: set[str] = set()
    original = Clients.__init__

    def init(self: Clients, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)

        def record(event_name: str, **_: Any) -> None:
            _before, service, operation = event_name.split(".", 2)
            seen.add(f"{service}:{operation}")

        self.session.events.register("before-call", record)

    monkeypatch.setattr(Clients, "__init__", init)
    return seen


def run_every_registry_command(cli: Cli, aws: Clients, tmp_path: Path) -> None:
    """import (new), import with a change and --prune, a dry run, export, adopt, revoke, restore, show, history."""
    iam = aws.iam()
    iam.create_user(UserName="carol")
    iam.create_access_key(UserName="carol")
    alice, bob = entry("user", "alice", "a@example.com"), entry("user", "bob", "b@example.com")
    first = write_file(tmp_path / "first.yaml", [alice, bob])
    second = write_file(tmp_path / "second.yaml", [alice.model_copy(update={"owner": "new@example.com"})])
    commands = [
        ("import", str(first)),
        ("import", str(second), "--dry-run", "--prune"),
        ("import", str(second), "--prune"),
        ("export",),
        ("adopt", "--default-owner", "platform@example.com", "--report-wait", "10"),
        ("revoke", "user#alice", "--reason", "left", "--ticket", "SEC-1"),
        ("restore", "user#alice", "--reason", "back"),
        ("show", "user#alice"),
        ("history", "user#alice"),
    ]
    for argv in commands:
        result = cli(*argv)
        assert result.code == 0, (argv, result.err)


def published() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(POLICY_FILE.read_text(encoding="utf-8"))
    return document


def test_every_call_of_the_registry_commands_is_in_the_policy_and_nothing_more(
    registry: Registry, aws: Clients, cli: Cli, tmp_path: Path, calls: set[str]
) -> None:
    """Every command run once: the recorded actions (minus GetCallerIdentity) equal the policy's actions."""
    run_every_registry_command(cli, aws, tmp_path)
    needed = calls - NEEDS_NO_PERMISSION
    granted = set(REGISTRY_WRITER_TABLE_ACTIONS) | set(REGISTRY_WRITER_IAM_ACTIONS)
    assert sorted(needed - granted) == [], "called but not granted"
    assert sorted(granted - needed) == [], "granted but never called"


def test_the_published_json_is_the_policy_the_stack_creates() -> None:
    """docs/registry-writer-policy.json grants exactly the stack's action lists: table actions on the registry table
    (and nothing else there), IAM reads on '*' (they have no resource-level permissions), no Deny, no NotAction."""
    statements = {s["Sid"]: s for s in published()["Statement"]}
    assert set(statements) == {"ReadAndWriteTheRegistry", "ReadIamForAdopt"}
    table = statements["ReadAndWriteTheRegistry"]
    assert sorted(table["Action"]) == sorted(REGISTRY_WRITER_TABLE_ACTIONS)
    assert table["Resource"] == ["arn:aws:dynamodb:REGION:ACCOUNT_ID:table/TABLE_NAME"]
    adopt = statements["ReadIamForAdopt"]
    assert sorted(adopt["Action"]) == sorted(REGISTRY_WRITER_IAM_ACTIONS)
    assert adopt["Resource"] == "*"
    assert all(s["Effect"] == "Allow" and "NotAction" not in s for s in statements.values())
