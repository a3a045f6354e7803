"""The registry stream's event source mapping: partial batch responses, bounded retries, bisect on error, maximum
record age, an SQS on-failure destination, and no filter criteria (status changes are decided in code)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.infrastructure.helpers import of_type, only, references
from tests.infrastructure.synth import REGISTRY_STREAM_ARN, Synthesized

pytestmark = pytest.mark.infra


def _mapping(synthesized: Synthesized) -> dict[str, Any]:
    _, mapping = only(synthesized.resources, "AWS::Lambda::EventSourceMapping")
    props: dict[str, Any] = mapping["Properties"]
    return props


def test_mapping_feeds_the_registry_stream_to_the_registry_change_function(synthesized: Synthesized) -> None:
    # Given the only event source mapping
    props = _mapping(synthesized)
    changes = synthesized.stack.registry_changes
    registry = synthesized.logical_id(synthesized.stack.registry.table)
    # Then it reads the registry table's stream from its oldest record into the registry-change function
    assert props["EventSourceArn"] == {"Fn::GetAtt": [registry, "StreamArn"]}
    assert props["FunctionName"] == {"Ref": synthesized.logical_id(changes.handler.function)}
    assert props["StartingPosition"] == "TRIM_HORIZON"


def test_mapping_bounds_failures(synthesized: Synthesized) -> None:
    # Given the mapping
    props = _mapping(synthesized)
    queue_id = synthesized.logical_id(synthesized.stack.registry_changes.dead_letter_queue)
    # Then one poison record cannot stall the shard: partial batch responses, bisect, 3 retries, records older than
    # an hour given up, and what still fails described in the SQS on-failure destination
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert props["BisectBatchOnFunctionError"] is True
    assert props["MaximumRetryAttempts"] == 3
    assert props["MaximumRecordAgeInSeconds"] == 3600
    assert references(props["DestinationConfig"]["OnFailure"]["Destination"], queue_id)
    assert (props["BatchSize"], props["MaximumBatchingWindowInSeconds"], props["ParallelizationFactor"]) == (10, 1, 1)


def test_mapping_has_no_filter_criteria(every: Synthesized) -> None:
    # Given the mapping, in every configuration
    # Then it has no filter: "status changed" compares the old and new images, which a filter cannot do, and
    # records a filter does not match are discarded (AWS-FACTS section 7); the handler decides in code
    assert "FilterCriteria" not in _mapping(every)


def test_the_on_failure_queue_belongs_to_the_mapping_alone(synthesized: Synthesized) -> None:
    # Given the registry-change DLQ
    queue_id = synthesized.logical_id(synthesized.stack.registry_changes.dead_letter_queue)
    # Then no rule and no async config sends to it: it holds only the stream batches that failed
    rules = of_type(synthesized.resources, "AWS::Events::Rule").values()
    configs = of_type(synthesized.resources, "AWS::Lambda::EventInvokeConfig").values()
    assert not any(references(r, queue_id) for r in rules)
    assert not any(references(c, queue_id) for c in configs)


def test_an_existing_registry_stream_is_mapped_by_arn(existing: Synthesized) -> None:
    # Given a deployment on an existing (central) registry
    # Then the mapping reads the given stream ARN
    assert _mapping(existing)["EventSourceArn"] == REGISTRY_STREAM_ARN
