"""Dead-letter queues: encrypted (SQS-managed keys, which EventBridge and Lambda can write to), TLS only, 14 days."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from .. import nag
from ..constants import DLQ_RETENTION_DAYS


def dead_letter_queue(scope: Construct, construct_id: str, *, holds: str) -> sqs.Queue:
    """A dead-letter queue for ``holds`` (a phrase naming what ends up in it, for the acknowledgment's reason)."""
    queue = sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=Duration.days(DLQ_RETENTION_DAYS),
    )
    nag.acknowledge(
        queue,
        "AwsSolutions-SQS3",
        f"This queue is itself the dead-letter queue for {holds}; a dead-letter queue of a dead-letter queue would "
        "only move the problem, and an alarm on its depth reports every message.",
    )
    return queue
