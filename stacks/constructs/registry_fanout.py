"""The central registry's one stream reader (with ``driftline:organizationId``): every entry's change is put on the
default event bus of the account it belongs to, whose registry-change function takes it as a stream record.

DynamoDB Streams serves about two readers per shard: with this reader and the central account's own registry-change
function, the stream has two, however many members there are. The function may put events only on default buses of
the organisation's accounts (``aws:ResourceOrgID``); each member's bus admits only this account, and only events of
driftline's registry source (stacks/constructs/registry_changes.py).
"""

from __future__ import annotations

from aws_cdk import Aws, Duration
from aws_cdk import aws_iam as iam
from constructs import Construct

from .. import nag
from ..constants import (
    EVENT_MEMORY_MB,
    EVENT_TIMEOUT_SECONDS,
    REGISTRY_FANOUT_HANDLER,
)
from .delivery import stream_mapping
from .function import DriftlineFunction
from .permissions import registry_stream_read_statement
from .queues import dead_letter_queue


def member_buses() -> str:
    return f"arn:{Aws.PARTITION}:events:{Aws.REGION}:*:event-bus/default"


class RegistryFanOut(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment: dict[str, str],
        registry_stream_arn: str,
        organization_id: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self.dead_letter_queue = dead_letter_queue(
            self, "RegistryFanOutDeadLetterQueue", holds="registry stream batches not forwarded after retries"
        )
        self.handler = DriftlineFunction(
            self,
            "RegistryFanOutFunction",
            handler=REGISTRY_FANOUT_HANDLER,
            description="driftline: forwards the central registry's changes to each member account's default bus",
            environment=environment,
            memory_size=EVENT_MEMORY_MB,
            timeout=Duration.seconds(EVENT_TIMEOUT_SECONDS),
        )
        self.handler.add_to_role(
            registry_stream_read_statement(registry_stream_arn),
            iam.PolicyStatement(
                sid="ForwardToMemberBuses",
                actions=["events:PutEvents"],
                resources=[member_buses()],
                conditions={"StringEquals": {"aws:ResourceOrgID": organization_id}},
            ),
        )
        nag.acknowledge(
            self.handler.role,
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:events:<AWS::Region>:*:event-bus/default]",
            "The fan-out puts each registry change on the default bus of the member account it belongs to; the "
            "members are the organisation's accounts (aws:ResourceOrgID), not known when this stack is deployed.",
        )
        nag.acknowledge(
            self.handler.role,
            "AwsSolutions-IAM5[Resource::*]",
            "X-Ray's PutTraceSegments and PutTelemetryRecords (active tracing) accept no other Resource.",
        )
        self.mapping = stream_mapping(self.handler.function, registry_stream_arn, self.dead_letter_queue)
