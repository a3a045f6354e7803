"""Fixtures of the findings integration tests: the Security Hub sink wired as ``on_schedule.sink_for`` wires it,
on moto (``mock_aws`` from tests/integration/conftest.py), with a fake clock so the importer never sleeps."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from driftline.adapters.finding_state import DynamoFindingStates
from driftline.adapters.iam_account import Boto3IamReader
from driftline.adapters.securityhub import SecurityHubImporter
from driftline.domain.identity import IdentityRef
from driftline.domain.settings import CompareSettings
from driftline.findings.plan import REFRESH_AFTER, FindingState
from driftline.findings.sink import SecurityHubSink
from driftline.service.pipeline import Evaluation, evaluate_identities, reconcile
from driftline.service.ports import DriftSink
from tests.integration.findings.helpers import PLACE, FakeClock
from tests.integration.support import ACCOUNT, STATE_TABLE, Sandbox, no_sleep


class CountingStates(DynamoFindingStates):
    """The real state table adapter, counting the states it was asked to save."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.saved = 0

    def save(self, account_id: str, region: str, state: FindingState) -> bool:
        self.saved += 1
        return super().save(account_id, region, state)


class Publisher:
    """One moto account with Security Hub enabled; runs reconciles and scoped evaluations through the real sink."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.clients = sandbox.clients
        self.securityhub = self.clients.securityhub()
        self.securityhub.enable_security_hub()
        self.states = CountingStates(self.clients.dynamodb(), STATE_TABLE)
        self.clock = FakeClock()
        self.key_cache = sandbox.dynamo_key_cache()
        self.last_calls: Counter[str] = Counter()

    def importer(self, client: Any = None) -> SecurityHubImporter:
        return SecurityHubImporter(client or self.securityhub, sleep=self.clock.sleep, clock=self.clock)

    def sink(
        self,
        importer: SecurityHubImporter | None = None,
        *,
        now: datetime | None = None,
        refresh_after: timedelta = REFRESH_AFTER,
    ) -> SecurityHubSink:
        if now is None:
            return SecurityHubSink(importer or self.importer(), self.states, PLACE, refresh_after=refresh_after)
        return SecurityHubSink(
            importer or self.importer(), self.states, PLACE, now=lambda: now, refresh_after=refresh_after
        )

    def _counted(self, run: Any) -> Evaluation:
        before = Counter(self.clients.counter.calls)
        saved = self.states.saved
        evaluation: Evaluation = run()
        self.last_calls = Counter(self.clients.counter.calls) - before
        self.last_calls["states.save"] = self.states.saved - saved
        return evaluation

    def reconcile(self, sink: DriftSink | None = None) -> Evaluation:
        return self._counted(
            lambda: reconcile(
                ACCOUNT,
                iam=Boto3IamReader(self.clients.iam(), key_cache=self.key_cache, sleep=no_sleep),
                registry=self.sandbox.registry,
                sink=sink or self.sink(),
                settings=CompareSettings(),
                now=datetime.now(UTC),
            )
        )

    def evaluate(self, refs: Iterable[IdentityRef], sink: DriftSink | None = None) -> Evaluation:
        return self._counted(
            lambda: evaluate_identities(
                ACCOUNT,
                refs,
                iam=Boto3IamReader(self.clients.iam(), sleep=no_sleep),
                registry=self.sandbox.registry,
                sink=sink or self.sink(),
                settings=CompareSettings(),
                now=datetime.now(UTC),
            )
        )

    def writes(self) -> int:
        """Security Hub write calls and finding-state saves of the last run."""
        return self.last_calls["securityhub.BatchImportFindings"] + self.last_calls["states.save"]

    def hub(self) -> dict[str, dict[str, Any]]:
        """driftline's findings in Security Hub by Id, archived included (filtered here: moto ignores Filters)."""
        found: dict[str, dict[str, Any]] = {}
        for page in self.securityhub.get_paginator("get_findings").paginate():
            for finding in page["Findings"]:
                if finding.get("ProductArn") == PLACE.product_arn and finding["GeneratorId"].startswith("driftline/"):
                    found[finding["Id"]] = finding
        return found

    def active(self) -> dict[str, dict[str, Any]]:
        return {i: f for i, f in self.hub().items() if f["RecordState"] == "ACTIVE"}

    def remembered(self) -> dict[str, FindingState]:
        return self.states.load(ACCOUNT, PLACE.region)


@pytest.fixture
def publisher(sandbox: Sandbox) -> Publisher:
    return Publisher(sandbox)
