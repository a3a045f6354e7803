"""``driftline demo``: an embedded moto server plays an AWS account holding every drift type; the scheduled
reconcile's own code runs against it three times (a first run, a quiet re-run, and a run after one revocation is
enforced), publishing to the moto Security Hub; the drifts and the findings Security Hub holds are printed.

Nothing real is touched: credentials are fake, the endpoint is loopback, and the server stops when the demo ends.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TextIO

from driftline.cli.demo_scenario import ACCOUNT, registry_entries, seed_iam
from driftline.cli.render import print_json, print_table
from driftline.cli.sandbox import create_tables, moto_server

# moto's server is the [demo] extra (pyproject.toml), not a dependency of `pip install driftline`.
DEMO_EXTRA_INSTALL = 'pip install "driftline[demo]"'
EXIT_MISSING_EXTRA = 3  # an error, in the CLI's exit codes: the command cannot run in this installation
REGISTRY_TABLE = "driftline-registry"
STATE_TABLE = "driftline-state"
DEMO_ENV = {
    "AWS_ACCESS_KEY_ID": "demo-not-a-real-key",
    "AWS_SECRET_ACCESS_KEY": "demo-not-a-real-secret",
    "AWS_SESSION_TOKEN": "demo",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    "DRIFTLINE_REGISTRY_TABLE": REGISTRY_TABLE,
    "DRIFTLINE_STATE_TABLE": STATE_TABLE,
    "DRIFTLINE_CREDENTIAL_REPORT_WAIT_SECONDS": "10",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_SERVICE_NAME": "driftline",
}


@contextmanager
def demo_environment(endpoint: str) -> Iterator[None]:
    """Point every boto3 client of this process at the moto server, and restore the environment afterwards."""
    saved = dict(os.environ)
    os.environ.update(DEMO_ENV | {"AWS_ENDPOINT_URL": endpoint})
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        os.environ.pop(name, None)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def missing_demo_module() -> str | None:
    """The module the embedded AWS account cannot start without (moto, or one its server needs), if any."""
    try:
        import moto.server  # noqa: F401
    except ModuleNotFoundError as exc:
        return exc.name or "moto"
    return None


def run_demo(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    missing = missing_demo_module()
    if missing is not None:
        sys.stderr.write(
            f"driftline demo: the embedded AWS account needs moto's server (no module named {missing!r}); "
            f"install it with: {DEMO_EXTRA_INSTALL}\n"
        )
        return EXIT_MISSING_EXTRA
    started = time.perf_counter()
    with moto_server() as endpoint, demo_environment(endpoint):
        # Imported here so Powertools reads the demo's environment, not the caller's.
        from driftline.adapters.aws import Clients
        from driftline.adapters.registry_log import RegistryLog, RegistryWrite
        from driftline.cli.findings import list_findings
        from driftline.compose import compose
        from driftline.findings.asff import Place
        from driftline.settings import get_settings

        get_settings.cache_clear()
        now = datetime.now(UTC)
        setup = Clients()
        keys = seed_iam(setup.iam(), now)
        create_tables(setup.dynamodb(), REGISTRY_TABLE, STATE_TABLE)
        writes = [RegistryWrite(action="put", ref=e.ref, entry=e, note="demo") for e in registry_entries(keys, now)]
        RegistryLog(setup.dynamodb(), REGISTRY_TABLE, actor="driftline demo").apply(ACCOUNT, writes)

        setup.securityhub().enable_security_hub()

        runs = []
        for step in ("first", "quiet", "after-enforcement"):
            if step == "after-enforcement":  # someone finally deactivates dave's revoked key
                setup.iam().update_access_key(UserName="dave", AccessKeyId=keys["dave"], Status="Inactive")
            clients = Clients()
            result = compose(ACCOUNT, clients).detector.reconcile()
            runs.append((step, result, clients.counter.snapshot()))
        place = Place(account_id=ACCOUNT, region=setup.region, partition=setup.partition)
        held = list_findings(setup, place, include_archived=True)
        get_settings.cache_clear()

    _, evaluation, first_calls = runs[0]
    if args.format == "json":
        print_json(evaluation, out, first_calls)
        return 0
    out.write(
        "driftline demo: a moto server on loopback plays AWS account "
        f"{ACCOUNT}; the registry has {evaluation.registry_entries} entries.\n\n"
    )
    print_table(evaluation, out, first_calls)
    out.write("\nThe scheduled reconcile, three times:\n")
    for step, result, calls in runs:
        report = result.publish
        out.write(
            f"  {step:<18} {result.drift_count:>2} drifts; Security Hub: {report.published} imported, "
            f"{report.resolved} resolved, {report.unchanged} unchanged; {sum(calls.values())} AWS calls "
            f"({calls.get('securityhub.BatchImportFindings', 0)} BatchImportFindings)\n"
        )
    active = sum(f.get("RecordState") == "ACTIVE" for f in held)
    out.write(
        f"Security Hub now holds {len(held)} driftline findings: {active} active, {len(held) - active} archived "
        "(dave's revoked key was deactivated before the third run, so its finding is resolved).\n"
        f"Demo finished in {time.perf_counter() - started:.1f} s; the moto server is stopped.\n"
    )
    return 0
