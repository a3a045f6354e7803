"""The Lambda asset: the runtime package with the handler, without the CLI or build artefacts."""

from __future__ import annotations

from pathlib import Path

import pytest

from stacks.asset import stage
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
    assert not (staged / "driftline" / "cdk").exists()
    assert [n for n in names if "__pycache__" in n or n.endswith(".pyc") or ".egg-info" in n] == []


def test_staging_drops_the_cli_the_constructs_and_caches_and_keeps_the_rest(tmp_path: Path) -> None:
    # Given a package tree as installed from the wheel: the runtime, the CLI, the constructs (driftline.cdk) and
    # bytecode, plus a nested module that merely shares a left-out name
    package = tmp_path / "site-packages" / "driftline"
    keep = ["__init__.py", "handlers/on_schedule.py", "domain/cdk.py", "adapters/cli/keep.py"]
    drop = [
        "cli/main.py",
        "cli/sub/render.py",
        "cdk/__init__.py",
        "cdk/constructs/function.py",
        "__pycache__/settings.cpython-314.pyc",
        "handlers/__pycache__/on_schedule.cpython-311.pyc",
        "handlers/stray.pyc",
    ]
    for name in keep + drop:
        (package / name).parent.mkdir(parents=True, exist_ok=True)
        (package / name).write_text("")
    # When staging it as the Lambda asset
    staged = stage(package, tmp_path / "asset")
    # Then exactly the runtime files remain under driftline/, and no emptied directory is left behind
    files = sorted(p.relative_to(staged).as_posix() for p in staged.rglob("*") if p.is_file())
    assert files == sorted(f"driftline/{name}" for name in keep)
    assert not (staged / "driftline" / "cli").exists()
    assert not (staged / "driftline" / "cdk").exists()
