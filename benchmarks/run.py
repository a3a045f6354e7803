"""``make bench``: reconcile cost at 100, 1,000 and 5,000 users, against a moto server on loopback.

For each size (and, at the largest, each revoked share: leavers that pile up in a registry, most of them enforced):
seed the account, then run the real ``driftline scan`` command as a separate process three times —
first run (cold key cache), quiet re-run (nothing changed), one-change re-run (one new access key) — and record wall
time, the process's own CPU time and peak memory, and every AWS call by operation (counted by botocore's event hook
in the scan), Security Hub imports included (the scan runs with ``--publish``).
Results print as a table and are written to benchmarks/results/reconcile.json.
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

from benchmarks.seed import registry_items, seed
from driftline.cli.sandbox import create_tables, moto_server

REGISTRY, STATE = "bench-registry", "bench-state"
RESULTS = Path(__file__).parent / "results"
ENV = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def _scan(endpoint: str) -> dict[str, Any]:
    """Run ``driftline scan`` in its own process; return wall seconds, peak RSS and the JSON summary."""
    command = [
        sys.executable,
        "-m",
        "driftline.cli.main",
        "scan",
        "--registry-table",
        REGISTRY,
        "--state-table",
        STATE,
        "--endpoint-url",
        endpoint,
        "--format",
        "json",
        "--publish",
        "--account-id",
        "123456789012",
    ]
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(command, stdout=out, stderr=err, env=os.environ | ENV)
        _, status, usage = os.wait4(proc.pid, 0)  # reap it ourselves to get its own peak RSS
        wall = time.perf_counter() - started
        code = os.waitstatus_to_exitcode(status)
        out.seek(0), err.seek(0)
        stdout, stderr = out.read(), err.read()
    if code not in (0, 1):
        raise RuntimeError(f"scan failed ({code}): {stderr.decode()[-2000:]}")
    try:
        summary = json.loads(stdout)["summary"]
    except (ValueError, KeyError) as exc:  # exit code 1 is also Python's for a crash: say what the scan printed
        raise RuntimeError(f"scan printed no JSON summary ({code}): {stderr.decode()[-2000:]}") from exc
    calls: dict[str, int] = summary["api_calls"]
    return {
        "wall_s": round(wall, 2),
        # the scan process's own CPU (driftline, botocore, pydantic); the rest of the wall time is moto answering
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "drifts": summary["drifts"],
        "by_type": summary["by_type"],
        "calls_total": sum(calls.values()),
        "iam_calls": sum(v for k, v in calls.items() if k.startswith("iam.")),
        "securityhub_imports": calls.get("securityhub.BatchImportFindings", 0),
        "calls": calls,
    }


def _reset(endpoint: str) -> None:
    import urllib.request

    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=30).read()


def bench_size(endpoint: str, size: int, revoked_share: float = 0.0) -> dict[str, Any]:
    _reset(endpoint)
    started = time.perf_counter()
    seeded = seed(size, revoked_share=revoked_share)
    session = boto3.Session(aws_access_key_id="bench", aws_secret_access_key="bench")
    dynamodb = session.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")
    iam = session.client("iam", endpoint_url=endpoint, region_name="us-east-1")
    create_tables(dynamodb, REGISTRY, STATE)
    session.client("securityhub", endpoint_url=endpoint, region_name="us-east-1").enable_security_hub()
    items = registry_items(seeded.entries)
    for start in range(0, len(items), 25):
        dynamodb.batch_write_item(
            RequestItems={REGISTRY: [{"PutRequest": {"Item": i}} for i in items[start : start + 25]]}
        )
    seed_s = time.perf_counter() - started
    first = _scan(endpoint)
    quiet = _scan(endpoint)
    iam.create_user(UserName="newcomer")
    iam.create_access_key(UserName="newcomer")
    one_change = _scan(endpoint)
    return {
        "size": size,
        "revoked_share": revoked_share,
        "users": seeded.users,
        "roles": seeded.roles,
        "keys": seeded.keys,
        "identities": seeded.identities,
        "registry_entries": len(seeded.entries),
        "injected": seeded.injected,
        "seed_s": round(seed_s, 1),
        "first": first,
        "quiet": quiet,
        "one_change": one_change,
        "quiet_iam_budget": seeded.identities // 100 + 10,
    }


def print_table(rows: list[dict[str, Any]]) -> None:
    head = (
        f"{'users':>6} {'identities':>10} {'run':<10} {'wall s':>7} {'CPU s':>6} {'RSS MB':>7} "
        f"{'IAM calls':>9} {'all calls':>9} {'SH imports':>10} {'drifts':>6}"
    )
    print(head)
    print("-" * len(head))
    for row in rows:
        for run in ("first", "quiet", "one_change"):
            r = row[run]
            print(
                f"{row['users']:>6} {row['identities']:>10} {run:<10} {r['wall_s']:>7} {r['cpu_s']:>6} "
                f"{r['peak_rss_mb']!s:>7} "
                f"{r['iam_calls']:>9} {r['calls_total']:>9} {r['securityhub_imports']:>10} {r['drifts']:>6}"
            )
        print(f"{'':>6} quiet-run IAM budget (1 per 100 identities + 10): {row['quiet_iam_budget']}")
        if row.get("revoked_share"):
            revoked = {k: v for k, v in row["injected"].items() if "revo" in k}
            print(f"{'':>6} revoked share {row['revoked_share']:.0%}: {revoked}")
            quiet_iam = {k: v for k, v in sorted(row["quiet"]["calls"].items()) if k.startswith("iam.")}
            print(f"{'':>6} quiet-run IAM calls by operation: {quiet_iam}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--results", type=Path, default=RESULTS, help="folder for the JSON results")
    parser.add_argument("--sizes", default="100,1000,5000", help="comma-separated user counts")
    parser.add_argument(
        "--revoked-shares",
        default="0,0.05",
        help="comma-separated shares of users and roles revoked in the registry (0.05: 5%%, four in five enforced)",
    )
    parser.add_argument("--name", default="reconcile", help="results file name (without .json)")
    args = parser.parse_args(argv)
    os.environ.update(ENV)
    rows = []
    shares = [float(s) for s in args.revoked_shares.split(",")]
    with moto_server() as endpoint:
        for size in (int(s) for s in args.sizes.split(",")):
            for share in shares if size == max(int(s) for s in args.sizes.split(",")) else shares[:1]:
                rows.append(bench_size(endpoint, size, share))
                print(f"size {size}, revoked share {share}: done", file=sys.stderr)
    print_table(rows)
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / f"{args.name}.json").write_text(json.dumps(rows, indent=2))
    print(f"\nwritten: {args.results / f'{args.name}.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
