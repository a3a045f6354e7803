"""The registry stream handler (``handlers.on_registry_change``) end to end on moto: real DynamoDB stream records
whose images come from ``to_item``, Powertools partial batch responses, the ledger in the state table, Security Hub.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from driftline.adapters.registry import to_item
from driftline.adapters.registry_log import RegistryLog, RegistryWrite
from driftline.domain.errors import IamReadError
from driftline.domain.identity import IdentityRef
from driftline.domain.ledger import LedgerState
from driftline.domain.registry import RegistryEntry
from driftline.domain.scope import Scope
from driftline.handlers import on_registry_change
from driftline.service.detector import Detector
from driftline.service.pipeline import Evaluation
from tests.integration.revocations.support import (
    hub_findings,
    lambda_context,
    ledger_of,
    records,
    restore,
    revoke,
    transitions,
    unenforced_finding_id,
)
from tests.integration.support import ACCOUNT, GOVERNANCE, REGISTRY_TABLE, Sandbox
from tests.unit.revocations.stream_events import batch, load_record, stream_record

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
    assert record.version == 2  # opened from the image, then the check's first sighting (her key, usable) kept
    assert record.usable_seen == (f"access_key:{_key}",)
    assert transitions(record) == ["opened"]

    # And alice was checked in IAM at once
    logs = log_lines()
    changes = [line for line in logs if line["message"] == "registry change"]
    assert [(c["identity"], c["change"]) for c in changes] == [("user#alice", "revoked")]
    summary = next(line for line in logs if line["message"] == "evaluation finished")
    assert summary["ledger_changes"] == 2  # opened, then its first sighting kept
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
    assert record.version == 3  # opened, first sighting kept, cancelled


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
    batchItemFailures with exactly that record's SequenceNumber, while the other two are processed. All three
    revocation requests are on record (pending): kim's is opened from the stream image before IAM is read, and its
    re-delivery, with IAM answering, checks kim and writes no second record."""
    # Given three revocations, and IAM failing for kim only
    sandbox = stream_env
    at = datetime.now(UTC) - timedelta(minutes=5)
    entries = {name: with_key(sandbox, name)[1] for name in ("jack", "kim", "liz")}
    revoked = {name: revoke(sandbox, entry, at) for name, entry in entries.items()}
    real = Detector.evaluate

    def failing(self: Detector, scope: Scope, **kw: Any) -> Evaluation:
        if IdentityRef.parse("user#kim") in scope.refs:
            raise IamReadError("IAM GetUser failed with Throttling: Rate exceeded")
        return real(self, scope, **kw)

    monkeypatch.setattr(Detector, "evaluate", failing)

    # When the batch is delivered
    response = invoke(
        *(
            stream_record("MODIFY", old=entries[name], new=revoked[name], sequence=seq(i))
            for i, name in enumerate(("jack", "kim", "liz"), start=1)
        )
    )

    # Then only kim's record failed, and every revocation request is on record
    assert response == {"batchItemFailures": [{"itemIdentifier": seq(2)}]}
    assert {k: r.state for k, r in records(sandbox).items()} == {
        "user#jack": LedgerState.PENDING,
        "user#kim": LedgerState.PENDING,
        "user#liz": LedgerState.PENDING,
    }

    # And when Lambda re-delivers kim's record and IAM answers, it succeeds on the same ledger record
    monkeypatch.setattr(Detector, "evaluate", real)
    assert invoke(stream_record("MODIFY", old=entries["kim"], new=revoked["kim"], sequence=seq(2))) == {
        "batchItemFailures": []
    }
    kim = records(sandbox)["user#kim"]
    assert (kim.state, kim.version, transitions(kim)) == (LedgerState.PENDING, 2, ["opened"])  # + first sighting


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
    """The handler as Lambda runs it, given one valid revocation (oscar, revoked 5 minutes ago), must answer no batch
    failure and open oscar's ledger record. Powertools' BatchProcessor calls ``record_handler(record=...)``: a
    callback whose parameter had another name failed every record with a TypeError, the shard retried until the
    records went to the on-failure destination, and no registry change was ever processed."""
    # Given a revocation
    sandbox = handler_env
    _key, entry = with_key(sandbox, "oscar")
    new = revoke(sandbox, entry, datetime.now(UTC) - timedelta(minutes=5))

    # When the real handler processes it
    response = invoke(stream_record("MODIFY", old=entry, new=new, sequence=seq(1)))

    # Then it succeeded
    assert response == {"batchItemFailures": []}
    assert records(sandbox)["user#oscar"].state is LedgerState.PENDING


