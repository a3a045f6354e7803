"""The driftline stack: the registry and state tables, and the scheduled detection that reads them.

A later part adds event-driven detection and Security Hub publishing as further constructs next to these.
"""

from __future__ import annotations

from aws_cdk import Environment, Stack
from constructs import Construct

from stacks.config import DriftlineConfig
from stacks.constants import APP_TAGS, STACK_DESCRIPTION
from stacks.constructs.detection import Detection
from stacks.constructs.registry import RegistryTable
from stacks.constructs.state import StateTable


class DriftlineStack(Stack):
    """Composes the constructs; ``registry``, ``state`` and ``detection`` are exposed for tests and extensions."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: DriftlineConfig, env: Environment | None = None
    ) -> None:
        # Stack tags (not Tags.of): CloudFormation applies them to every taggable resource it creates.
        super().__init__(scope, construct_id, env=env, description=STACK_DESCRIPTION, tags=dict(APP_TAGS))
        self.config = config
        self.registry = RegistryTable(self, "RegistryTable")
        self.state = StateTable(self, "StateTable")
        self.detection = Detection(
            self, "Detection", config=config, registry=self.registry.table, state=self.state.table
        )
