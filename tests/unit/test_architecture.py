"""Architecture contracts beyond the pure domain (tests/unit/test_import_boundaries.py): which layer may import which.

- the findings model (ASFF, catalog, publish plan) and the core (service, ledger sync, enforcement, event decisions,
  ports) import no AWS SDK and no adapter, handler or CLI module: they are tested with fakes;
- adapters never import handlers or the CLI; handlers import no adapter and no AWS SDK: they reach adapters only
  through the composition root (``driftline.compose``).

Known exceptions are listed with their reason; a new one fails until it is listed (and reasoned) here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import driftline
from tests.unit.test_import_boundaries import _imported_modules

ROOT = Path(driftline.__file__).parent
SDK = ("boto3", "botocore", "mypy_boto3_dynamodb")
OUTER = ("driftline.adapters", "driftline.handlers", "driftline.cli")
CONTRACTS: list[tuple[str, list[str], tuple[str, ...]]] = [
    ("findings model", ["findings/asff.py", "findings/catalog.py", "findings/plan.py"], SDK + OUTER),
    ("core", [str(p.relative_to(ROOT)) for p in sorted((ROOT / "service").glob("*.py"))], SDK + OUTER),
    ("triggers", [str(p.relative_to(ROOT)) for p in sorted((ROOT / "triggers").glob("*.py"))], SDK + OUTER),
    ("adapters", [str(p.relative_to(ROOT)) for p in sorted((ROOT / "adapters").glob("*.py"))], OUTER[1:]),
    # handlers reach adapters only through the composition root (driftline.compose)
    (
        "handlers",
        [str(p.relative_to(ROOT)) for p in sorted((ROOT / "handlers").glob("*.py"))],
        (*SDK, "driftline.adapters", "driftline.cli"),
    ),
]
# (module, import): why it is allowed for now.
EXCEPTIONS = {
    ("findings/sink.py", "driftline.adapters"): "the Security Hub sink joins the plan to the importer and the state "
    "store: an adapter living in findings/ (not under contract here)",
    ("triggers/registry_stream.py", "driftline.adapters.registry"): "decoding a stream image is reading a registry "
    "item",
}


def _breaks(relative: str, forbidden: tuple[str, ...], root: Path = ROOT) -> list[str]:
    found = []
    for name in sorted(_imported_modules(root / relative)):
        hit = next((f for f in forbidden if name == f or name.startswith(f + ".")), None)
        if hit and not any(relative == m and name.startswith(i) for m, i in EXCEPTIONS):
            found.append(name)
    return found


@pytest.mark.parametrize(
    ("layer", "relative", "forbidden"),
    [(layer, m, f) for layer, modules, f in CONTRACTS for m in modules],
    ids=lambda v: v if isinstance(v, str) and v.endswith(".py") else "",
)
def test_layer_imports_only_what_it_may(layer: str, relative: str, forbidden: tuple[str, ...]) -> None:
    assert (ROOT / relative).exists(), f"{relative} listed under {layer} does not exist"
    assert _breaks(relative, forbidden) == [], f"{layer} module {relative} imports what its layer may not"


def test_the_contract_check_catches_an_import(tmp_path: Path) -> None:
    """A module importing boto3 and driftline.adapters.ledger breaks the core contract (the check is not vacuous)."""
    (tmp_path / "probe.py").write_text("import boto3\nfrom driftline.adapters.ledger import DynamoLedger\n")
    assert _breaks("probe.py", SDK + OUTER, root=tmp_path) == [
        "boto3",
        "driftline.adapters.ledger",
        "driftline.adapters.ledger.DynamoLedger",
    ]
