"""Delivery concerns of the IAM event handler: redelivered events, scope, fan-out, what is skipped and counted, and
real failures that must raise so Lambda retries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from driftline.domain.errors import RegistryError
from tests.events import corpus
from tests.integration.events.conftest import EventAccount, emf_metrics
from tests.integration.support import REGISTRY_TABLE, TRUST, ago, policy_arn

# A redelivered or failing invocation adds no metric of its own; Powertools warns about the empty flush.
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")


def test_duplicate_event_is_processed_once(account: EventAccount) -> None:
    """EventBridge may deliver an event twice. The second delivery (same eventID) must answer the first result
    without reading IAM, importing into Security Hub or writing the ledger or finding states."""
    # Given a revoked key that signs a call: the first delivery publishes a finding and opens a ledger record
    account.iam.create_user(UserName="carol")
    account.sandbox.register_user("carol")
    key = account.sandbox.key("carol")
    account.sandbox.register_key(key, "carol", status="revoked", revoked_at=ago(hours=3))
    event, first = account.send("iam.TagUser", user="carol", caller="carol", caller_key=key)
    assert first["status"] == "evaluated"
    assert first["api_calls"]["securityhub.BatchImportFindings"] == 1
    assert {pk.split("#")[0] for _, pk in account.last.writes} >= {"ledger", "finding", "idempotency"}
    (record,) = account.ledger(f"access_key#{key}")

    # When the same event arrives again (a new envelope id, the same CloudTrail eventID)
    again = event | {"id": "1b2c3d4e-0000-4000-8000-000000000000"}
    second = account.deliver(again)

    # Then the stored result is answered, and nothing was re-read or re-written
    assert second == first
    calls = account.last.calls
    assert not any(op.startswith(("iam.", "securityhub.")) for op in calls), calls
    assert [pk for _, pk in account.last.writes if not pk.startswith("idempotency#")] == []
    assert account.ledger(f"access_key#{key}") == [record]


def test_distinct_events_about_the_same_identity_are_each_processed(account: EventAccount) -> None:
    account.iam.create_user(UserName="alice")

    _, first = account.send("iam.CreateUser")
    _, second = account.send("iam.TagUser")

    assert first["status"] == second["status"] == "evaluated"
    assert len(account.evaluated) == 2


def test_event_scoped_evaluation_resolves_nothing_for_other_identities(account: EventAccount) -> None:
    """alice and bob both stop drifting (they get registered), but only alice's event arrives: only alice's
    finding may be resolved; bob's stays active until his own event or the reconcile."""
    for name in ("alice", "bob"):
        account.iam.create_user(UserName=name)
        account.send("iam.CreateUser", user=name)
    for name in ("alice", "bob"):
        account.sandbox.register_user(name)
    account.evaluated.clear()

    _, result = account.send("iam.TagUser", user="alice")

    assert account.evaluated == [{"user#alice"}]
    assert result["findings"]["resolved"] == 1
    assert account.state_of("unregistered-identity", "user#alice") == "ARCHIVED"
    assert account.state_of("unregistered-identity", "user#bob") == "ACTIVE"


def test_group_policy_change_fans_out_to_every_member_only(account: EventAccount) -> None:
    """A policy attached to a group changes what each member holds: every member is evaluated, non-members are
    not, and each unregistered member gets a finding."""
    account.sandbox.policy("read-only")
    account.iam.create_group(GroupName="developers")
    members = ["dev1", "dev2", "dev3"]
    for name in [*members, "outsider"]:
        account.iam.create_user(UserName=name)
    for name in members:
        account.iam.add_user_to_group(GroupName="developers", UserName=name)
    account.sandbox.register_user("dev1")
    account.iam.attach_group_policy(GroupName="developers", PolicyArn=policy_arn("read-only"))

    _, result = account.send("iam.AttachGroupPolicy", group="developers")

    assert account.evaluated == [{"user#dev1", "user#dev2", "user#dev3"}]
    assert result["identities_observed"] == 3
    assert set(account.findings_of("user#dev2")) | set(account.findings_of("user#dev3"))
    assert account.findings_of("user#dev1") == {}
    assert account.findings_of("user#outsider") == {}


