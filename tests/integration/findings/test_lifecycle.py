"""The Security Hub sink end to end on moto: reconcile → plan → BatchImportFindings → state table, over several runs.

moto's Security Hub overwrites a finding even with an earlier UpdatedAt and accepts findings without Severity/Types
or about another account (AWS-FACTS section 8), so each test also checks those rules on what was imported.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from driftline.adapters.aws import Clients
from driftline.cli.demo_scenario import EXPECTED, registry_entries, seed_iam
from driftline.compose import compose
from driftline.domain.drift import DriftType
from driftline.domain.identity import IdentityRef, Kind
from driftline.findings.asff import finding_id
from driftline.findings.plan import REFRESH_AFTER
from driftline.service.ports import NullSink
from driftline.settings import get_settings
from tests.integration.findings.conftest import Publisher
from tests.integration.findings.helpers import PLACE
from tests.integration.support import ACCOUNT, REGISTRY_TABLE, STATE_TABLE, Sandbox, ago
from tests.unit.findings.support import problems


def fid(drift_type: DriftType, identity: str) -> str:
    return finding_id(PLACE, drift_type, IdentityRef.parse(identity))


def seed_demo(sandbox: Sandbox) -> dict[str, str]:
    """The demo account: every drift type (15 drifts, EXPECTED in demo_scenario)."""
    now = datetime.now(UTC)
    keys = seed_iam(sandbox.iam, now)
    for entry in registry_entries(keys, now):
        sandbox.writer.put(ACCOUNT, entry, expected_version=None)
    return keys


def seed_alice_excess(sandbox: Sandbox) -> tuple[str, str]:
    """alice approved for Read; IAM also attaches AdminLike (an excess entitlement). Returns (Read, AdminLike)."""
    read, admin = sandbox.policy("Read"), sandbox.policy("AdminLike")
    sandbox.user("alice", policies=[read, admin])
    sandbox.register_user("alice", managed_policies=[read])
    return read, admin


ALICE_EXCESS = ("excess-entitlement", "user#alice")


def test_first_run_imports_one_valid_finding_per_drift(publisher: Publisher, sandbox: Sandbox) -> None:
    """Input: the demo account (15 drifts of all 10 types), Security Hub enabled, empty state table. Must import
    exactly one finding per drift in ONE BatchImportFindings call, each ACTIVE/FAILED, about the scanned account,
    passing the ASFF rules moto does not enforce, and remember 15 ACTIVE states."""
    # Given the demo account
    seed_demo(sandbox)

    # When it is reconciled with publishing
    evaluation = publisher.reconcile()

    # Then one finding per drift is in Security Hub
    drifts = evaluation.comparison.drifts
    assert {(d.type.value, d.identity.key) for d in drifts} >= {(t, i) for t, i in EXPECTED if "@" not in i}
    assert {d.type for d in drifts} == set(DriftType)
    hub = publisher.hub()
    assert set(hub) == {finding_id(PLACE, d.type, d.identity) for d in drifts}
    assert len(hub) == len(drifts) == len(EXPECTED) == 15
    for finding in hub.values():
        assert finding["AwsAccountId"] == ACCOUNT
        assert finding["RecordState"] == "ACTIVE" and finding["Compliance"]["Status"] == "FAILED"
        assert problems(finding, PLACE) == [], finding["Id"]
    # And the run made one import call and remembered every finding
    assert publisher.last_calls["securityhub.BatchImportFindings"] == 1
    assert publisher.last_calls["states.save"] == 15
    assert evaluation.publish.published == 15 and evaluation.publish.failed == {}
    states = publisher.remembered()
    assert set(states) == set(hub) and {s.record_state for s in states.values()} == {"ACTIVE"}


def test_quiet_rerun_writes_nothing(publisher: Publisher, sandbox: Sandbox) -> None:
    """Input: the demo account reconciled twice with nothing changed in between. The second run must make ZERO
    BatchImportFindings calls, ZERO finding-state saves and ZERO DynamoDB PutItem, and leave every finding's
    UpdatedAt as it was."""
    # Given a first, publishing run
    seed_demo(sandbox)
    publisher.reconcile()
    before = {i: f["UpdatedAt"] for i, f in publisher.hub().items()}

    # When the account is reconciled again
    evaluation = publisher.reconcile()

    # Then nothing is written anywhere
    assert publisher.last_calls["securityhub.BatchImportFindings"] == 0
    assert [op for op in publisher.last_calls if op.startswith("securityhub.")] == []  # no reads either
    assert publisher.last_calls["states.save"] == 0
    assert publisher.last_calls["dynamodb.PutItem"] == 0
    assert evaluation.publish.unchanged == 15 and evaluation.publish.published == 0
    assert {i: f["UpdatedAt"] for i, f in publisher.hub().items()} == before


def test_changed_drift_updates_the_same_finding(publisher: Publisher, sandbox: Sandbox) -> None:
    """Input: alice's excess entitlement (AdminLike) published; then a second unapproved policy is attached. Must
    update the SAME finding Id, with a later UpdatedAt, the original CreatedAt and evidence naming both policies,
    in one call and one state save."""
    # Given alice's published excess entitlement
    seed_alice_excess(sandbox)
    publisher.reconcile()
    (first,) = publisher.hub().values()
    assert first["Id"] == fid(DriftType.EXCESS_ENTITLEMENT, "user#alice")

    # When a second unapproved policy is attached and the account reconciled
    extra = sandbox.policy("Extra")
    sandbox.iam.attach_user_policy(UserName="alice", PolicyArn=extra)
    evaluation = publisher.reconcile()

    # Then the same finding was updated forward in time
    (second,) = publisher.hub().values()
    assert second["Id"] == first["Id"]
    assert second["UpdatedAt"] > first["UpdatedAt"]
    assert second["CreatedAt"] == first["CreatedAt"]
    assert extra in second["ProductFields"]["driftline/Evidence"]
    assert "AdminLike" in second["ProductFields"]["driftline/Evidence"]
    assert publisher.last_calls["securityhub.BatchImportFindings"] == 1
    assert publisher.last_calls["states.save"] == 1
    assert evaluation.publish.published == 1
    (state,) = publisher.remembered().values()
    assert state.finding["UpdatedAt"] == second["UpdatedAt"]


def test_cleared_drift_is_archived_and_a_returning_drift_reactivates_it(publisher: Publisher, sandbox: Sandbox) -> None:
    """Input: alice's excess entitlement published; the policy detached; then attached again. Must archive the
    finding (RecordState ARCHIVED, Compliance PASSED, later UpdatedAt) and then make the SAME Id ACTIVE/FAILED again
    with its original CreatedAt."""
    # Given alice's published excess entitlement
    _, admin = seed_alice_excess(sandbox)
    publisher.reconcile()
    (published,) = publisher.hub().values()

    # When the unapproved policy is detached
    sandbox.iam.detach_user_policy(UserName="alice", PolicyArn=admin)
    cleared = publisher.reconcile()

    # Then the finding is resolved in Security Hub and in the state table
    (resolved,) = publisher.hub().values()
    assert cleared.comparison.drifts == ()
    assert cleared.publish.resolved == 1
    assert resolved["Id"] == published["Id"]
    assert resolved["RecordState"] == "ARCHIVED"
    assert resolved["Compliance"]["Status"] == "PASSED"
    assert resolved["UpdatedAt"] > published["UpdatedAt"]
    assert publisher.active() == {}
    assert [s.record_state for s in publisher.remembered().values()] == ["ARCHIVED"]

    # When the policy comes back
    sandbox.iam.attach_user_policy(UserName="alice", PolicyArn=admin)
    returned = publisher.reconcile()

    # Then the same finding is active again, created when it first appeared
    (again,) = publisher.hub().values()
    assert returned.publish.published == 1
    assert again["Id"] == published["Id"]
    assert again["RecordState"] == "ACTIVE" and again["Compliance"]["Status"] == "FAILED"
    assert again["CreatedAt"] == published["CreatedAt"]
    assert again["UpdatedAt"] > resolved["UpdatedAt"]


def test_deactivating_a_revoked_key_archives_its_finding(publisher: Publisher, sandbox: Sandbox) -> None:
    """Input: dave's key revoked in the registry two days ago and still Active (unenforced-revocation on the key);
    then the key is deactivated. Must archive that key's finding with Compliance PASSED."""
    # Given a revoked, still active key, published
    key = sandbox.user("dave", key=True)
    assert key is not None
    sandbox.register_user("dave")
    sandbox.register_key(key, "dave", status="revoked", revoked_at=ago(days=2), ticket="SEC-9", reason="leaked")
    first = publisher.reconcile()
    expected_id = fid(DriftType.UNENFORCED_REVOCATION, f"access_key#{key}")
    assert [finding_id(PLACE, d.type, d.identity) for d in first.comparison.drifts] == [expected_id]
    assert publisher.hub()[expected_id]["RecordState"] == "ACTIVE"

    # When the key is deactivated
    sandbox.deactivate("dave", key)
    second = publisher.reconcile()

    # Then its finding is archived
    finding = publisher.hub()[expected_id]
    assert second.comparison.drifts == ()
    assert finding["RecordState"] == "ARCHIVED" and finding["Compliance"]["Status"] == "PASSED"
    assert second.publish.resolved == 1
    # And, as Security Hub holds it, it says it is resolved: the title, the description (the old "IAM still allows
    # it" only after "Last reported:"), the key now Inactive, dave named as the key's user, driftline as the product
    assert finding["Title"].startswith("Resolved: Unenforced revocation: access key ")
    head, _, last = finding["Description"].partition("Last reported: ")
    assert head.startswith("Resolved ") and "still allows" not in head and "still allows" in last
    key_resource, user_resource = finding["Resources"]
    assert key_resource["Id"] == f"AWS::IAM::AccessKey:{key}"
    assert key_resource["Details"]["AwsIamAccessKey"]["Status"] == "Inactive"
    assert user_resource["Id"] == f"arn:aws:iam::{ACCOUNT}:user/dave"
    assert (finding["CompanyName"], finding["ProductName"]) == ("driftline", "driftline")
    assert finding["ProductFields"]["driftline/ImportReason"] == "resolved"


