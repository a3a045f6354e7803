"""Builds the app offline: configuration from context, the stacks, the cdk-nag checks. No AWS call happens here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aws_cdk import Environment, Stack, Stage

from .config import DriftlineConfig
from .constants import FORWARDER_STACK_ID, IAM_EVENTS_REGION, STACK_ID
from .driftline_stack import DriftlineStack
from .forwarder_stack import IamEventForwarderStack
from .nag import add_checks


@dataclass(frozen=True)
class Deployment:
    """The stacks of one deployment: ``main`` in the home Region, ``forwarder`` in us-east-1 when home is not."""

    config: DriftlineConfig
    home_region: str
    main: DriftlineStack
    forwarder: IamEventForwarderStack | None

    @property
    def stacks(self) -> list[Stack]:
        return [self.main] if self.forwarder is None else [self.main, self.forwarder]


def environments(config: DriftlineConfig, environ: Mapping[str, str]) -> tuple[str | None, str]:
    """The account (``CDK_DEFAULT_ACCOUNT``, else ``None``: resolved at deploy time) and the home Region
    (``driftline:homeRegion``, else ``CDK_DEFAULT_REGION``, else us-east-1). Both come from the CDK CLI's
    environment; ``python app.py`` without them synthesizes account-agnostic stacks."""
    account = environ.get("CDK_DEFAULT_ACCOUNT") or None
    return account, config.region(environ.get("CDK_DEFAULT_REGION") or None)


def build(app: Stage, *, environ: Mapping[str, str]) -> Deployment:
    """Validate the ``driftline:*`` context (``ConfigError`` on a bad value) and add the checked stacks to ``app``
    (the ``App``, or a CDK Pipelines ``Stage`` per target account: docs/DEPLOYMENT.md)."""
    config = DriftlineConfig.from_scope(app)
    account, home = environments(config, environ)
    config.check_placement(home)
    add_checks(app)
    main = DriftlineStack(app, STACK_ID, config=config, env=Environment(account=account, region=home))
    forwarder = None
    if home != IAM_EVENTS_REGION:
        forwarder = IamEventForwarderStack(
            app,
            FORWARDER_STACK_ID,
            config=config,
            home_region=home,
            env=Environment(account=account, region=IAM_EVENTS_REGION),
        )
        # Deploy order only: the home rule should exist before events are forwarded to its bus.
        forwarder.add_stack_dependency(main, "the home Region's IAM event rule receives what this stack forwards")
    return Deployment(config=config, home_region=home, main=main, forwarder=forwarder)
