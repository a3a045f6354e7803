"""Every state-table call a handler makes stays inside the partitions its role is granted (stacks/partitions.py).

moto does not evaluate ``dynamodb:LeadingKeys``, so a call outside the grant would pass every test and fail with
AccessDenied once deployed. The integration tier wraps the handlers (``Watch.wrap``) and hooks every ``Clients``
built during a test: each DynamoDB call on the state table made while a handler runs has its partition keys checked
against that function's list (a partition with ``*`` is a pattern, as in the hub functions' ``StringLike`` grant:
stacks/partitions.py ``allows``). Violations are collected, not raised inside botocore (the code under test may catch
exceptions), and fail the test at teardown.
"""

from __future__ import annotations

import contextvars
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from stacks.partitions import allows, partitions
from tests.integration.support import ACCOUNT, STATE_TABLE

REGION = "us-east-1"
RUNNING: contextvars.ContextVar[str | None] = contextvars.ContextVar("driftline_function", default=None)
_PK_CLAUSE = re.compile(r"(#?\w+)\s*=\s*(:\w+)")


def _pk(item: Any) -> str:
    return str(item.get("pk", {}).get("S", "<no pk>"))


def leading_keys(operation: str, params: dict[str, Any]) -> list[str] | None:
    """The partition keys a state-table call names; None for a call DynamoDB cannot limit by them (Scan)."""
    if operation in ("PutItem",):
        return [_pk(params["Item"])]
    if operation in ("GetItem", "DeleteItem", "UpdateItem"):
        return [_pk(params["Key"])]
    if operation == "Query":
        names = params.get("ExpressionAttributeNames", {})
        values = params.get("ExpressionAttributeValues", {})
        for name, value in _PK_CLAUSE.findall(params.get("KeyConditionExpression", "")):
            if names.get(name, name) == "pk":
                return [str(values[value]["S"])]
        return ["<query without pk>"]
    if operation == "BatchWriteItem":
        requests = params["RequestItems"].get(STATE_TABLE, [])
        return [_pk(r.get("PutRequest", {}).get("Item") or r.get("DeleteRequest", {}).get("Key")) for r in requests]
    if operation == "BatchGetItem":
        return [_pk(k) for k in params["RequestItems"].get(STATE_TABLE, {}).get("Keys", [])]
    return None


def _on_state_table(params: dict[str, Any]) -> bool:
    return params.get("TableName") == STATE_TABLE or STATE_TABLE in params.get("RequestItems", {})


@dataclass
class Watch:
    """Calls seen per function, and the violations: (function, operation, partition key)."""

    seen: dict[str, int] = field(default_factory=dict)
    violations: list[tuple[str, str, str]] = field(default_factory=list)

    def hook(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        function = RUNNING.get()
        if function is None or not _on_state_table(params):
            return
        self.seen[function] = self.seen.get(function, 0) + 1
        keys = leading_keys(model.name, params)
        if keys is None:
            self.violations.append((function, model.name, "<not limited by partition keys>"))
            return
        granted = partitions(function, account=ACCOUNT, region=REGION)
        self.violations += [(function, model.name, k) for k in keys if not allows(granted, k)]

    def wrap(self, function: str, handler: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any, **kwargs: Any) -> Any:
            token = RUNNING.set(function)
            try:
                return handler(*args, **kwargs)
            finally:
                RUNNING.reset(token)

        return run
