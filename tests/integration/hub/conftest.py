"""Fixtures of the hub-and-spoke tests: a moto organisation whose management account (123456789012) is the hub,
holding the registry and state tables, and member accounts ("spokes") that run no function.

moto's STS lets anyone assume any role ARN (switching to the ARN's account) and enforces no IAM policy, so two hooks
play AWS's part on every ``Clients`` built during a test: AssumeRole of a role the account does not hold is
AccessDenied (as AWS answers for a missing or untrusting role), and ``Org.deny`` answers one IAM operation of one
account AccessDenied, as an SCP would. moto runs no Lambda function without Docker: an asynchronous Invoke is
answered 202 and its payload kept in ``Org.invoked``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import boto3
import botocore.loaders
import botocore.session
import pytest
from botocore.exceptions import ClientError
from moto.iam.models import get_account_id_from, iam_backends

from driftline.adapters.aws import Clients
from driftline.domain.registry import RegistryEntry
from driftline.handlers import on_hub_account, on_hub_accounts, on_hub_event
from driftline.settings import get_settings
from tests.integration.support import ACCOUNT, GOVERNANCE, REGISTRY_TABLE, STATE_TABLE
from tests.registry_writes import RawRegistryWriter

HUB = ACCOUNT
READ_ROLE = "DriftlineReadOnly"
FINDINGS_ROLE = "DriftlineFindingsPublisher"
ADMIN_ROLE = "OrganizationAccountAccessRole"  # Organizations creates it in every new account (moto too)
_MODELS = botocore.loaders.create_loader()


def hub_trust() -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{HUB}:root"}, "Action": "sts:AssumeRole"}
            ],
        }
    )


def fast_clients() -> Clients:
    """What a handler's ``Clients()`` builds, on a session sharing the already loaded service models."""
    session = botocore.session.get_session()
    session.register_component("data_loader", _MODELS)
    return Clients(boto3.Session(botocore_session=session))


def account_of_session(clients: Clients) -> str:
    """The moto account the session's credentials act in (assumed-role keys map to the role's account)."""
    credentials = clients.session.get_credentials()
    assert credentials is not None
    return str(get_account_id_from(credentials.access_key))


def _denied(operation: str, message: str) -> ClientError:
    return ClientError({"Error": {"Code": "AccessDenied", "Message": message}}, operation)


@dataclass
class Org:
    """The hub's clients and its organisation: ``members`` in creation order, ``names`` by account id."""

    hub: Clients
    members: list[str] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)
    denials: set[tuple[str, str]] = field(default_factory=set)  # (account, IAM operation) an SCP denies
    invoked: list[dict[str, Any]] = field(default_factory=list)  # asynchronous Lambda invocations: name, payload

    def admin(self, account: str) -> Clients:
        """Clients of ``account`` as its OrganizationAccountAccessRole, to seed it (never what driftline uses)."""
        return self.hub.assumed(f"arn:aws:iam::{account}:role/{ADMIN_ROLE}", "test-setup")

    def add_member(self, name: str, *, roles: bool = True) -> str:
        status = self.hub.organizations().create_account(Email=f"{name}@example.com", AccountName=name)
        account = status["CreateAccountStatus"]["AccountId"]
        self.members.append(account)
        self.names[account] = name
        admin = self.admin(account)
        if roles:
            for role in (READ_ROLE, FINDINGS_ROLE):
                admin.iam().create_role(RoleName=role, AssumeRolePolicyDocument=hub_trust())
            admin.securityhub().enable_security_hub()
        # The registry knows the role Organizations created, so a member with nothing else has no drift.
        self.register(account, kind="role", name=ADMIN_ROLE, owner="platform@example.com")
        return account

    def register(self, account: str, **fields: Any) -> RegistryEntry:
        entry = RegistryEntry.model_validate({"updated_by": GOVERNANCE, "updated_at": datetime.now(UTC), **fields})
        return RawRegistryWriter(self.hub.dynamodb(), REGISTRY_TABLE).put(account, entry, expected_version=None)

    def deny(self, account: str, operation: str) -> None:
        """IAM ``operation`` made in ``account`` is AccessDenied from now on (an SCP)."""
        self.denials.add((account, operation))

    def findings(self, account: str) -> list[dict[str, Any]]:
        """Every finding Security Hub holds in ``account`` (read in that account)."""
        clients = self.hub if account == HUB else self.admin(account)
        return list(clients.securityhub().get_findings()["Findings"])

    def state_items(self, partition: str) -> list[dict[str, Any]]:
        answer = self.hub.dynamodb().query(
            TableName=STATE_TABLE,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": partition}},
        )
        return list(answer["Items"])

    def partitions(self) -> set[str]:
        return {item["pk"]["S"] for item in self.hub.dynamodb().scan(TableName=STATE_TABLE)["Items"]}