def test_scoped_evaluation_resolves_only_the_evaluated_identity(publisher: Publisher, sandbox: Sandbox) -> None:
    """Input: alice and bob both with an excess entitlement, published by a reconcile; both policies detached; then
    evaluate_identities([user#alice]). Must archive alice's finding only: bob's drift also ended but his finding
    must stay ACTIVE (and remembered ACTIVE) until an evaluation looks at bob."""
    # Given two published excess entitlements
    read, admin = seed_alice_excess(sandbox)
    sandbox.user("bob", policies=[read, admin])
    sandbox.register_user("bob", managed_policies=[read])
    publisher.reconcile()
    alice_id, bob_id = fid(DriftType.EXCESS_ENTITLEMENT, "user#alice"), fid(DriftType.EXCESS_ENTITLEMENT, "user#bob")
    assert set(publisher.active()) == {alice_id, bob_id}

    # When both drifts end and only alice is evaluated
    for user in ("alice", "bob"):
        sandbox.iam.detach_user_policy(UserName=user, PolicyArn=admin)
    evaluation = publisher.evaluate([IdentityRef(kind=Kind.USER, name="alice")])

    # Then alice's finding is archived and bob's is untouched
    assert evaluation.publish.resolved == 1
    assert set(publisher.active()) == {bob_id}
    assert publisher.hub()[alice_id]["RecordState"] == "ARCHIVED"
    states = publisher.remembered()
    assert states[alice_id].record_state == "ARCHIVED" and states[bob_id].record_state == "ACTIVE"

    # And a later full reconcile resolves bob's
    publisher.reconcile()
    assert publisher.active() == {}


