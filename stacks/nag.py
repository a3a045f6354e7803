"""cdk-nag 3 wiring: the AwsSolutions pack on the whole app, and acknowledgments that always carry a reason."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Stage, Validations
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct

# The plugin name prefixes acknowledgment ids ("AwsSolutions::AwsSolutions-SQS3"), as the validation report prints.
PLUGIN = "AwsSolutions"


def add_checks(app: Stage) -> None:
    """Run AwsSolutions on every stack; an unacknowledged error fails the synth (and ``Template.from_stack``)."""
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))


def acknowledge(scope: IConstruct, rule_id: str, reason: str) -> None:
    """Acknowledge one finding (``Rule[Finding]``) on ``scope`` and its children; cdk-nag 3 has no prefix match."""
    if not reason.strip():
        raise ValueError(f"acknowledging {rule_id} needs a reason")
    Validations.of(scope).acknowledge(Acknowledgment(id=f"{PLUGIN}::{rule_id}", reason=reason))
