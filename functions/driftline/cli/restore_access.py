"""``driftline restore-access IDENTITY``: undo every step driftline took to enforce a revocation.

Each step has one exact reverse (reactivate a credential, detach the deny policy, put the previous permissions
boundary back); each is written to the ledger as ``undone``. The registry must say the identity is active again
first (``driftline registry restore``): otherwise the next reconcile would enforce the revocation once more.
``--dry-run`` prints the ``aws iam`` calls instead, for operators who undo by hand.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import TextIO

from botocore.exceptions import BotoCoreError, ClientError

from driftline.adapters.ledger import DynamoLedger
from driftline.adapters.registry import DynamoRegistry
from driftline.adapters.restorer import Boto3Restorer
from driftline.cli.account import caller_account
from driftline.cli.common import Log, UsageError, add_aws_options, add_output_options, clients_for
from driftline.cli.registry_args import identity
from driftline.domain.errors import DriftlineError
from driftline.domain.identity import IdentityRef
from driftline.service.enforcement import restore_access

EXIT_OK, EXIT_ERROR = 0, 3


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("identity", type=identity, help="kind#name, e.g. user#alice or role#deploy-bot")
    parser.add_argument("--state-table", required=True, help="the detector's state table (holds the ledger)")
    parser.add_argument("--registry-table", required=True, help="the registry (must no longer revoke the identity)")
    parser.add_argument("--account-id", help="the account you expect: refused when it is not the caller's (STS)")
    parser.add_argument(
        "--dry-run", action="store_true", help="print the aws iam calls that would undo, change nothing"
    )
    parser.add_argument("--force", action="store_true", help="undo even though the registry still revokes it")
    add_aws_options(parser, region_help="Region of the tables (default: your profile's)")
    add_output_options(parser)


def run_restore_access(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    log = Log(args, err, "restore-access")
    try:
        ref = IdentityRef.parse(args.identity)
        clients = clients_for(args, log)
        account, caller = caller_account(clients, args.account_id)
        log.info(f"as {caller} in account {account}, Region {clients.region}")
        entry = DynamoRegistry(clients.dynamodb(), args.registry_table).get(account, ref)
        if entry is not None and entry.is_revoked and not args.force and not args.dry_run:
            raise DriftlineError(
                f"the registry still revokes {ref}: restore it first (driftline registry restore {ref}), or the next "
                "reconcile enforces the revocation again; --force undoes anyway"
            )
        ledger = DynamoLedger(clients.dynamodb(), args.state_table)
        records = sorted(ledger.records(account, [ref.key]), key=lambda r: r.requested_at)
        if not records:
            raise DriftlineError(f"the ledger has no revocation of {ref} in account {account}")
        restorer = None if args.dry_run else Boto3Restorer(clients.iam())
        undone = restore_access(account, records[-1], restorer=restorer, ledger=ledger, now=datetime.now(UTC))
    except UsageError:
        raise
    except (DriftlineError, ValueError) as exc:
        err.write(f"driftline restore-access: error: {exc}\n")
        return EXIT_ERROR
    except (BotoCoreError, ClientError) as exc:
        err.write(f"driftline restore-access: error: {type(exc).__name__}: {exc}\n")
        return EXIT_ERROR
    if not undone:
        out.write(f"{ref}: driftline took no step that is still in place; nothing to undo\n")
    for action, command in undone:
        verb = "would undo" if args.dry_run else "undone"
        out.write(f"{verb}: {action.step.value} {action.target}\n    {command}\n")
    return EXIT_OK
