"""driftline's botocore timestamp parser gives the same instants as botocore's own, for every form AWS sends."""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
import pytest
from botocore.utils import parse_timestamp as botocore_parse
from moto import mock_aws

from driftline.adapters.aws import Clients, parse_timestamp


@pytest.mark.parametrize(
    "text",
    [
        "2024-08-01T13:33:28Z",  # IAM (query protocol)
        "2024-08-01T13:33:28.123Z",
        "2024-08-01T13:33:28.123456+00:00",
        "2024-08-01T15:33:28+02:00",
        "2024-08-01T13:33:28",  # no zone: UTC
        "Thu, 01 Aug 2024 13:33:28 GMT",  # RFC 822: botocore's parser
        1722519208,  # epoch seconds (JSON protocols)
        1722519208.5,
    ],
)
def test_same_instant_as_botocore(text: str | float) -> None:
    """Each form must parse to an aware datetime equal to botocore's answer (naive text read as UTC)."""
    ours = parse_timestamp(text)
    theirs = botocore_parse(text)
    if theirs.tzinfo is None:
        theirs = theirs.replace(tzinfo=UTC)

    assert ours.tzinfo is not None
    assert ours == theirs


def test_clients_parse_timestamps_with_it() -> None:
    """An IAM response parsed by a client that ``Clients`` built (moto answering in process): CreateDate comes back
    through driftline's parser, so its tzinfo is the stdlib's UTC, not dateutil's tzutc (botocore's default)."""
    with mock_aws():
        clients = Clients(boto3.Session(aws_access_key_id="x", aws_secret_access_key="y", region_name="us-east-1"))
        iam = clients.iam()
        iam.create_user(UserName="a")
        created = iam.get_user(UserName="a")["User"]["CreateDate"]

    assert created.tzinfo is UTC
    assert abs((datetime.now(UTC) - created).total_seconds()) < 60
