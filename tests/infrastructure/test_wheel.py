"""The built wheel is the product: installed outside this repository, its CLI runs and its CDK constructs
(``driftline.cdk``) synthesize the stacks with a Lambda asset taken from the installed package.

The wheel is built with this environment's setuptools (no build isolation: no network) and installed with
``--target`` into an empty directory; the child processes run outside the repository, so neither ``stacks/`` nor
``functions/`` can be imported from the working directory.
"""

from __future__ import annotations

import email.parser
import json
import os
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.infra, pytest.mark.slow]

SYNTH = """
import json, pathlib, sys
import driftline
from aws_cdk import App
from driftline.cdk import DEFAULT_CONTEXT, build

app = App(context=dict(DEFAULT_CONTEXT), outdir="out")
deployment = build(app, environ={"CDK_DEFAULT_REGION": "eu-west-1"})
app.synth()
print(json.dumps({"driftline": driftline.__file__, "stacks": [s.stack_name for s in deployment.stacks]}))
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(work), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = work.glob("driftline-*.whl")
    site = work / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site), str(wheel)],
        check=True,
        capture_output=True,
    )
    return site


def _run(site: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CDK_OUTDIR", "PYTHONPATH")} | {"PYTHONPATH": str(site)}
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_the_wheel_lists_every_package_of_the_tree() -> None:
    # Given the packages pyproject lists (setuptools is told them, not left to find them)
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    # When walking the two source trees for packages
    runtime = {
        ".".join(p.parent.relative_to(ROOT / "functions").parts)
        for p in (ROOT / "functions" / "driftline").rglob("__init__.py")
    }
    constructs = {
        ".".join(("driftline", "cdk", *p.parent.relative_to(ROOT / "stacks").parts))
        for p in (ROOT / "stacks").rglob("__init__.py")
    }
    # Then a new package cannot be left out of the wheel by accident
    assert listed == runtime | constructs


def test_the_installed_cli_runs_outside_the_repository(installed: Path, tmp_path: Path) -> None:
    # When running the installed CLI's scan help from an empty directory
    result = _run(installed, tmp_path, "-m", "driftline.cli.main", "scan", "--help")
    # Then it answers with the scan usage
    assert result.returncode == 0, result.stderr
    assert "usage: driftline scan" in result.stdout


def test_the_installed_constructs_synthesize_with_the_installed_runtime(installed: Path, tmp_path: Path) -> None:
    # When an app outside the repository builds the stacks from `driftline.cdk`
    result = _run(installed, tmp_path, "-c", SYNTH)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    # Then driftline came from the installed wheel, and both stacks of a eu-west-1 deployment were synthesized
    assert Path(report["driftline"]).is_relative_to(installed)
    assert report["stacks"] == ["Driftline", "DriftlineIamForwarder"]
    template = json.loads((tmp_path / "out" / "Driftline.template.json").read_text())
    functions = [r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"]
    assert functions
    # And every function's code is the installed runtime package, without the CLI or the constructs
    keys = {f["Properties"]["Code"]["S3Key"] for f in functions}
    assert len(keys) == 1
    staged = tmp_path / "out" / f"asset.{keys.pop().removesuffix('.zip')}"
    assert (staged / "driftline" / "handlers" / "on_schedule.py").is_file()
    assert (staged / "driftline" / "settings.py").is_file()
    assert not (staged / "driftline" / "cli").exists()
    assert not (staged / "driftline" / "cdk").exists()


def test_the_wheel_requires_only_the_core_and_puts_moto_and_the_cdk_in_extras(installed: Path) -> None:
    # Given the installed wheel's metadata (what pip resolves from, whatever pyproject says)
    (dist_info,) = installed.glob("driftline-*.dist-info")
    metadata = email.parser.Parser().parsestr((dist_info / "METADATA").read_text())
    requires = [Requirement(r) for r in metadata.get_all("Requires-Dist") or []]
    # Then `pip install driftline` pulls the runtime and CLI needs only
    core = {canonicalize_name(r.name) for r in requires if r.marker is None}
    assert core == {"boto3", "botocore", "aws-lambda-powertools", "pydantic", "pyyaml", "rich"}
    # And moto's server comes with [demo] only, the CDK with [cdk] only
    in_extra = {
        canonicalize_name(r.name): {
            extra for extra in ("demo", "cdk", "dev") if r.marker and r.marker.evaluate({"extra": extra})
        }
        for r in requires
        if r.marker is not None and canonicalize_name(r.name) in ("moto", "aws-cdk-lib")
    }
    assert in_extra == {"moto": {"demo"}, "aws-cdk-lib": {"cdk"}}
    assert set(metadata.get_all("Provides-Extra") or []) == {"demo", "cdk", "dev"}
    # And the supported Python range is stated
    assert SpecifierSet(metadata["Requires-Python"]) == SpecifierSet(">=3.11,<3.15")


def test_the_wheel_carries_no_tests_benchmarks_or_repository_only_modules(installed: Path) -> None:
    # Given the installed tree
    top = sorted(p.name for p in installed.iterdir() if not p.name.endswith(".dist-info") and p.name != "bin")
    # Then only the driftline package is installed
    assert top == ["driftline"]
    assert not zipfile.is_zipfile(installed / "driftline" / "__init__.py")
