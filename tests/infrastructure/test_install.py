"""What ``pip install driftline`` brings, and on which Pythons: the core and CLI with their real runtime needs only,
moto's server in ``[demo]``, the CDK in ``[cdk]``, everything in ``[dev]``; one supported range that contains both
the functions' Lambda runtime and the interpreter the tests run on; deprecations are errors in every test.

The built wheel itself is installed into a clean virtual environment with its dependencies by ``make wheel-check``
(part of ``make test``), which then runs ``driftline scan --help`` and ``driftline demo`` there;
tests/infrastructure/test_wheel.py checks the wheel's metadata and runs it offline.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
import warnings
from importlib.metadata import packages_distributions
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from driftline.cli import demo
from driftline.cli.main import main
from stacks.constants import RUNTIME

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text())
PROJECT: dict[str, Any] = PYPROJECT["project"]
CORE = {"boto3", "botocore", "aws-lambda-powertools", "pydantic", "pyyaml", "rich"}
# Only the demo's embedded AWS account imports moto, lazily (functions/driftline/cli/sandbox.py and demo.py).
DEMO_MODULES = {"driftline/cli/sandbox.py", "driftline/cli/demo.py"}


def _names(requirements: list[str]) -> set[str]:
    return {canonicalize_name(Requirement(r).name) for r in requirements}


def _imports(path: Path) -> set[str]:
    """Top-level names of every module ``path`` imports, at any depth, except under ``if TYPE_CHECKING:``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = {
        id(node)
        for branch in ast.walk(tree)
        if isinstance(branch, ast.If) and "TYPE_CHECKING" in ast.unparse(branch.test)
        for stmt in branch.body
        for node in ast.walk(stmt)
    }
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_the_core_install_is_the_runtime_and_the_cli_only() -> None:
    # Given the project's unconditional dependencies
    core = _names(PROJECT["dependencies"])
    # Then they are exactly what the functions and the CLI import: no moto server, no CDK, no test tools
    assert core == CORE


def test_the_extras_split_demo_cdk_and_dev() -> None:
    # Given the optional dependency groups
    extras = {name: _names(reqs) for name, reqs in PROJECT["optional-dependencies"].items()}
    # Then [demo] is moto with its server, [cdk] the CDK libraries, and [dev] everything (both extras and the tools)
    assert extras["demo"] == {"moto"}
    assert Requirement(PROJECT["optional-dependencies"]["demo"][0]).extras == {"server"}
    assert extras["cdk"] == {"aws-cdk-lib", "constructs", "cdk-nag", "cdk-stacksets"}
    (itself,) = [Requirement(r) for r in PROJECT["optional-dependencies"]["dev"] if Requirement(r).name == "driftline"]
    assert itself.extras == {"cdk", "demo"}
    assert "moto" not in extras["dev"] and "aws-cdk-lib" not in extras["dev"]  # through the extras, pinned once
    # And the Makefile installs [dev], so a fresh clone's `make test` and `make demo` need no other step
    assert '-e ".[dev]"' in (ROOT / "Makefile").read_text()


def test_every_third_party_import_of_the_package_is_a_core_dependency() -> None:
    # Given every import of the installed package's modules (functions/driftline), lazy ones included
    distributions = packages_distributions()
    stdlib = sys.stdlib_module_names
    offenders = []
    for path in sorted((ROOT / "functions").rglob("*.py")):
        relative = path.relative_to(ROOT / "functions").as_posix()
        allowed = CORE | ({"moto"} if relative in DEMO_MODULES else set())
        for name in _imports(path) - stdlib - {"driftline", "__future__"}:
            # When mapping the imported module to the distribution that provides it
            provided = {canonicalize_name(d) for d in distributions.get(name, [name])}
            # Then it is a core dependency (moto only in the demo's two modules, which import it lazily)
            if not provided & allowed:
                offenders.append(f"{relative}: {name} ({', '.join(sorted(provided))})")
    assert offenders == []


@pytest.mark.parametrize("missing", ["moto", "moto.server"])
def test_the_demo_without_moto_names_the_extra_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], missing: str
) -> None:
    # Given an installation without the [demo] extra (moto absent, or installed without its server's modules)
    monkeypatch.setitem(sys.modules, missing, None)
    started: list[str] = []
    monkeypatch.setattr(demo, "moto_server", lambda: started.append("moto"))
    # When running `driftline demo`
    code = main(["demo"])
    out, err = capsys.readouterr()
    # Then it stops with an error exit, before starting anything, and one line tells how to install the extra
    assert code == 3
    assert started == []
    assert out == ""
    assert err.count("\n") == 1 and err.endswith("\n")
    assert err.startswith("driftline demo: ")
    assert 'pip install "driftline[demo]"' in err
    assert "no module named 'moto" in err  # which one is missing


def test_the_supported_range_holds_the_lambda_runtime_and_the_test_interpreter() -> None:
    # Given the range pyproject states, the functions' runtime and this interpreter
    supported = SpecifierSet(PROJECT["requires-python"])
    runtime = RUNTIME.name.removeprefix("python")
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    # Then both are inside it, and it is bounded above (a Python nobody has run driftline on is not claimed)
    assert runtime in supported, (runtime, supported)
    assert here in supported, (here, supported)
    assert not supported.contains("3.99")
    # And the classifiers list exactly the minor versions of the range
    minors = {c.rsplit(" ", 1)[1] for c in PROJECT["classifiers"] if re.fullmatch(r".*Python :: 3\.\d+", c)}
    assert minors == {f"3.{m}" for m in range(0, 30) if f"3.{m}" in supported}
    # And ruff and mypy check against the lowest, the one the tests run on
    lowest = min(minors, key=lambda v: int(v.split(".")[1]))
    assert PYPROJECT["tool"]["ruff"]["target-version"] == "py" + lowest.replace(".", "")
    assert PYPROJECT["tool"]["mypy"]["python_version"] == lowest
    # And the README says which runtime the template uses
    assert f"`{RUNTIME.name}`" in (ROOT / "README.md").read_text()


def test_a_deprecation_is_an_error_in_every_test() -> None:
    # Given pytest's warning filters from pyproject (error::DeprecationWarning, jsii's own ignored)
    # When code warns that something is deprecated
    # Then the test fails: the warning is raised as an exception (code that runs on 3.14 must not lean on it)
    with pytest.raises(DeprecationWarning):
        warnings.warn("driftline test: deprecated", DeprecationWarning, stacklevel=1)
    with pytest.raises(PendingDeprecationWarning):
        warnings.warn("driftline test: soon deprecated", PendingDeprecationWarning, stacklevel=1)


def test_make_test_builds_installs_and_runs_the_wheel_in_a_clean_environment() -> None:
    # Given the Makefile
    makefile = (ROOT / "Makefile").read_text()
    prerequisites = re.search(r"^test:(.*)$", makefile, re.MULTILINE)
    recipe = re.search(r"^wheel-check:.*\n((?:\t.*\n)+)", makefile, re.MULTILINE)
    # Then `make test` (what CI runs) depends on wheel-check, which builds the wheel, installs it with its
    # dependencies into a new virtual environment and runs the installed CLI there
    assert prerequisites and "wheel-check" in prerequisites.group(1).split()
    assert recipe
    steps = recipe.group(1)
    assert "pip wheel" in steps and "-m venv" in steps and "scan --help" in steps and "demo" in steps
