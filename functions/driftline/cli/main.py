"""The ``driftline`` command: subcommands for operators. Exit codes: 0 clean, 1 drift found, 2 usage, 3 error."""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence

from driftline import __version__
from driftline.cli import demo, evidence, findings, restore_access, scan
from driftline.cli.registry_args import add_registry_commands
from driftline.cli.registry_cmd import run_registry


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="driftline", description="Keep live IAM honest against the registry.")
    parser.add_argument("--version", action="version", version=f"driftline {__version__}")
    parser.add_argument("--debug", action="store_true", help="on an unexpected error, print the whole traceback")
    commands = parser.add_subparsers(dest="command", required=True)
    scan_parser = commands.add_parser("scan", help="reconcile an account with its registry and print every drift")
    scan.add_arguments(scan_parser)
    scan_parser.set_defaults(run=scan.run_scan)
    enforce_parser = commands.add_parser(
        "enforce", help="enforce unenforced revocations with reversible steps (--dry-run prints the plan)"
    )
    scan.add_enforce_arguments(enforce_parser)
    enforce_parser.set_defaults(run=scan.run_scan)
    restore_parser = commands.add_parser(
        "restore-access", help="undo driftline's enforcement steps on one identity (after registry restore)"
    )
    restore_access.add_arguments(restore_parser)
    restore_parser.set_defaults(run=restore_access.run_restore_access)
    registry_parser = commands.add_parser("registry", help="validate, import, export, adopt, revoke, restore, history")
    add_registry_commands(registry_parser)
    registry_parser.set_defaults(run=run_registry)
    evidence_parser = commands.add_parser("evidence", help="export the revocation ledger (csv, json, html)")
    evidence.add_arguments(evidence_parser)
    evidence_parser.set_defaults(run=evidence.run_evidence)
    findings_parser = commands.add_parser("findings", help="list driftline's findings in Security Hub")
    findings.add_arguments(findings_parser)
    findings_parser.set_defaults(run=findings.run_findings)
    demo_parser = commands.add_parser("demo", help="run driftline on an embedded moto account with every drift type")
    demo_parser.add_argument("--format", choices=("table", "json"), default="table")
    demo_parser.set_defaults(run=demo.run_demo)
    return parser


EXIT_ERROR = 3


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command. An unexpected exception is an error (exit 3, one line naming it; the traceback with
    ``--debug``), never exit 1, which ``scan`` uses for "drift found"."""
    args = build_parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except KeyboardInterrupt:
        sys.stderr.write("driftline: interrupted\n")
        return 130
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
