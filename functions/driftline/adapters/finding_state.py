"""Last published state per finding, in the detector's state table.

``pk`` = ``finding#<account>#<region>``, ``sk`` = ``<identity>|<drift type>`` (a key's under its user): one Query
returns a whole account's findings, a ``begins_with`` Query one user's (with its keys') or one role's. The last
finding sent is kept zlib-compressed, to archive it later without reading Security Hub. Writes are conditional on
``updated_at`` moving forward, so a slower writer never rolls a newer state back. Archived states expire (TTL)
after Security Hub itself would have deleted them.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import BotoCoreError, ClientError

from driftline.adapters.dynamo import condition_failed, query_all
from driftline.domain.errors import StateStoreError
from driftline.domain.identity import IdentityRef
from driftline.domain.times import iso
from driftline.findings.plan import FindingState

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# The AWS actions this module calls, by what they act on: stacks/constants.py grants them from here, and
# tests/infrastructure/test_code_calls_are_granted.py checks them against the calls in this file.
PERMISSIONS: Final[dict[str, tuple[str, ...]]] = {"state": ("dynamodb:PutItem", "dynamodb:Query")}

ARCHIVED_TTL = timedelta(days=90)


def _pk(account_id: str, region: str) -> str:
    return f"finding#{account_id}#{region}"


def _to_item(account_id: str, region: str, state: FindingState) -> dict[str, Any]:
    item: dict[str, Any] = {
        "pk": {"S": _pk(account_id, region)},
        "sk": {"S": state.sort_key},
        "finding_id": {"S": state.finding_id},
        "identity": {"S": state.identity},
        "drift_type": {"S": state.drift_type},
        "digest": {"S": state.digest},
        "created_at": {"S": iso(state.created_at)},
        "updated_at": {"S": iso(state.updated_at)},
        "record_state": {"S": state.record_state},
        "finding": {"B": zlib.compress(json.dumps(state.finding, sort_keys=True).encode())},
    }
    if state.user:
        item["user"] = {"S": state.user}
    if state.record_state == "ARCHIVED":
        item["expiration"] = {"N": str(int((state.updated_at + ARCHIVED_TTL).timestamp()))}
    return item


def _from_item(item: dict[str, Any]) -> FindingState:
    return FindingState(
        finding_id=item["finding_id"]["S"],
        identity=item["identity"]["S"],
        user=item.get("user", {}).get("S"),
        drift_type=item["drift_type"]["S"],
        digest=item["digest"]["S"],
        created_at=datetime.fromisoformat(item["created_at"]["S"]),
        updated_at=datetime.fromisoformat(item["updated_at"]["S"]),
        record_state=item["record_state"]["S"],
        finding=json.loads(zlib.decompress(item["finding"]["B"])),
    )


class DynamoFindingStates:
    def __init__(self, dynamodb: DynamoDBClient, table_name: str) -> None:
        self._db = dynamodb
        self._table = table_name

    def load(
        self, account_id: str, region: str, identities: Iterable[IdentityRef] | None = None
    ) -> dict[str, FindingState]:
        """Every finding state of the account and region, or only those of ``identities``."""
        conditions: list[tuple[str, dict[str, Any]]] = []
        pk = {":pk": {"S": _pk(account_id, region)}}
        if identities is None:
            conditions.append(("pk = :pk", pk))
        else:
            for ref in sorted(set(identities), key=lambda r: r.key):
                conditions.append(("pk = :pk AND begins_with(sk, :id)", pk | {":id": {"S": f"{ref.key}|"}}))
        states: dict[str, FindingState] = {}
        for expression, values in conditions:
            for item in self._query(expression, values):
                state = _from_item(item)
                states[state.finding_id] = state
        return states

    def _query(self, expression: str, values: dict[str, Any]) -> Iterable[dict[str, Any]]:
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": expression,
            "ExpressionAttributeValues": values,
            "ConsistentRead": True,
        }
        try:
            yield from query_all(self._db, **kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise StateStoreError(f"reading finding states from {self._table} failed: {exc}") from exc

    def save(self, account_id: str, region: str, state: FindingState) -> bool:
        """Remember ``state``; False when a newer state is already stored (another evaluation got there first)."""
        try:
            self._db.put_item(
                TableName=self._table,
                Item=_to_item(account_id, region, state),
                ConditionExpression="attribute_not_exists(sk) OR updated_at < :new",
                ExpressionAttributeValues={":new": {"S": iso(state.updated_at)}},
            )
        except ClientError as exc:
            if condition_failed(exc):
                return False
            raise StateStoreError(f"writing finding state {state.finding_id} failed: {exc}") from exc
        except BotoCoreError as exc:
            raise StateStoreError(f"writing finding state {state.finding_id} failed: {exc}") from exc
        return True
