"""How events reach a driftline function, shared by every construct that wires one: a DynamoDB stream mapping (partial
batch failures, bounded retries, bisect on error, record age, an on-failure queue) and an EventBridge target (bounded
retries and event age, a dead-letter queue)."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sqs as sqs

from ..constants import (
    EVENT_TARGET_MAX_EVENT_AGE_HOURS,
    EVENT_TARGET_RETRY_ATTEMPTS,
    STREAM_BATCH_SIZE,
    STREAM_MAX_BATCHING_WINDOW_SECONDS,
    STREAM_MAX_RECORD_AGE_HOURS,
    STREAM_PARALLELIZATION_FACTOR,
    STREAM_RETRY_ATTEMPTS,
)


def stream_mapping(function: lambda_.Function, stream_arn: str, failures: sqs.IQueue) -> lambda_.EventSourceMapping:
    return function.add_event_source_mapping(
        "RegistryStream",
        event_source_arn=stream_arn,
        starting_position=lambda_.StartingPosition.TRIM_HORIZON,
        batch_size=STREAM_BATCH_SIZE,
        max_batching_window=Duration.seconds(STREAM_MAX_BATCHING_WINDOW_SECONDS),
        parallelization_factor=STREAM_PARALLELIZATION_FACTOR,
        report_batch_item_failures=True,
        retry_attempts=STREAM_RETRY_ATTEMPTS,
        bisect_batch_on_error=True,
        max_record_age=Duration.hours(STREAM_MAX_RECORD_AGE_HOURS),
        on_failure=sources.SqsDlq(failures),
    )


def event_target(function: lambda_.Function, dead_letters: sqs.IQueue) -> targets.LambdaFunction:
    return targets.LambdaFunction(
        function,
        dead_letter_queue=dead_letters,
        retry_attempts=EVENT_TARGET_RETRY_ATTEMPTS,
        max_event_age=Duration.hours(EVENT_TARGET_MAX_EVENT_AGE_HOURS),
    )
