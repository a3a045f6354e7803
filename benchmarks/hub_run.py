"""``python -m benchmarks.hub_run``: one hub run (hub and spoke) over a moto organisation, the Distributed Map's
concurrency played by a thread pool.

An organisation of ``--accounts`` members is created in a moto server on loopback, each seeded with ``--users``
users (benchmarks/seed.py: keys, groups, policies, one drift in 50) and its registry partition in the hub's table.
Then three runs (the first, then a quiet one, one account at a time; a quiet one four at a time), each in a fresh
process, the real hub handlers run as the state machine would call them:
``on_hub_accounts`` once, then ``on_hub_account`` for every listed account, ``--concurrency`` at a time, each with
its own execution environment's clients (the Map runs each item in its own Lambda invocation). Figures: wall time,
API calls per account (AssumeRole included), peak memory, drifts and findings, written to
benchmarks/results/hub_run.json.

moto's server answers one request at a time, so concurrency overlaps only the client side here; in AWS each
member's IAM answers on its own (IAM's rate limits are per account).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.org_scan import _organisation
from benchmarks.run import ENV, REGISTRY, STATE
from driftline.cli.sandbox import moto_server

RESULTS = Path(__file__).parent / "results"


@dataclass
class Context:
    """What the handlers read of a Lambda context."""

    function_name: str = "DriftlineHub-HubAccountFunction"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:DriftlineHub-HubAccountFunction"
    aws_request_id: str = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


def _worker(concurrency: int) -> dict[str, Any]:
    """One run in this process: list, then reconcile every account (``AWS_ENDPOINT_URL`` points at moto)."""
    from driftline.compose import ContainerClients
    from driftline.handlers import on_hub_account, on_hub_accounts

    started = time.perf_counter()
    accounts = on_hub_accounts.handler({}, Context(function_name="DriftlineHub-HubAccountsFunction"))["accounts"]

    def one(item: dict[str, Any]) -> dict[str, Any]:
        on_hub_account.CLIENTS = ContainerClients()  # a fresh environment per item, as the Map's invocations
        result: dict[str, Any] = on_hub_account.handler(item, Context())
        return result

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        results = list(pool.map(one, accounts))
    wall = time.perf_counter() - started
    reconciled = [r for r in results if r["status"] == "reconciled"]
    calls = sorted(r["calls"] for r in reconciled)
    return {
        "concurrency": concurrency,
        "accounts": len(results),
        "reconciled": len(reconciled),
        "failed": [r["account_id"] for r in results if r["status"] != "reconciled"],
        "wall_s": round(wall, 2),
        "calls_per_account_median": calls[len(calls) // 2] if calls else 0,
        "assume_role_per_account": max(
            (r.get("api_calls", {}).get("sts.AssumeRole", 0) for r in reconciled), default=0
        ),
        "drifts": sum(r["drifts"] for r in reconciled),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def _run(endpoint: str, concurrency: int) -> dict[str, Any]:
    env = (
        os.environ
        | ENV
        | {
            "AWS_ENDPOINT_URL": endpoint,
            "DRIFTLINE_REGISTRY_TABLE": REGISTRY,
            "DRIFTLINE_STATE_TABLE": STATE,
            "DRIFTLINE_PUBLISH_FINDINGS": "true",
            "DRIFTLINE_CREDENTIAL_REPORT_WAIT_SECONDS": "30",
            "POWERTOOLS_METRICS_NAMESPACE": "driftline",
            "POWERTOOLS_SERVICE_NAME": "driftline",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
        }
    )
    command = [sys.executable, "-m", "benchmarks.hub_run", "--worker", str(concurrency)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"hub run failed ({done.returncode}): {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(_worker(args.worker)))
        return 0
    os.environ.update(ENV)
    with moto_server() as endpoint:
        started = time.perf_counter()
        accounts = _organisation(endpoint, args.accounts, args.users)
        seeded_s = round(time.perf_counter() - started, 1)
        # The first run fills the hub's key cache and finding states; later runs are the hourly quiet ones.
        runs = [
            {"run": run, **_run(endpoint, concurrency)}
            for run, concurrency in (("first", 1), ("quiet", 1), ("quiet", 4))
        ]
    result = {"accounts": len(accounts), "users_per_account": args.users, "seed_s": seeded_s, "runs": runs}
    print(f"hub run: {len(accounts)} members x {args.users} users (seeded in {seeded_s} s)")
    for run in runs:
        head = f"  {run['run']} run, {run['concurrency']} at a time: {run['wall_s']} s wall"
        body = f"{run['reconciled']}/{run['accounts']} reconciled, median {run['calls_per_account_median']} calls"
        tail = f"per account ({run['assume_role_per_account']} AssumeRole), {run['drifts']} drifts"
        print(f"{head}, {body} {tail}, {run['peak_rss_mb']} MB peak")
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "hub_run.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"written: {args.results / 'hub_run.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
