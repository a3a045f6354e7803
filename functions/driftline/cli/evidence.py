"""``driftline evidence``: the revocation ledger of an account and period, for auditors and their tools.

CSV and JSON for tools; a self-contained HTML report for people. Each revocation shows when it was requested,
when and how it was enforced (the CloudTrail event and actor, driftline's own steps, or "observed": enforced no
later than the reconcile that saw it), the time to enforce, the open ones with their age, and every enforcing call
AWS refused on it (who tried, when, the error code).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from botocore.exceptions import BotoCoreError, ClientError

from driftline.adapters.aws import Clients
from driftline.adapters.ledger import DynamoLedger
from driftline.adapters.organization import Member
from driftline.cli.account import caller_account
from driftline.cli.common import Log, UsageError, add_aws_options, add_output_options, clients_for
from driftline.cli.evidence_html import render_html
from driftline.cli.org_scan import DEFAULT_ROLE, members
from driftline.cli.render import inert
from driftline.cli.terminal import Activity
from driftline.domain.errors import DriftlineError
from driftline.domain.ledger import LedgerRecord

EXIT_OK, EXIT_ERROR = 0, 3
COLUMNS = (
    "identity",
    "state",
    "requested_at",
    "requested_by",
    "ticket",
    "reason",
    "first_seen_unenforced",
    "enforced_at",
    "enforced_by",
    "enforced_basis",
    "event_id",
    "event_name",
    "actor_arn",
    "seconds_to_enforce",
    "open_age_seconds",
    "cancelled_at",
    "denied_attempts",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--state-table", required=True, help="the detector's state table (holds the ledger)")
    parser.add_argument("--account-id", help="the account you expect: refused when it is not the caller's (STS)")
    parser.add_argument("--since", type=_time, help="revocations requested at or after (ISO 8601, with timezone)")
    parser.add_argument("--until", type=_time, help="revocations requested before (ISO 8601, with timezone)")
    parser.add_argument("--format", choices=("csv", "json", "html"), default="csv")
    parser.add_argument("--output", help="write to this file instead of standard output")
    add_aws_options(parser, region_help="Region of the state table (default: your profile's)")
    add_output_options(parser)
    org = parser.add_argument_group("organisation")
    org.add_argument(
        "--org", action="store_true", help="every active account's ledger (its --state-table) through --role-name"
    )
    org.add_argument("--ou", help="with --org: only the accounts under this organizational unit, nested units too")
    org.add_argument("--role-name", default=DEFAULT_ROLE, help=f"with --org: the role to assume ({DEFAULT_ROLE})")
    org.add_argument("--concurrency", type=int, default=4, help="with --org: accounts read at a time (default 4)")


def _time(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no timezone; write e.g. 2026-11-01T00:00:00Z")
    return value


def row(record: LedgerRecord, now: datetime) -> dict[str, Any]:
    how = record.enforced
    return {
        "identity": record.identity,
        "state": record.state.value,
        "requested_at": record.requested_at.isoformat(),
        "requested_by": record.requested_by or "",
        "ticket": record.ticket or "",
        "reason": record.reason or "",
        "first_seen_unenforced": record.first_seen_unenforced.isoformat() if record.first_seen_unenforced else "",
        "enforced_at": how.at.isoformat() if how else "",
        "enforced_by": how.source if how else "",
        "enforced_basis": record.enforced_basis or "",
        "event_id": (how.event_id or "") if how else "",
        "event_name": (how.event_name or "") if how else "",
        "actor_arn": (how.actor_arn or "") if how else "",
        "seconds_to_enforce": round(record.seconds_to_enforce, 1) if record.seconds_to_enforce is not None else "",
        "open_age_seconds": round((now - record.requested_at).total_seconds(), 1) if record.is_open else "",
        "cancelled_at": record.cancelled_at.isoformat() if record.cancelled_at else "",
        "denied_attempts": "; ".join(a.description for a in record.attempts),
    }


def select(records: list[LedgerRecord], since: datetime | None, until: datetime | None) -> list[LedgerRecord]:
    chosen = [
        r for r in records if (since is None or r.requested_at >= since) and (until is None or r.requested_at < until)
    ]
    return sorted(chosen, key=lambda r: (r.requested_at, r.identity))


def render(records: list[LedgerRecord], fmt: str, account_id: str, now: datetime, *, org: bool = False) -> str:
    """The report in ``fmt``; with ``org``, every row names its account (``account_id`` is then the caller's)."""
    rows = [({"account_id": r.account_id} if org else {}) | row(r, now) for r in records]
    if fmt == "json":
        document: dict[str, Any] = {"account_id": account_id, "generated_at": now.isoformat(), "revocations": rows}
        if org:
            document = {"organization": True, "accounts": sorted({r.account_id for r in records})} | document
        return json.dumps(document, indent=2)
    if fmt == "html":
        return render_html(records, rows, account_id, now, org=org)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=(("account_id",) if org else ()) + COLUMNS)
    writer.writeheader()
    # A reason or ticket a spreadsheet would run as a formula is made inert; the JSON export keeps every value exactly.
    writer.writerows({k: inert(v) for k, v in r.items()} for r in rows)
    return buffer.getvalue()


