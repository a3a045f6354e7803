"""Arguments of ``driftline registry …``."""

from __future__ import annotations

import argparse
from datetime import datetime

from driftline.cli.common import add_aws_options, add_output_options
from driftline.domain.identity import IdentityRef


def _time(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no timezone; write e.g. 2026-11-25T12:00:00Z")
    return value


def _aws(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--registry-table", required=True)
    parser.add_argument("--account-id", help="account (default: the caller's, from STS)")
    add_aws_options(parser, region_help="Region of the registry table (default: your profile's)")


def identity(text: str) -> str:
    """An IDENTITY argument: ``kind#name``, or argparse's usage error (exit 2)."""
    try:
        IdentityRef.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc
    return text


def _owner(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("--default-owner must name an owner, not be blank")
    return text


class _Commands:
    """``add_parser`` that also gives each registry subcommand the output options and its own usage line."""

    def __init__(self, parser: argparse.ArgumentParser) -> None:
        self._commands = parser.add_subparsers(dest="registry_command", required=True)

    def add_parser(self, name: str, help: str) -> argparse.ArgumentParser:  # noqa: A002 - argparse's own name
        sub: argparse.ArgumentParser = self._commands.add_parser(name, help=help, description=help)
        sub.set_defaults(parser=sub)
        add_output_options(sub)
        return sub


def add_registry_commands(parser: argparse.ArgumentParser) -> None:
    commands = _Commands(parser)
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
    adopt.add_argument("--default-owner", required=True, type=_owner, help="owner when the tag is absent")
    adopt.add_argument("--dry-run", action="store_true")
    adopt.add_argument("--report-wait", type=float, default=60.0)
    _aws(adopt)
    revoke = commands.add_parser("revoke", help="revoke an identity (kind#name)")
    revoke.add_argument("identity", type=identity, help="kind#name, e.g. user#alice")
    revoke.add_argument("--reason", required=True)
    revoke.add_argument("--ticket", required=True)
    revoke.add_argument("--at", type=_time, help="when the revocation was decided (default: now)")
    _aws(revoke)
    restore = commands.add_parser("restore", help="restore a revoked identity to active")
    restore.add_argument("identity", type=identity, help="kind#name, e.g. user#alice")
    restore.add_argument("--reason", required=True)
    _aws(restore)
    for name, text in (("show", "print one entry"), ("history", "every recorded change of one entry")):
        sub = commands.add_parser(name, help=text)
        sub.add_argument("identity", type=identity, help="kind#name, e.g. user#alice")
        _aws(sub)
