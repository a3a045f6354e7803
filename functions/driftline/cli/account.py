"""Who the CLI runs as, and what the deployment says about it: the caller's account (STS), which a command's
``--account-id`` must match, and the break-glass list the stack publishes in SSM."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, TextIO

from botocore.exceptions import BotoCoreError, ClientError

from driftline.adapters.aws import Clients
from driftline.domain.errors import DriftlineError

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient

# The stack writes its break-glass list here (stacks/constructs/enforcement.py), as a JSON list of name globs.
BREAK_GLASS_PARAMETER = "/driftline/break-glass-principals"


def caller_account(clients: Clients, expected: str | None) -> tuple[str, str]:
    """(account id, caller ARN) from STS. IAM is read and written in the caller's account only, so an
    ``--account-id`` naming another account is refused before anything is read or written."""
    identity = clients.sts().get_caller_identity()
    account, arn = identity["Account"], identity["Arn"]
    if expected is not None and expected != account:
        raise DriftlineError(
            f"--account-id {expected} is not the account of your credentials ({account}); "
            "driftline reads and changes IAM only in the caller's own account"
        )
    return account, arn


def deployment_break_glass(ssm: SSMClient, err: TextIO) -> tuple[str, ...]:
    """The deployment's break-glass globs; none (with a warning) when the parameter does not exist. Any other
    failure is an error: enforcing without the list could touch a break-glass principal."""
    try:
        value = ssm.get_parameter(Name=BREAK_GLASS_PARAMETER)["Parameter"]["Value"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ParameterNotFound":
            err.write(f"driftline: warning: no deployment break-glass list at {BREAK_GLASS_PARAMETER}\n")
            return ()
        raise DriftlineError(f"reading the break-glass list {BREAK_GLASS_PARAMETER} failed: {exc}") from exc
    except BotoCoreError as exc:
        raise DriftlineError(f"reading the break-glass list {BREAK_GLASS_PARAMETER} failed: {exc}") from exc
    try:
        names = json.loads(value)
    except ValueError as exc:
        raise DriftlineError(f"{BREAK_GLASS_PARAMETER} is not a JSON list of names: {value[:80]!r}") from exc
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise DriftlineError(f"{BREAK_GLASS_PARAMETER} is not a JSON list of names: {value[:80]!r}")
    return tuple(names)
