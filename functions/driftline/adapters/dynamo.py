"""DynamoDB facts every adapter shares: reading every page of a Query, and telling a failed condition from an error.

Errors propagate as botocore raises them; each adapter names them in its own terms (RegistryError, StateStoreError).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def query_all(db: DynamoDBClient, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Every item a Query returns, page after page (``ExclusiveStartKey`` from each ``LastEvaluatedKey``)."""
    request = dict(kwargs)
    while True:
        page = db.query(**request)
        yield from page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def condition_failed(exc: ClientError) -> bool:
    """Whether a conditional write was refused because its condition did not hold (not an error of the call)."""
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"
