"""Building the app the way ``app.py`` does (cdk.json's context loaded), for tests; nothing here touches AWS.

Three deployments cover the configuration space, each synthesized once per session (conftest.py):

- ``DEFAULT``: cdk.json only (home Region us-east-1, report mode, new registry, Security Hub on, no trail, no topic);
- ``ENFORCING``: home Region eu-west-1 (so a us-east-1 forwarder stack), enforce mode with break-glass principals
  and exclusions, a new trail, an alarm e-mail (new encrypted topics);
- ``EXISTING``: an existing (central) registry by ARN, Security Hub off, an existing alarm topic.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from aws_cdk import App, Stack
from aws_cdk.assertions import Template

from stacks.assembly import Deployment, build
from stacks.config import cdk_json_context
from stacks.driftline_stack import DriftlineStack

ROOT = Path(__file__).resolve().parents[2]

os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
os.environ.setdefault("JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION", "1")

DEFAULT: dict[str, Any] = {}
ENFORCING: dict[str, Any] = {
    "driftline:homeRegion": "eu-west-1",
    "driftline:mode": "enforce",
    "driftline:breakGlassPrincipals": ["breakglass-admin", "oncall-*"],
    "driftline:excludedNamePatterns": ["ci-*"],
    "driftline:excludedPathPrefixes": ["/service/"],
    "driftline:createTrail": True,
    "driftline:alarmEmail": "security@example.com",
}
CENTRAL_ACCOUNT = "111122223333"
REGISTRY_TABLE_ARN = f"arn:aws:dynamodb:us-east-1:{CENTRAL_ACCOUNT}:table/driftline-registry"
REGISTRY_STREAM_ARN = f"{REGISTRY_TABLE_ARN}/stream/2026-01-15T10:00:00.000"
ALARM_TOPIC_ARN = "arn:aws:sns:us-east-1:444455556666:security-alerts"
EXISTING: dict[str, Any] = {
    "driftline:registryTableArn": REGISTRY_TABLE_ARN,
    "driftline:registryStreamArn": REGISTRY_STREAM_ARN,
    "driftline:securityHub": False,
    "driftline:alarmTopicArn": ALARM_TOPIC_ARN,
}


@dataclass(frozen=True)
class Synthesized:
    app: App
    deployment: Deployment
    template: Template  # the main (home Region) stack's
    resources: dict[str, Any]
    outdir: Path

    @property
    def stack(self) -> DriftlineStack:
        return self.deployment.main

    @cached_property
    def templates(self) -> dict[str, Template]:
        """Every stack's template by stack name (the main one first)."""
        return {stack.stack_name: Template.from_stack(stack) for stack in self.deployment.stacks}

    def resources_of(self, stack: Stack) -> dict[str, Any]:
        resources: dict[str, Any] = self.templates[stack.stack_name].to_json()["Resources"]
        return resources

    def logical_id(self, construct: Any, stack: Stack | None = None) -> str:
        """The logical id CDK gave ``construct`` (resolved from the construct tree, never written down)."""
        owner = stack or self.stack
        return str(owner.resolve(owner.get_logical_id(construct.node.default_child)))

    def function_props(self, name: str) -> dict[str, Any]:
        """The CloudFormation properties of the function ``name`` (ReconcileFunction, IamEventFunction, ...)."""
        props: dict[str, Any] = self.resources[self.logical_id(self.stack.functions[name].function)]["Properties"]
        return props


def new_app(outdir: Path, **overrides: Any) -> App:
    """An app with cdk.json's context (as ``app.py`` loads it), plus ``overrides`` like ``cdk -c key=value``."""
    return App(context={**cdk_json_context(ROOT / "cdk.json"), **overrides}, outdir=str(outdir))


def synthesize(outdir: Path, overrides: dict[str, Any] | None = None) -> Synthesized:
    app = new_app(outdir, **(overrides or {}))
    deployment = build(app, environ={})  # no CDK_DEFAULT_*: as `python app.py` without credentials
    # Runs the validation plugins: an unacknowledged cdk-nag error raises ValidationFailed right here.
    template = Template.from_stack(deployment.main)
    return Synthesized(app, deployment, template, template.to_json()["Resources"], outdir)
