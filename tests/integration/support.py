"""Seeding helpers for the integration tier: a moto account plus the registry, driven only through boto3 and the
public adapters (``RawRegistryWriter`` for the registry, ``driftline.cli.sandbox`` for time IAM cannot fake)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from driftline.adapters.aws import Clients
from driftline.adapters.iam_account import Boto3IamReader
from driftline.adapters.key_cache import DynamoKeyCache
from driftline.adapters.registry import DynamoRegistry
from driftline.cli.sandbox import DEFAULT_ACCOUNT
from driftline.domain.drift import Drift, DriftType
from driftline.domain.enforcement import DENY_POLICY_NAME, DENY_POLICY_PATH, deny_policy_arn
from driftline.domain.identity import IdentityRef
from driftline.domain.registry import RegistryEntry
from driftline.domain.settings import CompareSettings
from driftline.service.pipeline import Evaluation, evaluate_identities, reconcile
from driftline.service.ports import KeyCache, NullSink
from tests.registry_writes import RawRegistryWriter

ACCOUNT = DEFAULT_ACCOUNT
REGISTRY_TABLE = "driftline-registry"
STATE_TABLE = "driftline-state"
GOVERNANCE = "arn:aws:iam::123456789012:role/identity-governance"

TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)
READ_ONLY = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:Get*", "s3:List*"], "Resource": "*"}]}
)


def no_sleep(_seconds: float) -> None:
    return None


def policy_arn(name: str) -> str:
    """A customer managed policy of the test account (moto loads no AWS managed policies by default)."""
    return f"arn:aws:iam::{ACCOUNT}:policy/{name}"


def revoke_sessions_document(issued_before: datetime) -> str:
    """The AWSRevokeOlderSessions inline policy (AWS-FACTS section 3)."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Deny",
                    "Action": "*",
                    "Resource": "*",
                    "Condition": {"DateLessThan": {"aws:TokenIssueTime": issued_before.strftime("%Y-%m-%dT%H:%M:%SZ")}},
                }
            ],
        }
    )


