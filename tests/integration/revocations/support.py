"""Helpers of the revocation integration tests: registry writes that also return the stream images, the ledger,
Security Hub findings, and a fake Lambda context."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace
from typing import Any

from driftline.adapters.finding_state import DynamoFindingStates
from driftline.adapters.ledger import DynamoLedger
from driftline.adapters.securityhub import SecurityHubImporter
from driftline.domain.identity import IdentityRef
from driftline.domain.ledger import LedgerRecord
from driftline.domain.registry import RegistryEntry, Status
from driftline.domain.settings import CompareSettings
from driftline.findings.asff import Place
from driftline.findings.sink import SecurityHubSink
from driftline.service.enforcement import EnforcementSettings
from driftline.service.pipeline import Evaluation, reconcile
from driftline.service.ports import DriftSink, NullSink
from tests.integration.support import ACCOUNT, STATE_TABLE, Sandbox, no_sleep


def lambda_context(name: str = "driftline-registry-change") -> Any:
    return SimpleNamespace(
        function_name=name,
        memory_limit_in_mb=512,
        invoked_function_arn=f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{name}",
        aws_request_id="0d6c8a4e-3b1f-4c2a-9e7d-5f8b1a2c3d4e",
        get_remaining_time_in_millis=lambda: 30000,
    )


def ledger_of(sandbox: Sandbox) -> DynamoLedger:
    return DynamoLedger(sandbox.dynamodb, STATE_TABLE)


def records(sandbox: Sandbox) -> dict[str, LedgerRecord]:
    """Every ledger record of the account, by identity key (each test revokes an identity once)."""
    found = ledger_of(sandbox).records(ACCOUNT)
    by_identity = {r.identity: r for r in found}
    assert len(by_identity) == len(found), "an identity has more than one ledger record"
    return by_identity


def transitions(record: LedgerRecord) -> list[str]:
    return [line.split(" ", 1)[1] for line in record.history]


def revise(sandbox: Sandbox, entry: RegistryEntry, **changes: Any) -> RegistryEntry:
    """Write the next version of ``entry`` with ``changes`` through the versioned writer; return what was stored."""
    data = {**entry.model_dump(), **changes}
    data.pop("version", None)
    return sandbox.writer.put(ACCOUNT, RegistryEntry.model_validate(data), expected_version=entry.version)


def revoke(sandbox: Sandbox, entry: RegistryEntry, at: datetime, **changes: Any) -> RegistryEntry:
    fields = {"ticket": "SEC-1042", "reason": "left the company", **changes}
    return revise(sandbox, entry, status=Status.REVOKED, revoked_at=at, **fields)


def restore(sandbox: Sandbox, entry: RegistryEntry) -> RegistryEntry:
    return revise(sandbox, entry, status=Status.ACTIVE, revoked_at=None, reason="restored: false alarm")


def hub_findings(securityhub: Any) -> dict[str, dict[str, Any]]:
    """driftline's findings in Security Hub by Id, archived included (moto ignores GetFindings filters)."""
    found: dict[str, dict[str, Any]] = {}
    for page in securityhub.get_paginator("get_findings").paginate():
        for finding in page["Findings"]:
            if finding["GeneratorId"].startswith("driftline/"):
                found[finding["Id"]] = finding
    return found


def unenforced_finding_id(identity: str) -> str:
    kind, name = IdentityRef.parse(identity).key.split("#", 1)
    return f"driftline/{ACCOUNT}/us-east-1/unenforced-revocation/{kind}/{name}"


def security_hub_sink(sandbox: Sandbox, client: Any) -> SecurityHubSink:
    """The Security Hub sink as the handlers wire it (the importer never sleeps in tests)."""
    return SecurityHubSink(
        SecurityHubImporter(client, sleep=no_sleep),
        DynamoFindingStates(sandbox.dynamodb, STATE_TABLE),
        Place(account_id=ACCOUNT, region="us-east-1"),
    )


def run_reconcile(
    sandbox: Sandbox,
    now: datetime,
    *,
    sink: DriftSink | None = None,
    enforcement: EnforcementSettings | None = None,
    settings: CompareSettings | None = None,
) -> Evaluation:
    """``service.reconcile`` of the whole account at ``now``, with the DynamoDB ledger in the state table."""
    return reconcile(
        ACCOUNT,
        iam=sandbox.reader(),
        registry=sandbox.registry,
        sink=sink or NullSink(),
        settings=settings or CompareSettings(),
        now=now,
        ledger=ledger_of(sandbox),
        enforcement=enforcement,
    )
