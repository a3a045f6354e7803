"""The Lambda code asset: the ``driftline`` runtime package, wherever it is imported from.

In this repository the package lives in ``functions/driftline``; installed from the wheel (``from driftline.cdk
import ...`` in an organisation's own CDK app) it lives in ``site-packages/driftline``, beside thousands of other
packages and with this CDK package inside it. Either way the asset is a copy of the package without the CLI, the CDK
constructs and build artefacts, made once per process in a temporary directory; CDK hashes and copies it into the
cloud assembly at synth time, so the same sources give the same asset hash wherever they were installed.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Final

import driftline

# Directory names never shipped to Lambda: the operator CLI, these constructs (installed as ``driftline.cdk``),
# bytecode caches; and file patterns of build artefacts.
LEFT_OUT_DIRECTORIES: Final[tuple[str, ...]] = ("cli", "cdk", "__pycache__")
LEFT_OUT_FILES: Final[tuple[str, ...]] = ("*.pyc", "*.pyo")


def runtime_package() -> Path:
    """The directory of the imported ``driftline`` package."""
    return Path(driftline.__file__).resolve().parent


def stage(package: Path, root: Path) -> Path:
    """Copy ``package`` to ``root/driftline`` without the CLI, the constructs, caches and bytecode."""
    top = package.resolve()

    def ignore(directory: str, names: list[str]) -> set[str]:
        at_top = Path(directory).resolve() == top
        dropped = {n for n in names if n == "__pycache__" or (at_top and n in LEFT_OUT_DIRECTORIES)}
        dropped.update(shutil.ignore_patterns(*LEFT_OUT_FILES)(directory, names))
        return dropped

    shutil.copytree(package, root / "driftline", ignore=ignore)
    return root


@lru_cache(maxsize=1)
def staged_asset_root() -> str:
    """A directory holding ``driftline/`` (the runtime package only), for ``lambda_.Code.from_asset``."""
    root = Path(tempfile.mkdtemp(prefix="driftline-asset-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    return str(stage(runtime_package(), root))
