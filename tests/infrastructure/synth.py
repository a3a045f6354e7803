"""Building the app the way ``app.py`` does (cdk.json's context loaded), for tests; nothing here touches AWS."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import App
from aws_cdk.assertions import Template

from stacks.assembly import build
from stacks.config import cdk_json_context
from stacks.driftline_stack import DriftlineStack

ROOT = Path(__file__).resolve().parents[2]

os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
os.environ.setdefault("JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION", "1")


@dataclass(frozen=True)
class Synthesized:
    app: App
    stack: DriftlineStack
    template: Template
    resources: dict[str, Any]
    outdir: Path

    def logical_id(self, construct: Any) -> str:
        """The logical id CDK gave ``construct`` (resolved from the construct tree, never written down)."""
        return str(self.stack.resolve(self.stack.get_logical_id(construct.node.default_child)))


def new_app(outdir: Path, **overrides: Any) -> App:
    """An app with cdk.json's context (as ``app.py`` loads it), plus ``overrides`` like ``cdk -c key=value``."""
    return App(context={**cdk_json_context(ROOT / "cdk.json"), **overrides}, outdir=str(outdir))


def synthesize(outdir: Path, **overrides: Any) -> Synthesized:
    app = new_app(outdir, **overrides)
    stack = build(app, env=None)
    # Runs the validation plugins: an unacknowledged cdk-nag error raises ValidationFailed right here.
    template = Template.from_stack(stack)
    return Synthesized(app, stack, template, template.to_json()["Resources"], outdir)