def _restore_image(revoked_image: dict[str, Any]) -> dict[str, Any]:
    """The registry item after ``driftline registry restore`` of ``revoked_image``: active, no revoked_at, the next
    version, a restore reason."""
    image = {k: v for k, v in copy.deepcopy(revoked_image).items() if k != "revoked_at"}
    image |= {
        "status": {"S": "active"},
        "reason": {"S": "restored: false alarm"},
        "version": {"N": str(int(revoked_image["version"]["N"]) + 1)},
        "updated_at": {"S": "2026-05-02T15:00:00Z"},
    }
    return image


@pytest.mark.parametrize(
    ("stored", "identity"), [("insert_revoked", "access_key#AKIAQWERTYUIOPASDFGH"), ("modify_revoked", "user#alice")]
)
def test_revoke_and_restore_in_one_batch_leave_a_cancelled_record(
    stream_env: Sandbox, stored: str, identity: str
) -> None:
    """One batch holding a stored revocation record (tests/events/dynamodb_stream_{insert,modify}_revoked.json, as
    Lambda delivers it) and then the MODIFY restoring that entry to active, processed when the registry table already
    holds the restored entry (the stream lags the table), must leave the revocation on record: one ledger record with
    requested_at = the image's revoked_at and its ticket, opened (pending) then cancelled, and no batch failure.
    Before the stream handler opened records from the image, the revoke's evaluation read the registry (already
    active), opened nothing, and the restore had nothing to cancel: no trace at all."""
    # Given the entry's owner in IAM, and the registry already holding the restored entry
    sandbox = stream_env
    sandbox.user("alice")
    sandbox.user("bob")
    revoke_record = load_record(stored)
    revoked_image = revoke_record["dynamodb"]["NewImage"]
    restored_image = _restore_image(revoked_image)
    sandbox.dynamodb.put_item(TableName=REGISTRY_TABLE, Item=restored_image)
    restore_record = stream_record("MODIFY", old=revoked_image, new=restored_image, sequence=seq(99))

    # When both records arrive in one batch, the revocation first
    response = invoke(revoke_record, restore_record)

    # Then the revocation request is on record with its cancellation
    assert response == {"batchItemFailures": []}
    record = records(sandbox)[identity]
    assert record.state is LedgerState.CANCELLED and record.cancelled_at is not None
    assert record.requested_at == datetime.fromisoformat(revoked_image["revoked_at"]["S"])
    assert record.ticket == revoked_image["ticket"]["S"]
    assert transitions(record) == ["opened", "pending -> cancelled"]


