"""``python -m benchmarks.org_scan``: ``driftline scan --org`` over a moto organisation, one account at a time vs a
few at a time.

An organisation of ``--accounts`` member accounts is created in a moto server on loopback, each seeded with
``--users`` users (benchmarks/seed.py: keys, groups, policies, one drift in 50) and its registry partition in the
caller's central table. Then the real ``driftline scan --org`` runs as a separate process, once with
``--concurrency 1`` and once with ``--concurrency 4``; wall time, peak memory and the per-account outcome are
recorded and written to benchmarks/results/org_scan.json.

moto's server handles one request at a time (one process), so concurrency here overlaps only the client's own work;
against AWS, each account's IAM answers in parallel.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import boto3

from benchmarks.run import ENV, REGISTRY, STATE
from benchmarks.seed import registry_items, seed
from driftline.cli.sandbox import create_tables, moto_server

RESULTS = Path(__file__).parent / "results"
ROLE = "DriftlineReadOnly"


def _organisation(endpoint: str, accounts: int, users: int) -> list[str]:
    session = boto3.Session(aws_access_key_id="bench", aws_secret_access_key="bench", region_name="us-east-1")
    organizations = session.client("organizations", endpoint_url=endpoint)
    dynamodb = session.client("dynamodb", endpoint_url=endpoint)
    organizations.create_organization(FeatureSet="ALL")
    create_tables(dynamodb, REGISTRY, STATE)
    ids = []
    for n in range(accounts):
        account = organizations.create_account(Email=f"m{n}@example.com", AccountName=f"member-{n:02d}")[
            "CreateAccountStatus"
        ]["AccountId"]
        seeded = seed(users, account_id=account)
        items = registry_items(seeded.entries, account)
        for start in range(0, len(items), 25):
            dynamodb.batch_write_item(
                RequestItems={REGISTRY: [{"PutRequest": {"Item": i}} for i in items[start : start + 25]]}
            )
        ids.append(account)
    return ids


def _scan_org(endpoint: str, concurrency: int) -> dict[str, Any]:
    command = [
        sys.executable,
        "-m",
        "driftline.cli.main",
        "scan",
        "--org",
        "--registry-table",
        REGISTRY,
        "--endpoint-url",
        endpoint,
        "--format",
        "json",
        "--concurrency",
        str(concurrency),
        "--report-wait",
        "30",
    ]
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(command, stdout=out, stderr=err, env=os.environ | ENV)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        report = json.loads(out.read().decode() or "{}")
        stderr = err.read().decode()
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        raise RuntimeError(f"scan --org failed ({code}): {stderr[-2000:]}")
    return {
        "concurrency": concurrency,
        "wall_s": round(wall, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "summary": report.get("summary"),
        "drifts": sum(a["drifts"] for a in report.get("accounts", [])),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    os.environ.update(ENV)
    with moto_server() as endpoint:
        started = time.perf_counter()
        accounts = _organisation(endpoint, args.accounts, args.users)
        seeded_s = round(time.perf_counter() - started, 1)
        runs = [_scan_org(endpoint, concurrency) for concurrency in (1, 4)]
    result = {"accounts": len(accounts), "users_per_account": args.users, "seed_s": seeded_s, "runs": runs}
    print(f"{len(accounts)} accounts x {args.users} users (seeded in {seeded_s} s)")
    for run in runs:
        print(
            f"  --concurrency {run['concurrency']}: {run['wall_s']} s wall, {run['peak_rss_mb']} MB peak, "
            f"{run['summary']}, {run['drifts']} drifts"
        )
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "org_scan.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"written: {args.results / 'org_scan.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
