"""``driftline scan``: the reconcile a Lambda runs, from a workstation, against AWS or a moto server."""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import timedelta
from typing import TextIO

from botocore.exceptions import BotoCoreError, ClientError

from driftline.adapters.aws import Clients
from driftline.adapters.enforcer import Boto3Enforcer
from driftline.adapters.key_cache import DynamoKeyCache
from driftline.adapters.ledger import DynamoLedger
from driftline.adapters.registry import DynamoRegistry
from driftline.cli.account import BREAK_GLASS_PARAMETER, caller_account, deployment_break_glass
from driftline.cli.asff_out import Capture, asff_findings
from driftline.cli.common import Log, UsageError, add_aws_options, add_output_options, clients_for
from driftline.cli.file_registry import FileRegistry
from driftline.cli.gate import Gate, Gated, add_gate_options
from driftline.cli.org_scan import DEFAULT_ROLE, ORG_FORMATS, scan_org
from driftline.cli.registry_file import entry_lines, load_registry_file
from driftline.cli.render import print_csv, print_json, print_table
from driftline.cli.sarif import sarif_log
from driftline.cli.terminal import Activity
from driftline.compose import detector, security_hub_sink
from driftline.domain.enforcement import Protections, caller_ref, deny_policy_arn
from driftline.domain.errors import DriftlineError
from driftline.domain.registry import RegistrySnapshot
from driftline.domain.settings import DEFAULT_EXCLUDED_NAMES, DEFAULT_EXCLUDED_PATHS, CompareSettings, Exclusions
from driftline.findings.asff import Place
from driftline.service.enforcement import EnforcementSettings
from driftline.service.pipeline import Evaluation
from driftline.service.ports import DriftSink, KeyCache, NoKeyCache, NullSink, RegistryReader

EXIT_CLEAN = 0
EXIT_DRIFT = 1
EXIT_USAGE = 2  # argparse's usage error, and every other mistake in the command line (cli/common.UsageError)
EXIT_ERROR = 3
FORMATS = ("table", "json", "csv", "sarif", "asff")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--registry-table", help="DynamoDB registry table name")
    source.add_argument("--registry-file", help="registry YAML or JSON file")
    parser.add_argument("--state-table", help="state table for the key cache (makes quiet re-runs cheap)")
    parser.add_argument(
        "--account-id", help="the account you expect to scan: refused when it is not the caller's (STS)"
    )
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="table",
        help="table (people), json (docs/schema/scan.schema.json), csv, sarif (SARIF 2.1.0, code scanning) or asff "
        "(the findings --publish would import, for review); --org: table or json",
    )
    parser.add_argument("--grace-minutes", type=int, default=60, help="grace period of a revocation (default 60)")
    parser.add_argument("--max-key-age-days", type=int, default=90)
    parser.add_argument("--max-unused-days", type=int, default=90)
    parser.add_argument(
        "--hygiene",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="stale-credential checks (default on); --no-hygiene where Security Hub IAM.3/IAM.8/IAM.22 or Access "
        "Analyzer unused access already report them: stale-credential is then neither raised nor resolved",
    )
    parser.add_argument("--exclude-name", action="append", default=[], help="extra name pattern to exclude (glob)")
    parser.add_argument("--exclude-path", action="append", default=[], help="extra IAM path prefix to exclude")
    parser.add_argument("--report-wait", type=float, default=60.0, help="seconds to wait for the credential report")
    parser.add_argument(
        "--publish", action="store_true", help="import drifts into Security Hub (needs --state-table to remember them)"
    )
    org = parser.add_argument_group("organisation (scan only)")
    org.add_argument(
        "--org", action="store_true", help="scan every active account of the organisation through --role-name"
    )
    org.add_argument("--ou", help="with --org: only the accounts under this organizational unit, nested units too")
    org.add_argument(
        "--role-name", default=DEFAULT_ROLE, help=f"with --org: the read-only role to assume (default {DEFAULT_ROLE})"
    )
    org.add_argument("--concurrency", type=int, default=4, help="with --org: accounts scanned at a time (default 4)")
    add_gate_options(parser)
    add_aws_options(parser, region_help="Region of the DynamoDB tables and Security Hub (IAM is global)")
    add_output_options(parser)


