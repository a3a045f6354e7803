"""Arguments of ``driftline registry …``."""

from __future__ import annotations

import argparse
from datetime import datetime


def _time(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no timezone; write e.g. 2026-11-25T12:00:00Z")
    return value


def _aws(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--registry-table", required=True)
    parser.add_argument("--account-id", help="account (default: the caller's, from STS)")
    parser.add_argument("--endpoint-url", help="AWS endpoint, e.g. a moto server")
    parser.add_argument("--region")


def add_registry_commands(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(dest="registry_command", required=True)
    validate = commands.add_parser("validate", help="check a registry file (YAML, JSON or CSV); exit 1 if invalid")
    validate.add_argument("file")
    imp = commands.add_parser("import", help="write a registry file to the table (validated first, diff shown)")
    imp.add_argument("file")
    imp.add_argument("--dry-run", action="store_true", help="show the diff, write nothing")
    imp.add_argument("--prune", action="store_true", help="also delete entries the file does not contain")
    _aws(imp)
    export = commands.add_parser("export", help="print the registry (round-trips through import)")
    export.add_argument("--format", choices=("yaml", "json", "csv"), default="yaml")
    _aws(export)
    adopt = commands.add_parser("adopt", help="register today's IAM identities as they are")
    adopt.add_argument("--owner-tag", help="IAM tag whose value names the owner")
    adopt.add_argument("--default-owner", required=True, help="owner when the tag is absent")
    adopt.add_argument("--dry-run", action="store_true")
    adopt.add_argument("--report-wait", type=float, default=60.0)
    _aws(adopt)
    revoke = commands.add_parser("revoke", help="revoke an identity (kind#name)")
    revoke.add_argument("identity")
    revoke.add_argument("--reason", required=True)
    revoke.add_argument("--ticket", required=True)
    revoke.add_argument("--at", type=_time, help="when the revocation was decided (default: now)")
    _aws(revoke)
    restore = commands.add_parser("restore", help="restore a revoked identity to active")
    restore.add_argument("identity")
    restore.add_argument("--reason", required=True)
    _aws(restore)
    for name, text in (("show", "print one entry"), ("history", "every recorded change of one entry")):
        sub = commands.add_parser(name, help=text)
        sub.add_argument("identity")
        _aws(sub)