@dataclass
class FakeLambdaContext:
    function_name: str = "driftline-hub-account"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = f"arn:aws:lambda:us-east-1:{HUB}:function:driftline-hub-account"
    aws_request_id: str = "0c8c2c1e-5d7e-4c39-9a57-3a2b9f0d1e42"

    def get_remaining_time_in_millis(self) -> int:
        return 800_000


@pytest.fixture
def org(clients: Clients, monkeypatch: pytest.MonkeyPatch) -> Iterator[Org]:
    """An organisation of the hub (no member yet), the hub functions' environment (publishing on, report mode), and
    AWS's refusals played on every ``Clients`` built from here on."""
    organisation = Org(hub=clients)
    clients.organizations().create_organization(FeatureSet="ALL")
    original = Clients.__init__

    def init(self: Clients, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)

        def assume(params: dict[str, Any], **_: Any) -> None:
            arn = params.get("RoleArn", "")
            account, name = arn.split(":")[4], arn.rsplit("/", 1)[-1]
            try:
                iam_backends[account]["global"].get_role(name)
            except Exception:  # moto's NoSuchEntity: the role is not there
                raise _denied(
                    "AssumeRole",
                    f"User: arn:aws:sts::{HUB}:assumed-role/hub/session is not authorized to perform: "
                    f"sts:AssumeRole on resource: {arn}",
                ) from None

        def scp(model: Any, **_: Any) -> None:
            account = account_of_session(self)
            if (account, model.name) in organisation.denials:
                raise _denied(
                    model.name,
                    f"User is not authorized to perform: iam:{model.name} with an explicit deny in a service "
                    "control policy",
                )

        def invoke(params: dict[str, Any], **_: Any) -> None:
            organisation.invoked.append({"function": params["FunctionName"], **json.loads(params["Payload"])})

        def accepted(**_: Any) -> Any:  # moto runs no Lambda function without Docker: answer 202 Accepted
            return SimpleNamespace(status_code=202, headers={}, raw=None), {"StatusCode": 202, "ResponseMetadata": {}}

        self.session.events.register("provide-client-params.sts.AssumeRole", assume)
        self.session.events.register("before-call.iam", scp)
        self.session.events.register("provide-client-params.lambda.Invoke", invoke)
        self.session.events.register("before-call.lambda.Invoke", accepted)

    monkeypatch.setattr(Clients, "__init__", init)
    monkeypatch.setattr(on_hub_account, "CLIENTS", fast_clients)
    monkeypatch.setattr(on_hub_accounts, "CLIENTS", fast_clients)
    monkeypatch.setattr(on_hub_event, "CLIENTS", fast_clients)
    monkeypatch.setenv("DRIFTLINE_REGISTRY_TABLE", REGISTRY_TABLE)
    monkeypatch.setenv("DRIFTLINE_STATE_TABLE", STATE_TABLE)
    monkeypatch.setenv("DRIFTLINE_PUBLISH_FINDINGS", "true")
    monkeypatch.setenv("DRIFTLINE_CREDENTIAL_REPORT_WAIT_SECONDS", "5")
    get_settings.cache_clear()
    yield organisation
    get_settings.cache_clear()
