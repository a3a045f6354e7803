"""Shared helpers of the findings integration tests: findings to import, and a fake clock for the importer."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from driftline.domain.drift import Drift, DriftType, Severity
from driftline.domain.identity import IdentityRef, Kind
from driftline.domain.observed import Inventory
from driftline.findings.asff import Place, to_asff
from tests.integration.support import ACCOUNT

REGION = "us-east-1"
PLACE = Place(account_id=ACCOUNT, region=REGION)
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
EMPTY = Inventory(account_id=ACCOUNT, observed_at=NOW)


def findings(count: int) -> list[dict[str, Any]]:
    """``count`` valid ASFF findings with distinct Ids (missing-identity drifts on user0, user1, ...)."""
    return [
        to_asff(
            Drift(
                type=DriftType.MISSING_IDENTITY,
                severity=Severity.INFORMATIONAL,
                identity=IdentityRef(kind=Kind.USER, name=f"user{i}"),
                owner="team@example.com",
                summary=f"user user{i} is in the registry but not in IAM",
            ),
            PLACE,
            EMPTY,
            created_at=NOW,
            updated_at=NOW,
        )
        for i in range(count)
    ]


def ok(count: int) -> dict[str, Any]:
    """A BatchImportFindings response where all ``count`` findings succeeded."""
    return {"FailedCount": 0, "SuccessCount": count, "FailedFindings": []}


def failing(
    total: int, failed: list[dict[str, Any]], code: str = "InvalidInput", message: str = "bad"
) -> dict[str, Any]:
    """A response (HTTP 200) where the findings ``failed`` were rejected with ``code``."""
    return {
        "FailedCount": len(failed),
        "SuccessCount": total - len(failed),
        "FailedFindings": [{"Id": f["Id"], "ErrorCode": code, "ErrorMessage": message} for f in failed],
    }


class FakeClock:
    """Monotonic time that only moves when the importer sleeps (or a test advances it)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