def test_group_event_for_a_deleted_group_is_skipped(account: EventAccount) -> None:
    _, result = account.send("iam.DeleteGroupPolicy", group="gone")

    assert result["status"] == "skipped"
    assert account.evaluated == []


@pytest.mark.parametrize(
    ("name", "values", "reason"),
    [
        ("iam.ListUsers", {}, "ListUsers is not one driftline evaluates"),
        ("iam.TagUser", {"error_code": "AccessDenied"}, "failed call TagUser (AccessDenied)"),
        ("s3.CreateBucket", {}, "not an IAM API call"),
        ("iam.CreateRole", {"role": "AWSServiceRoleForSupport"}, "excluded identities"),
        ("iam.CreateRole", {"role": "cdk-hnb659fds-deploy-role-123456789012-us-east-1"}, "excluded identities"),
        (
            "iam.CreateRole.aws-service",
            {"role": "AWSReservedSSO_ReadOnly_0123456789abcdef", "role_path": "/aws-reserved/sso.amazonaws.com/"},
            "excluded identities",
        ),
        ("iam.AttachRolePolicy", {"role": "DriftlineIamEventFunctionRole"}, "excluded identities"),
    ],
    ids=["read-only", "failed-non-enforcing", "other-service", "service-linked", "cdk", "sso", "driftline"],
)
def test_skipped_events_touch_nothing_and_are_counted(
    account: EventAccount, capsys: pytest.CaptureFixture[str], name: str, values: dict[str, str], reason: str
) -> None:
    capsys.readouterr()
    error = values.pop("error_code", None)
    event = corpus.load(name, **values)
    if error:
        event["detail"]["errorCode"] = error
        event["detail"].pop("responseElements", None)

    result = account.deliver(event)

    assert result["status"] == "skipped"
    assert reason in result["reason"]
    assert account.evaluated == []
    assert account.findings() == {}
    assert not any(
        op.startswith(("iam.", "securityhub.")) for invocation in account.invocations for op in invocation.calls
    )
    assert emf_metrics(capsys.readouterr().out).get("SkippedEvents") == 1


