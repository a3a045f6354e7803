"""``driftline registry …``: validate, import, export, adopt, revoke, restore, show and history.

A file is validated whole before anything is written; the diff is shown before writing; writes are versioned and
logged (who, when, what) so the registry's past is never lost; a concurrent change is a clear conflict.
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TextIO

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError

from driftline.adapters.iam_account import Boto3IamReader
from driftline.adapters.registry import DynamoRegistry
from driftline.adapters.registry_log import RegistryLog, RegistryWrite, current
from driftline.cli.common import Log, UsageError, clients_for
from driftline.cli.registry_file import dump_registry, load_registry_file
from driftline.cli.terminal import Activity
from driftline.domain.adopt import adopt
from driftline.domain.errors import DriftlineError, RegistryFileError
from driftline.domain.identity import IdentityRef
from driftline.domain.registry import RegistryEntry, RegistrySnapshot, Status
from driftline.domain.registry_diff import RegistryDiff, changed_fields, diff
from driftline.domain.settings import Exclusions

EXIT_OK, EXIT_INVALID, EXIT_ERROR = 0, 1, 3


class RegistryCommand:
    """Clients, account and table of one registry command."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.err: TextIO = getattr(args, "stderr", None) or sys.stderr
        self.say = Log(args, self.err, f"registry {args.registry_command}")
        self.clients = clients_for(args, self.say)
        self.table: str = args.registry_table
        self.account: str = args.account_id or self.clients.sts().get_caller_identity()["Account"]
        self._args = args
        if self.say.verbose:
            self.say.info(f"as {self.actor}: account {self.account}, table {self.table}, Region {self.clients.region}")

    def activity(self, description: str, total: int | None = None) -> Activity:
        """A progress display on stderr for work longer than a second (off with --quiet and --debug)."""
        return Activity(self.err, description, total=total, enabled=not self.say.quiet and not self.say.debug)

    @functools.cached_property
    def actor(self) -> str:
        return str(self.clients.sts().get_caller_identity()["Arn"])

    def log(self) -> RegistryLog:
        return RegistryLog(self.clients.dynamodb(), self.table, actor=self.actor)

    def entries(self) -> list[RegistryEntry]:
        load = DynamoRegistry(self.clients.dynamodb(), self.table).load(self.account)
        if load.problems:
            raise DriftlineError("the registry table holds invalid entries:\n  " + "\n  ".join(load.problems))
        return load.entries


def _print_diff(result: RegistryDiff, out: TextIO) -> None:
    for entry in result.added:
        out.write(f"  + {entry.ref.key} (owner {entry.owner}, {entry.status.value})\n")
    for old, new in result.changed:
        out.write(f"  ~ {new.ref.key}: {', '.join(changed_fields(old, new))}\n")
    for entry in result.removed:
        out.write(f"  - {entry.ref.key}\n")
    out.write(
        f"{len(result.added)} added, {len(result.changed)} changed, {len(result.unchanged)} unchanged, "
        f"{len(result.removed)} removed\n"
    )


def _changes(result: RegistryDiff, note: str) -> list[RegistryWrite]:
    changes = [RegistryWrite(action="put", ref=e.ref, entry=e, note=note) for e in result.added]
    changes += [
        RegistryWrite(action="put", ref=n.ref, entry=n, expected_version=o.version, note=note)
        for o, n in result.changed
    ]
    changes += [
        RegistryWrite(action="delete", ref=e.ref, expected_version=e.version, note=note) for e in result.removed
    ]
    return changes


def _write(ctx: RegistryCommand, changes: list[RegistryWrite], out: TextIO) -> int:
    with ctx.activity("writing the registry", total=len(changes)) as bar:
        conflicts = ctx.log().apply(ctx.account, changes, progress=bar.advance)
    out.write(f"wrote {len(changes) - len(conflicts)} change(s)\n")
    for key in conflicts:
        out.write(f"  conflict: {key} changed meanwhile; not written (run again to see the new state)\n")
    return EXIT_ERROR if conflicts else EXIT_OK