def run_evidence(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    now = datetime.now(UTC)
    problems: list[str] = []
    log = Log(args, err, "evidence")
    try:
        clients = clients_for(args, log)
        account, caller = caller_account(clients, args.account_id)
        log.info(f"as {caller} in account {account}, Region {clients.region}")
        if getattr(args, "org", False):
            enabled = not log.quiet and not log.debug
            with Activity(err, "reading every member's ledger", total=0, enabled=enabled) as activity:
                found, problems = org_ledgers(clients, args, progress=activity)
        else:
            ledger = DynamoLedger(clients.dynamodb(), args.state_table)
            found = ledger.records(account)
            problems = list(ledger.problems)
        records = select(found, args.since, args.until)
    except UsageError:
        raise
    except (DriftlineError, BotoCoreError, ClientError) as exc:
        err.write(f"driftline evidence: error: {exc}\n")
        return EXIT_ERROR
    text = render(records, args.format, account, now, org=getattr(args, "org", False))
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        err.write(f"wrote {len(records)} revocation(s) to {args.output}\n")
    else:
        out.write(text)
    for problem in problems:  # the rest is exported; what could not be read is named, and the exit says so
        err.write(f"driftline evidence: error: {problem} (skipped)\n")
    return EXIT_ERROR if problems else EXIT_OK


def org_ledgers(
    caller: Clients, args: argparse.Namespace, progress: Activity | None = None
) -> tuple[list[LedgerRecord], list[str]]:
    """Every member's ledger records (through ``--role-name``, from its ``--state-table``), and what could not be read:
    an account that cannot be entered or read is named, never a reason to stop the others."""

    def read(member: Member) -> tuple[list[LedgerRecord], list[str]]:
        role_arn = f"arn:{caller.partition}:iam::{member.account_id}:role/{args.role_name}"
        try:
            ledger = DynamoLedger(caller.assumed(role_arn, "driftline-org-evidence").dynamodb(), args.state_table)
            return ledger.records(member.account_id), [f"account {member.account_id}: {p}" for p in ledger.problems]
        except (DriftlineError, ClientError, BotoCoreError) as exc:
            return [], [f"account {member.account_id}: {exc} (as {role_arn})"]
        finally:
            if progress is not None:
                progress.advance()

    accounts = members(caller, args.ou)
    if progress is not None:
        progress.set_total(len(accounts))
    with ThreadPoolExecutor(max_workers=max(1, min(args.concurrency, len(accounts) or 1))) as pool:
        results = list(pool.map(read, accounts))
    return [r for found, _ in results for r in found], [p for _, problems in results for p in problems]
