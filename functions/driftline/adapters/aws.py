"""Client construction with one explicit retry policy, and a botocore hook that counts every API call.

The retry mode is set explicitly because the boto3 bundled in the Lambda runtime may default to another mode than
the one in tests (AWS-FACTS section 2). Clients are always built by the caller and passed in, never at import time.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.utils import parse_timestamp as botocore_parse_timestamp

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_organizations import OrganizationsClient
    from mypy_boto3_securityhub import SecurityHubClient
    from mypy_boto3_ssm import SSMClient
    from mypy_boto3_sts import STSClient

RETRY_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 8},
    connect_timeout=5,
    read_timeout=30,
    user_agent_extra="driftline",
)
# Security Hub: few attempts per call, short timeouts. The importer retries failed findings in rounds of its own,
# each round only if the function's remaining time allows (adapters/securityhub.py); 8 attempts of botocore's
# backoff under persistent throttling outlasted the event function's 60 s on their own.
SECURITY_HUB_CONFIG = RETRY_CONFIG.merge(
    Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=3, read_timeout=10)
)


def parse_timestamp(value: Any) -> datetime:
    """botocore's timestamp parser, minus dateutil for the ISO 8601 text AWS sends: Python parses it natively (40,000
    timestamps in 0.01 s instead of 3 s), and a quota-size first reconcile parses tens of thousands of them.
    Anything else (epoch numbers, RFC 822 dates) goes to botocore's own parser. Text without a zone is UTC, as AWS
    means it."""
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return botocore_parse_timestamp(value)
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
    return botocore_parse_timestamp(value)


class CallCounter:
    """Counts AWS API calls per ``service.Operation`` (retries included) through botocore's event system."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()  # key reads run on threads; += on a Counter is not atomic

    def attach(self, session: boto3.Session) -> CallCounter:
        session.events.register("before-send", self._count)
        return self

    def _count(self, event_name: str = "before-send.unknown.unknown", **kwargs: Any) -> None:
        _event, service, operation = event_name.split(".", 2)
        with self._lock:
            self.calls[f"{service}.{operation}"] += 1

    @property
    def total(self) -> int:
        return sum(self.calls.values())

    def by_service(self) -> dict[str, int]:
        totals: Counter[str] = Counter()
        for name, count in self.calls.items():
            totals[name.split(".")[0]] += count
        return dict(totals)

    def snapshot(self) -> dict[str, int]:
        return dict(sorted(self.calls.items()))


class Clients:
    """The AWS clients of one evaluation, built from one session (and optionally one endpoint, e.g. moto)."""

    def __init__(
        self, session: boto3.Session | None = None, *, endpoint_url: str | None = None, region: str | None = None
    ) -> None:
        self.session = session or boto3.Session()
        self.endpoint_url = endpoint_url
        self.region = region or self.session.region_name or "us-east-1"
        self.partition = self.session.get_partition_for_region(self.region)
        self.counter = CallCounter().attach(self.session)
        core = self.session._session  # boto3 exposes its botocore session only under this name
        core.get_component("response_parser_factory").set_parser_defaults(timestamp_parser=parse_timestamp)
        self._cache: dict[str, Any] = {}

    def _client(self, service: str) -> Any:
        if service not in self._cache:
            self._cache[service] = self.session.client(
                service,  # type: ignore[call-overload]
                region_name=self.region,
                endpoint_url=self.endpoint_url,
                config=SECURITY_HUB_CONFIG if service == "securityhub" else RETRY_CONFIG,
            )
        return self._cache[service]

    def iam(self) -> IAMClient:
        client: IAMClient = self._client("iam")
        return client

    def dynamodb(self) -> DynamoDBClient:
        client: DynamoDBClient = self._client("dynamodb")
        return client

    def securityhub(self) -> SecurityHubClient:
        client: SecurityHubClient = self._client("securityhub")
        return client

    def sts(self) -> STSClient:
        client: STSClient = self._client("sts")
        return client

    def lambda_(self) -> LambdaClient:
        client: LambdaClient = self._client("lambda")
        return client

    def events(self) -> EventBridgeClient:
        client: EventBridgeClient = self._client("events")
        return client

    def organizations(self) -> OrganizationsClient:
        client: OrganizationsClient = self._client("organizations")
        return client

    def assumed(self, role_arn: str, session_name: str) -> Clients:
        """Clients of the same endpoint and Region acting as ``role_arn`` (STS AssumeRole, one hour)."""
        credentials = self.sts().assume_role(RoleArn=role_arn, RoleSessionName=session_name)["Credentials"]
        session = boto3.Session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
            region_name=self.region,
        )
        return Clients(session, endpoint_url=self.endpoint_url, region=self.region)

    def ssm(self) -> SSMClient:
        client: SSMClient = self._client("ssm")
        return client
