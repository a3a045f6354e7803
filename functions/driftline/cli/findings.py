"""``driftline findings``: driftline's findings as Security Hub holds them (active ones by default).

Filters are sent to Security Hub and applied again here, because some implementations (moto) ignore them.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

from botocore.exceptions import BotoCoreError, ClientError
from rich.console import Console
from rich.table import Table

from driftline.adapters.aws import Clients
from driftline.findings.asff import Place

EXIT_OK, EXIT_ERROR = 0, 3


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--all", action="store_true", help="include archived (resolved) findings")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.add_argument("--endpoint-url", help="AWS endpoint, e.g. a moto server")
    parser.add_argument("--region", help="Security Hub region (default: the session's)")
    parser.add_argument("--account-id", help="account whose findings to list (default: the caller's)")
    parser.add_argument(
        "--org",
        action="store_true",
        help="every account's driftline findings the caller's Security Hub holds (the administrator account sees "
        "its members' findings)",
    )


def _ours(finding: dict[str, Any], place: Place, org: bool) -> bool:
    """A driftline finding of ``place``'s account, or (``org``) of any account: driftline imports each account's
    findings through that account's own custom product (``product/<account>/default``)."""
    if not str(finding.get("GeneratorId", "")).startswith("driftline/"):
        return False
    if not org:
        return finding.get("ProductArn") == place.product_arn
    account = str(finding.get("AwsAccountId", ""))
    return str(finding.get("ProductArn", "")).endswith(f":product/{account}/default")


def list_findings(clients: Clients, place: Place, include_archived: bool, *, org: bool = False) -> list[dict[str, Any]]:
    filters: dict[str, Any] = {"GeneratorId": [{"Value": "driftline/", "Comparison": "PREFIX"}]}
    if not org:
        filters["ProductArn"] = [{"Value": place.product_arn, "Comparison": "EQUALS"}]
    if not include_archived:
        filters["RecordState"] = [{"Value": "ACTIVE", "Comparison": "EQUALS"}]
    found: list[dict[str, Any]] = []
    for page in clients.securityhub().get_paginator("get_findings").paginate(Filters=filters):  # type: ignore[arg-type]
        found.extend(page["Findings"])  # type: ignore[arg-type]
    return [f for f in found if _ours(f, place, org) and (include_archived or f.get("RecordState") == "ACTIVE")]


def _print_table(findings: list[dict[str, Any]], out: TextIO, *, org: bool = False) -> None:
    accounts = len({f.get("AwsAccountId") for f in findings})
    title = f"{len(findings)} driftline finding(s) in Security Hub" + (f", {accounts} account(s)" if org else "")
    table = Table(title=title)
    for column in ("Account",) * org + ("Severity", "State", "Title", "Owner", "Updated"):
        table.add_column(column, overflow="fold")
    for f in sorted(findings, key=lambda f: (str(f.get("AwsAccountId", "")), f["Id"])):
        severity = f.get("FindingProviderFields", {}).get("Severity", {}).get("Label") or f.get("Severity", {}).get(
            "Label", "?"
        )
        table.add_row(
            *((str(f.get("AwsAccountId", "")),) if org else ()),
            severity,
            f"{f.get('RecordState')}/{f.get('Compliance', {}).get('Status', '?')}",
            f.get("Title", ""),
            f.get("ProductFields", {}).get("driftline/Owner", "-"),
            f.get("UpdatedAt", ""),
        )
    Console(file=out, width=160).print(table)


def run_findings(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    try:
        clients = Clients(endpoint_url=args.endpoint_url, region=args.region)
        account = args.account_id or clients.sts().get_caller_identity()["Account"]
        place = Place(account_id=account, region=clients.region, partition=clients.partition)
        findings = list_findings(clients, place, args.all, org=args.org)
    except (BotoCoreError, ClientError) as exc:
        err.write(f"driftline findings: error: {type(exc).__name__}: {exc}\n")
        return EXIT_ERROR
    if args.format == "json":
        json.dump(findings, out, indent=2, default=str)
        out.write("\n")
    else:
        _print_table(findings, out, org=args.org)
    return EXIT_OK
