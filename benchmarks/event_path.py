"""``python -m benchmarks.event_path``: what one IAM event costs on the event path, in-process on moto.

Seeds a modest account (``benchmarks.seed``: 200 users with 1-2 keys, 100 roles, 10 groups of 20, 20 policies, a
registry that matches except one identity in 50), then makes N varied IAM changes with boto3, each followed by its
CloudTrail event (built from the test corpus, ``tests/events``) delivered to the real ``on_iam_event.handler``:
CreateAccessKey, UpdateAccessKey, DeleteAccessKey, AttachUserPolicy, PutUserPolicy, TagUser, CreateRole,
AttachRolePolicy, AttachGroupPolicy (fans out to 20 members), a call signed by a revoked key, and redeliveries of
earlier events (served by the idempotency record).

Per event it records the handler's wall time (the IAM change itself is not timed), the part spent building the
boto3 session and clients, and every AWS call of that invocation by operation (botocore ``before-send`` hook:
``driftline.adapters.aws.CallCounter`` of the ``Clients`` the handler used). The main run is one warm execution
environment serving every event (the handler's ``ContainerClients`` builds the session on the first event and
reuses it); a short second run (``--cold-events``) gives every event a new environment, i.e. a cold start that
builds the session and parses the service models again. Prints a table and writes
benchmarks/results/event_path.json.

moto answers in-process in a few milliseconds per call, so wall times measure driftline, botocore and moto, not
AWS latency: read the call counts as the portable figure.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import random
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest import mock

import boto3

from benchmarks.seed import registry_items, seed
from driftline.adapters.aws import Clients
from driftline.cli.sandbox import DEFAULT_ACCOUNT, create_tables
from driftline.compose import ContainerClients
from tests.events import corpus

REGISTRY, STATE = "bench-registry", "bench-state"
RESULTS = Path(__file__).parent / "results"
ENV = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    "AWS_EC2_METADATA_DISABLED": "true",
    "DRIFTLINE_REGISTRY_TABLE": REGISTRY,
    "DRIFTLINE_STATE_TABLE": STATE,
    "POWERTOOLS_SERVICE_NAME": "driftline",
    "POWERTOOLS_TRACE_DISABLED": "true",
}
FUNCTION_ARN = f"arn:aws:lambda:us-east-1:{DEFAULT_ACCOUNT}:function:driftline-iam-event"

# (kind, weight): the mix of delivered events.
MIX: list[tuple[str, int]] = [
    ("CreateAccessKey", 14),
    ("UpdateAccessKey", 14),
    ("AttachUserPolicy", 14),
    ("PutUserPolicy", 8),
    ("TagUser", 10),
    ("DeleteAccessKey", 6),
    ("CreateRole", 10),
    ("AttachRolePolicy", 6),
    ("AttachGroupPolicy", 3),
    ("RevokedKeyUsed", 5),
    ("Redelivery", 8),
]


class TimedClients(Clients):
    """The handler's ``Clients``, remembering every instance and the time spent building its session and clients
    (a new ``boto3.Session()``, exactly as the handler's ``ContainerClients`` builds it on a cold start)."""

    built: list[TimedClients] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        started = time.perf_counter()
        super().__init__(*args, **kwargs)
        self.setup_seconds = time.perf_counter() - started
        TimedClients.built.append(self)

    def _client(self, service: str) -> Any:
        started = time.perf_counter()
        client = super()._client(service)
        self.setup_seconds += time.perf_counter() - started  # a cache miss builds the client; a hit costs ~0
        return client


@dataclass
class Account:
    """What the benchmark knows about the seeded account, to make only valid IAM changes."""

    iam: Any
    rng: random.Random
    keys: dict[str, list[str]] = field(default_factory=dict)  # user -> key ids
    inactive: set[str] = field(default_factory=set)
    revoked_keys: list[tuple[str, str]] = field(default_factory=list)  # (user, key)
    roles: int = 100
    delivered: list[dict[str, Any]] = field(default_factory=list)
    counter: int = 0

    def fresh(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}-{self.counter:04d}"

    def user(self, where: Callable[[str], bool] = lambda _: True) -> str:
        return self.rng.choice(sorted(u for u in self.keys if where(u)))


def _policy(i: int) -> str:
    return f"arn:aws:iam::{DEFAULT_ACCOUNT}:policy/bench-{i}"


Change = Callable[["Account"], tuple[str, dict[str, object]]]


def _create_access_key(acct: Account) -> tuple[str, dict[str, object]]:
    user = acct.user(lambda u: len(acct.keys[u]) < 2)
    key = acct.iam.create_access_key(UserName=user)["AccessKey"]["AccessKeyId"]
    acct.keys[user].append(key)
    return "iam.CreateAccessKey", {"user": user, "key_id": key}


def _update_access_key(acct: Account) -> tuple[str, dict[str, object]]:
    user = acct.user(lambda u: any(k not in acct.inactive for k in acct.keys[u]))
    key = next(k for k in acct.keys[user] if k not in acct.inactive)
    acct.iam.update_access_key(UserName=user, AccessKeyId=key, Status="Inactive")
    acct.inactive.add(key)
    return "iam.UpdateAccessKey", {"user": user, "key_id": key, "status": "Inactive"}


def _delete_access_key(acct: Account) -> tuple[str, dict[str, object]]:
    user = acct.user(lambda u: bool(acct.keys[u]))
    key = acct.keys[user].pop()
    acct.iam.delete_access_key(UserName=user, AccessKeyId=key)
    return "iam.DeleteAccessKey", {"user": user, "key_id": key}


def _attach_user_policy(acct: Account) -> tuple[str, dict[str, object]]:
    user, arn = acct.user(), _policy(acct.rng.randrange(20))
    acct.iam.attach_user_policy(UserName=user, PolicyArn=arn)
    return "iam.AttachUserPolicy", {"user": user, "policy_arn": arn}


def _put_user_policy(acct: Account) -> tuple[str, dict[str, object]]:
    user = acct.user()
    acct.iam.put_user_policy(UserName=user, PolicyName="bench-inline", PolicyDocument=corpus.READ_ONLY_DOCUMENT)
    return "iam.PutUserPolicy", {"user": user, "inline_policy": "bench-inline"}


def _tag_user(acct: Account) -> tuple[str, dict[str, object]]:
    user = acct.user()
    acct.iam.tag_user(UserName=user, Tags=[{"Key": "team", "Value": "payments"}])
    return "iam.TagUser", {"user": user}


def _create_role(acct: Account) -> tuple[str, dict[str, object]]:
    role = acct.fresh("bench-new-role")
    acct.iam.create_role(RoleName=role, AssumeRolePolicyDocument=corpus.TRUST_DOCUMENT)
    return "iam.CreateRole", {"role": role}


def _attach_role_policy(acct: Account) -> tuple[str, dict[str, object]]:
    role, arn = f"role-{acct.rng.randrange(acct.roles):05d}", _policy(acct.rng.randrange(20))
    acct.iam.attach_role_policy(RoleName=role, PolicyArn=arn)
    return "iam.AttachRolePolicy", {"role": role, "policy_arn": arn}


def _attach_group_policy(acct: Account) -> tuple[str, dict[str, object]]:
    group, arn = f"group-{acct.rng.randrange(10)}", _policy(acct.rng.randrange(20))
    acct.iam.attach_group_policy(GroupName=group, PolicyArn=arn)
    return "iam.AttachGroupPolicy", {"group": group, "policy_arn": arn}


def _revoked_key_used(acct: Account) -> tuple[str, dict[str, object]]:
    """No change: a revoked (still active) key signs a harmless call."""
    if not acct.revoked_keys:  # a small account may have none: a plain tag change instead
        return "iam.TagUser", {"user": acct.user()}
    user, key = acct.rng.choice(acct.revoked_keys)
    return "iam.TagUser", {"user": user, "caller": user, "caller_key": key}


CHANGES: dict[str, Change] = {
    "CreateAccessKey": _create_access_key,
    "UpdateAccessKey": _update_access_key,
    "DeleteAccessKey": _delete_access_key,
    "AttachUserPolicy": _attach_user_policy,
    "PutUserPolicy": _put_user_policy,
    "TagUser": _tag_user,
    "CreateRole": _create_role,
    "AttachRolePolicy": _attach_role_policy,
    "AttachGroupPolicy": _attach_group_policy,
    "RevokedKeyUsed": _revoked_key_used,
}


def _context(n: int) -> Any:
    return SimpleNamespace(
        function_name="driftline-iam-event",
        memory_limit_in_mb=512,
        invoked_function_arn=FUNCTION_ARN,
        aws_request_id=f"bench-{n:06d}",
        get_remaining_time_in_millis=lambda: 30000,
    )


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def summary(walls: list[float], setups: list[float], calls: list[int]) -> dict[str, Any]:
    return {
        "events": len(walls),
        "wall_ms": {k: round(pct(walls, q) * 1000, 1) for k, q in (("p50", 50), ("p95", 95), ("max", 100))},
        "client_setup_ms_p50": round(pct(setups, 50) * 1000, 1),
        "aws_calls": {k: pct([float(c) for c in calls], q) for k, q in (("p50", 50), ("p95", 95), ("max", 100))},
    }


@contextlib.contextmanager
def quiet_output() -> Iterator[None]:
    """The handler's log lines and EMF documents are produced (their cost is real) but thrown away."""
    from driftline.observability import logger

    handler = logger.registered_handler
    previous = handler.setStream(io.StringIO())  # type: ignore[attr-defined]
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        handler.setStream(previous)  # type: ignore[attr-defined]


KINDS, WEIGHTS = zip(*MIX, strict=True)


class Handed:
    """Stands in for the handler's ``CLIENTS``: hands out the pool's clients and remembers them for the figures."""

    def __init__(self, pool: Callable[[], Clients]) -> None:
        self.pool = pool
        self.handed: list[Clients] = []

    def __call__(self) -> Clients:
        clients = self.pool()
        self.handed.append(clients)
        return clients


def deliver(handler: Callable[[Any, Any], dict[str, Any]], acct: Account, n: int, clients: Handed) -> dict[str, Any]:
    """Make one IAM change (or pick an earlier event to redeliver), deliver its event, and measure the handler."""
    kind: str = acct.rng.choices(KINDS, WEIGHTS)[0]
    if kind == "Redelivery" and acct.delivered:
        event = acct.rng.choice(acct.delivered) | {"id": f"redelivery-{n}"}
    else:
        kind = "TagUser" if kind == "Redelivery" else kind
        name, values = CHANGES[kind](acct)
        event = corpus.load(name, event_time=datetime.now(UTC), **values)
        acct.delivered.append(event)
    clients.handed.clear()
    setup_before = sum(c.setup_seconds for c in TimedClients.built)
    started = time.perf_counter()
    result = handler(event, _context(n))
    wall = time.perf_counter() - started
    calls: Counter[str] = Counter()
    for handed in clients.handed:
        calls.update(handed.counter.calls)
    return {
        "kind": kind,
        "status": result["status"],
        "wall_s": wall,
        "setup_s": sum(c.setup_seconds for c in TimedClients.built) - setup_before,
        "calls": dict(calls),
        "drifts": result.get("drifts", 0),
    }


def run(users: int, events: int, cold_events: int, rng_seed: int) -> dict[str, Any]:
    from moto import mock_aws

    from driftline.cli.sandbox import fill_moto_gaps
    from driftline.handlers import on_iam_event
    from driftline.settings import get_settings

    fill_moto_gaps()  # moto lacks ListServiceSpecificCredentials: answered as an account holding none
    get_settings.cache_clear()
    rng = random.Random(rng_seed)
    with mock_aws():
        started = time.perf_counter()
        seeded = seed(users)
        setup = boto3.Session()
        dynamodb, iam = setup.client("dynamodb"), setup.client("iam")
        create_tables(dynamodb, REGISTRY, STATE)
        items = registry_items(seeded.entries)
        for start in range(0, len(items), 25):
            dynamodb.batch_write_item(
                RequestItems={REGISTRY: [{"PutRequest": {"Item": i}} for i in items[start : start + 25]]}
            )
        setup.client("securityhub").enable_security_hub()
        acct = Account(iam=iam, rng=rng, roles=seeded.roles)
        for entry in seeded.entries:
            if entry.kind.value == "access_key" and entry.user:
                acct.keys.setdefault(entry.user, []).append(entry.name)
                if entry.is_revoked:
                    acct.revoked_keys.append((entry.user, entry.name))
        seed_seconds = time.perf_counter() - started

        warm = Handed(ContainerClients(TimedClients))  # one execution environment serving every event
        with mock.patch.object(on_iam_event, "CLIENTS", warm), quiet_output():
            rows = [deliver(on_iam_event.handler, acct, n, warm) for n in range(events)]
        cold_rows = []
        for n in range(cold_events):  # a new execution environment per event: every one a cold start
            fresh = Handed(ContainerClients(TimedClients))
            with mock.patch.object(on_iam_event, "CLIENTS", fresh), quiet_output():
                cold_rows.append(deliver(on_iam_event.handler, acct, events + n, fresh))
        cold = cold_rows
    return {"seed_s": seed_seconds, "seeded": seeded, "rows": rows, "cold": cold}


def report(users: int, events: int, outcome: dict[str, Any]) -> dict[str, Any]:
    rows: list[dict[str, Any]] = outcome["rows"]
    by_kind: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_kind[row["kind"]].append(row)

    def of(selected: list[dict[str, Any]]) -> dict[str, Any]:
        return summary(
            [r["wall_s"] for r in selected],
            [r["setup_s"] for r in selected],
            [sum(r["calls"].values()) for r in selected],
        )

    evaluated = [r for r in rows if r["status"] == "evaluated" and r["kind"] != "Redelivery"]
    typical_kind = "AttachUserPolicy"
    typical = sorted(by_kind[typical_kind], key=lambda r: sum(r["calls"].values()))
    median = typical[len(typical) // 2] if typical else {"calls": {}}
    seeded = outcome["seeded"]
    return {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "account": {
            "users": seeded.users,
            "roles": seeded.roles,
            "keys": seeded.keys,
            "registry_entries": len(seeded.entries),
            "seed_s": round(outcome["seed_s"], 2),
        },
        "events": events,
        "statuses": dict(Counter(r["status"] for r in rows)),
        "overall": of(rows),
        "evaluated_first_deliveries": of(evaluated),
        "by_event": {
            kind: of(selected) | {"statuses": dict(Counter(r["status"] for r in selected))}
            for kind, selected in sorted(by_kind.items())
        },
        "typical_event": {"kind": typical_kind, "calls_by_operation": dict(sorted(median["calls"].items()))},
        "wall_total_s": round(sum(r["wall_s"] for r in rows), 2),
        "client_setup_total_s": round(sum(r["setup_s"] for r in rows), 2),
        "cold_start_every_event": of(outcome["cold"]) if outcome["cold"] else None,
        "notes": [
            "main run: one warm execution environment; the session and clients are built by the first event only",
            "cold_start_every_event: a new execution environment per event (session built, models parsed each time)",
            "moto in-process: wall times are driftline + botocore + moto, not AWS latency; call counts are portable",
        ],
    }


def print_table(result: dict[str, Any]) -> None:
    head = (
        f"{'event':<20} {'n':>4} {'wall p50':>9} {'p95':>7} {'max':>7} {'setup p50':>9} "
        f"{'calls p50':>9} {'p95':>5} {'max':>5}"
    )
    print(head)
    print("-" * len(head))
    lines = [
        *result["by_event"].items(),
        ("(first deliveries)", result["evaluated_first_deliveries"]),
        ("ALL", result["overall"]),
    ]
    if result["cold_start_every_event"]:
        lines.append(("ALL, cold start each", result["cold_start_every_event"]))
    for kind, s in lines:
        w, c = s["wall_ms"], s["aws_calls"]
        print(
            f"{kind:<20} {s['events']:>4} {w['p50']:>7}ms {w['p95']:>5}ms {w['max']:>5}ms "
            f"{s['client_setup_ms_p50']:>7}ms {c['p50']:>9.0f} {c['p95']:>5.0f} {c['max']:>5.0f}"
        )
    typical = result["typical_event"]
    print(f"\nAWS calls of a typical (median) {typical['kind']} event:")
    for operation, count in typical["calls_by_operation"].items():
        print(f"  {operation:<40} {count}")
    print(
        f"\naccount: {result['account']}; statuses: {result['statuses']}; handler time {result['wall_total_s']} s, "
        f"of which session/client construction {result['client_setup_total_s']} s"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", type=Path, default=RESULTS, help="folder for the JSON results")
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument(
        "--cold-events", type=int, default=10, help="further events, each in a new execution environment (cold start)"
    )
    parser.add_argument("--seed", type=int, default=7, help="random seed of the event mix")
    args = parser.parse_args(argv)
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        os.environ.pop(name, None)
    os.environ.update(ENV)
    outcome = run(args.users, args.events, args.cold_events, args.seed)
    result = report(args.users, args.events, outcome)
    print_table(result)
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "event_path.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwritten: {args.results / 'event_path.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
