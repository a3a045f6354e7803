"""The registry stream handler (``handlers.on_registry_change``) end to end on moto: real DynamoDB stream records
whose images come from ``to_item``, Powertools partial batch responses, the ledger in the state table, Security Hub.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from driftline.adapters.registry import to_item
from driftline.domain.errors import IamReadError
from driftline.domain.identity import IdentityRef
from driftline.domain.ledger import LedgerState
from driftline.domain.registry import RegistryEntry
from driftline.handlers import on_registry_change
from driftline.service import Evaluation
from tests.integration.revocations.support import (
    hub_findings,
    lambda_context,
    records,
    restore,
    revoke,
    transitions,
    unenforced_finding_id,
)
from tests.integration.support import ACCOUNT, GOVERNANCE, REGISTRY_TABLE, Sandbox
from tests.unit.revocations.stream_events import batch, stream_record

LogLines = Callable[[], list[dict[str, Any]]]


def invoke(*stream_records: dict[str, Any]) -> dict[str, Any]:
    return on_registry_change.handler(batch(*stream_records), lambda_context())


def seq(n: int) -> str:
    return f"{140000000000000000000000 + n}"


def emf_metric(stdout: str, name: str) -> list[Any]:
    """Every value of metric ``name`` in the EMF documents printed to stdout."""
    values = []
    for line in stdout.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            doc = json.loads(line)
            if name in doc:
                values.append(doc[name])
    return values


def with_key(sandbox: Sandbox, name: str) -> tuple[str, Any]:
    """A user with one active access key, both registered active; returns (key id, the user's entry)."""
    key = str(sandbox.user(name, key=True))
    entry = sandbox.register_user(name)
    sandbox.register_key(key, name)
    return key, entry


def test_revocation_opens_a_pending_record_and_checks_iam_at_once(stream_env: Sandbox, log_lines: LogLines) -> None:
    """A MODIFY making alice (active key) revoked 5 minutes ago must answer no batch failure, open a *pending* ledger
    record (requested_at = revoked_at, who/ticket/reason from the entry) and evaluate alice from IAM in the same
    invocation (her user and keys read; the summary logged with one ledger change)."""
    # Given alice with an active key, registered
    sandbox = stream_env
    _key, entry = with_key(sandbox, "alice")
    revoked_at = datetime.now(UTC) - timedelta(minutes=5)

    # When the registry revokes her and the stream delivers the change
    new = revoke(sandbox, entry, revoked_at, ticket="SEC-2001", reason="left the company")
    response = invoke(stream_record("MODIFY", old=entry, new=new, sequence=seq(1)))

    # Then the batch succeeded and the ledger holds a pending record with the registry's facts
    assert response == {"batchItemFailures": []}
    record = records(sandbox)["user#alice"]
    assert record.state is LedgerState.PENDING
    assert record.requested_at == new.revoked_at
    assert (record.requested_by, record.ticket, record.reason) == (GOVERNANCE, "SEC-2001", "left the company")
    assert record.version == 1
    assert transitions(record) == ["opened"]

    # And alice was checked in IAM at once
    logs = log_lines()
    changes = [line for line in logs if line["message"] == "registry change"]
    assert [(c["identity"], c["change"]) for c in changes] == [("user#alice", "revoked")]
    summary = next(line for line in logs if line["message"] == "evaluation finished")
    assert summary["ledger_changes"] == 1
    assert summary["open_unenforced_revocations"] == 0
    assert summary["api_calls"]["iam.GetUser"] >= 1
    assert summary["api_calls"]["iam.ListAccessKeys"] >= 1
    assert summary["drifts"] == 0  # within the grace period: no drift yet


def test_revocation_past_grace_is_unenforced_with_a_finding(hub: Any, stream_env: Sandbox) -> None:
    """A revocation whose revoked_at is 2 h ago (grace 1 h) of a user whose key is still Active must leave the ledger
    record *unenforced* (first seen now) and an ACTIVE unenforced-revocation finding in Security Hub."""
    # Given carol with an active key, revoked two hours ago in the registry
    sandbox = stream_env
    key, entry = with_key(sandbox, "carol")
    new = revoke(sandbox, entry, datetime.now(UTC) - timedelta(hours=2))
    before = datetime.now(UTC)

    # When the stream delivers the revocation
    response = invoke(stream_record("MODIFY", old=entry, new=new, sequence=seq(1)))

    # Then the record is unenforced and a finding exists
    assert response == {"batchItemFailures": []}
    record = records(sandbox)["user#carol"]
    assert record.state is LedgerState.UNENFORCED
    assert record.first_seen_unenforced is not None and record.first_seen_unenforced >= before
    assert transitions(record) == ["opened", "pending -> unenforced"]
    finding = hub_findings(hub)[unenforced_finding_id("user#carol")]
    assert finding["RecordState"] == "ACTIVE"
    assert finding["GeneratorId"] == "driftline/unenforced-revocation"
    assert key in json.dumps(finding)


def test_restore_before_enforcement_cancels_the_record(stream_env: Sandbox) -> None:
    """A revoke (stream record 1) followed by a restore to active (record 2) before anything was enforced must leave
    the ledger record *cancelled* with cancelled_at, and the history pending -> cancelled."""
    # Given dave revoked, and the revocation delivered
    sandbox = stream_env
    _key, entry = with_key(sandbox, "dave")
    revoked = revoke(sandbox, entry, datetime.now(UTC) - timedelta(minutes=10))
    invoke(stream_record("MODIFY", old=entry, new=revoked, sequence=seq(1)))
    assert records(sandbox)["user#dave"].state is LedgerState.PENDING

    # When the registry restores dave and the stream delivers it
    restored = restore(sandbox, revoked)
    response = invoke(stream_record("MODIFY", old=revoked, new=restored, sequence=seq(2)))

    # Then the record is cancelled
    assert response == {"batchItemFailures": []}
    record = records(sandbox)["user#dave"]
    assert record.state is LedgerState.CANCELLED
    assert record.cancelled_at is not None
    assert transitions(record) == ["opened", "pending -> cancelled"]
    assert record.version == 2


def test_deleted_entry_makes_the_identity_unregistered(stream_env: Sandbox, log_lines: LogLines) -> None:
    """A REMOVE of erin's registry entry (erin still exists in IAM) must evaluate erin at once and report her
    unregistered (one unregistered-identity drift logged for user#erin)."""
    # Given erin, registered
    sandbox = stream_env
    sandbox.user("erin")
    entry = sandbox.register_user("erin")

    # When her entry is deleted and the stream delivers the REMOVE
    sandbox.dynamodb.delete_item(TableName=REGISTRY_TABLE, Key={"pk": {"S": ACCOUNT}, "sk": {"S": "user#erin"}})
    response = invoke(stream_record("REMOVE", old=entry, sequence=seq(1)))

    # Then the evaluation said she is unregistered
    assert response == {"batchItemFailures": []}
    drifts = [(d["drift_type"], d["identity"]) for d in log_lines() if d["message"] == "drift"]
    assert drifts == [("unregistered-identity", "user#erin")]


def test_deleting_a_revoked_entry_cancels_its_open_record(stream_env: Sandbox) -> None:
    """A REMOVE of a revoked entry whose revocation is still pending must cancel its open ledger record (the
    identity is now unregistered; the revocation is no longer asked for)."""
    # Given frank revoked, the revocation delivered
    sandbox = stream_env
    _key, entry = with_key(sandbox, "frank")
    revoked = revoke(sandbox, entry, datetime.now(UTC) - timedelta(minutes=3))
    invoke(stream_record("MODIFY", old=entry, new=revoked, sequence=seq(1)))

    # When the entry is deleted
    sandbox.dynamodb.delete_item(TableName=REGISTRY_TABLE, Key={"pk": {"S": ACCOUNT}, "sk": {"S": "user#frank"}})
    invoke(stream_record("REMOVE", old=revoked, sequence=seq(2)))

    # Then the record is cancelled
    assert records(sandbox)["user#frank"].state is LedgerState.CANCELLED


@pytest.mark.filterwarnings("ignore:No application metrics:UserWarning")  # nothing to count: nothing happened
def test_another_accounts_entry_is_ignored(stream_env: Sandbox, log_lines: LogLines) -> None:
    """A revocation of an entry of account 210987654321 (a central registry) delivered to this account's function
    must be ignored: no ledger record, no IAM read, no failure."""
    # Given a revoked entry of another account
    sandbox = stream_env
    sandbox.user("grace", key=True)
    entry = sandbox.register_user("grace")
    other = RegistryEntry.model_validate(
        {**entry.model_dump(), "status": "revoked", "revoked_at": datetime.now(UTC) - timedelta(hours=3)}
    )
    old_image, new_image = to_item("210987654321", entry), to_item("210987654321", other)

    # When the stream delivers it
    response = invoke(stream_record("MODIFY", old=old_image, new=new_image, sequence=seq(1)))

    # Then nothing happened
    assert response == {"batchItemFailures": []}
    assert records(sandbox) == {}
    assert not [line for line in log_lines() if line["message"] in ("registry change", "evaluation finished")]


def test_poison_record_is_rejected_and_counted_without_blocking_the_batch(
    stream_env: Sandbox, log_lines: LogLines, capsys: pytest.CaptureFixture[str]
) -> None:
    """A batch of 3 where the middle record's new image is not a valid entry (revoked without revoked_at, written by
    another tool) must process records 1 and 3 (both ledger records opened), reject record 2 with a log line and a
    RejectedRegistryRecords metric, and report *no* batch item failure (bad input is never retried)."""
    # Given two real revocations and a malformed item between them
    sandbox = stream_env
    at = datetime.now(UTC) - timedelta(minutes=5)
    _k1, hank = with_key(sandbox, "hank")
    _k2, ivy = with_key(sandbox, "ivy")
    hank_revoked, ivy_revoked = revoke(sandbox, hank, at), revoke(sandbox, ivy, at)
    poison = to_item(ACCOUNT, hank) | {"sk": {"S": "user#judy"}, "name": {"S": "judy"}, "status": {"S": "revoked"}}

    # When the batch is delivered
    capsys.readouterr()
    response = invoke(
        stream_record("MODIFY", old=hank, new=hank_revoked, sequence=seq(1)),
        stream_record("INSERT", new=poison, sequence=seq(2)),
        stream_record("MODIFY", old=ivy, new=ivy_revoked, sequence=seq(3)),
    )

    # Then the good records were processed and the poison one rejected and counted, not failed
    assert response == {"batchItemFailures": []}
    assert {k: r.state for k, r in records(sandbox).items()} == {
        "user#hank": LedgerState.PENDING,
        "user#ivy": LedgerState.PENDING,
    }
    rejected = [line for line in log_lines() if line["message"] == "registry stream record rejected"]
    assert len(rejected) == 1 and "user#judy" in rejected[0]["reason"]
    assert emf_metric(capsys.readouterr().out, "RejectedRegistryRecords") == [[1.0]]


def test_a_real_failure_fails_only_its_record(stream_env: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch of 3 revocations where IAM cannot be read for the second identity (IamReadError) must answer
    batchItemFailures with exactly that record's SequenceNumber, while the other two get their ledger records."""
    # Given three revocations, and IAM failing for kim only
    sandbox = stream_env
    at = datetime.now(UTC) - timedelta(minutes=5)
    entries = {name: with_key(sandbox, name)[1] for name in ("jack", "kim", "liz")}
    revoked = {name: revoke(sandbox, entry, at) for name, entry in entries.items()}
    real = on_registry_change.evaluate_identities

    def failing(account_id: str, refs: Iterable[IdentityRef], **kw: Any) -> Evaluation:
        refs = list(refs)
        if IdentityRef.parse("user#kim") in refs:
            raise IamReadError("IAM GetUser failed with Throttling: Rate exceeded")
        return real(account_id, refs, **kw)

    monkeypatch.setattr(on_registry_change, "evaluate_identities", failing)

    # When the batch is delivered
    response = invoke(
        *(
            stream_record("MODIFY", old=entries[name], new=revoked[name], sequence=seq(i))
            for i, name in enumerate(("jack", "kim", "liz"), start=1)
        )
    )

    # Then only kim's record failed, and the others were processed
    assert response == {"batchItemFailures": [{"itemIdentifier": seq(2)}]}
    assert sorted(records(sandbox)) == ["user#jack", "user#liz"]


def test_redelivery_is_idempotent(stream_env: Sandbox) -> None:
    """Records delivered as they happened (batch 1: mo revoked 2 h ago -> unenforced, nina revoked -> pending;
    batch 2: nina restored -> cancelled), then re-delivered as Lambda does after a failure (everything again, and
    again from the second record on), must change nothing the second time: same versions, histories and states."""
    # Given two identities, one revoked past grace, one revoked and later restored
    sandbox = stream_env
    _k1, mo = with_key(sandbox, "mo")
    _k2, nina = with_key(sandbox, "nina")
    mo_revoked = revoke(sandbox, mo, datetime.now(UTC) - timedelta(hours=2))
    nina_revoked = revoke(sandbox, nina, datetime.now(UTC) - timedelta(minutes=4))
    delivered = [
        stream_record("MODIFY", old=mo, new=mo_revoked, sequence=seq(1)),
        stream_record("MODIFY", old=nina, new=nina_revoked, sequence=seq(2)),
    ]
    assert invoke(*delivered) == {"batchItemFailures": []}
    nina_restored = restore(sandbox, nina_revoked)
    delivered.append(stream_record("MODIFY", old=nina_revoked, new=nina_restored, sequence=seq(3)))
    assert invoke(delivered[2]) == {"batchItemFailures": []}
    first = records(sandbox)
    assert first["user#mo"].state is LedgerState.UNENFORCED
    assert first["user#nina"].state is LedgerState.CANCELLED

    # When everything is re-delivered, and re-delivered again from the second record on
    assert invoke(*delivered) == {"batchItemFailures": []}
    assert invoke(*delivered[1:]) == {"batchItemFailures": []}

    # Then the ledger is as the first deliveries left it
    second = records(sandbox)
    assert {k: (r.version, r.history, r.state) for k, r in second.items()} == {
        k: (r.version, r.history, r.state) for k, r in first.items()
    }
    assert transitions(second["user#nina"]) == ["opened", "pending -> cancelled"]


@pytest.mark.filterwarnings("ignore:No application metrics:UserWarning")
def test_powertools_calls_the_record_handler_with_record_kwarg(handler_env: Sandbox) -> None:
    """The unpatched handler given one valid revocation (oscar, revoked 5 minutes ago) must answer no batch failure
    and open oscar's ledger record. Actually every record raises TypeError (unexpected keyword argument 'record'), so
    the invocation raises BatchProcessingError and the shard retries until the record goes to the on-failure
    destination: no registry change is ever processed."""
    # Given a revocation
    sandbox = handler_env
    _key, entry = with_key(sandbox, "oscar")
    new = revoke(sandbox, entry, datetime.now(UTC) - timedelta(minutes=5))

    # When the real handler processes it
    response = invoke(stream_record("MODIFY", old=entry, new=new, sequence=seq(1)))

    # Then it succeeded
    assert response == {"batchItemFailures": []}
    assert records(sandbox)["user#oscar"].state is LedgerState.PENDING