def test_rejected_event_is_counted_and_touches_nothing(
    account: EventAccount, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()

    result = account.deliver({"detail-type": "AWS API Call via CloudTrail", "detail": "CreateUser alice"})

    assert result["status"] == "rejected" and result["reason"]
    assert account.invocations == []  # no AWS clients were even built
    assert emf_metrics(capsys.readouterr().out).get("RejectedEvents") == 1


def test_excluded_role_is_still_judged_when_it_is_the_revoked_caller(account: EventAccount) -> None:
    """Exclusions never hide a revoked credential at work: a revoked CDK deploy role acting is evaluated."""
    role = "cdk-hnb659fds-deploy-role-123456789012-us-east-1"
    account.iam.create_role(RoleName=role, AssumeRolePolicyDocument=TRUST)
    account.sandbox.register_role(role, status="revoked", revoked_at=ago(hours=2))

    _, result = account.send(
        "iam.AttachUserPolicy.assumed-role", caller_role=role, user="ghost", event_time=datetime.now(UTC)
    )

    assert result["status"] == "evaluated"
    assert f"role#{role}" in account.evaluated[0]
    assert result["drifts_by_type"].get("revoked-credential-used") == 1


def test_registry_failure_raises_and_the_retry_succeeds(account: EventAccount) -> None:
    """A real failure (the registry table is missing) must raise from the handler so Lambda retries, and must not
    leave an idempotency record that would turn the retry into a no-op."""
    account.iam.create_user(UserName="alice")
    schema = account.sandbox.dynamodb.describe_table(TableName=REGISTRY_TABLE)["Table"]
    account.sandbox.dynamodb.delete_table(TableName=REGISTRY_TABLE)
    event = corpus.load("iam.TagUser", user="alice")

    with pytest.raises(RegistryError):
        account.deliver(event)

    account.sandbox.dynamodb.create_table(
        TableName=REGISTRY_TABLE,
        AttributeDefinitions=schema["AttributeDefinitions"],
        KeySchema=schema["KeySchema"],
        BillingMode="PAY_PER_REQUEST",
    )
    retried = account.deliver(event)

    assert retried["status"] == "evaluated"
    assert retried["event_id"] == event["detail"]["eventID"]
    assert account.state_of("unregistered-identity", "user#alice") == "ACTIVE"
    assert account.deliver(event) == retried  # and now it is remembered


def test_event_from_another_account_is_not_evaluated_here(account: EventAccount) -> None:
    other = "210987654321"
    account.iam.create_user(UserName="alice")
    account.sandbox.register_user("alice", status="revoked", revoked_at=ago(hours=2))

    # alice of the *other* account, in a console session (no long-term key), tags a user there
    _, result = account.send(
        "iam.TagUser",
        account=other,
        user="bob",
        caller="alice",
        caller_key="ASIAXXXXXXXXXXXXXXXX",
        event_time=datetime.now(UTC) - timedelta(minutes=1),
    )

    assert result["status"] == "skipped"
    assert "revoked-credential-used" not in result.get("drifts_by_type", {})
    assert account.findings() == {}


@pytest.mark.parametrize(
    ("name", "values"),
    [
        ("iam.UpdateAccessKey", {"key_id": "AKIA"}),
        ("iam.DeleteAccessKey", {"key_id": "HIDDEN"}),
        ("iam.CreateUser", {"user": "alice\ud800"}),
        ("iam.CreateRole", {"role": "\udcff"}),
    ],
    ids=["short-key-id", "short-key-id-2", "surrogate-user", "surrogate-role"],
)
def test_event_with_impossible_identifiers_never_reaches_iam_and_is_not_dropped(
    account: EventAccount, name: str, values: dict[str, str]
) -> None:
    """An identifier IAM cannot hold never reaches an IAM call. A key event that also names a valid user evaluates
    only the user; an event left naming nobody is widened: a whole-account reconcile is asked for (the change it
    stands for is not dropped). Either way the handler does not raise."""
    _, result = account.send(name, **values)

    if "key_id" in values:
        assert result["status"] in {"widened", "evaluated"}
        assert not any(values["key_id"] in finding_id for finding_id in account.findings())
    else:  # a lone surrogate is not valid Unicode: it cannot have come from CloudTrail
        assert result["status"] == "rejected" and "not valid Unicode" in result["reason"]
        assert account.findings() == {} and account.reconcile_requests == []


@pytest.mark.parametrize("name", ["iam.PutUserPolicy.request-omitted", "iam.SetDefaultPolicyVersion"])
def test_an_event_that_names_nobody_asks_for_one_reconcile_and_is_counted(
    account: EventAccount, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    """CloudTrail truncated the request (or a managed policy's default version changed under every holder): the
    event is not dropped. It asks the reconcile function for a whole-account run (one asynchronous Invoke) and counts
    TruncatedEvents; a second such event within the coalescing window asks nothing more."""
    capsys.readouterr()

    _, first = account.send(name)
    _, second = account.send(name)

    assert (first["status"], first["reconcile_requested"]) == ("widened", True)
    assert (second["status"], second["reconcile_requested"]) == ("widened", False)
    assert [(r["function"], r["type"]) for r in account.reconcile_requests] == [("driftline-reconcile", "Event")]
    assert emf_metrics(capsys.readouterr().out).get("TruncatedEvents") == 2
    assert account.findings() == {}