def _complete_history(ctx: RegistryCommand, entries: list[RegistryEntry], out: TextIO, *, dry_run: bool) -> None:
    """Entries a stopped run left without their change-log record get it now (or are named, in a dry run)."""
    missing = ctx.log().complete(ctx.account, entries, dry_run=dry_run)
    if missing:
        verb = "lack" if dry_run else "lacked"
        out.write(f"{len(missing)} entr{'y' if len(missing) == 1 else 'ies'} {verb} a change-log record")
        out.write(" (an import writes them)\n" if dry_run else "; recorded now\n")
        for key in missing[:20]:
            out.write(f"  ! {key}\n")


def cmd_validate(args: argparse.Namespace, out: TextIO) -> int:
    snapshot = load_registry_file(args.file)
    out.write(f"{args.file}: {len(snapshot.entries)} valid entries for account {snapshot.account_id}\n")
    return EXIT_OK


def cmd_import(args: argparse.Namespace, out: TextIO) -> int:
    snapshot = load_registry_file(args.file)  # all-or-nothing: nothing is written unless every entry is valid
    ctx = RegistryCommand(args)
    if snapshot.account_id != ctx.account:
        raise DriftlineError(f"{args.file} is for account {snapshot.account_id}, the table is read for {ctx.account}")
    with ctx.activity("reading the registry") as reading:
        reading.watch(ctx.clients)
        entries = ctx.entries()
    _complete_history(ctx, entries, out, dry_run=args.dry_run)
    result = diff(entries, snapshot.entries, prune=args.prune)
    _print_diff(result, out)
    if args.dry_run or not result.writes:
        out.write("dry run: nothing written\n" if args.dry_run else "nothing to write\n")
        return EXIT_OK
    return _write(ctx, _changes(result, f"import {args.file}"), out)


def cmd_export(args: argparse.Namespace, out: TextIO) -> int:
    ctx = RegistryCommand(args)
    snapshot = RegistrySnapshot(account_id=ctx.account, entries=tuple(sorted(ctx.entries(), key=lambda e: e.ref.key)))
    out.write(dump_registry(snapshot, args.format))
    return EXIT_OK


def cmd_adopt(args: argparse.Namespace, out: TextIO) -> int:
    if not args.default_owner.strip():
        raise UsageError("--default-owner must name an owner, not be blank")
    ctx = RegistryCommand(args)
    with ctx.activity("reading IAM") as reading:
        reading.watch(ctx.clients)
        inventory = Boto3IamReader(ctx.clients.iam(), report_wait_seconds=args.report_wait).read_account(ctx.account)
    exclusions = Exclusions()
    found = adopt(inventory, exclusions, owner_tag=args.owner_tag, default_owner=args.default_owner)
    existing = {e.ref for e in ctx.entries()}
    new = [e for e in found if e.ref not in existing]
    out.write(f"adopting {len(new)} identities ({len(found) - len(new)} already registered)\n")
    for entry in new:
        out.write(f"  + {entry.ref.key} (owner {entry.owner})\n")
    if args.dry_run or not new:
        return EXIT_OK
    return _write(ctx, [RegistryWrite(action="put", ref=e.ref, entry=e, note="adopted from IAM") for e in new], out)


def _already(entry: RegistryEntry, revoke: bool, args: argparse.Namespace) -> str:
    """Why a revoke or restore would change nothing ('' when it would). Revoking a revoked entry again would move
    ``revoked_at`` to now: the open ledger record cancelled, its finding archived, the grace period restarted. Only
    an explicit new time (``--at``) records a new revocation; the ledger then keeps both."""
    if not revoke:
        return "" if entry.is_revoked else "is active already"
    if not entry.is_revoked or entry.revoked_at is None:
        return ""
    since = entry.revoked_at.isoformat()
    if args.at is None:
        return f"is revoked already, since {since} (give --at to record a new revocation time)"
    return f"is revoked already at {since}" if args.at == entry.revoked_at else ""


