"""``driftline scan --org``: every account of the organisation (or of one OU), each through a read-only role, for an
audit before or without a deployment.

The caller (the management or a delegated administrator account) lists the accounts with AWS Organizations, assumes
``--role-name`` in each, reads its IAM with that role and its registry entries from the caller's central registry
table (each account's own partition), and compares, a few accounts at a time. One account that cannot be read (the
role is missing, an SCP denies it) is a status line and exit 3; it never stops the others. Nothing is written.
"""

from __future__ import annotations

import argparse
import json
from concurrent.futures import ThreadPoolExecutor
from typing import TextIO

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict

from driftline.adapters import organization
from driftline.adapters.aws import Clients
from driftline.adapters.member_access import MEMBER_READ_ROLE
from driftline.adapters.member_access import role_arn as member_role_arn
from driftline.adapters.organization import Member
from driftline.adapters.registry import DynamoRegistry
from driftline.cli.common import Log, clients_for
from driftline.cli.gate import Gate, Gated
from driftline.cli.terminal import Activity
from driftline.compose import detector
from driftline.domain.errors import DriftlineError
from driftline.domain.settings import CompareSettings

EXIT_CLEAN, EXIT_DRIFT, EXIT_ERROR = 0, 1, 3
DEFAULT_ROLE = MEMBER_READ_ROLE
SESSION_NAME = "driftline-org-scan"
ORG_FORMATS = ("table", "json")
ORG_SCHEMA_VERSION = "1.0"  # docs/schema/scan-org.schema.json


class AccountResult(BaseModel):
    """One account's outcome: its drifts by type, or why it could not be scanned."""

    model_config = ConfigDict(frozen=True)

    account_id: str
    name: str
    status: str  # "scanned" | "error"
    drifts: int = 0  # reported: after --type/--severity and the mutes
    by_type: dict[str, int] = {}
    failing: int = 0  # reported drifts at or above --fail-on
    muted: int = 0
    filtered_out: int = 0
    registry_problems: int = 0
    error: str | None = None


def members(clients: Clients, ou: str | None) -> list[Member]:
    """The organisation's ACTIVE accounts (or those anywhere under ``ou``), sorted by id."""
    return organization.members(clients.organizations(), [ou] if ou else ())


def _scan_one(
    member: Member,
    caller: Clients,
    role_name: str,
    registry_table: str,
    settings: CompareSettings,
    report_wait: float,
    gate: Gate,
) -> tuple[AccountResult, Gated | None]:
    role_arn = member_role_arn(caller.partition, member.account_id, role_name)
    try:
        assumed = caller.assumed(role_arn, SESSION_NAME)
        evaluation = detector(
            member.account_id,
            assumed,
            registry=DynamoRegistry(caller.dynamodb(), registry_table),
            settings=settings,
            report_wait_seconds=int(report_wait),
        ).reconcile()
    except ClientError as exc:
        err = exc.response.get("Error", {})
        return AccountResult(
            account_id=member.account_id,
            name=member.name,
            status="error",
            error=f"{err.get('Code', 'Unknown')}: {err.get('Message', '')} (as {role_arn})",
        ), None
    except (DriftlineError, BotoCoreError) as exc:
        return AccountResult(account_id=member.account_id, name=member.name, status="error", error=str(exc)), None
    gated = gate.apply(evaluation.comparison.drifts, member.account_id)
    by_type: dict[str, int] = {}
    for drift in gated.reported:
        by_type[drift.type.value] = by_type.get(drift.type.value, 0) + 1
    return AccountResult(
        account_id=member.account_id,
        name=member.name,
        status="scanned",
        drifts=len(gated.reported),
        by_type=dict(sorted(by_type.items())),
        failing=len(gated.failing),
        muted=len(gated.muted),
        filtered_out=gated.filtered_out,
        registry_problems=len(evaluation.registry_problems),
    ), gated


def scan_org(
    args: argparse.Namespace,
    settings: CompareSettings,
    out: TextIO,
    err: TextIO,
    *,
    gate: Gate | None = None,
    log: Log | None = None,
) -> int:
    """Usage is checked by the caller (scan.check_usage): --org reads, never writes."""
    gate = gate or Gate()
    log = log or Log(args, err, "scan --org")
    caller = clients_for(args, log)
    accounts = members(caller, args.ou)
    if not accounts:
        raise DriftlineError("the organisation lists no active account" + (f" in {args.ou}" if args.ou else ""))
    log.info(f"{len(accounts)} account(s) to scan, {args.concurrency} at a time, through role {args.role_name}")
    # The whole organisation (not only --ou): an unapproved principal of an account outside it is CRITICAL trust.
    settings = settings.model_copy(update={"organization_accounts": organization.account_ids(caller.organizations())})

    with (
        Activity(err, "scanning accounts", total=len(accounts), enabled=not log.quiet and not log.debug) as activity,
        ThreadPoolExecutor(max_workers=max(1, min(args.concurrency, len(accounts)))) as pool,
    ):

        def one(member: Member) -> tuple[AccountResult, Gated | None]:
            found = _scan_one(member, caller, args.role_name, args.registry_table, settings, args.report_wait, gate)
            activity.advance()
            return found

        outcomes = list(pool.map(one, accounts))
    results = [result for result, _ in outcomes]
    for mute in gate.expired:
        log.warning(f"mute of {mute.label} expired on {mute.expires.isoformat()} ({mute.reason}): no longer mutes")
    for mute in gate.unused([g for _, g in outcomes if g is not None]):
        log.info(f"mute of {mute.label} muted nothing (until {mute.expires.isoformat()}): remove it when fixed")
    failed = [r for r in results if r.status == "error"]
    if args.format == "json":
        summary = {
            "accounts": len(results),
            "scanned": len(results) - len(failed),
            "failed": len(failed),
            "drifts": sum(r.drifts for r in results),
            "failing": sum(r.failing for r in results),
            "muted": sum(r.muted for r in results),
        }
        document = {
            "schema_version": ORG_SCHEMA_VERSION,
            "accounts": [r.model_dump() for r in results],
            "expired_mutes": [m.as_json() for m in gate.expired],
            "gate": gate.summary(),
            "summary": summary,
        }
        out.write(json.dumps(document, indent=2) + "\n")
    else:
        for r in results:
            detail = (
                ", ".join(f"{t} {n}" for t, n in r.by_type.items()) or "no drift" if r.status == "scanned" else r.error
            )
            out.write(f"{r.account_id}  {r.name[:24]:<24}  {r.status:<7}  {r.drifts:>4}  {detail}\n")
        out.write(
            f"{len(results)} accounts: {len(results) - len(failed)} scanned, {len(failed)} failed, "
            f"{sum(r.drifts for r in results)} drifts"
            + (f" ({sum(r.muted for r in results)} more muted)" if any(r.muted for r in results) else "")
            + "\n"
        )
    for r in failed:
        err.write(f"driftline scan --org: error: account {r.account_id}: {r.error}\n")
    if failed or any(r.registry_problems for r in results):
        return EXIT_ERROR
    return EXIT_DRIFT if any(r.failing for r in results) else EXIT_CLEAN