def compare_settings(args: argparse.Namespace) -> CompareSettings:
    return CompareSettings(
        grace_period=timedelta(minutes=args.grace_minutes),
        max_key_age_days=args.max_key_age_days,
        max_unused_days=args.max_unused_days,
        hygiene=getattr(args, "hygiene", True),
        exclusions=Exclusions(
            path_prefixes=DEFAULT_EXCLUDED_PATHS + tuple(args.exclude_path),
            name_patterns=DEFAULT_EXCLUDED_NAMES + tuple(args.exclude_name),
        ),
    )


def _registry(
    args: argparse.Namespace, clients: Clients, account_id: str, snapshot: RegistrySnapshot | None
) -> RegistryReader:
    if snapshot is not None:
        if snapshot.account_id != account_id:
            raise DriftlineError(
                f"{args.registry_file} describes account {snapshot.account_id}, but the scan is of account {account_id}"
            )
        return FileRegistry(snapshot)
    return DynamoRegistry(clients.dynamodb(), args.registry_table)


def _sink(args: argparse.Namespace, clients: Clients, account_id: str) -> DriftSink:
    if not args.publish:
        return NullSink()
    return security_hub_sink(clients, account_id, args.state_table)


def add_enforce_arguments(parser: argparse.ArgumentParser) -> None:
    add_arguments(parser)
    parser.add_argument("--dry-run", action="store_true", help="print the exact plan, change nothing")
    parser.add_argument(
        "--break-glass",
        action="append",
        default=[],
        help=f"name glob never to touch (repeatable), besides the deployment's list in SSM {BREAK_GLASS_PARAMETER}",
    )
    parser.add_argument("--deny-policy-arn", help="the deny-everything policy (default: the stack's DriftlineRevoked)")
    parser.set_defaults(enforce=True)


def _enforcement(
    args: argparse.Namespace, clients: Clients, account_id: str, caller: str, err: TextIO
) -> EnforcementSettings | None:
    if not getattr(args, "enforce", False):
        return None
    deployed = deployment_break_glass(clients.ssm(), err)
    protections = Protections(
        deny_policy_arn=args.deny_policy_arn or deny_policy_arn(account_id, clients.partition),
        break_glass=tuple(args.break_glass) + deployed,
        caller=caller_ref(caller),
    )
    return EnforcementSettings(
        protections=protections,
        mode="report" if args.dry_run else "enforce",
        enforcer=None if args.dry_run else Boto3Enforcer(clients.iam()),
    )


def _print_enforcement(evaluation: Evaluation, err: TextIO, dry_run: bool) -> None:
    report = evaluation.enforcement
    if report is None:
        return
    err.write(
        f"Enforcement plan ({'dry run: nothing changed' if dry_run else 'enforce'}): {len(report.planned)} step(s)\n"
    )
    for step in report.planned:
        state = "applied" if step in report.applied else ("FAILED" if step in report.failed else "planned")
        err.write(f"  [{state}] {step}\n")
    for step, error in report.failed.items():
        err.write(f"  failed: {step}: {error}\n")


def check_usage(args: argparse.Namespace) -> None:
    """Mistakes in the command line itself, refused (exit 2) before AWS is asked anything."""
    if getattr(args, "org", False):
        if args.registry_file or args.state_table or args.publish or getattr(args, "enforce", False):
            raise UsageError(
                "--org is a read-only audit of every account: it reads the central --registry-table and writes "
                "nothing (no --registry-file, --state-table, --publish or enforce)"
            )
        if args.format not in ORG_FORMATS:
            raise UsageError(
                f"--format {args.format} is not available with --org (choose from {', '.join(ORG_FORMATS)})"
            )
    if args.publish and not args.state_table:
        raise UsageError("--publish needs --state-table: the detector remembers what it published there")
    if getattr(args, "enforce", False) and not args.dry_run and not args.state_table:
        raise UsageError("enforce needs --state-table: every step is written to the ledger before it runs")


