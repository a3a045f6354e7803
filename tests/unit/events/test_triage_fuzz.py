"""Triage under fire: at least 10,000 generated malformed or random events (random JSON trees, non-objects, real
corpus events with keys deleted, values of the wrong type, huge strings, random ``detail``). None may raise, and
every decision that is not "process" must say why."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from driftline.triggers.cloudtrail import ENFORCING_EVENT_NAMES, EVENT_RULES
from driftline.triggers.triage import Triage, triage
from tests.events import fuzz

pytestmark = pytest.mark.slow

EXAMPLES = 10_000


def check(decision: Triage) -> None:
    assert decision.status in {"process", "rejected", "skipped", "widen", "attempt"}
    if decision.status == "process":
        assert decision.detail is not None and decision.raw_detail is not None and decision.touched is not None
        assert decision.detail.eventName in EVENT_RULES
        assert decision.detail.errorCode is None
        assert decision.touched.refs or decision.touched.groups
    elif decision.status == "widen":  # names nobody: never dropped, the whole account is asked for
        assert decision.detail is not None and decision.touched is not None and decision.touched.widen
        assert decision.detail.errorCode is None and decision.reason.strip()
    elif decision.status == "attempt":  # a failed enforcing call, kept for the ledger
        assert decision.detail is not None and decision.detail.errorCode and decision.reason.strip()
        assert decision.detail.eventName in ENFORCING_EVENT_NAMES
    else:
        assert decision.reason.strip(), decision
        assert decision.detail is None and decision.touched is None


def test_triage_never_raises_and_always_explains() -> None:
    seen: dict[str, int] = {"process": 0, "rejected": 0, "skipped": 0, "widen": 0, "attempt": 0}

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )
    @given(fuzz.malformed_events)
    def property_(event: Any) -> None:
        decision = triage(event)
        check(decision)
        seen[decision.status] += 1

    property_()

    assert sum(seen.values()) >= EXAMPLES
    assert all(seen[status] for status in ("process", "rejected", "skipped", "widen")), seen  # every main outcome
