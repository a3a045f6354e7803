#!/usr/bin/env python3
"""CDK entry point: ``cdk synth`` runs it, and so can ``python app.py`` (offline, into ``cdk.out``)."""

from __future__ import annotations

import os
from pathlib import Path

from aws_cdk import App

from stacks.assembly import build
from stacks.config import cdk_json_context

ROOT = Path(__file__).resolve().parent


def main() -> None:
    # cdk.json's context (defaults and feature flags) is loaded here too, so a plain `python app.py` synthesizes
    # the same template as `cdk synth`; context from the CLI (-c key=value) still overrides it.
    outdir = None if os.environ.get("CDK_OUTDIR") else str(ROOT / "cdk.out")
    app = App(context=cdk_json_context(ROOT / "cdk.json"), outdir=outdir)
    build(app, environ=os.environ)
    app.synth()


if __name__ == "__main__":
    main()