class Sandbox:
    """One moto account and its registry, with the use cases wired to the real adapters."""

    def __init__(self, clients: Clients) -> None:
        self.clients = clients
        self.iam = clients.iam()
        self.dynamodb = clients.dynamodb()
        self.writer = RawRegistryWriter(self.dynamodb, REGISTRY_TABLE)
        self.registry = DynamoRegistry(self.dynamodb, REGISTRY_TABLE)

    # -- IAM -----------------------------------------------------------------------------------------------------
    def policy(self, name: str) -> str:
        self.iam.create_policy(PolicyName=name, PolicyDocument=READ_ONLY)
        return policy_arn(name)

    def deny_policy(self) -> str:
        """The stack's deny-everything policy (stacks/constructs/enforcement.py), as deployed in every account."""
        document = json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]}
        )
        arn = deny_policy_arn(ACCOUNT)
        self.iam.create_policy(PolicyName=DENY_POLICY_NAME, Path=DENY_POLICY_PATH, PolicyDocument=document)
        return arn

    def group(self, name: str) -> str:
        self.iam.create_group(GroupName=name)
        return name

    def user(
        self,
        name: str,
        *,
        key: bool = False,
        password: bool = False,
        policies: Iterable[str] = (),
        groups: Iterable[str] = (),
        inline: Iterable[str] = (),
    ) -> str | None:
        """Create a user; return its access key id when ``key``."""
        self.iam.create_user(UserName=name)
        for arn in policies:
            self.iam.attach_user_policy(UserName=name, PolicyArn=arn)
        for group in groups:
            self.iam.add_user_to_group(GroupName=group, UserName=name)
        for policy in inline:
            self.iam.put_user_policy(UserName=name, PolicyName=policy, PolicyDocument=READ_ONLY)
        if password:
            self.iam.create_login_profile(UserName=name, Password="Integration-Passw0rd-Not-Real!")
        return self.key(name) if key else None

    def key(self, user: str) -> str:
        return self.iam.create_access_key(UserName=user)["AccessKey"]["AccessKeyId"]

    def deactivate(self, user: str, key_id: str) -> None:
        self.iam.update_access_key(UserName=user, AccessKeyId=key_id, Status="Inactive")

    def role(self, name: str, *, path: str = "/", policies: Iterable[str] = (), inline: Iterable[str] = ()) -> str:
        self.iam.create_role(RoleName=name, Path=path, AssumeRolePolicyDocument=TRUST)
        for arn in policies:
            self.iam.attach_role_policy(RoleName=name, PolicyArn=arn)
        for policy in inline:
            self.iam.put_role_policy(RoleName=name, PolicyName=policy, PolicyDocument=READ_ONLY)
        return name

    # -- registry ------------------------------------------------------------------------------------------------
    def register(self, **fields: Any) -> RegistryEntry:
        """Write one new registry entry through the versioned writer, as the CLI would."""
        entry = RegistryEntry.model_validate(
            {"updated_by": GOVERNANCE, "updated_at": datetime.now(UTC), **fields},
        )
        return self.writer.put(ACCOUNT, entry, expected_version=None)

    def register_user(self, name: str, owner: str | None = None, **fields: Any) -> RegistryEntry:
        return self.register(kind="user", name=name, owner=owner or f"{name}@example.com", **fields)

    def register_key(self, key_id: str, user: str, owner: str | None = None, **fields: Any) -> RegistryEntry:
        return self.register(kind="access_key", name=key_id, user=user, owner=owner or f"{user}@example.com", **fields)

    def register_role(self, name: str, owner: str = "platform@example.com", **fields: Any) -> RegistryEntry:
        return self.register(kind="role", name=name, owner=owner, **fields)

    # -- use cases -----------------------------------------------------------------------------------------------
    def reader(self, key_cache: KeyCache | None = None) -> Boto3IamReader:
        return Boto3IamReader(self.iam, key_cache=key_cache, sleep=no_sleep)

    def dynamo_key_cache(self) -> DynamoKeyCache:
        return DynamoKeyCache(self.dynamodb, STATE_TABLE, sleep=no_sleep)

    def reconcile(
        self,
        *,
        key_cache: KeyCache | None = None,
        settings: CompareSettings | None = None,
        now: datetime | None = None,
    ) -> Evaluation:
        return reconcile(
            ACCOUNT,
            iam=self.reader(key_cache),
            registry=self.registry,
            sink=NullSink(),
            settings=settings or CompareSettings(),
            now=now or datetime.now(UTC),
        )

    def evaluate(self, refs: Iterable[IdentityRef], *, now: datetime | None = None) -> Evaluation:
        return evaluate_identities(
            ACCOUNT,
            refs,
            iam=self.reader(),
            registry=self.registry,
            sink=NullSink(),
            settings=CompareSettings(),
            now=now or datetime.now(UTC),
        )


# -- looking at results --------------------------------------------------------------------------------------------
def found(evaluation: Evaluation) -> set[tuple[str, str]]:
    """Every drift as (type, identity as spelled), e.g. ("unregistered-identity", "user#mallory")."""
    return {(d.type.value, d.identity.label) for d in evaluation.comparison.drifts}


def the_drift(evaluation: Evaluation, drift_type: DriftType, identity: str) -> Drift:
    """The single drift of ``drift_type`` on ``identity`` (a ``kind#name`` key); fails listing what was found."""
    wanted = IdentityRef.parse(identity)  # names compare without case, as in IAM
    matches = [d for d in evaluation.comparison.drifts if d.type is drift_type and d.identity == wanted]
    assert len(matches) == 1, f"expected one {drift_type.value} on {identity}, found {sorted(found(evaluation))}"
    return matches[0]


def ago(**delta: float) -> datetime:
    return datetime.now(UTC) - timedelta(**delta)


class RequestLog:
    """Records the ``UserName`` of every request of the named IAM operations, e.g. which users were listed."""

    def __init__(self, iam: Any, *operations: str) -> None:
        self.users: dict[str, list[str]] = {op: [] for op in operations}
        for op in operations:
            iam.meta.events.register(f"before-parameter-build.iam.{op}", self._recorder(op))

    def _recorder(self, op: str) -> Any:
        def record(params: dict[str, Any], **_: Any) -> None:
            self.users[op].append(params.get("UserName", "?"))

        return record

    def clear(self) -> None:
        for calls in self.users.values():
            calls.clear()
