"""``make bench``: detection accuracy per drift type, on a seeded account with a known ground truth.

One moto account (server on loopback) holds ``--users`` clean users (one key, one managed policy, one group) and half
as many clean roles, all registered exactly as they are; a few identities per drift type carry an injected drift of
that type; near-misses look like a drift and must not be reported (an approved principal written as a root ARN when
registered as an account id, a revoked user whose keys are Inactive and last used before the revocation, a trust
policy whose statements come in another order, a key 80 days old, an expiry in the future, a revocation still in its
grace period, a registry name in another case). The real ``driftline scan`` runs as a separate process; its drifts
(type, identity) are compared with the injected set: per type true positives, false positives, false negatives,
precision and recall. Printed as a table and written to benchmarks/results/accuracy.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3

from benchmarks.run import ENV, REGISTRY, STATE, _reset
from benchmarks.seed import DOC, _backend, registry_items
from driftline.cli.sandbox import DEFAULT_ACCOUNT, create_tables, moto_server
from driftline.domain.drift import DriftType
from driftline.domain.registry import RegistryEntry

RESULTS = Path(__file__).parent / "results"
PARTNER = "999988887777"
EC2 = {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
LAMBDA = {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
PARTNER_ROOT = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{PARTNER}:root"}, "Action": "sts:AssumeRole"}
# Every type has an injection below; a type moto could not produce would be listed here and in the README.
NOT_PRODUCIBLE: dict[str, str] = {}


def _trust(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


class Account:
    """Seeds IAM (boto3 against the server; the moto backend only for timestamps IAM's API cannot set) and collects
    the registry entries, the injected drifts and the near-miss identities."""

    def __init__(self, endpoint: str, now: datetime) -> None:
        session = boto3.Session(aws_access_key_id="bench", aws_secret_access_key="bench")
        self.iam = session.client("iam", endpoint_url=endpoint, region_name="us-east-1")
        self.dynamodb = session.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")
        self.now = now
        self.entries: list[RegistryEntry] = []
        self.truth: set[tuple[str, str]] = set()
        self.near_misses: dict[str, str] = {}  # identity key -> what it is near to
        self.policy = self.iam.create_policy(PolicyName="accuracy-base", PolicyDocument=DOC)["Policy"]["Arn"]
        self.extra = self.iam.create_policy(PolicyName="accuracy-extra", PolicyDocument=DOC)["Policy"]["Arn"]
        self.iam.create_group(GroupName="staff")

    def user(self, name: str, keys: int = 1, register: bool = True, **entry: Any) -> list[str]:
        """An IAM user with the base policy, group staff and ``keys`` Active keys; registered (keys too) unless not."""
        self.iam.create_user(UserName=name)
        self.iam.attach_user_policy(UserName=name, PolicyArn=self.policy)
        self.iam.add_user_to_group(GroupName="staff", UserName=name)
        ids = [self.iam.create_access_key(UserName=name)["AccessKey"]["AccessKeyId"] for _ in range(keys)]
        if register:
            fields = {"managed_policies": (self.policy,), "groups": ("staff",), "inline_policies": ()} | entry
            self.entries.append(RegistryEntry(kind="user", name=name, owner=f"{name}@example.com", **fields))
        return ids

    def key_entry(self, user: str, key: str, **entry: Any) -> None:
        self.entries.append(RegistryEntry(kind="access_key", name=key, user=user, owner=f"{user}@example.com", **entry))

    def role(self, name: str, trust: str, approved: list[str]) -> None:
        self.iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)
        self.iam.attach_role_policy(RoleName=name, PolicyArn=self.policy)
        self.entries.append(
            RegistryEntry(
                kind="role",
                name=name,
                owner="platform@example.com",
                managed_policies=(self.policy,),
                trusted_principals=tuple(approved),
            )
        )

    def key_times(self, user: str, key: str, created: datetime | None = None, used: datetime | None = None) -> None:
        from moto.iam.models import AccessKeyLastUsed

        found = next(k for k in _backend(DEFAULT_ACCOUNT).get_user(user).access_keys if k.access_key_id == key)
        if created is not None:
            found.create_date = created.astimezone(UTC).replace(tzinfo=None)
        if used is not None:
            found.last_used = AccessKeyLastUsed(used.astimezone(UTC).replace(tzinfo=None), "s3", "us-east-1")

    def inject(self, drift: DriftType, identity: str) -> None:
        self.truth.add((drift.value, identity))


def seed(endpoint: str, users: int) -> Account:
    now = datetime.now(UTC)
    a = Account(endpoint, now)
    for i in range(users):  # clean: registered exactly as they are
        name = f"clean-{i:04d}"
        (key,) = a.user(name)
        a.key_entry(name, key)
    for i in range(users // 2):
        a.role(f"clean-role-{i:04d}", _trust(EC2), ["Service:ec2.amazonaws.com"])
    for i in range(max(1, users // 50)):
        _inject(a, i)
        _near_misses(a, i)
    return a


def _inject(a: Account, i: int) -> None:
    """One identity per drift type (with ``i`` its ordinal)."""
    t = DriftType
    a.user(f"unreg-{i}", keys=0, register=False)
    a.inject(t.UNREGISTERED_IDENTITY, f"user#unreg-{i}")
    (key, spare) = a.user(f"spare-key-{i}", keys=2)  # a registered user with one key nobody registered
    a.key_entry(f"spare-key-{i}", key)
    a.inject(t.UNREGISTERED_IDENTITY, f"access_key#{spare}")

    a.entries.append(RegistryEntry(kind="user", name=f"gone-{i}", owner="hr@example.com"))
    a.inject(t.MISSING_IDENTITY, f"user#gone-{i}")

    (key,) = a.user(f"excess-{i}", managed_policies=())  # the base policy attached, none approved
    a.key_entry(f"excess-{i}", key)
    a.inject(t.EXCESS_ENTITLEMENT, f"user#excess-{i}")
    (key,) = a.user(f"missing-{i}", managed_policies=(a.policy, a.extra))  # extra approved, never attached
    a.key_entry(f"missing-{i}", key)
    a.inject(t.MISSING_ENTITLEMENT, f"user#missing-{i}")

    (key,) = a.user(f"stale-{i}")
    a.key_entry(f"stale-{i}", key)
    a.key_times(f"stale-{i}", key, created=a.now - timedelta(days=200), used=a.now - timedelta(days=1))
    a.inject(t.STALE_CREDENTIAL, f"access_key#{key}")  # older than the 90-day max key age

    (key,) = a.user(f"unenforced-{i}")  # key revoked two days ago, still Active
    a.key_entry(f"unenforced-{i}", key, status="revoked", revoked_at=a.now - timedelta(days=2))
    a.inject(t.UNENFORCED_REVOCATION, f"access_key#{key}")

    (key,) = a.user(f"used-{i}")  # key revoked two days ago, made Inactive, but used yesterday
    a.key_entry(f"used-{i}", key, status="revoked", revoked_at=a.now - timedelta(days=2))
    a.iam.update_access_key(UserName=f"used-{i}", AccessKeyId=key, Status="Inactive")
    a.key_times(f"used-{i}", key, used=a.now - timedelta(days=1))
    a.inject(t.REVOKED_CREDENTIAL_USED, f"access_key#{key}")

    (key,) = a.user(f"expired-{i}", expires_at=a.now - timedelta(days=1))  # expired yesterday, key still Active
    a.key_entry(f"expired-{i}", key)
    a.inject(t.EXPIRED_BUT_ACTIVE, f"user#expired-{i}")

    a.role(f"excess-trust-{i}", _trust(EC2, PARTNER_ROOT), ["Service:ec2.amazonaws.com"])
    a.inject(t.EXCESS_TRUST, f"role#excess-trust-{i}")
    a.role(f"missing-trust-{i}", _trust(EC2), ["Service:ec2.amazonaws.com", "Service:lambda.amazonaws.com"])
    a.inject(t.MISSING_TRUST, f"role#missing-trust-{i}")


def _near_misses(a: Account, i: int) -> None:
    """Identities that resemble a drift and are none: any drift reported on them is a false positive."""
    a.role(f"root-arn-{i}", _trust(EC2, PARTNER_ROOT), [f"AWS:{PARTNER}", "Service:ec2.amazonaws.com"])
    a.near_misses[f"role#root-arn-{i}"] = "excess-trust: the approved account trusted as its root ARN"
    a.role(f"order-{i}", _trust(LAMBDA, EC2), ["Service:ec2.amazonaws.com", "Service:lambda.amazonaws.com"])
    a.near_misses[f"role#order-{i}"] = "excess/missing-trust: the same trust, statements in another order"

    name = f"leaver-{i}"  # revoked 30 days ago, both keys Inactive, last used before the revocation
    keys = a.user(name, keys=2, status="revoked", revoked_at=a.now - timedelta(days=30))
    for key in keys:
        a.key_entry(name, key)
        a.iam.update_access_key(UserName=name, AccessKeyId=key, Status="Inactive")
        a.key_times(name, key, used=a.now - timedelta(days=31))
        a.near_misses[f"access_key#{key}"] = "revoked-credential-used: Inactive key last used before revoked_at"
    a.near_misses[f"user#{name}"] = "unenforced-revocation: revoked user whose keys are all Inactive"

    (key,) = a.user(f"pending-{i}")  # key revoked 10 minutes ago: within the 60-minute grace period
    a.key_entry(f"pending-{i}", key, status="revoked", revoked_at=a.now - timedelta(minutes=10))
    a.near_misses[f"access_key#{key}"] = "unenforced-revocation: still within the grace period"

    (key,) = a.user(f"aging-{i}", expires_at=a.now + timedelta(days=30))  # expires next month; key 80 days old
    a.key_entry(f"aging-{i}", key)
    a.key_times(f"aging-{i}", key, created=a.now - timedelta(days=80), used=a.now - timedelta(days=1))
    a.near_misses[f"user#aging-{i}"] = "expired-but-active: expires_at in the future"
    a.near_misses[f"access_key#{key}"] = "stale-credential: key 80 days old (max 90)"

    a.iam.create_user(UserName=f"case-{i}")  # registered as Case-i: IAM names ignore case
    a.entries.append(RegistryEntry(kind="user", name=f"Case-{i}", owner="o@example.com", managed_policies=()))
    a.near_misses[f"user#case-{i}"] = "unregistered/missing-identity: registered in another case"


def _scan(endpoint: str) -> list[dict[str, Any]]:
    command = [
        *(sys.executable, "-m", "driftline.cli.main", "scan", "--registry-table", REGISTRY, "--state-table", STATE),
        *("--endpoint-url", endpoint, "--format", "json", "--account-id", DEFAULT_ACCOUNT),
    ]
    proc = subprocess.run(command, capture_output=True, env=os.environ | ENV, check=False, timeout=600)
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"scan failed ({proc.returncode}): {proc.stderr.decode()[-2000:]}")
    try:
        drifts: list[dict[str, Any]] = json.loads(proc.stdout)["drifts"]
    except (ValueError, KeyError) as exc:
        raise RuntimeError(f"scan printed no JSON ({proc.returncode}): {proc.stderr.decode()[-2000:]}") from exc
    return drifts


def score(truth: set[tuple[str, str]], found: set[tuple[str, str]]) -> dict[str, dict[str, Any]]:
    rows = {}
    for drift in DriftType:
        t = {i for k, i in truth if k == drift.value}
        f = {i for k, i in found if k == drift.value}
        tp, fp, fn = len(t & f), len(f - t), len(t - f)
        rows[drift.value] = {
            "injected": len(t),
            "reported": len(f),
            "tp": tp,
            "fp": fp,
            "fn": fn,
            "precision": round(tp / (tp + fp), 3) if tp + fp else None,
            "recall": round(tp / (tp + fn), 3) if tp + fn else None,
            "false_positives": sorted(f - t),
            "false_negatives": sorted(t - f),
            "not_producible": NOT_PRODUCIBLE.get(drift.value),
        }
    return rows


def run(endpoint: str, users: int) -> dict[str, Any]:
    _reset(endpoint)
    account = seed(endpoint, users)
    create_tables(account.dynamodb, REGISTRY, STATE)
    items = registry_items(account.entries)
    for start in range(0, len(items), 25):
        account.dynamodb.batch_write_item(
            RequestItems={REGISTRY: [{"PutRequest": {"Item": i}} for i in items[start : start + 25]]}
        )
    drifts = _scan(endpoint)
    found = {(d["type"], d["key"].split("/", 1)[1]) for d in drifts}
    near = {f"{k}/{i}": account.near_misses[i] for k, i in sorted(found) if i in account.near_misses}
    return {
        "users": users,
        "registry_entries": len(account.entries),
        "injected": len(account.truth),
        "near_misses": len(account.near_misses),
        "reported": len(found),
        "by_type": score(account.truth, found),
        "near_misses_reported": near,
    }


def print_table(result: dict[str, Any]) -> None:
    print(
        f"{result['users']} clean users, {result['registry_entries']} registry entries, "
        f"{result['injected']} injected drifts, {result['near_misses']} near-miss identities"
    )
    head = (
        f"{'drift type':<24} {'injected':>8} {'reported':>8} {'TP':>4} {'FP':>4} {'FN':>4} "
        f"{'precision':>9} {'recall':>7}"
    )
    print(head)
    print("-" * len(head))
    for name, r in result["by_type"].items():
        p = "-" if r["precision"] is None else f"{r['precision']:.2f}"
        rc = "-" if r["recall"] is None else f"{r['recall']:.2f}"
        print(f"{name:<24} {r['injected']:>8} {r['reported']:>8} {r['tp']:>4} {r['fp']:>4} {r['fn']:>4} {p:>9} {rc:>7}")
        for label in ("false_positives", "false_negatives"):
            if r[label]:
                print(f"{'':<24} {label.replace('_', ' ')}: {', '.join(r[label])}")
        if r["not_producible"]:
            print(f"{'':<24} not injected: {r['not_producible']}")
    print(f"near-misses reported: {len(result['near_misses_reported'])}")
    for drift, what in result["near_misses_reported"].items():
        print(f"  {drift} ({what})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=100, help="clean users (half as many clean roles)")
    parser.add_argument("--results", type=Path, default=RESULTS, help="folder for the JSON results")
    args = parser.parse_args(argv)
    os.environ.update(ENV)
    with moto_server() as endpoint:
        result = run(endpoint, args.users)
    print_table(result)
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "accuracy.json").write_text(json.dumps(result, indent=2))
    print(f"\nwritten: {args.results / 'accuracy.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