def _status_change(args: argparse.Namespace, out: TextIO, revoke: bool) -> int:
    ref = IdentityRef.parse(args.identity)
    ctx = RegistryCommand(args)
    entry = current(ctx.clients.dynamodb(), ctx.table, ctx.account, ref)
    if entry is None:
        raise DriftlineError(f"{ref} is not in the registry of account {ctx.account}")
    _complete_history(ctx, [entry], out, dry_run=False)
    unchanged = _already(entry, revoke, args)
    if unchanged:
        out.write(f"{ref}: {unchanged}; nothing written (version {entry.version})\n")
        return EXIT_OK
    if revoke:
        at = args.at or datetime.now(UTC)
        new = entry.model_copy(
            update={"status": Status.REVOKED, "revoked_at": at, "reason": args.reason, "ticket": args.ticket}
        )
    else:
        new = entry.model_copy(update={"status": Status.ACTIVE, "revoked_at": None, "reason": args.reason})
    new = RegistryEntry.model_validate(new.model_dump())
    ctx.log().put_one(
        ctx.account,
        RegistryWrite(
            action="put",
            ref=ref,
            entry=new,
            expected_version=entry.version,
            note=("revoke: " if revoke else "restore: ") + args.reason,
        ),
    )
    out.write(f"{ref}: {'revoked' if revoke else 'restored'} (version {entry.version + 1})\n")
    return EXIT_OK


def cmd_show(args: argparse.Namespace, out: TextIO) -> int:
    ref = IdentityRef.parse(args.identity)
    ctx = RegistryCommand(args)
    entry = current(ctx.clients.dynamodb(), ctx.table, ctx.account, ref)
    if entry is None:
        raise DriftlineError(f"{ref} is not in the registry of account {ctx.account}")
    out.write(entry.model_dump_json(indent=2, exclude_none=True) + "\n")
    return EXIT_OK


def cmd_history(args: argparse.Namespace, out: TextIO) -> int:
    ref = IdentityRef.parse(args.identity)
    ctx = RegistryCommand(args)
    records = RegistryLog(ctx.clients.dynamodb(), ctx.table, actor="-").history(ctx.account, ref)
    if not records:
        out.write(f"{ref}: no recorded changes\n")
    for record in records:
        status = record.entry.status.value if record.entry else "deleted"
        out.write(
            f"{record.at.isoformat()}  v{record.version}  {record.action:<6} {status:<8} by {record.by}"
            f"{'  (' + record.note + ')' if record.note else ''}\n"
        )
    return EXIT_OK


COMMANDS: dict[str, Callable[[argparse.Namespace, TextIO], int]] = {
    "validate": cmd_validate,
    "import": cmd_import,
    "export": cmd_export,
    "adopt": cmd_adopt,
    "revoke": lambda a, o: _status_change(a, o, revoke=True),
    "restore": lambda a, o: _status_change(a, o, revoke=False),
    "show": cmd_show,
    "history": cmd_history,
}


def _one_line(exc: ValidationError) -> str:
    """pydantic's problems on one line: 'owner: String should have at least 1 character; …'."""
    problems = []
    for error in exc.errors():
        field = ".".join(str(p) for p in error["loc"])
        problems.append(f"{field + ': ' if field else ''}{error['msg'].removeprefix('Value error, ')}")
    return "; ".join(problems)


def run_registry(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    args.stderr = err  # for the progress display and notes (RegistryCommand)
    try:
        return COMMANDS[args.registry_command](args, out)
    except UsageError:
        raise
    except RegistryFileError as exc:
        err.write(f"{exc}\n")
        return EXIT_INVALID if args.registry_command == "validate" else EXIT_ERROR
    except DriftlineError as exc:
        err.write(f"driftline registry {args.registry_command}: error: {exc}\n")
        return EXIT_ERROR
    except (BotoCoreError, ClientError) as exc:
        err.write(f"driftline registry {args.registry_command}: error: {type(exc).__name__}: {exc}\n")
        return EXIT_ERROR
    except ValidationError as exc:  # a value from the command line (or IAM) that no registry entry may hold
        err.write(f"driftline registry {args.registry_command}: error: invalid {exc.title}: {_one_line(exc)}\n")
        return EXIT_ERROR
    except ValueError as exc:  # e.g. an IDENTITY that is not kind#name
        err.write(f"driftline registry {args.registry_command}: error: {exc}\n")
        return EXIT_ERROR
