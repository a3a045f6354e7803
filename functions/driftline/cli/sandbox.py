"""An AWS account played by moto: the embedded server, the two tables, and moto-only time travel.

IAM has no API to make a key old or record its use, so the demo, the tests and the benchmarks set those facts on
moto's own backend objects. Everything else goes through boto3, exactly as against AWS.
"""

from __future__ import annotations

import logging
import socket
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

DEFAULT_ACCOUNT = "123456789012"  # moto's default account

_NO_SERVICE_SPECIFIC_CREDENTIALS = (
    '<ListServiceSpecificCredentialsResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">'
    "<ListServiceSpecificCredentialsResult><ServiceSpecificCredentials/><IsTruncated>false</IsTruncated>"
    "</ListServiceSpecificCredentialsResult><ResponseMetadata><RequestId>driftline-sandbox</RequestId>"
    "</ResponseMetadata></ListServiceSpecificCredentialsResponse>"
)


def fill_moto_gaps() -> None:
    """moto 5.2 does not implement ListServiceSpecificCredentials (AWS-FACTS section 8): answer it, in-process and in
    the embedded server alike, as an account whose users hold none. Tests of users that do hold such credentials use
    botocore's Stubber instead."""
    from moto.iam.responses import IamResponse

    def list_service_specific_credentials(self: Any) -> str:
        return _NO_SERVICE_SPECIFIC_CREDENTIALS

    IamResponse.list_service_specific_credentials = list_service_specific_credentials  # type: ignore[attr-defined]


def create_tables(dynamodb: DynamoDBClient, registry_table: str, state_table: str) -> None:
    """The registry table (stream on, as the stack creates it) and the state table (with TTL)."""
    for name, stream in ((registry_table, True), (state_table, False)):
        extra: dict[str, Any] = (
            {"StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}} if stream else {}
        )
        dynamodb.create_table(
            TableName=name,
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            BillingMode="PAY_PER_REQUEST",
            **extra,
        )
    dynamodb.update_time_to_live(
        TableName=state_table, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expiration"}
    )


def _iam_backend(account_id: str) -> Any:
    from moto.iam.models import iam_backends

    return iam_backends[account_id]["global"]


def backdate_user(user: str, created: datetime, account_id: str = DEFAULT_ACCOUNT) -> None:
    _iam_backend(account_id).users[user].create_date = created


def set_role(
    role: str, *, created: datetime | None = None, last_used: datetime | None = None, account_id: str = DEFAULT_ACCOUNT
) -> None:
    backend = _iam_backend(account_id)
    found = next(r for r in backend.roles.values() if r.name == role)
    if created is not None:
        found.create_date = created
    if last_used is not None:
        found.last_used = last_used
        found.last_used_region = "us-east-1"


def set_key(
    key_id: str,
    *,
    created: datetime | None = None,
    last_used: datetime | None = None,
    account_id: str = DEFAULT_ACCOUNT,
) -> None:
    from moto.iam.models import AccessKeyLastUsed

    key = _iam_backend(account_id).access_keys[key_id]
    if created is not None:
        key.create_date = created
    if last_used is not None:
        key.last_used = AccessKeyLastUsed(timestamp=last_used, service="iam", region="us-east-1")


def set_password_used(user: str, when: datetime, account_id: str = DEFAULT_ACCOUNT) -> None:
    _iam_backend(account_id).users[user].password_last_used = when


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def moto_server() -> Iterator[str]:
    """Run moto's server on a free loopback port in this process; yield its endpoint URL; always stop it."""
    from moto.server import ThreadedMotoServer

    fill_moto_gaps()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access-log line per request otherwise
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    # moto keeps its state per process: start every server from an empty account.
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=30).read()
    try:
        yield endpoint
    finally:
        server.stop()
