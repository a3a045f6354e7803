"""Builds the app offline: configuration from context, the stack, the cdk-nag checks. No AWS call happens here."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import App, Environment

from stacks.config import DriftlineConfig
from stacks.constants import STACK_ID
from stacks.driftline_stack import DriftlineStack
from stacks.nag import add_checks


def environment_from(environ: Mapping[str, str]) -> Environment | None:
    """The account/Region the CDK CLI resolved (``CDK_DEFAULT_*``); ``None`` synthesizes environment-agnostic."""
    account = environ.get("CDK_DEFAULT_ACCOUNT") or None
    region = environ.get("CDK_DEFAULT_REGION") or None
    if account is None and region is None:
        return None
    return Environment(account=account, region=region)


def build(app: App, *, env: Environment | None) -> DriftlineStack:
    """Validate the ``driftline:*`` context (``ConfigError`` on a bad value) and add the checked stack to ``app``."""
    config = DriftlineConfig.from_scope(app)
    add_checks(app)
    return DriftlineStack(app, STACK_ID, config=config, env=env)