def test_revoked_again_at_another_time_cancels_the_superseded_record(stream_env: Sandbox) -> None:
    """pat revoked at t1 (2 h ago) and then revoked again at t2 (5 minutes ago), both records in one batch while the
    table holds the t2 revocation, must leave two ledger records: t1's opened then cancelled (superseded, as the
    reconcile would do), t2's pending. Before, t1's revocation left no record (its evaluation read the t2 entry)."""
    # Given pat with a key, revoked twice
    sandbox = stream_env
    _key, entry = with_key(sandbox, "pat")
    first = revoke(sandbox, entry, datetime.now(UTC) - timedelta(hours=2))
    second = revoke(sandbox, first, datetime.now(UTC) - timedelta(minutes=5))

    # When both revocations arrive in one batch
    response = invoke(
        stream_record("MODIFY", old=entry, new=first, sequence=seq(1)),
        stream_record("MODIFY", old=first, new=second, sequence=seq(2)),
    )

    # Then the first is cancelled and the second is open
    assert response == {"batchItemFailures": []}
    by_time = {r.requested_at: r for r in ledger_of(sandbox).records(ACCOUNT)}
    assert first.revoked_at is not None and second.revoked_at is not None
    assert {at: transitions(r) for at, r in by_time.items()} == {
        first.revoked_at: [
            "opened",
            "pending -> cancelled",
            f"superseded by the revocation dated {second.revoked_at.isoformat()}",
        ],
        second.revoked_at: ["opened"],
    }


def test_a_cli_revocation_and_its_change_log_item_are_processed_without_rejections(
    stream_env: Sandbox, log_lines: LogLines, capsys: pytest.CaptureFixture[str]
) -> None:
    """A revocation of quinn written as ``driftline registry revoke`` writes it (RegistryLog.put_one: the entry's
    MODIFY and then the INSERT of its change-log item under ``<account>#history``), delivered as one batch, must open
    quinn's pending record and reject nothing: no "registry stream record rejected" line, no RejectedRegistryRecords.
    The history item used to be rejected as a malformed entry on every registry write."""
    # Given quinn with a key, and a revocation written through the change log
    sandbox = stream_env
    _key, entry = with_key(sandbox, "quinn")
    log = RegistryLog(sandbox.dynamodb, REGISTRY_TABLE, actor=GOVERNANCE)
    revoked = RegistryEntry.model_validate(
        {**entry.model_dump(), "status": "revoked", "revoked_at": datetime.now(UTC) - timedelta(minutes=3)}
    )
    log.put_one(ACCOUNT, RegistryWrite(action="put", ref=entry.ref, entry=revoked, expected_version=entry.version))
    stored = sandbox.registry.get(ACCOUNT, entry.ref)
    (history_item,) = sandbox.dynamodb.query(
        TableName=REGISTRY_TABLE,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"{ACCOUNT}#history"}},
    )["Items"]
    capsys.readouterr()

    # When the stream delivers both writes
    response = invoke(
        stream_record("MODIFY", old=entry, new=stored, sequence=seq(1)),
        stream_record("INSERT", new=history_item, sequence=seq(2)),
    )

    # Then the revocation is on record and nothing was rejected
    assert response == {"batchItemFailures": []}
    assert records(sandbox)["user#quinn"].state is LedgerState.PENDING
    assert not [line for line in log_lines() if line["message"] == "registry stream record rejected"]
    assert emf_metric(capsys.readouterr().out, "RejectedRegistryRecords") == []


def test_a_valid_revocation_over_a_malformed_item_opens_its_record(stream_env: Sandbox, log_lines: LogLines) -> None:
    """A MODIFY whose old image is another tool's malformed item for rose (revoked, no revoked_at) and whose new image
    is a valid revocation of rose (10 minutes ago) must open rose's pending ledger record and log a warning about the
    old image, with no batch failure and no rejection. It used to be rejected whole: the revocation waited for the
    next reconcile."""
    # Given rose in IAM, and the malformed item a valid revocation replaced
    sandbox = stream_env
    _key, entry = with_key(sandbox, "rose")
    malformed = to_item(ACCOUNT, entry) | {"status": {"S": "revoked"}}
    revoked = revoke(sandbox, entry, datetime.now(UTC) - timedelta(minutes=10))

    # When the stream delivers the fix
    response = invoke(stream_record("MODIFY", old=malformed, new=revoked, sequence=seq(1)))

    # Then the revocation is on record, and the bad old image was reported, not rejected
    assert response == {"batchItemFailures": []}
    record = records(sandbox)["user#rose"]
    assert (record.state, record.requested_at) == (LedgerState.PENDING, revoked.revoked_at)
    messages = [line["message"] for line in log_lines()]
    assert "registry stream old image is no entry" in messages
    assert "registry stream record rejected" not in messages


