"""The Lambda asset: the runtime package with the handler, without the CLI or build artefacts."""

from __future__ import annotations

from pathlib import Path

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_lambda as lambda_

from stacks.constants import ASSET_EXCLUDES
from tests.infrastructure.synth import Synthesized

pytestmark = pytest.mark.infra


def _staged(synthesized: Synthesized) -> Path:
    asset_hash = synthesized.function_props("ReconcileFunction")["Code"]["S3Key"].removesuffix(".zip")
    return synthesized.outdir / f"asset.{asset_hash}"


def test_asset_contains_every_handler_module_and_settings(synthesized: Synthesized) -> None:
    # Given the staged asset the three functions share
    staged = _staged(synthesized)
    # Then each configured handler module and the settings they read are in it, at the package root
    for name in ("ReconcileFunction", "IamEventFunction", "RegistryChangeFunction"):
        module = synthesized.function_props(name)["Handler"].rsplit(".", 1)[0]
        assert (staged / (module.replace(".", "/") + ".py")).is_file(), module
    assert (staged / "driftline" / "settings.py").is_file()


def test_asset_leaves_out_the_cli_and_build_artefacts(synthesized: Synthesized) -> None:
    # Given the staged asset
    staged = _staged(synthesized)
    # When listing everything in it
    names = [path.relative_to(staged).as_posix() for path in staged.rglob("*")]
    # Then neither the CLI nor caches nor packaging metadata shipped
    assert not (staged / "driftline" / "cli").exists()
    assert [n for n in names if "__pycache__" in n or n.endswith(".pyc") or ".egg-info" in n] == []


def test_exclude_patterns_drop_cli_caches_and_egg_info(tmp_path: Path) -> None:
    # Given a source tree with everything the patterns must drop (the real tree may have no cache files yet)
    source = tmp_path / "src"
    keep = ["driftline/__init__.py", "driftline/handlers/on_schedule.py"]
    drop = [
        "driftline/cli/main.py",
        "driftline/cli/sub/render.py",
        "driftline/__pycache__/settings.cpython-314.pyc",
        "driftline/handlers/__pycache__/on_schedule.cpython-311.pyc",
        "driftline/handlers/stray.pyc",
        "driftline.egg-info/PKG-INFO",
    ]
    for name in keep + drop:
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_text("")
    # When staging it as a Lambda asset with the stack's exclude patterns
    app = App(outdir=str(tmp_path / "out"))
    lambda_.Function(
        Stack(app, "AssetProbe"),
        "Probe",
        code=lambda_.Code.from_asset(str(source), exclude=list(ASSET_EXCLUDES)),
        handler="driftline.handlers.on_schedule.handler",
        runtime=lambda_.Runtime.PYTHON_3_14,
    )
    app.synth()
    (staged,) = (tmp_path / "out").glob("asset.*")
    # Then exactly the runtime files remain, and no emptied directory is left behind
    files = sorted(p.relative_to(staged).as_posix() for p in staged.rglob("*") if p.is_file())
    assert files == sorted(keep)
    assert not (staged / "driftline" / "cli").exists()
    assert not (staged / "driftline.egg-info").exists()
