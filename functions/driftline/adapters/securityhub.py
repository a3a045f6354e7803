"""BatchImportFindings done right: batches of at most 100, paced under 10 calls a second, every response's
``FailedFindings`` read (HTTP 200 can hide failures), only the failed findings retried with backoff, and what still
fails reported by id with its error code (AWS-FACTS section 4). Throttling errors are retried by botocore first.
Given the time left (a Lambda function's), the import stops before it would overrun and says what it did not send.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict, Field

from driftline.domain.errors import DriftlineError

if TYPE_CHECKING:
    from mypy_boto3_securityhub import SecurityHubClient

# The AWS actions this module calls, by what they act on: stacks/constants.py grants them from here, and
# tests/infrastructure/test_code_calls_are_granted.py checks them against the calls in this file.
PERMISSIONS: Final[dict[str, tuple[str, ...]]] = {"product": ("securityhub:BatchImportFindings",)}

BATCH_LIMIT = 100
MIN_INTERVAL = 0.1  # 10 TPS per account and region
ROUNDS = 4
# With a time limit (a Lambda function's remaining time), no call starts with less than CALL_ALLOWANCE + RESERVE
# seconds left: a call retried by botocore under throttling takes a few seconds (the Security Hub client makes at
# most 3 attempts, see adapters/aws.py), and RESERVE leaves the caller time to remember what was accepted.
CALL_ALLOWANCE = 10.0
RESERVE = 5.0
UNAVAILABLE = {"InvalidAccessException", "InvalidAccess", "AccessDeniedException"}


class SecurityHubUnavailable(DriftlineError):
    """Security Hub CSPM is not enabled here, or driftline may not import findings: nothing can be published."""


class ImportResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    succeeded: list[str] = Field(default_factory=list)
    failed: dict[str, str] = Field(default_factory=dict, description="finding id -> 'ErrorCode: message'")
    calls: int = 0
    error: str | None = None
    deferred: list[str] = Field(default_factory=list, description="not sent: the time limit came first")


class OutOfTime(Exception):
    """The time limit leaves no room for another call or wait."""


class SecurityHubImporter:
    """``remaining`` (seconds left, e.g. from the Lambda context) bounds the whole import: what cannot be sent in
    time is ``deferred``, never remembered as sent, so the next run plans it again."""

    def __init__(
        self,
        client: SecurityHubClient,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        remaining: Callable[[], float] | None = None,
    ) -> None:
        self._client = client
        self._sleep = sleep
        self._clock = clock
        self._remaining = remaining
        self._last_call = float("-inf")

    def _room_for(self, seconds: float) -> None:
        if self._remaining is not None and self._remaining() < seconds + CALL_ALLOWANCE + RESERVE:
            raise OutOfTime

    def import_findings(self, findings: Sequence[dict[str, Any]]) -> ImportResult:
        """Import every finding; raise SecurityHubUnavailable only when nothing was accepted, otherwise report the
        findings not sent as failed (``error`` says why), so the batches already accepted are remembered."""
        result = ImportResult()
        for start in range(0, len(findings), BATCH_LIMIT):
            try:
                self._import_batch(list(findings[start : start + BATCH_LIMIT]), result)
            except OutOfTime:
                settled = set(result.succeeded) | set(result.failed)
                result.deferred = [f["Id"] for f in findings[start:] if f["Id"] not in settled]
                result.error = (
                    f"stopped at the function's time limit: {len(result.deferred)} finding(s) not sent, "
                    "left for the next run"
                )
                break
            except SecurityHubUnavailable as exc:
                if not result.succeeded:
                    raise
                done = set(result.succeeded)
                result.failed.update({f["Id"]: str(exc) for f in findings[start:] if f["Id"] not in done})
                result.error = str(exc)
                break
        return result

    def _import_batch(self, batch: list[dict[str, Any]], result: ImportResult) -> None:
        pending = batch
        errors: dict[str, str] = {}
        for attempt in range(ROUNDS):
            if attempt:  # no point waiting after the last round, nor before the first
                pause = min(0.2 * 2 ** (attempt - 1), 5.0)
                try:
                    self._room_for(pause)
                except OutOfTime:
                    break  # out of time for another round: these are failed (with their error), not deferred
                self._sleep(pause)
            else:
                self._room_for(0.0)
            failed = self._call(pending, result)
            errors.update(failed)
            result.succeeded.extend(f["Id"] for f in pending if f["Id"] not in failed)
            pending = [f for f in pending if f["Id"] in failed]
            if not pending:
                return
        result.failed.update({f["Id"]: errors[f["Id"]] for f in pending})

    def _call(self, findings: list[dict[str, Any]], result: ImportResult) -> dict[str, str]:
        """One BatchImportFindings call; the ids that failed, with their error."""
        assert 0 < len(findings) <= BATCH_LIMIT
        wait = self._last_call + MIN_INTERVAL - self._clock()
        if wait > 0:
            self._sleep(wait)
        self._last_call = self._clock()
        result.calls += 1
        try:
            answer = self._client.batch_import_findings(Findings=findings)  # type: ignore[arg-type]
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code", "Unknown"))
            if code in UNAVAILABLE:
                raise SecurityHubUnavailable(
                    f"Security Hub refused the import ({code}: {error.get('Message', '')}); is Security Hub CSPM "
                    "enabled in this account and region, and may this role call securityhub:BatchImportFindings?"
                ) from exc
            return {f["Id"]: f"{code}: {error.get('Message', '')}" for f in findings}
        except BotoCoreError as exc:
            return {f["Id"]: f"{type(exc).__name__}: {exc}" for f in findings}
        failed = {
            item["Id"]: f"{item.get('ErrorCode', 'Unknown')}: {item.get('ErrorMessage', '')}"
            for item in answer.get("FailedFindings", [])
        }
        if failed and len(failed) == len(findings) and all(e.split(":")[0] in UNAVAILABLE for e in failed.values()):
            raise SecurityHubUnavailable(
                f"Security Hub rejected every finding with {next(iter(failed.values()))}; is Security Hub CSPM "
                "enabled in this account and region?"
            )
        return failed
