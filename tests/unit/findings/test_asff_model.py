"""Every finding driftline sends, checked against botocore's own model of ``BatchImportFindings``.

botocore's ``ParamValidator`` (what a real call runs before sending) checks required members, unknown members, types
and minimum lengths. It does not check the model's enums, ``pattern`` (``.*\\S.*``: no blank strings) or maximum
lengths, which Security Hub itself enforces, so ``model_problems`` adds those. moto checks none of this.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import botocore.session
import pytest
from botocore.model import ListShape, MapShape, Shape, StructureShape
from botocore.validate import ParamValidator

from driftline.domain.drift import DriftType
from driftline.domain.identity import Kind
from driftline.findings.asff import to_asff
from driftline.findings.plan import FindingState, plan
from tests.unit.findings.support import NOW, PLACE, drift, full_inventory
from tests.unit.findings.test_asff import PAIRS

INPUT = (
    botocore.session.get_session().get_service_model("securityhub").operation_model("BatchImportFindings").input_shape
)


def _walk(shape: Shape, value: Any, path: str, found: list[str]) -> None:
    """What ParamValidator leaves out: enums, patterns and maximum lengths/sizes of the model."""
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        for name, item in value.items():
            if name in shape.members:
                _walk(shape.members[name], item, f"{path}.{name}", found)
    elif isinstance(shape, ListShape) and isinstance(value, list):
        if "max" in shape.metadata and len(value) > shape.metadata["max"]:
            found.append(f"{path}: {len(value)} items, over {shape.metadata['max']}")
        for index, item in enumerate(value):
            _walk(shape.member, item, f"{path}[{index}]", found)
    elif isinstance(shape, MapShape) and isinstance(value, dict):
        for key, item in value.items():
            _walk(shape.key, key, f"{path} key {key!r}", found)
            _walk(shape.value, item, f"{path}[{key!r}]", found)
    elif shape.type_name == "string" and isinstance(value, str):
        if shape.enum and value not in shape.enum:
            found.append(f"{path}: {value!r} is not one of {shape.enum}")
        pattern = shape.metadata.get("pattern")
        if pattern and not re.fullmatch(pattern, value, flags=re.DOTALL):
            found.append(f"{path}: {value!r} does not match {pattern}")
        if "max" in shape.metadata and len(value) > shape.metadata["max"]:
            found.append(f"{path}: {len(value)} characters, over {shape.metadata['max']}")


def model_problems(findings: list[dict[str, Any]]) -> list[str]:
    """Everything botocore's model says is wrong with ``BatchImportFindings(Findings=findings)``."""
    params = {"Findings": findings}
    report = ParamValidator().validate(params, INPUT)
    found = report.generate_report().splitlines() if report.has_errors() else []
    _walk(INPUT, params, "", found)
    return found


def _lifecycle(drift_type: DriftType, kind: Kind) -> list[dict[str, Any]]:
    """The imports of one drift's life: new, refreshed a day later, resolved, reactivated."""
    d = drift(drift_type, kind)
    inv = full_inventory()
    findings: list[dict[str, Any]] = []
    states: dict[str, FindingState] = {}
    for at, drifts in (
        (NOW, [d]),
        (NOW + timedelta(days=1), [d]),
        (NOW + timedelta(days=2), []),
        (NOW + timedelta(days=3), [d]),
    ):
        planned = plan(drifts, inv, PLACE, states, at)
        findings += [p.finding for p in planned]
        states |= {p.state.finding_id: p.state for p in planned}
    return findings


@pytest.mark.parametrize(("drift_type", "kind"), PAIRS, ids=lambda v: str(v))
def test_every_import_of_every_drift_type_fits_botocores_batch_import_findings_model(
    drift_type: DriftType, kind: Kind
) -> None:
    """Input: one drift of each type on each kind it applies to, through its whole life (new, refresh, resolved,
    reactivated). Must pass botocore's ParamValidator for BatchImportFindings and the model's enums, patterns and
    maximum lengths: Security Hub would accept the call's shape."""
    # Given every import a drift of this type causes
    findings = _lifecycle(drift_type, kind)
    assert [f["ProductFields"]["driftline/ImportReason"] for f in findings] == [
        "new",
        "refresh",
        "resolved",
        "reactivated",
    ]

    # Then botocore's model accepts them, one call each and all together
    for finding in findings:
        assert model_problems([finding]) == [], finding["Id"]
    assert model_problems(findings) == []


def test_the_model_check_catches_what_security_hub_would_refuse() -> None:
    """Input: a valid finding broken five ways (a required field missing, an unknown field, a severity label outside
    the enum, a blank title, a number where a string belongs). Must report each, so the test above can fail."""
    # Given a valid finding
    good = to_asff(drift(DriftType.EXCESS_ENTITLEMENT), PLACE, full_inventory(), created_at=NOW, updated_at=NOW)
    assert model_problems([good]) == []
    missing = {k: v for k, v in good.items() if k != "GeneratorId"}
    unknown = good | {"Workflow2": {"Status": "NEW"}}
    severity = good | {
        "FindingProviderFields": good["FindingProviderFields"] | {"Severity": {"Label": "SEVERE", "Original": "x"}}
    }
    blank = good | {"Title": "   "}
    wrong_type = good | {"AwsAccountId": 123456789012}

    # Then each break is reported
    assert any('"GeneratorId"' in p for p in model_problems([missing]))
    assert any("Workflow2" in p for p in model_problems([unknown]))
    assert any("SEVERE" in p for p in model_problems([severity]))
    assert any(".Title" in p for p in model_problems([blank]))
    assert any("AwsAccountId" in p for p in model_problems([wrong_type]))
    # And a call of more than 100 findings is refused
    assert any("101 items" in p or "Findings" in p for p in model_problems([good] * 101))
