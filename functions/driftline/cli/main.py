"""The ``driftline`` command: subcommands for operators.

Exit codes, the same for every command (README, "Exit codes"): 0 clean, 1 drift or findings where a command looks
for them, 2 a usage mistake, 3 an error. ``main`` returns the code; it never raises SystemExit.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence

from driftline import __version__
from driftline.cli import demo, evidence, findings, restore_access, scan
from driftline.cli.common import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_USAGE, UsageError, add_output_options
from driftline.cli.registry_args import add_registry_commands
from driftline.cli.registry_cmd import run_registry


def _command(
    commands: argparse._SubParsersAction,  # type: ignore[type-arg]
    name: str,
    help_text: str,
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(name, help=help_text, description=help_text)
    parser.set_defaults(parser=parser)
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="driftline",
        description="Keep live IAM honest against the registry.",
        epilog="Exit codes: 0 clean, 1 drift or findings, 2 usage mistake, 3 error.",
    )
    parser.add_argument("--version", action="version", version=f"driftline {__version__}")
    parser.add_argument("--debug", action="store_true", help="on an unexpected error, print the whole traceback")
    parser.set_defaults(quiet=False, verbose=False, parser=parser)
    commands = parser.add_subparsers(dest="command", required=True)
    scan_parser = _command(commands, "scan", "reconcile an account with its registry and print every drift")
    scan.add_arguments(scan_parser)
    scan_parser.set_defaults(run=scan.run_scan)
    enforce_parser = _command(
        commands, "enforce", "enforce unenforced revocations with reversible steps (--dry-run prints the plan)"
    )
    scan.add_enforce_arguments(enforce_parser)
    enforce_parser.set_defaults(run=scan.run_scan)
    restore_parser = _command(
        commands, "restore-access", "undo driftline's enforcement steps on one identity (after registry restore)"
    )
    restore_access.add_arguments(restore_parser)
    restore_parser.set_defaults(run=restore_access.run_restore_access)
    registry_parser = _command(commands, "registry", "validate, import, export, adopt, revoke, restore, history")
    add_registry_commands(registry_parser)
    registry_parser.set_defaults(run=run_registry)
    evidence_parser = _command(commands, "evidence", "export the revocation ledger (csv, json, html)")
    evidence.add_arguments(evidence_parser)
    evidence_parser.set_defaults(run=evidence.run_evidence)
    findings_parser = _command(commands, "findings", "list driftline's findings in Security Hub")
    findings.add_arguments(findings_parser)
    findings_parser.set_defaults(run=findings.run_findings)
    demo_parser = _command(commands, "demo", "run driftline on an embedded moto account with every drift type")
    demo_parser.add_argument("--format", choices=("table", "json"), default="table")
    add_output_options(demo_parser)
    demo_parser.set_defaults(run=demo.run_demo)
    return parser


def _usage_error(parser: argparse.ArgumentParser, message: str) -> int:
    """What argparse prints for its own usage errors: the usage line, then ``prog: error: message``."""
    parser.print_usage(sys.stderr)
    sys.stderr.write(f"{parser.prog}: error: {message}\n")
    return EXIT_USAGE


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command and return its exit code. An unexpected exception is an error (exit 3, one line naming it;
    the traceback with ``--debug``), never exit 1, which ``scan`` uses for "drift found"."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # argparse: a usage error (2), or --help / --version (0)
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else EXIT_USAGE)
    try:
        code: int = args.run(args)
    except UsageError as exc:
        return _usage_error(args.parser, str(exc))
    except KeyboardInterrupt:
        sys.stderr.write("driftline: interrupted\n")
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - the CLI's last line of defence: report, never crash with exit 1
        if args.debug:
            traceback.print_exc()
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        hint = "" if args.debug else " (--debug prints the traceback)"
        sys.stderr.write(f"driftline {args.command}: unexpected error: {type(exc).__name__}: {message}{hint}\n")
        return EXIT_ERROR
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