class FailOne:
    """A securityhub client that imports through moto but reports one finding Id as failed (HTTP 200)."""

    def __init__(self, client: Any, failing_id: str) -> None:
        self._client = client
        self.failing_id = failing_id
        self.calls = 0

    def batch_import_findings(self, Findings: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803 (boto3's name)
        self.calls += 1
        passing = [f for f in Findings if f["Id"] != self.failing_id]
        answer = self._client.batch_import_findings(Findings=passing) if passing else {"FailedFindings": []}
        failed = [
            {"Id": self.failing_id, "ErrorCode": "InvalidInput", "ErrorMessage": "rejected by test"}
            for f in Findings
            if f["Id"] == self.failing_id
        ]
        return {**answer, "FailedFindings": list(answer.get("FailedFindings", [])) + failed}


def test_a_finding_that_fails_import_is_not_remembered_and_is_sent_next_run(
    publisher: Publisher, sandbox: Sandbox
) -> None:
    """Input: alice's excess entitlement and bob's unregistered user; Security Hub rejects alice's finding in every
    round of the first run. Must report alice's Id as failed ("InvalidInput: ..."), remember only bob's state, and
    import alice's finding on the next (healthy) run while bob's is left alone."""
    # Given two drifts, and a Security Hub that rejects alice's finding
    seed_alice_excess(sandbox)
    sandbox.user("bob")
    alice_id = fid(DriftType.EXCESS_ENTITLEMENT, "user#alice")
    bob_id = fid(DriftType.UNREGISTERED_IDENTITY, "user#bob")
    flaky = FailOne(publisher.securityhub, alice_id)

    # When the first run imports
    first = publisher.reconcile(sink=publisher.sink(publisher.importer(flaky)))

    # Then alice's finding failed and is not remembered; bob's is
    assert first.publish.failed == {alice_id: "InvalidInput: rejected by test"}
    assert first.publish.published == 1
    assert set(publisher.remembered()) == {bob_id}
    assert set(publisher.hub()) == {bob_id}
    assert flaky.calls > 1  # the failed finding was retried within the run

    # When the next run has a healthy Security Hub
    second = publisher.reconcile()

    # Then only alice's finding is imported
    assert second.publish.published == 1 and second.publish.unchanged == 1 and second.publish.failed == {}
    assert publisher.last_calls["securityhub.BatchImportFindings"] == 1
    assert publisher.last_calls["states.save"] == 1
    assert set(publisher.hub()) == set(publisher.remembered()) == {alice_id, bob_id}


def test_the_handlers_sink_publishes_to_the_functions_account(
    publisher: Publisher, sandbox: Sandbox, clients: Clients, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Input: the handler's settings (DRIFTLINE_* env) and the sink the scheduled handler is wired with
    (``compose.compose(account, clients).detector.sink``, formerly ``on_schedule.sink_for``). Must import
    alice's finding into the given account and region through the state table named in the settings; with
    DRIFTLINE_PUBLISH_FINDINGS=false it must be a NullSink."""
    # Given the function's environment
    monkeypatch.setenv("DRIFTLINE_REGISTRY_TABLE", REGISTRY_TABLE)
    monkeypatch.setenv("DRIFTLINE_STATE_TABLE", STATE_TABLE)
    get_settings.cache_clear()
    seed_alice_excess(sandbox)
    try:
        # When the reconcile publishes through the handler's sink
        evaluation = publisher.reconcile(sink=compose(ACCOUNT, clients).detector.sink)

        # Then the finding is in Security Hub and remembered
        assert evaluation.publish.published == 1
        (finding,) = publisher.hub().values()
        assert finding["AwsAccountId"] == ACCOUNT
        assert finding["ProductArn"] == f"arn:aws:securityhub:us-east-1:{ACCOUNT}:product/{ACCOUNT}/default"
        assert set(publisher.remembered()) == {finding["Id"]}

        # And publishing can be turned off
        monkeypatch.setenv("DRIFTLINE_PUBLISH_FINDINGS", "false")
        get_settings.cache_clear()
        assert isinstance(compose(ACCOUNT, clients).detector.sink, NullSink)
    finally:
        get_settings.cache_clear()


def test_more_than_100_drifts_are_sent_in_batches_of_at_most_100(publisher: Publisher, sandbox: Sandbox) -> None:
    """Input: 130 unregistered users (130 drifts). moto would accept them in one call, Security Hub would not: the
    run must send 2 BatchImportFindings calls of 100 and 30, paced at least 0.1 s apart (fake clock), and import
    all 130."""
    # Given 130 unregistered users, and a recorder of what each call carries
    for i in range(130):
        sandbox.iam.create_user(UserName=f"u{i:03d}")
    sizes: list[int] = []
    times: list[float] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        sizes.append(len(params["Findings"]))
        times.append(publisher.clock())

    publisher.securityhub.meta.events.register("before-parameter-build.securityhub.BatchImportFindings", record)

    # When the account is reconciled
    evaluation = publisher.reconcile()

    # Then the findings went in two batches, paced, and all arrived
    assert sizes == [100, 30]
    assert times[1] - times[0] >= 0.1
    assert evaluation.publish.published == 130
    assert len(publisher.hub()) == 130


def test_an_unchanged_finding_is_refreshed_before_security_hub_forgets_it(
    publisher: Publisher, sandbox: Sandbox
) -> None:
    """Input: alice's excess entitlement published, then the account reconciled REFRESH_AFTER + 1 day later with
    nothing changed (sink clock moved forward). Must re-import the same finding once (Security Hub deletes active
    findings 90 days after their last update) with a later UpdatedAt and LastObservedAt and the same CreatedAt; a run
    right after must again write nothing."""
    # Given a published finding
    seed_alice_excess(sandbox)
    publisher.reconcile()
    (first,) = publisher.hub().values()

    # When the account is reconciled after the refresh period
    later = datetime.now(UTC) + REFRESH_AFTER + timedelta(days=1)
    refreshed = publisher.reconcile(sink=publisher.sink(now=later))

    # Then the finding was re-imported, and only once
    (second,) = publisher.hub().values()
    assert publisher.last_calls["securityhub.BatchImportFindings"] == 1
    assert refreshed.publish.published == 1
    assert second["Id"] == first["Id"] and second["CreatedAt"] == first["CreatedAt"]
    assert second["UpdatedAt"] > first["UpdatedAt"]
    assert second["LastObservedAt"] > first["LastObservedAt"]
    assert second["ProductFields"]["driftline/ImportReason"] == "refresh"
    publisher.reconcile(sink=publisher.sink(now=later + timedelta(minutes=5)))
    assert publisher.writes() == 0


@pytest.mark.parametrize(
    ("refresh_after", "quiet", "due"),
    [
        (REFRESH_AFTER, [timedelta(hours=1), timedelta(hours=12)], timedelta(days=1)),
        (timedelta(hours=6), [timedelta(hours=1), timedelta(hours=5)], timedelta(hours=6)),
    ],
    ids=["daily", "six-hourly"],
)
def test_quiet_runs_make_no_call_and_the_refresh_one_call_per_100_open_findings(
    publisher: Publisher, sandbox: Sandbox, refresh_after: timedelta, quiet: list[timedelta], due: timedelta
) -> None:
    """Input: the demo account's 15 open findings published, then reconciled unchanged at the ``quiet`` offsets and
    once ``due`` later, with refresh period ``refresh_after``. Must make no BatchImportFindings call in the quiet runs
    and exactly one call (15 findings, under 100) at the refresh, every finding's LastObservedAt moved to that run."""
    # Given the demo account, published
    seed_demo(sandbox)
    start = datetime.now(UTC)
    publisher.reconcile(sink=publisher.sink(now=start, refresh_after=refresh_after))
    before = publisher.hub()
    assert len(before) == 15

    # When it is reconciled, unchanged, during the period and once it is due
    for offset in quiet:
        publisher.reconcile(sink=publisher.sink(now=start + offset, refresh_after=refresh_after))
        # Then a quiet run makes no Security Hub call
        assert publisher.last_calls["securityhub.BatchImportFindings"] == 0, offset
    refreshed = publisher.reconcile(sink=publisher.sink(now=start + due, refresh_after=refresh_after))

    # Then the refresh re-imports every open finding in one call, each observed at that run
    assert publisher.last_calls["securityhub.BatchImportFindings"] == 1
    assert refreshed.publish.published == 15
    after = publisher.hub()
    assert {f["ProductFields"]["driftline/ImportReason"] for f in after.values()} == {"refresh"}
    assert all(after[i]["LastObservedAt"] > before[i]["LastObservedAt"] for i in before)
