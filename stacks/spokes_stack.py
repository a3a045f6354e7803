"""The spokes of the hub-and-spoke topology, rolled out by one service-managed StackSet with automatic deployment.

Each member account gets, in us-east-1 (IAM is global; its events reach EventBridge there):
- ``DriftlineReadOnly``: IAM reads only, exactly the actions driftline's IAM reader adapters declare. The hub's
  functions assume it to reconcile the account; ``driftline scan --org`` assumes it for audits (from a role of the
  hub account whose name starts with ``Driftline``).
- ``DriftlineFindingsPublisher``: ``securityhub:BatchImportFindings`` (and the reads the importer makes) on the
  account's own default product in the hub's Region only.
Both trust the hub account, and within it only roles named ``Driftline*`` (``aws:PrincipalArn``). A rule forwards
the account's IAM events to the hub's default bus, where the hub judges them at once.

Deploy it from the management account or a CloudFormation delegated administrator (``driftline:delegatedAdmin``):
``cdk deploy DriftlineSpokes``.
"""

from __future__ import annotations

from aws_cdk import Aws, Duration, Environment, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from cdk_stacksets import StackSetStack
from constructs import Construct

from driftline.adapters.member_access import (
    FINDINGS_PUBLISHER_ACTIONS,
    FINDINGS_PUBLISHER_ROLE,
    MEMBER_READ_ACTIONS_BY_TARGET,
    MEMBER_READ_ROLE,
)

from . import nag
from .config import DriftlineConfig
from .constants import APP_TAGS, IAM_EVENTS_REGION
from .constructs.iam_events import iam_event_pattern
from .constructs.queues import dead_letter_queue
from .stackset import driftline_stack_set, name_roles

SPOKES_STACK_ID = "DriftlineSpokes"
SPOKES_STACK_SET = "DriftlineSpoke"


def _read_resources(target: str) -> list[str]:
    own = f"arn:{Aws.PARTITION}:iam::{Aws.ACCOUNT_ID}"
    return {
        "account": ["*"],
        "user": [f"{own}:user/*"],
        "role": [f"{own}:role/*"],
        "group": [f"{own}:group/*"],
        "policy": [f"{own}:policy/*", f"arn:{Aws.PARTITION}:iam::aws:policy/*"],
    }[target]


class SpokeTemplate(StackSetStack):
    """``read_only`` and ``findings_publisher``: the member's two roles, trusting the hub's driftline roles."""

    def __init__(self, scope: Construct, construct_id: str, *, hub_account: str, hub_region: str) -> None:
        super().__init__(scope, construct_id)
        trust = iam.AccountPrincipal(hub_account).with_conditions(
            {"ArnLike": {"aws:PrincipalArn": f"arn:{Aws.PARTITION}:iam::{hub_account}:role/Driftline*"}}
        )
        self.read_only = iam.Role(
            self,
            "ReadOnlyRole",
            role_name=MEMBER_READ_ROLE,
            assumed_by=trust,
            max_session_duration=Duration.hours(1),
            description="driftline: IAM reads for the driftline hub and driftline scan --org (no writes)",
        )
        for target, actions in MEMBER_READ_ACTIONS_BY_TARGET.items():
            if actions:
                self.read_only.add_to_policy(
                    iam.PolicyStatement(
                        sid=f"ReadIam{target.capitalize()}", actions=list(actions), resources=_read_resources(target)
                    )
                )
        self.findings_publisher = iam.Role(
            self,
            "FindingsPublisherRole",
            role_name=FINDINGS_PUBLISHER_ROLE,
            assumed_by=trust,
            max_session_duration=Duration.hours(1),
            description="driftline: imports this account's driftline findings into its own Security Hub",
        )
        self.findings_publisher.add_to_policy(
            iam.PolicyStatement(
                sid="ImportOwnFindings",
                actions=list(FINDINGS_PUBLISHER_ACTIONS),
                resources=[
                    f"arn:{Aws.PARTITION}:securityhub:{hub_region}:{Aws.ACCOUNT_ID}:product/{Aws.ACCOUNT_ID}/default"
                ],
            )
        )
        # The member's IAM events, as they happen, to the hub's default bus (cross-account: EventBridge needs a role,
        # which CDK creates with events:PutEvents on that bus only).
        self.dead_letter_queue = dead_letter_queue(self, "ForwardDeadLetterQueue", holds="IAM events not forwarded")
        hub_bus = events.EventBus.from_event_bus_arn(
            self, "HubBus", f"arn:{Aws.PARTITION}:events:{hub_region}:{hub_account}:event-bus/default"
        )
        self.rule = events.Rule(
            self,
            "IamEventsToTheHub",
            description=f"driftline spoke: forward successful IAM API calls to the driftline hub {hub_account}",
            event_pattern=iam_event_pattern(),
            targets=[targets.EventBus(hub_bus, dead_letter_queue=self.dead_letter_queue)],
        )
        name_roles(self)
        for kind in ("user", "role", "group", "policy"):
            nag.acknowledge(
                self.read_only,
                f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:{kind}/*]",
                f"Read-only IAM {kind} actions on this account's {kind}s: the hub compares each with the registry.",
            )
        nag.acknowledge(
            self.read_only,
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::aws:policy/*]",
            "Reads AWS managed policy documents attached to revoked identities (does one deny everything?).",
        )
        nag.acknowledge(
            self.read_only,
            "AwsSolutions-IAM5[Resource::*]",
            "iam:GetAccountAuthorizationDetails and the credential report: account-level reads without "
            "resource-level permissions.",
        )


class SpokesStack(Stack):
    """``template`` (the spoke) and ``stack_set`` (its rollout to ``driftline:deploymentTargets``)."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: DriftlineConfig, hub_region: str, env: Environment
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            stack_name=construct_id,
            env=env,
            description="driftline: the spokes' roles, rolled out to the organisation by a StackSet",
            tags=dict(APP_TAGS),
        )
        assert config.hub_account is not None  # checked with the topology
        self.template = SpokeTemplate(self, "SpokeTemplate", hub_account=config.hub_account, hub_region=hub_region)
        self.stack_set = driftline_stack_set(
            self,
            "Spokes",
            template=self.template,
            name=SPOKES_STACK_SET,
            description=f"driftline spoke: read-only access for the driftline hub in {config.hub_account}",
            targets=config.deployment_targets,
            regions=[IAM_EVENTS_REGION],
            delegated_admin=config.delegated_admin,
        )
