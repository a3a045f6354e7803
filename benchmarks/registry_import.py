"""``python -m benchmarks.registry_import``: ``driftline registry`` at 10,000 entries against a moto server on loopback.

A generated registry (60% users with policies and groups, 20% roles, 20% access keys; one entry in 50 revoked) is
written as YAML; a moto server runs in this process with the registry table created as the stack creates it. Each
step is the real ``driftline registry`` command in its own process (as benchmarks/run.py runs ``scan``), timed from
start to exit, with the process's peak memory:

1. ``validate``                       the whole file, no AWS;
2. ``import --dry-run``               diff against the empty table: every entry '+', nothing written;
3. ``import``                         the writes (a conditional PutItem per entry, then the change log);
4. ``import`` again                   no-op: '0 added, 0 changed, N unchanged', nothing written;
5. ``import --dry-run --prune``       a file with 1% changed, 0.5% added and 0.5% missing: '~', '+' and '-' lines;
6. ``import --prune``                 that change applied (conditional writes and deletes).

After each writing step the table is counted (entries and change-log items) so a fast wrong import cannot pass. The
results print as a table and are written to benchmarks/results/registry_import.json with a sample of each diff.

On moto, every step that reads the whole table (3 to 6) is dominated by moto's own Query, which takes seconds per
page at this size; against DynamoDB the same read is a handful of 1 MB pages.
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
from typing import TYPE_CHECKING, Any

import boto3

from benchmarks.run import ENV, REGISTRY, STATE
from driftline.cli.registry_file import dump_registry
from driftline.cli.sandbox import DEFAULT_ACCOUNT, create_tables, moto_server
from driftline.domain.registry import RegistryEntry, RegistrySnapshot

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

RESULTS = Path(__file__).parent / "results"
POLICIES = [f"arn:aws:iam::aws:policy/Bench{i}" for i in range(20)] + [
    f"arn:aws:iam::{DEFAULT_ACCOUNT}:policy/app-{i}" for i in range(20)
]
SAMPLE_LINES = 3


def generate(size: int) -> list[RegistryEntry]:
    """``size`` valid entries: 60% users (two policies, a group, sometimes an expiry), 20% roles, 20% keys."""
    users, roles = size * 6 // 10, size * 2 // 10
    keys = size - users - roles
    entries = []
    for i in range(users):
        fields: dict[str, Any] = {
            "kind": "user",
            "name": f"user-{i:05d}",
            "owner": f"team-{i % 40}@example.com",
            "managed_policies": [POLICIES[i % 40], POLICIES[(i * 7 + 3) % 40]],
            "groups": [f"group-{i % 10}"],
            "inline_policies": [],
        }
        if i % 50 == 0:
            fields |= {"status": "revoked", "revoked_at": "2026-01-15T09:00:00Z", "ticket": f"SEC-{i}"}
        if i % 9 == 0:
            fields["expires_at"] = "2030-06-30T00:00:00Z"
        entries.append(RegistryEntry.model_validate(fields))
    for i in range(roles):
        entries.append(
            RegistryEntry.model_validate(
                {
                    "kind": "role",
                    "name": f"role-{i:05d}",
                    "owner": "platform@example.com",
                    "purpose": "service runtime",
                    "managed_policies": [POLICIES[i % 40]],
                    "max_unused_days": 30,
                }
            )
        )
    for i in range(keys):
        entries.append(
            RegistryEntry.model_validate(
                {
                    "kind": "access_key",
                    "name": f"AKIA{i:016d}",
                    "user": f"user-{i % max(users, 1):05d}",
                    "owner": f"team-{i % 40}@example.com",
                    "max_key_age_days": 90,
                }
            )
        )
    return entries


def changed(entries: list[RegistryEntry]) -> tuple[list[RegistryEntry], dict[str, int]]:
    """The registry a week later: 1% of entries changed (owner, or a policy added), 0.5% new, 0.5% gone."""
    step = 100
    out: list[RegistryEntry] = []
    counts = {"changed": 0, "added": 0, "removed": 0}
    for i, entry in enumerate(entries):
        if i % (step * 2) == 1:
            counts["removed"] += 1
            continue
        if i % step == 0:
            counts["changed"] += 1
            if entry.managed_policies is not None:
                entry = entry.model_copy(update={"managed_policies": (*entry.managed_policies, POLICIES[39])})
            else:
                entry = entry.model_copy(update={"owner": "new-owner@example.com"})
        out.append(entry)
    for i in range(counts["removed"]):
        out.append(
            RegistryEntry.model_validate({"kind": "user", "name": f"newcomer-{i:04d}", "owner": "hr@example.com"})
        )
        counts["added"] += 1
    return out, counts


def _sample(lines: list[str]) -> list[str]:
    """The first few lines of each kind ('+', '~', '-'), how many more there are, and the closing lines."""
    sample: list[str] = []
    for prefix in ("  + ", "  ~ ", "  - "):
        kind = [line for line in lines if line.startswith(prefix)]
        sample += kind[:SAMPLE_LINES]
        if len(kind) > SAMPLE_LINES:
            sample.append(f"  … {len(kind) - SAMPLE_LINES:,} more '{prefix.strip()}' lines")
    return sample + [line for line in lines if not line.startswith("  ")]


def _run(args: list[str]) -> dict[str, Any]:
    """``driftline registry <args>`` in its own process: exit code, wall seconds, peak RSS and what it printed."""
    command = [sys.executable, "-m", "driftline.cli.main", "registry", *args]
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(command, stdout=out, stderr=err, env=os.environ | ENV)
        _, status, usage = os.wait4(proc.pid, 0)  # reap it ourselves to get its own peak RSS
        wall = time.perf_counter() - started
        code = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if code != 0:
        raise RuntimeError(f"driftline registry {' '.join(args[:2])} failed ({code}): {stderr[-2000:]}")
    lines = stdout.splitlines()
    return {
        "wall_s": round(wall, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "output_lines": len(lines),
        "summary": [line for line in lines if not line.startswith("  ")][-2:],
        "sample": _sample(lines),
    }


def _count(dynamodb: DynamoDBClient, pk: str) -> int:
    total = 0
    kwargs: dict[str, Any] = {
        "TableName": REGISTRY,
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": pk}},
        "Select": "COUNT",
    }
    while True:
        page = dynamodb.query(**kwargs)
        total += page["Count"]
        if "LastEvaluatedKey" not in page:
            return total
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _expect(what: str, actual: int, expected: int) -> None:
    if actual != expected:
        raise RuntimeError(f"{what}: expected {expected}, found {actual}")


def bench(endpoint: str, size: int, workdir: Path) -> dict[str, Any]:
    session = boto3.Session(aws_access_key_id="bench", aws_secret_access_key="bench", region_name="us-east-1")
    dynamodb: DynamoDBClient = session.client("dynamodb", endpoint_url=endpoint)
    create_tables(dynamodb, REGISTRY, STATE)
    aws = ["--registry-table", REGISTRY, "--endpoint-url", endpoint]

    started = time.perf_counter()
    entries = generate(size)
    first = workdir / "registry.yaml"
    first.write_text(dump_registry(RegistrySnapshot(account_id=DEFAULT_ACCOUNT, entries=tuple(entries)), "yaml"))
    later_entries, counts = changed(entries)
    later = workdir / "registry-later.yaml"
    later.write_text(dump_registry(RegistrySnapshot(account_id=DEFAULT_ACCOUNT, entries=tuple(later_entries)), "yaml"))
    write_files_s = time.perf_counter() - started

    steps: dict[str, dict[str, Any]] = {}
    steps["validate"] = _run(["validate", str(first)])
    steps["dry_run"] = _run(["import", str(first), "--dry-run", *aws])
    _expect("entries after the dry run", _count(dynamodb, DEFAULT_ACCOUNT), 0)
    steps["import"] = _run(["import", str(first), *aws])
    _expect("entries after the import", _count(dynamodb, DEFAULT_ACCOUNT), size)
    _expect("change-log items after the import", _count(dynamodb, f"{DEFAULT_ACCOUNT}#history"), size)
    steps["reimport"] = _run(["import", str(first), *aws])
    _expect("change-log items after the no-op", _count(dynamodb, f"{DEFAULT_ACCOUNT}#history"), size)
    steps["change_dry_run"] = _run(["import", str(later), "--dry-run", "--prune", *aws])
    steps["change"] = _run(["import", str(later), "--prune", *aws])
    _expect("entries after the change", _count(dynamodb, DEFAULT_ACCOUNT), len(later_entries))
    writes = counts["changed"] + counts["added"] + counts["removed"]
    _expect("change-log items after the change", _count(dynamodb, f"{DEFAULT_ACCOUNT}#history"), size + writes)
    return {
        "size": size,
        "file_bytes": first.stat().st_size,
        "write_files_s": round(write_files_s, 2),  # generating and dumping both YAML files (yaml.safe_dump)
        "change": counts,
        "steps": steps,
    }


LABELS = {
    "validate": "validate",
    "dry_run": "import --dry-run (empty table)",
    "import": "import",
    "reimport": "import again (no-op)",
    "change_dry_run": "import --dry-run --prune (1% changed)",
    "change": "import --prune (1% changed)",
}


def print_table(result: dict[str, Any]) -> None:
    print(
        f"driftline registry at {result['size']:,} entries ({result['file_bytes'] / 1e6:.1f} MB of YAML; "
        f"change file: {result['change']})"
    )
    head = f"{'step':<40} {'wall s':>7} {'RSS MB':>7}  result"
    print(head)
    print("-" * (len(head) + 40))
    for key, label in LABELS.items():
        step = result["steps"][key]
        print(f"{label:<40} {step['wall_s']:>7} {step['peak_rss_mb']!s:>7}  {' / '.join(step['summary'])}")
    for key in ("dry_run", "change_dry_run"):
        print(f"\n{LABELS[key]}: {result['steps'][key]['output_lines']} lines, e.g.")
        print("\n".join(result["steps"][key]["sample"]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", type=Path, default=RESULTS, help="folder for the JSON results")
    parser.add_argument("--size", type=int, default=10_000, help="registry entries (default 10,000)")
    args = parser.parse_args(argv)
    os.environ.update(ENV)
    with tempfile.TemporaryDirectory() as tmp, moto_server() as endpoint:
        result = bench(endpoint, args.size, Path(tmp))
    print_table(result)
    args.results.mkdir(parents=True, exist_ok=True)
    path = args.results / "registry_import.json"
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(f"\nwritten: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
