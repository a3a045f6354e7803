"""ContainerClients: one set of clients per Lambda execution environment, a fresh call count per invocation."""

from __future__ import annotations

import boto3

from driftline.adapters.aws import Clients
from driftline.compose import ContainerClients


def test_clients_are_built_once_and_the_call_count_restarts_per_invocation() -> None:
    """Two invocations of one environment: the factory runs once, both get the same clients (same botocore
    client object), and calls counted in the first are gone when the second starts."""
    built: list[Clients] = []

    def factory() -> Clients:
        clients = Clients(boto3.Session(aws_access_key_id="x", aws_secret_access_key="y", region_name="eu-west-1"))
        built.append(clients)
        return clients

    pool = ContainerClients(factory)
    first = pool()
    iam = first.iam()
    first.counter.calls["iam.GetUser"] += 3

    second = pool()

    assert len(built) == 1
    assert second is first and second.iam() is iam
    assert second.counter.total == 0
