"""driftline's CDK app and constructs; installed from the wheel as ``driftline.cdk``.

An organisation's own CDK app (or a CDK Pipelines stage) pins a driftline release and builds the same stacks this
repository deploys::

    from aws_cdk import App
    from driftline.cdk import DEFAULT_CONTEXT, build

    app = App(context={**DEFAULT_CONTEXT, "driftline:createTrail": True})
    build(app, environ=os.environ)  # the checked stacks: main, the us-east-1 forwarder when needed
    app.synth()

The names below load on first use, so ``driftline.cdk.partitions`` and ``driftline.cdk.constants`` stay importable
without starting jsii.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "build": "assembly",
    "Deployment": "assembly",
    "ConfigError": "config",
    "DEFAULT_CONTEXT": "config",
    "DriftlineConfig": "config",
    "DriftlineStack": "driftline_stack",
    "IamEventForwarderStack": "forwarder_stack",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
