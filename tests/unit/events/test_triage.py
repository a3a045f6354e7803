"""Triage: every incoming event gets a decision with a reason, before any AWS call, and triage never raises."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from driftline.triggers.triage import MAX_EVENT_BYTES, triage
from tests.events import corpus


@pytest.fixture
def event() -> dict[str, Any]:
    return corpus.load("iam.AttachUserPolicy", user="alice", event_id="triage-1")


def edited(event: dict[str, Any], *path: str, value: Any = KeyError) -> dict[str, Any]:
    """A copy of ``event`` with the value at ``path`` replaced (or deleted when no value is given)."""
    copied = copy.deepcopy(event)
    node = copied
    for part in path[:-1]:
        node = node[part]
    if value is KeyError:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return copied


def test_a_handled_iam_call_is_processed(event: dict[str, Any]) -> None:
    decision = triage(event)

    assert decision.status == "process"
    assert decision.reason == ""
    assert decision.raw_detail == event["detail"]


# -- skipped: well-formed, but nothing for driftline -----------------------------------------------------------------
@pytest.mark.parametrize("code", ["AccessDenied", "NoSuchEntity", "EntityAlreadyExists", "ThrottlingException"])
def test_failed_calls_of_non_enforcing_events_are_skipped(code: str) -> None:
    """A failed TagUser changed nothing and would have enforced nothing: skipped, naming the error."""
    failed = edited(corpus.load("iam.TagUser"), "detail", "errorCode", value=code)

    decision = triage(failed)

    assert decision.status == "skipped"
    assert code in decision.reason


@pytest.mark.parametrize("name", ["iam.AttachUserPolicy.access-denied", "iam.UpdateAccessKey.access-denied"])
def test_failed_enforcing_calls_are_kept_as_attempts(name: str) -> None:
    """A failed AttachUserPolicy / UpdateAccessKey may be someone trying to enforce a revocation and being refused
    (an SCP, a missing permission): triage hands it on as an attempt, with the parsed detail."""
    decision = triage(corpus.load(name))

    assert decision.status == "attempt"
    assert "AccessDenied" in decision.reason
    assert decision.detail is not None and decision.detail.errorCode == "AccessDenied"


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("source",), "aws.s3"),
        (("source",), "custom.forged"),
        (("detail-type",), "AWS Console Sign In via CloudTrail"),
        (("detail", "eventSource"), "sts.amazonaws.com"),
        (("detail", "eventSource"), "s3.amazonaws.com"),
    ],
)
def test_other_services_and_detail_types_are_skipped(event: dict[str, Any], path: tuple[str, ...], value: str) -> None:
    decision = triage(edited(event, *path, value=value))

    assert decision.status == "skipped"
    assert decision.reason.startswith("not an IAM API call")


def test_s3_create_bucket_is_skipped() -> None:
    decision = triage(corpus.load("s3.CreateBucket"))

    assert decision.status == "skipped"
    assert "aws.s3" in decision.reason


@pytest.mark.parametrize("name", ["ListUsers", "GetUser", "UpdateGroup", "createuser"])
def test_unknown_iam_event_names_are_skipped(event: dict[str, Any], name: str) -> None:
    decision = triage(edited(event, "detail", "eventName", value=name))

    assert decision.status == "skipped"
    assert decision.reason == f"event {name} is not one driftline evaluates"


@pytest.mark.parametrize("name", ["iam.CreatePolicyVersion", "iam.SetDefaultPolicyVersion"])
def test_a_managed_policy_version_change_is_widened_to_the_whole_account(name: str) -> None:
    """A new default version of a managed policy changes every holder at once (e.g. the deny policy edited to
    allow): no single identity to re-read, so the event asks for a whole-account reconcile."""
    decision = triage(corpus.load(name))
    assert decision.status == "widen"
    assert "every holder" in decision.reason


def test_corpus_unknown_iam_events_are_skipped() -> None:
    decision = triage(corpus.load("iam.ListUsers"))
    assert decision.status == "skipped"
    assert "ListUsers" in decision.reason


# -- rejected: not a CloudTrail event at all -------------------------------------------------------------------------
@pytest.mark.parametrize("value", [[], [{"detail": {}}], None, "", "{}", 42, 4.2, True])
def test_non_objects_are_rejected(value: Any) -> None:
    decision = triage(value)

    assert decision.status == "rejected"
    assert decision.reason == f"the event is a {type(value).__name__}, not a JSON object"


@pytest.mark.parametrize(
    ("path", "value", "where"),
    [
        (("detail",), KeyError, "detail"),
        (("detail",), "CreateUser alice", "detail"),
        (("detail",), None, "detail"),
        (("detail",), [], "detail"),
        (("detail", "eventTime"), "yesterday", "detail.eventTime"),
        (("detail", "eventTime"), "2026-11-25T10:00:00", "detail.eventTime"),  # no timezone
        (("detail", "eventTime"), "", "detail.eventTime"),
        (("detail", "eventTime"), KeyError, "detail.eventTime"),
        (("detail", "eventName"), 42, "detail.eventName"),
        (("detail", "eventName"), "", "detail.eventName"),
        (("detail", "eventName"), "X" * 129, "detail.eventName"),
        (("detail", "eventName"), KeyError, "detail.eventName"),
        (("detail", "eventID"), KeyError, "detail.eventID"),
        (("detail", "eventID"), 7, "detail.eventID"),
        (("detail", "eventSource"), KeyError, "detail.eventSource"),
        (("detail", "requestParameters"), "userName=alice", "detail.requestParameters"),
        (("detail", "userIdentity"), "admin", "detail.userIdentity"),
        (("detail", "userIdentity", "sessionContext"), ["x"], "detail.userIdentity.sessionContext"),
        (("time",), "not a time", "time"),
        (("detail-type",), KeyError, "detail-type"),
        (("resources",), "arn", "resources"),
    ],
)
def test_malformed_events_are_rejected_naming_the_field(
    event: dict[str, Any], path: tuple[str, ...], value: Any, where: str
) -> None:
    decision = triage(edited(event, *path, value=value))

    assert decision.status == "rejected"
    assert decision.reason.startswith(f"not an EventBridge CloudTrail event: {where}:")


def test_event_over_eventbridge_size_limit_is_rejected(event: dict[str, Any]) -> None:
    """A 300 KB payload cannot have come from EventBridge (256 KB limit): rejected before parsing."""
    big = edited(event, "detail", "requestParameters", "policyDocument", value="x" * 300_000)
    assert len(json.dumps(big)) > MAX_EVENT_BYTES

    decision = triage(big)

    assert decision.status == "rejected"
    assert "256 KB" in decision.reason


def test_event_just_under_the_size_limit_is_still_processed(event: dict[str, Any]) -> None:
    padding = MAX_EVENT_BYTES - len(json.dumps(event)) - 100
    near = edited(event, "detail", "requestParameters", "note", value="x" * padding)

    assert triage(near).status == "process"


def test_unserialisable_and_self_referencing_events_are_rejected(event: dict[str, Any]) -> None:
    looped = copy.deepcopy(event)
    looped["detail"]["requestParameters"]["self"] = looped
    deep: Any = "leaf"
    for _ in range(5_000):
        deep = [deep]

    for bad in (looped, edited(event, "detail", "requestParameters", "deep", value=deep)):
        decision = triage(bad)
        assert decision.status == "rejected"
        assert decision.reason


def test_unknown_fields_are_ignored(event: dict[str, Any]) -> None:
    extra = edited(event, "detail", "addendum", value={"reason": "DELIVERY_DELAY", "updatedFields": "x"})
    extra["replay-name"] = "archive-replay"

    assert triage(extra).status == "process"


def test_detail_with_non_string_key_does_not_raise(event: dict[str, Any]) -> None:
    odd = copy.deepcopy(event)
    odd["detail"][1] = "x"

    decision = triage(odd)

    assert decision.status in {"process", "rejected"}


@pytest.mark.parametrize("caller", ["al\x00ice", "a" * 65, "bob smith"], ids=["nul", "too-long", "space"])
def test_a_caller_iam_could_never_hold_is_rejected_before_any_call(caller: str) -> None:
    """Input: a user creating its own key (no userName in the request: the caller is the identity) whose
    userIdentity.userName is outside IAM's naming rules. Found by fuzzing the handler: a NUL in the name made the
    IAM read raise instead of being rejected. Must: rejected, the reason naming the impossible name."""
    decision = triage(corpus.load("iam.CreateAccessKey.self-null", caller=caller))
    assert decision.status == "rejected"
    assert "no valid IAM name" in decision.reason and decision.touched is None


def test_a_request_parameter_iam_could_never_hold_widens_instead() -> None:
    """A userName in the request that IAM could never accept names nobody driftline can determine: the event asks
    for a whole-account reconcile (as before), never an IAM read of that name."""
    decision = triage(corpus.load("iam.AttachUserPolicy", user="al\x00ice"))
    assert decision.status == "widen"
