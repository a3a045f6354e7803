"""What every ``driftline`` command shares: exit codes, usage errors, credentials (``--profile``, ``--role-arn``)
and how much is said on stderr (``--quiet``, ``--verbose``, ``--debug``).

Exit codes are the same for every command: 0 clean, 1 drift or findings (where a command looks for them),
2 a usage mistake (anything wrong with the command line itself, found before AWS is asked anything), 3 an error.
"""

from __future__ import annotations

import argparse
import re
import time
from typing import Any, TextIO

import boto3
from botocore.exceptions import ClientError, ProfileNotFound

from driftline.adapters.aws import Clients
from driftline.domain.errors import DriftlineError

EXIT_OK = 0
EXIT_FOUND = 1  # drift (scan, enforce), an invalid file (registry validate), findings (findings --fail-on)
EXIT_USAGE = 2
EXIT_ERROR = 3
EXIT_INTERRUPTED = 130

SESSION_NAME = "driftline-cli"  # the RoleSessionName of --role-arn: CloudTrail shows it as the caller's session
_ROLE_ARN = re.compile(r"^arn:aws(-[a-z]+)*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")


class UsageError(DriftlineError):
    """The command line is wrong (an option missing, two that exclude each other, a malformed value): exit 2 with
    the command's usage, like argparse's own errors."""


def role_arn(text: str) -> str:
    """``--role-arn``'s type: an IAM role ARN, or argparse's usage error."""
    if not _ROLE_ARN.match(text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an IAM role ARN (arn:aws:iam::123456789012:role/NAME, path allowed)"
        )
    return text


def add_output_options(parser: argparse.ArgumentParser) -> None:
    """``--quiet``, ``--verbose`` and ``--debug`` on a subcommand (``driftline --debug CMD`` keeps working: the
    subcommand's copies only set what is given, never a default over the top-level value)."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help="no progress display, no notes"
    )
    group.add_argument(
        "-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="say who the CLI runs as and more"
    )
    group.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="--verbose, every AWS call as it is made, and the traceback of an unexpected error",
    )


def add_aws_options(parser: argparse.ArgumentParser, region_help: str = "AWS Region (default: your profile's)") -> None:
    """Credentials and endpoint of a command that calls AWS."""
    group = parser.add_argument_group("credentials and endpoint")
    group.add_argument("--profile", help="named profile from your AWS config or credentials file")
    group.add_argument(
        "--role-arn",
        type=role_arn,
        help=f"assume this IAM role first (session name {SESSION_NAME}), e.g. a role in another account",
    )
    group.add_argument("--endpoint-url", help="AWS endpoint, e.g. a moto server: http://127.0.0.1:5000")
    group.add_argument("--region", default=None, help=region_help)


def clients_for(args: argparse.Namespace, log: Log | None = None) -> Clients:
    """The command's clients: the default credential chain, or ``--profile``'s; then, with ``--role-arn``, the
    clients of that role (STS AssumeRole with the first credentials, session name ``driftline-cli``).

    A profile that does not exist is a usage error; a role that cannot be assumed is an error (exit 3)."""
    profile = getattr(args, "profile", None)
    try:
        session = boto3.Session(profile_name=profile) if profile else boto3.Session()
    except ProfileNotFound as exc:
        raise UsageError(f"--profile {profile}: no such profile in your AWS config or credentials files") from exc
    clients = Clients(session, endpoint_url=args.endpoint_url, region=args.region)
    if log is not None:
        log.watch(clients)
    arn = getattr(args, "role_arn", None)
    if not arn:
        return clients
    try:
        assumed = clients.assumed(arn, SESSION_NAME)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise DriftlineError(
            f"cannot assume --role-arn {arn}: {error.get('Code', 'Unknown')}: {error.get('Message', '')}"
        ) from exc
    assumed.counter.calls.update(clients.counter.calls)  # the AssumeRole call counts too
    if log is not None:
        log.watch(assumed)
        log.info(f"assumed {arn} as session {SESSION_NAME}" + (f" (profile {profile})" if profile else ""))
    return assumed


class Log:
    """What a command says on stderr beyond its result: notes (``--verbose``), each AWS call (``--debug``).
    ``--quiet`` silences notes and the progress display; warnings and errors are always written."""

    def __init__(self, args: argparse.Namespace, err: TextIO, command: str) -> None:
        self.quiet: bool = bool(getattr(args, "quiet", False))
        self.debug: bool = bool(getattr(args, "debug", False))
        self.verbose: bool = (bool(getattr(args, "verbose", False)) or self.debug) and not self.quiet
        self.err = err
        self.command = command

    def info(self, message: str) -> None:
        if self.verbose:
            self.err.write(f"driftline {self.command}: {message}\n")

    def warning(self, message: str) -> None:
        self.err.write(f"driftline {self.command}: warning: {message}\n")

    def watch(self, clients: Clients) -> None:
        """With ``--debug``, one line per AWS call: operation, HTTP status, milliseconds (never request contents:
        botocore's own debug log would print session tokens)."""
        if not self.debug:
            return
        events = clients.session.events

        def started(context: dict[str, Any], **_: Any) -> None:
            context["driftline_started"] = time.monotonic()

        def finished(http_response: Any, model: Any, context: dict[str, Any], **_: Any) -> None:
            elapsed = (time.monotonic() - context.get("driftline_started", time.monotonic())) * 1000
            status = getattr(http_response, "status_code", "-")
            service = model.service_model.service_name
            self.err.write(f"driftline {self.command}: debug: {service}.{model.name} {status} {elapsed:.0f} ms\n")

        events.register("before-call", started)
        events.register("after-call", finished)