def _write_report(
    args: argparse.Namespace,
    evaluation: Evaluation,
    gated: Gated,
    gate: Gate,
    clients: Clients,
    capture: Capture,
    out: TextIO,
    successful: bool,
) -> None:
    calls = clients.counter.snapshot()
    if args.format == "json":
        print_json(evaluation, out, calls, gated, gate)
    elif args.format == "csv":
        print_csv(evaluation, out, gated)
    elif args.format == "sarif":
        lines = entry_lines(args.registry_file) if args.registry_file else {}
        log = sarif_log(evaluation, gated, gate, registry_file=args.registry_file, lines=lines, successful=successful)
        out.write(json.dumps(log, indent=2) + "\n")
    elif args.format == "asff":
        assert capture.inventory is not None  # every reconcile hands its inventory to the sink
        place = Place(account_id=evaluation.account_id, region=clients.region, partition=clients.partition)
        document = asff_findings(gated.reported, place, capture.inventory, evaluation.comparison.compared_at)
        out.write(json.dumps(document, indent=2) + "\n")
    else:
        print_table(evaluation, out, calls, gated, gate)


def _report_gate(gate: Gate, gated: Gated, log: Log) -> None:
    for mute in gate.expired:
        log.warning(f"mute of {mute.label} expired on {mute.expires.isoformat()} ({mute.reason}): no longer mutes")
    if gate.mute_file:
        log.info(f"{len(gate.mutes)} mute(s) in {gate.mute_file}: {len(gated.muted)} drift(s) muted")
    for mute in gate.unused([gated]):
        log.info(f"mute of {mute.label} muted nothing (until {mute.expires.isoformat()}): remove it when fixed")


def run_scan(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    command = getattr(args, "command", None) or "scan"
    log = Log(args, err, command)
    check_usage(args)
    gate = Gate.from_args(args)
    started = time.monotonic()
    try:
        settings = compare_settings(args)
        if getattr(args, "org", False):
            return scan_org(args, settings, out, err, gate=gate, log=log)
        # A broken registry file is reported before any AWS call.
        snapshot = load_registry_file(args.registry_file) if args.registry_file else None
        clients = clients_for(args, log)
        account_id, caller = caller_account(clients, args.account_id)
        log.info(f"as {caller} in account {account_id}, Region {clients.region}")
        cache: KeyCache = DynamoKeyCache(clients.dynamodb(), args.state_table) if args.state_table else NoKeyCache()
        capture = Capture(_sink(args, clients, account_id))
        enforcement = _enforcement(args, clients, account_id, caller, err)
        with Activity(err, f"{command}: account {account_id}", enabled=not log.quiet and not log.debug) as activity:
            activity.watch(clients)
            evaluation = detector(
                account_id,
                clients,
                registry=_registry(args, clients, account_id, snapshot),
                settings=settings,
                key_cache=cache,
                ledger=DynamoLedger(clients.dynamodb(), args.state_table) if args.state_table else None,
                sink=capture,
                enforcement=enforcement,
                report_wait_seconds=args.report_wait,
            ).reconcile()
    except UsageError:
        raise
    except DriftlineError as exc:
        err.write(f"driftline {command}: error: {exc}\n")
        return EXIT_ERROR
    except (BotoCoreError, ClientError) as exc:  # e.g. no credentials, endpoint unreachable, STS denied
        err.write(f"driftline {command}: error: {type(exc).__name__}: {exc}\n")
        return EXIT_ERROR
    gated = gate.apply(evaluation.comparison.drifts, account_id)
    publish = evaluation.publish
    failed_steps = evaluation.enforcement.failed if evaluation.enforcement else {}
    ledger_problems = evaluation.ledger.problems if evaluation.ledger else []
    failed = bool(evaluation.registry_problems or publish.error or publish.failed or failed_steps or ledger_problems)
    _write_report(args, evaluation, gated, gate, clients, capture, out, successful=not failed)
    _report_gate(gate, gated, log)
    log.info(f"done in {time.monotonic() - started:.1f} s with {clients.counter.total} AWS call(s)")
    _print_enforcement(evaluation, err, getattr(args, "dry_run", False))
    if args.publish:
        err.write(
            f"Security Hub: {publish.published} imported, {publish.resolved} resolved, {publish.unchanged} unchanged, "
            f"{len(publish.failed)} failed\n"
        )
        for finding_id, error in publish.failed.items():
            err.write(f"  failed: {finding_id}: {error}\n")
    for problem in ledger_problems:
        err.write(f"driftline {command}: error: {problem} (skipped)\n")
    if failed:
        if publish.error:
            err.write(f"driftline {command}: error: {publish.error}\n")
        return EXIT_ERROR
    return EXIT_DRIFT if gated.failing else EXIT_CLEAN