@pytest.mark.filterwarnings("ignore:No application metrics:UserWarning")
@pytest.mark.slow
def test_malformed_stream_records_are_rejected_never_retried(stream_env: Sandbox, capsys: Any) -> None:
    """Two hundred mutated registry stream records (wrong types at every level, unknown attribute types, edge times,
    lone surrogates), each in a batch with a valid sequence number: the handler never raises, and no malformed record
    is reported as a batch item failure (which would send it back to be retried for a day). Each rejection is
    counted."""
    import random

    from driftline.triggers.registry_stream import BadRegistryImage, classify

    rng = random.Random(13)
    rejected = 0
    for n in range(200):
        record = _mutant(rng)
        if not isinstance(record.get("dynamodb"), dict):
            record["dynamodb"] = {}
        record["dynamodb"]["SequenceNumber"] = seq(n)
        try:
            classify(record)
        except BadRegistryImage:
            rejected += 1
        response = invoke(record)
        assert response == {"batchItemFailures": []}, record
    assert rejected > 20
    counted = emf_metric(capsys.readouterr().out, "RejectedRegistryRecords")
    assert sum(sum(v) if isinstance(v, list) else v for v in counted) == rejected


def _mutant(rng: Any) -> dict[str, Any]:
    """A mutated registry stream record (the fuzz strategy's edits, from a plain random source)."""
    from tests.events import fuzz

    record = json.loads(rng.choice(fuzz.STREAM_TEXTS))
    for _ in range(rng.randint(1, 3)):
        where = [p for p in fuzz.paths(record) if p[:2] != ("dynamodb", "SequenceNumber")]
        path = rng.choice(where)
        parent = record
        for part in path[:-1]:
            parent = parent[part]
        parent[path[-1]] = copy.deepcopy(rng.choice([*fuzz.WRONG_ATTRIBUTES, None, 5, "x", [], {}]))
    return record


def test_a_registry_change_narrowing_a_roles_approved_trust_is_judged_at_once(hub: Any, stream_env: Sandbox) -> None:
    """Trust drift on the registry-stream path (issue 17): role deployer trusts lambda and partner account
    999988887777 in IAM, and the registry approves both. The registry then approves lambda only (a MODIFY on the
    stream). Must: no batch failure, and an ACTIVE excess-trust finding naming AWS:999988887777 right away, before
    any reconcile; approving the partner again (a second MODIFY) archives it."""
    from driftline.domain.drift import DriftType
    from tests.integration.revocations.support import revise

    sandbox = stream_env
    partner = "999988887777"
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"},
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{partner}:root"}, "Action": "sts:AssumeRole"},
        ],
    }
    sandbox.iam.create_role(RoleName="deployer", AssumeRolePolicyDocument=json.dumps(trust))
    both = ["Service:lambda.amazonaws.com", f"AWS:{partner}"]
    entry = sandbox.register_role("deployer", trusted_principals=both)
    finding_id = f"driftline/{ACCOUNT}/us-east-1/{DriftType.EXCESS_TRUST.value}/role/deployer"

    narrowed = revise(sandbox, entry, trusted_principals=["Service:lambda.amazonaws.com"])
    response = invoke(stream_record("MODIFY", old=entry, new=narrowed, sequence=seq(1)))

    assert response == {"batchItemFailures": []}
    finding = hub_findings(hub)[finding_id]
    assert finding["RecordState"] == "ACTIVE" and f"AWS:{partner}" in finding["Description"]

    widened = revise(sandbox, narrowed, trusted_principals=both)
    assert invoke(stream_record("MODIFY", old=narrowed, new=widened, sequence=seq(2))) == {"batchItemFailures": []}
    assert hub_findings(hub)[finding_id]["RecordState"] == "ARCHIVED"
