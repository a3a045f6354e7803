"""DynamoDB batch calls answered in part: what DynamoDB hands back unprocessed (throttling, size limits) is sent
again, alone, after a growing pause, for a bounded number of rounds. botocore errors propagate to the caller, which
names them in its own terms; so does the caller for what is still unprocessed at the end."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

MAX_ROUNDS = 8
Sleep = Callable[[float], None]


def backoff(round_: int) -> float:
    return min(0.05 * 2.0**round_, 2.0)


def write_all(
    db: DynamoDBClient, table: str, requests: list[dict[str, Any]], *, sleep: Sleep, rounds: int = MAX_ROUNDS
) -> int:
    """BatchWriteItem ``requests`` (25 at most) until all are processed; the number still unprocessed after
    ``rounds`` (0 when all were written)."""
    pending = requests
    for round_ in range(rounds):
        answer = db.batch_write_item(RequestItems={table: pending})  # type: ignore[dict-item]
        pending = [dict(r) for r in answer.get("UnprocessedItems", {}).get(table, [])]
        if not pending:
            return 0
        sleep(backoff(round_))
    return len(pending)


def get_all(
    db: DynamoDBClient,
    table: str,
    keys: list[dict[str, Any]],
    *,
    sleep: Sleep,
    rounds: int = MAX_ROUNDS,
    projection: str | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """Consistent BatchGetItem of ``keys`` (100 at most) until all are answered: (the items found, the number of
    keys still unprocessed after ``rounds``). ``projection`` names the attributes to return (all when None)."""
    items: list[dict[str, Any]] = []
    request: dict[str, Any] = {table: {"Keys": keys, "ConsistentRead": True}}
    if projection is not None:
        request[table]["ProjectionExpression"] = projection
    for round_ in range(rounds):
        answer = db.batch_get_item(RequestItems=request)
        items.extend(answer.get("Responses", {}).get(table, []))
        request = dict(answer.get("UnprocessedKeys") or {})
        if not request:
            return items, 0
        sleep(backoff(round_))
    return items, len(request[table]["Keys"])
