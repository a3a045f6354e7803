"""Registry stream records under fire (issue #13: 1,670 of 5,000 mutated records raised). Five thousand mutants of
the real record shapes: wrong types at every level of the record and of its images, DynamoDB attribute values of the
wrong or an unknown type, times at the edge of the range, lone surrogates. ``classify`` either classifies the record,
says it is not a registry entry (None), or raises BadRegistryImage with a reason: never anything else, so a malformed
record is logged and counted, never sent back to be retried."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from driftline.triggers.registry_stream import BadRegistryImage, RegistryChange, classify
from tests.events import fuzz

pytestmark = pytest.mark.slow

EXAMPLES = 5_000


def test_classify_never_raises_anything_but_a_rejection() -> None:
    outcomes: Counter[str] = Counter()

    @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(fuzz.malformed_stream_records())
    def property_(record: Any) -> None:
        try:
            change = classify(record)
        except BadRegistryImage as exc:
            assert str(exc).strip()
            outcomes["rejected"] += 1
            return
        outcomes["ignored" if change is None else "classified"] += 1
        assert change is None or isinstance(change, RegistryChange)

    property_()

    assert sum(outcomes.values()) >= EXAMPLES
    assert outcomes["rejected"] and outcomes["classified"] and outcomes["ignored"], outcomes
