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


def list_findings(clients: Clients, place: Place, include_archived: bool) -> list[dict[str, Any]]:
    filters: dict[str, Any] = {
        "ProductArn": [{"Value": place.product_arn, "Comparison": "EQUALS"}],
        "GeneratorId": [{"Value": "driftline/", "Comparison": "PREFIX"}],
    }
    if not include_archived:
        filters["RecordState"] = [{"Value": "ACTIVE", "Comparison": "EQUALS"}]
    found: list[dict[str, Any]] = []
    for page in clients.securityhub().get_paginator("get_findings").paginate(Filters=filters):  # type: ignore[arg-type]
        found.extend(page["Findings"])  # type: ignore[arg-type]
    return [
        f
        for f in found
        if f.get("ProductArn") == place.product_arn
        and str(f.get("GeneratorId", "")).startswith("driftline/")
        and (include_archived or f.get("RecordState") == "ACTIVE")
    ]


def _print_table(findings: list[dict[str, Any]], out: TextIO) -> None:
    table = Table(title=f"{len(findings)} driftline finding(s) in Security Hub")
    for column in ("Severity", "State", "Title", "Owner", "Updated"):
        table.add_column(column, overflow="fold")
    for f in sorted(findings, key=lambda f: f["Id"]):
        severity = f.get("FindingProviderFields", {}).get("Severity", {}).get("Label") or f.get("Severity", {}).get(
            "Label", "?"
        )
        table.add_row(
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
        findings = list_findings(clients, place, args.all)
    except (BotoCoreError, ClientError) as exc:
        err.write(f"driftline findings: error: {type(exc).__name__}: {exc}\n")
        return EXIT_ERROR
    if args.format == "json":
        json.dump(findings, out, indent=2, default=str)
        out.write("\n")
    else:
        _print_table(findings, out)
    return EXIT_OK
