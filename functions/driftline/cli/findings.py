"""``driftline findings``: driftline's findings as Security Hub holds them (active ones by default).

Filters are sent to Security Hub and applied again here, because some implementations (moto) ignore them.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

from botocore.exceptions import BotoCoreError, ClientError
from rich.table import Table
from rich.text import Text

from driftline.adapters.aws import Clients
from driftline.cli.common import Log, UsageError, add_aws_options, add_output_options, clients_for
from driftline.cli.render import STYLE
from driftline.cli.terminal import console
from driftline.domain.drift import Severity
from driftline.domain.errors import DriftlineError
from driftline.findings.asff import Place

EXIT_OK, EXIT_FOUND, EXIT_ERROR = 0, 1, 3
NEVER = "never"


def _fail_on(text: str) -> str:
    if text.upper() in Severity.__members__:
        return text.upper()
    if text.lower() == NEVER:
        return NEVER
    raise argparse.ArgumentTypeError(
        f"invalid severity {text!r} (choose from {', '.join(s.value for s in Severity)}, {NEVER})"
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--all", action="store_true", help="include archived (resolved) findings")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.add_argument("--account-id", help="account whose findings to list (default: the caller's)")
    parser.add_argument(
        "--fail-on",
        type=_fail_on,
        default=NEVER,
        metavar="SEVERITY",
        help="exit 1 when an ACTIVE finding of this severity or worse is listed (default: never; the listing "
        "itself is not a check)",
    )
    add_aws_options(parser, region_help="Security Hub Region (default: your profile's)")
    add_output_options(parser)
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


def severity_of(finding: dict[str, Any]) -> str:
    label = finding.get("FindingProviderFields", {}).get("Severity", {}).get("Label")
    return str(label or finding.get("Severity", {}).get("Label", "?"))


def failing(findings: list[dict[str, Any]], fail_on: str) -> list[dict[str, Any]]:
    """The ACTIVE findings at or above ``fail_on`` (none for 'never')."""
    if fail_on == NEVER:
        return []
    threshold = Severity(fail_on).rank
    return [
        f
        for f in findings
        if f.get("RecordState") == "ACTIVE"
        and severity_of(f) in Severity.__members__
        and Severity(severity_of(f)).rank >= threshold
    ]


def _print_table(findings: list[dict[str, Any]], out: TextIO, *, org: bool = False) -> None:
    accounts = len({f.get("AwsAccountId") for f in findings})
    title = f"{len(findings)} driftline finding(s) in Security Hub" + (f", {accounts} account(s)" if org else "")
    table = Table(title=title)
    for column in ("Account",) * org + ("Severity", "State", "Title", "Owner", "Updated"):
        table.add_column(column, overflow="fold")
    for f in sorted(findings, key=lambda f: (str(f.get("AwsAccountId", "")), f["Id"])):
        severity = severity_of(f)
        style = STYLE[Severity(severity)] if severity in Severity.__members__ else ""
        table.add_row(
            *((Text(str(f.get("AwsAccountId", ""))),) if org else ()),
            Text(severity, style=style),
            Text(f"{f.get('RecordState')}/{f.get('Compliance', {}).get('Status', '?')}"),
            Text(str(f.get("Title", ""))),
            Text(str(f.get("ProductFields", {}).get("driftline/Owner", "-"))),
            Text(str(f.get("UpdatedAt", ""))),
        )
    console(out).print(table)


def run_findings(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    log = Log(args, err, "findings")
    try:
        clients = clients_for(args, log)
        account = args.account_id or clients.sts().get_caller_identity()["Account"]
        log.info(f"account {account}, Region {clients.region}" + (", every member account" if args.org else ""))
        place = Place(account_id=account, region=clients.region, partition=clients.partition)
        findings = list_findings(clients, place, args.all, org=args.org)
    except (BotoCoreError, ClientError) as exc:
        err.write(f"driftline findings: error: {type(exc).__name__}: {exc}\n")
        return EXIT_ERROR
    except UsageError:
        raise
    except DriftlineError as exc:  # e.g. a --role-arn that cannot be assumed
        err.write(f"driftline findings: error: {exc}\n")
        return EXIT_ERROR
    if args.format == "json":
        json.dump(findings, out, indent=2, default=str)
        out.write("\n")
    else:
        _print_table(findings, out, org=args.org)
    fail_on = getattr(args, "fail_on", NEVER)
    above = failing(findings, fail_on)
    if above:
        log.info(f"{len(above)} active finding(s) at or above {fail_on} (--fail-on)")
    return EXIT_FOUND if above else EXIT_OK
