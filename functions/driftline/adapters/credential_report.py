"""Getting a complete IAM credential report: generate, poll within a bounded wait, fetch and parse.

IAM regenerates the report at most every 4 hours; inside that window GenerateCredentialReport returns COMPLETE at
once and the existing report is served (AWS-FACTS section 2).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from botocore.exceptions import ClientError

from driftline.adapters.iam_errors import error_code, iam_call
from driftline.adapters.iam_parse import ReportRow, parse_credential_report
from driftline.domain.errors import CredentialReportUnavailable

if TYPE_CHECKING:
    from mypy_boto3_iam import IAMClient

# The AWS actions this module calls, by what they act on: stacks/constants.py grants them from here, and
# tests/infrastructure/test_code_calls_are_granted.py checks them against the calls in this file.
PERMISSIONS: Final[dict[str, tuple[str, ...]]] = {
    "account": ("iam:GenerateCredentialReport", "iam:GetCredentialReport")
}

_NOT_READY = {"ReportInProgress", "ReportNotPresent", "ReportExpired"}


def fetch_credential_report(
    iam: IAMClient,
    *,
    wait_seconds: float = 60.0,
    poll_seconds: float = 0.25,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, ReportRow]:
    """Return the credential report's rows by user name, or raise CredentialReportUnavailable after ``wait_seconds``."""
    deadline = clock() + wait_seconds
    while True:
        with iam_call("GenerateCredentialReport"):
            state = iam.generate_credential_report().get("State")
        if state == "COMPLETE":
            try:
                content = iam.get_credential_report()["Content"]
            except ClientError as exc:
                if error_code(exc) not in _NOT_READY:
                    with iam_call("GetCredentialReport"):
                        raise
            else:
                return parse_credential_report(content)
        if clock() + poll_seconds > deadline:
            raise CredentialReportUnavailable(
                f"the IAM credential report was not ready after {wait_seconds:.0f} s (last state {state}); "
                "the next run will try again"
            )
        sleep(poll_seconds)
        poll_seconds = min(poll_seconds * 2, 5.0)  # IAM usually finishes within seconds; back off to 5 s
