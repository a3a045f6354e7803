"""Seeding a quota-size account fast: IAM through moto's backend objects (under a second for 5,000 users), the
registry through boto3 batch writes. Only the seeding takes this path; what is measured talks to the server
through boto3 like any client.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from driftline.adapters.registry import to_item
from driftline.cli.sandbox import DEFAULT_ACCOUNT
from driftline.domain.registry import RegistryEntry

DOC = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
)
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }
)
DRIFT_EVERY = 50  # one identity in 50 carries a drift of some type
DENY_ALL = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]})
UNENFORCED_EVERY = 5  # of the revoked identities (--revoked-share), one in 5 is left unenforced; the rest enforced


@dataclass
class Seeded:
    users: int
    roles: int
    keys: int
    entries: list[RegistryEntry] = field(default_factory=list)
    injected: dict[str, int] = field(default_factory=dict)

    @property
    def identities(self) -> int:
        return self.users + self.roles + self.keys


def _backend(account_id: str = DEFAULT_ACCOUNT) -> Any:
    from moto.iam.models import iam_backends

    return iam_backends[account_id]["global"]


def _revoked(i: int, share: float) -> int | None:
    """The ordinal of user/role ``i`` among the revoked ones, or None: every ``1 / share``-th identity (never one of
    the drift-injected ones)."""
    if share <= 0:
        return None
    step = max(2, round(1 / share))
    return i // step if i % step == step - 1 and i % DRIFT_EVERY != 7 else None


def seed(
    size: int, now: datetime | None = None, revoked_share: float = 0.0, account_id: str = DEFAULT_ACCOUNT
) -> Seeded:
    """``size`` users (3 in 2 with two keys, the rest one), ``size // 2`` roles, 10 groups and 20 managed policies;
    a registry that matches except for one identity in 50, spread over the drift types.

    With ``revoked_share`` (say 0.05), that share of the users and roles is revoked in the registry, as leavers pile
    up in a real one: four in five enforced (users' keys Inactive; roles with the deny-everything policy attached),
    one in five not (keys still Active, roles assumable)."""
    now = now or datetime.now(UTC)
    iam = _backend(account_id)
    deny = iam.create_policy(
        description="", path="/driftline/", policy_document=DENY_ALL, policy_name="DriftlineRevoked", tags=[]
    ).arn
    policies = [
        iam.create_policy(description="", path="/", policy_document=DOC, policy_name=f"bench-{i}", tags=[]).arn
        for i in range(20)
    ]
    groups = [iam.create_group(f"group-{i}").name for i in range(10)]
    out = Seeded(users=size, roles=size // 2, keys=0)
    injected = out.injected
    for i in range(size):
        name = f"user-{i:05d}"
        iam.create_user(region_name="us-east-1", user_name=name)
        policy, group = policies[i % 20], groups[i % 10]
        iam.attach_user_policy(policy, name)
        iam.add_user_to_group(group, name)
        keys = [iam.create_access_key(name).access_key_id for _ in range(2 if i % 2 == 0 else 1)]
        out.keys += len(keys)
        approved = [policy]
        drift = i % DRIFT_EVERY == 7
        kind = (i // DRIFT_EVERY) % 4
        if drift and kind == 0:
            injected["unregistered-identity"] = injected.get("unregistered-identity", 0) + 1
            continue  # no entries for this user: the user and its keys are unregistered
        if drift and kind == 1:
            approved = []
            injected["excess-entitlement"] = injected.get("excess-entitlement", 0) + 1
        leaver = _revoked(i, revoked_share)
        if leaver is not None:
            enforced = leaver % UNENFORCED_EVERY != 0
            for key in keys if enforced else []:
                iam.update_access_key(name, key, "Inactive")
            key_state = f"revoked users {'enforced' if enforced else 'unenforced'}"
            injected[key_state] = injected.get(key_state, 0) + 1
        out.entries.append(
            RegistryEntry(
                kind="user",
                name=name,
                owner=f"{name}@example.com",
                managed_policies=tuple(approved),
                groups=(group,),
                inline_policies=(),
                status="revoked" if leaver is not None else "active",
                revoked_at=now - timedelta(days=30) if leaver is not None else None,
            )
        )
        for n, key in enumerate(keys):
            revoked = drift and kind == 2 and n == 0
            if revoked:
                injected["unenforced-revocation"] = injected.get("unenforced-revocation", 0) + 1
            out.entries.append(
                RegistryEntry(
                    kind="access_key",
                    name=key,
                    user=name,
                    owner=f"{name}@example.com",
                    status="revoked" if revoked else "active",
                    revoked_at=now - timedelta(days=2) if revoked else None,
                )
            )
        if drift and kind == 3:
            injected["missing-identity"] = injected.get("missing-identity", 0) + 1
            out.entries.append(RegistryEntry(kind="user", name=f"gone-{i:05d}", owner="hr@example.com"))
    _seed_roles(iam, out, policies, deny, now, revoked_share)
    return out


def _seed_roles(iam: Any, out: Seeded, policies: list[str], deny: str, now: datetime, revoked_share: float) -> None:
    """``out.roles`` roles, each with one managed policy, registered; the revoked share as in ``seed``."""
    injected = out.injected
    for i in range(out.roles):
        name = f"role-{i:05d}"
        iam.create_role(
            role_name=name,
            assume_role_policy_document=TRUST,
            path="/",
            permissions_boundary=None,
            description="",
            tags=[],
            max_session_duration=None,
        )
        iam.attach_role_policy(policies[i % 20], name)
        iam.get_role(name).last_used = now - timedelta(days=40)
        leaver = _revoked(i, revoked_share)
        if leaver is not None:
            enforced = leaver % UNENFORCED_EVERY != 0
            if enforced:
                iam.attach_role_policy(deny, name)
            state = f"revoked roles {'enforced' if enforced else 'unenforced'}"
            injected[state] = injected.get(state, 0) + 1
        out.entries.append(
            RegistryEntry(
                kind="role",
                name=name,
                owner="platform@example.com",
                managed_policies=(policies[i % 20],),
                status="revoked" if leaver is not None else "active",
                revoked_at=now - timedelta(days=30) if leaver is not None else None,
            )
        )


def registry_items(entries: list[RegistryEntry], account_id: str = DEFAULT_ACCOUNT) -> list[dict[str, Any]]:
    return [to_item(account_id, entry) for entry in entries]
