"""Asking the reconcile function for a whole-account run, coalesced: at most one request per window.

An IAM event that cannot say which identities it changed (CloudTrail truncated its request, a managed policy's
document changed under every holder) must not be dropped. The IAM event function writes a marker in the state table
(``pk`` = ``reconcile-request#<account>``) only when no request was made within ``COALESCE``; the one writer that
succeeds invokes the reconcile function asynchronously. If the invocation fails, the marker is removed again so the
retried event asks anew.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import BotoCoreError, ClientError

from driftline.adapters.dynamo import condition_failed
from driftline.domain.errors import StateStoreError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_lambda import LambdaClient

# The AWS actions this module calls, by what they act on: stacks/constants.py grants them from here, and
# tests/infrastructure/test_code_calls_are_granted.py checks them against the calls in this file.
PERMISSIONS: Final[dict[str, tuple[str, ...]]] = {
    "state": ("dynamodb:PutItem", "dynamodb:DeleteItem"),
    "function": ("lambda:InvokeFunction",),
}

COALESCE = timedelta(minutes=5)
REQUEST_SOURCE: Final = "driftline.reconcile-request"  # the invocation payload's "source"


class LambdaReconcileRequests:
    """Implements ``ports.ReconcileRequests`` with the state table and an asynchronous Lambda invocation."""

    def __init__(self, dynamodb: DynamoDBClient, table: str, lambda_client: LambdaClient, function: str) -> None:
        self._db = dynamodb
        self._table = table
        self._lambda = lambda_client
        self._function = function

    def _key(self, account_id: str) -> dict[str, Any]:
        return {"pk": {"S": f"reconcile-request#{account_id}"}, "sk": {"S": "latest"}}

    def request(self, account_id: str, reason: str, now: datetime) -> bool:
        try:
            self._db.put_item(
                TableName=self._table,
                Item=self._key(account_id)
                | {
                    "requested_at": {"S": now.isoformat()},
                    "reason": {"S": reason[:500]},
                    "expiration": {"N": str(int((now + COALESCE * 12).timestamp()))},
                },
                ConditionExpression="attribute_not_exists(pk) OR requested_at < :cutoff",
                ExpressionAttributeValues={":cutoff": {"S": (now - COALESCE).isoformat()}},
            )
        except ClientError as exc:
            if condition_failed(exc):
                return False  # a request within the window covers this one
            raise StateStoreError(f"recording the reconcile request failed: {exc}") from exc
        except BotoCoreError as exc:
            raise StateStoreError(f"recording the reconcile request failed: {exc}") from exc
        payload = json.dumps({"source": REQUEST_SOURCE, "account": account_id, "reason": reason})
        try:
            self._lambda.invoke(FunctionName=self._function, InvocationType="Event", Payload=payload.encode())
        except (ClientError, BotoCoreError) as exc:
            self._db.delete_item(TableName=self._table, Key=self._key(account_id))
            raise StateStoreError(f"invoking the reconcile function {self._function} failed: {exc}") from exc
        return True
