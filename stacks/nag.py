"""cdk-nag 3 wiring: the AwsSolutions pack on the whole app, the NIST 800-53 rev 5 pack on demand (the template tests
run it: tests/infrastructure/test_nist.py), and acknowledgments that always carry a reason."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Stage, Validations
from cdk_nag import AwsSolutionsChecks, NIST80053R5Checks
from constructs import IConstruct

# The plugin name prefixes acknowledgment ids ("AwsSolutions::AwsSolutions-SQS3"), as the validation report prints.
PLUGIN = "AwsSolutions"
NIST_PLUGIN = "NIST.800.53.R5"
PLUGINS = (PLUGIN, NIST_PLUGIN)


def add_checks(app: Stage) -> None:
    """Run AwsSolutions on every stack; an unacknowledged error fails the synth (and ``Template.from_stack``)."""
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))


def add_nist_checks(app: Stage) -> None:
    """Also run NIST 800-53 rev 5. Not in the app by default: it reports rules driftline decides against on purpose
    (functions outside a VPC, no trail delivery to CloudWatch Logs), which the constructs acknowledge with their
    reasons; the tests keep those acknowledgments complete."""
    Validations.of(app).add_plugins(NIST80053R5Checks(app))


def plugin_of(rule_id: str) -> str:
    """The pack a rule id belongs to: ``AwsSolutions-SQS3`` to AwsSolutions, ``NIST.800.53.R5-LambdaDLQ`` to NIST."""
    for plugin in PLUGINS:
        if rule_id.startswith(f"{plugin}-"):
            return plugin
    raise ValueError(f"{rule_id!r} is no rule of {', '.join(PLUGINS)}")


def acknowledge(scope: IConstruct, rule_id: str, reason: str) -> None:
    """Acknowledge one finding (``Rule[Finding]``) on ``scope`` and its children; cdk-nag 3 has no prefix match."""
    if not reason.strip():
        raise ValueError(f"acknowledging {rule_id} needs a reason")
    Validations.of(scope).acknowledge(Acknowledgment(id=f"{plugin_of(rule_id)}::{rule_id}", reason=reason))
