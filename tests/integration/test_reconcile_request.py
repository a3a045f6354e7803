"""Asking for a whole-account reconcile (``adapters.reconcile_request``): coalesced through a conditional write in
the state table (moto), one asynchronous Invoke of the reconcile function (botocore Stubber: moto runs no Lambda
without Docker), and a failed Invoke leaves no marker behind, so the retried event asks again."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.stub import ANY, Stubber

from driftline.adapters.aws import Clients
from driftline.adapters.reconcile_request import COALESCE, LambdaReconcileRequests
from driftline.domain.errors import StateStoreError
from tests.integration.support import ACCOUNT, STATE_TABLE

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
FUNCTION = "Driftline-DetectionReconcileFunction-AbC123"


@pytest.fixture
def lambda_client() -> object:
    return boto3.client("lambda", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")


def expect_invoke(stubber: Stubber, reason: str) -> None:
    payload = json.dumps({"source": "driftline.reconcile-request", "account": ACCOUNT, "reason": reason}).encode()
    stubber.add_response(
        "invoke",
        {"StatusCode": 202},
        {"FunctionName": FUNCTION, "InvocationType": "Event", "Payload": payload},
    )


def test_requests_within_the_window_are_coalesced_into_one_invocation(clients: Clients, lambda_client: object) -> None:
    """Three truncated events at 12:00, 12:01 and 12:04, then one at 12:06: two asynchronous invocations (12:00 and
    12:06), the others answered "already asked"."""
    requests = LambdaReconcileRequests(clients.dynamodb(), STATE_TABLE, lambda_client, FUNCTION)  # type: ignore[arg-type]
    with Stubber(lambda_client) as stubber:  # type: ignore[arg-type]
        expect_invoke(stubber, "first")
        expect_invoke(stubber, "fourth")
        asked = [
            requests.request(ACCOUNT, "first", NOW),
            requests.request(ACCOUNT, "second", NOW + timedelta(minutes=1)),
            requests.request(ACCOUNT, "third", NOW + timedelta(minutes=4)),
            requests.request(ACCOUNT, "fourth", NOW + COALESCE + timedelta(minutes=1)),
        ]
        stubber.assert_no_pending_responses()
    assert asked == [True, False, False, True]


def test_a_failed_invocation_leaves_no_marker_so_the_retry_asks_again(clients: Clients, lambda_client: object) -> None:
    """Lambda refuses the Invoke (throttled): the request raises (the event is retried by Lambda) and the marker is
    removed, so the retry's request invokes instead of being coalesced into nothing."""
    requests = LambdaReconcileRequests(clients.dynamodb(), STATE_TABLE, lambda_client, FUNCTION)  # type: ignore[arg-type]
    with Stubber(lambda_client) as stubber:  # type: ignore[arg-type]
        stubber.add_client_error(
            "invoke",
            "TooManyRequestsException",
            expected_params={"FunctionName": FUNCTION, "InvocationType": "Event", "Payload": ANY},
        )
        expect_invoke(stubber, "retry")
        with pytest.raises(StateStoreError, match="invoking the reconcile function"):
            requests.request(ACCOUNT, "first", NOW)
        assert requests.request(ACCOUNT, "retry", NOW + timedelta(seconds=30)) is True
        stubber.assert_no_pending_responses()
