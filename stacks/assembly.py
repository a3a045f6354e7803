"""Builds the app offline: configuration from context, the stacks, the cdk-nag checks. No AWS call happens here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aws_cdk import Environment, Stack, Stage

from .config import DriftlineConfig
from .constants import FORWARDER_STACK_ID, IAM_EVENTS_REGION, STACK_ID
from .driftline_stack import DriftlineStack
from .forwarder_stack import IamEventForwarderStack
from .hub_stack import HUB_STACK_ID, HubStack
from .nag import add_checks
from .organization_stack import ORGANIZATION_STACK_ID, OrganizationStack
from .spokes_stack import SPOKES_STACK_ID, SpokesStack


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


@dataclass(frozen=True)
class OrganizationDeployment:
    """The per-account topology for an organisation: one stack of StackSets (``driftline:topology=organization``)."""

    config: DriftlineConfig
    home_region: str
    organization: OrganizationStack

    @property
    def stacks(self) -> list[Stack]:
        return [self.organization]


@dataclass(frozen=True)
class HubDeployment:
    """Hub and spoke (``driftline:topology=hub``): the hub, and the StackSet of the spokes' roles."""

    config: DriftlineConfig
    home_region: str
    hub: HubStack
    spokes: SpokesStack

    @property
    def stacks(self) -> list[Stack]:
        return [self.hub, self.spokes]


def build(app: Stage, *, environ: Mapping[str, str]) -> Deployment | OrganizationDeployment | HubDeployment:
    """Validate the ``driftline:*`` context (``ConfigError`` on a bad value) and add the checked stacks of the
    configured topology to ``app`` (the ``App``, or a CDK Pipelines ``Stage`` per target account:
    docs/DEPLOYMENT.md)."""
    config = DriftlineConfig.from_scope(app)
    account, home = environments(config, environ)
    config.check_placement(home)
    add_checks(app)
    env = Environment(account=account, region=home)
    if config.topology == "organization":
        organization = OrganizationStack(app, ORGANIZATION_STACK_ID, config=config, home_region=home, env=env)
        return OrganizationDeployment(config=config, home_region=home, organization=organization)
    if config.topology == "hub":
        hub = HubStack(app, HUB_STACK_ID, config=config, env=env)
        spokes = SpokesStack(app, SPOKES_STACK_ID, config=config, hub_region=home, env=env)
        return HubDeployment(config=config, home_region=home, hub=hub, spokes=spokes)
    main = DriftlineStack(app, STACK_ID, config=config, env=env)
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
