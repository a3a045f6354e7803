"""The HTML evidence report's durations (``cli/evidence_html.py``), pure: what an auditor reads for time to enforce
and open age."""

from __future__ import annotations

from datetime import timedelta

import pytest

from driftline.cli.evidence import row
from driftline.cli.evidence_html import _duration, render_html
from driftline.domain.ledger import Attempt, advance, log_attempt
from tests.unit.revocations.support import ENFORCED, REVOKED_AT, check, cloudtrail, opened


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0, "0 s"),
        (42, "42 s"),
        (59.4, "59 s"),
        (60, "1 min"),
        (8225, "2.3 h"),
        (86400 * 3, "3.0 d"),
        ("", ""),
    ],
)
def test_durations_are_readable_at_every_scale(seconds: float | str, shown: str) -> None:
    """``seconds`` must read as ``shown``: under a minute in seconds (42 s used to read "1 min", and 20 s "0 min"),
    then minutes, hours up to two days, days; an empty cell stays empty."""
    assert _duration(seconds) == shown


def test_a_revocation_enforced_within_seconds_shows_its_seconds() -> None:
    """A revocation enforced by a CloudTrail event 20 s after it was requested must show "20 s" in the table and on
    the chart, never "0 min" (which reads as instantaneous, or as missing)."""
    # Given a record enforced 20 seconds after the request
    event = cloudtrail(REVOKED_AT + timedelta(seconds=20), "ev-20")
    record = advance(
        opened(REVOKED_AT + timedelta(seconds=5)), check(ENFORCED), REVOKED_AT + timedelta(minutes=1), [event]
    )
    assert record is not None and record.seconds_to_enforce == 20.0
    now = REVOKED_AT + timedelta(hours=1)

    # When the report is rendered
    page = render_html([record], [row(record, now)], "123456789012", now)

    # Then the seconds are shown
    assert page.count(">20 s<") == 2  # the chart's label and the table cell
    assert "0 min" not in page


def test_a_refused_enforcing_call_is_in_the_csv_row_and_the_html() -> None:
    """An attempt AWS refused (an SCP denied UpdateAccessKey) is evidence too: the export names who tried, when,
    what, and the error, escaped in HTML."""
    record = opened()
    attempt = Attempt(
        at=REVOKED_AT + timedelta(hours=2),
        event_name="UpdateAccessKey",
        error_code="AccessDenied",
        event_id="ev-denied",
        actor_arn="arn:aws:iam::123456789012:user/<secops>",
        target="access key AKIAQWERTYUIOPASDFGH",
    )
    record = log_attempt(record, attempt) or record
    now = REVOKED_AT + timedelta(hours=3)

    cells = row(record, now)
    page = render_html([record], [cells], "123456789012", now)

    assert cells["denied_attempts"] == (
        f"an attempt by arn:aws:iam::123456789012:user/<secops> at {attempt.at.isoformat()} to UpdateAccessKey on "
        "access key AKIAQWERTYUIOPASDFGH was denied (AccessDenied)"
    )
    assert "user/&lt;secops&gt;" in page and "<secops>" not in page
    assert log_attempt(record, attempt) is None  # the same attempt twice is kept once
