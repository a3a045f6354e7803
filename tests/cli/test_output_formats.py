"""``driftline scan --format json|csv|sarif|asff`` against a moto account, each output checked against its contract:
the JSON against docs/schema/scan.schema.json, SARIF against the SARIF 2.1.0 JSON schema (vendored in
tests/cli/schemas), ASFF against botocore's model of ``BatchImportFindings``' input.

Every validation here has a negative control (a document broken on purpose must fail it), so a schema that accepts
anything cannot pass these tests.
"""

from __future__ import annotations

import copy
import csv
import io
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.validate import ParamValidator
from jsonschema import Draft4Validator, Draft202012Validator
from referencing import Registry, Resource

from driftline.adapters.aws import Clients
from driftline.cli.render import SCHEMA_VERSION
from driftline.domain.drift import DriftType, RevocationState, Severity
from driftline.findings.asff import Place, finding_id
from tests.cli.conftest import ACCOUNT, RunCli
from tests.cli.test_scan import (
    POLICY,
    REGISTRY,
    add_drift,
    registry_yaml,
    scan_table,
    seed_clean_account,
    write_registry_table,
)

ROOT = Path(__file__).resolve().parents[2]
SCAN_SCHEMA = json.loads((ROOT / "docs/schema/scan.schema.json").read_text())
ORG_SCHEMA = json.loads((ROOT / "docs/schema/scan-org.schema.json").read_text())
SARIF_SCHEMA = json.loads((Path(__file__).parent / "schemas/sarif-2.1.0-rtm.5.json").read_text())
BATCH_IMPORT = (
    botocore.session.get_session().get_service_model("securityhub").operation_model("BatchImportFindings").input_shape
)
SCHEMAS = Registry().with_resources(
    [(SCAN_SCHEMA["$id"], Resource.from_contents(SCAN_SCHEMA)), (ORG_SCHEMA["$id"], Resource.from_contents(ORG_SCHEMA))]
)


def scan_errors(document: Any) -> list[str]:
    return [e.message for e in Draft202012Validator(SCAN_SCHEMA, registry=SCHEMAS).iter_errors(document)]


def org_errors(document: Any) -> list[str]:
    return [e.message for e in Draft202012Validator(ORG_SCHEMA, registry=SCHEMAS).iter_errors(document)]


def sarif_errors(document: Any) -> list[str]:
    return [f"{list(e.path)}: {e.message}" for e in Draft4Validator(SARIF_SCHEMA).iter_errors(document)]


def asff_errors(document: Any) -> list[str]:
    report = ParamValidator().validate(document, BATCH_IMPORT)
    return report.generate_report().splitlines() if report.has_errors() else []


def drifted_account(aws: Clients) -> Any:
    """The clean account plus three drifts: user mallory and her key unregistered, alice missing policy Read."""
    account = seed_clean_account(aws)
    add_drift(account)
    account.clients.iam().detach_user_policy(UserName="alice", PolicyArn=POLICY)
    return account


def mute_file(tmp_path: Path, *mutes: dict[str, Any]) -> Path:
    path = tmp_path / "mutes.json"
    path.write_text(json.dumps({"mutes": list(mutes)}), encoding="utf-8")
    return path


TOMORROW = (datetime.now(UTC).date() + timedelta(days=1)).isoformat()
YESTERDAY = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()


# --- JSON ----------------------------------------------------------------------------------------------------------


def test_json_output_validates_against_the_documented_schema(aws: Clients, run_cli: RunCli, tmp_path: Path) -> None:
    """A scan with three drifts, one muted (until tomorrow) and one expired mute (yesterday), --format json: the
    document (drifts, muted, expired_mutes, revocations, gate, summary) validates against docs/schema/scan.schema.json
    and carries schema_version 1.x; the same document without schema_version, or with a drift of an unknown type,
    does not validate."""
    # Given an account with drift and a mute file with one live and one expired mute
    account = drifted_account(aws)
    write_registry_table(account)
    mutes = mute_file(
        tmp_path,
        {"identity": "user#mallory", "type": "unregistered-identity", "expires": TOMORROW, "reason": "offboarding"},
        {"identity": "user#alice", "type": "missing-entitlement", "expires": YESTERDAY, "reason": "was fixed"},
    )
    # When it is scanned as JSON
    result = run_cli(scan_table(account, "--format", "json", "--ignore", str(mutes)))
    # Then the document has the documented shape
    assert result.code == 1, result.err
    document = json.loads(result.out)
    assert scan_errors(document) == []
    assert document["schema_version"] == SCHEMA_VERSION and SCHEMA_VERSION.startswith("1.")
    assert [m["key"] for m in document["muted"]] == ["unregistered-identity/user#mallory"]
    assert document["muted"][0]["mute"]["reason"] == "offboarding"
    assert [m["identity"] for m in document["expired_mutes"]] == ["user#alice"]
    assert document["summary"]["muted"] == 1 and document["summary"]["drifts"] == len(document["drifts"]) == 2
    # And the schema rejects what it must reject
    broken = copy.deepcopy(document)
    del broken["schema_version"]
    assert scan_errors(broken) != []
    broken = copy.deepcopy(document)
    broken["drifts"][0]["type"] = "made-up-drift"
    assert scan_errors(broken) != []
    broken = copy.deepcopy(document)
    broken["summary"]["undocumented"] = 1
    assert scan_errors(broken) != []


def test_schema_names_every_drift_type_severity_and_state() -> None:
    """The schema's enums are the code's: a drift type, severity or revocation state added to the code without the
    schema makes this fail."""
    defs = SCAN_SCHEMA["$defs"]
    assert defs["drift_type"]["enum"] == [t.value for t in DriftType]
    assert defs["severity"]["enum"] == [s.value for s in Severity]
    assert defs["revocation"]["properties"]["state"]["enum"] == [s.value for s in RevocationState]


def test_clean_json_output_validates_too(aws: Clients, run_cli: RunCli) -> None:
    """A clean account (no drift, no mute file): exit 0 and a document that still validates (empty lists, null gate
    filters)."""
    account = seed_clean_account(aws)
    write_registry_table(account)
    result = run_cli(scan_table(account, "--format", "json"))
    assert result.code == 0, result.err
    document = json.loads(result.out)
    assert scan_errors(document) == []
    assert document["gate"] == {"fail_on": "any", "types": None, "severities": None, "mute_file": None}


# --- CSV -----------------------------------------------------------------------------------------------------------


def test_csv_has_one_row_per_drift_and_inert_formula_cells(aws: Clients, run_cli: RunCli) -> None:
    """Unregistered users '=cmd' (IAM allows '=' in names) and mallory with a key: --format csv prints a header and one
    row per drift; the name cell of '=cmd' starts with an apostrophe so a spreadsheet shows it as text."""
    # Given two unregistered users, one with a name a spreadsheet would run
    account = seed_clean_account(aws)
    key = add_drift(account)
    account.clients.iam().create_user(UserName="=cmd")
    write_registry_table(account)
    # When it is scanned as CSV
    result = run_cli(scan_table(account, "--format", "csv"))
    # Then every drift is a row
    assert result.code == 1, result.err
    rows = list(csv.DictReader(io.StringIO(result.out)))
    assert {(r["type"], r["kind"], r["name"]) for r in rows} == {
        ("unregistered-identity", "user", "mallory"),
        ("unregistered-identity", "access_key", key),
        ("unregistered-identity", "user", "'=cmd"),
    }
    assert all(r["account_id"] == ACCOUNT and r["severity"] in Severity.__members__ for r in rows)
    assert next(r for r in rows if r["kind"] == "access_key")["user"] == "mallory"


# --- SARIF ---------------------------------------------------------------------------------------------------------


def sarif_scan(run_cli: RunCli, account: Any, path: Path, *extra: str) -> Any:
    return run_cli(
        ["scan", "--registry-file", str(path), "--endpoint-url", account.endpoint, "--format", "sarif", *extra]
    )


def test_sarif_validates_and_points_at_the_registry_file(aws: Clients, run_cli: RunCli, tmp_path: Path) -> None:
    """--registry-file with three drifts, --format sarif: the log validates against the SARIF 2.1.0 schema; it has
    one rule per drift type; alice's missing-entitlement result points at alice's entry (line 3 of the file),
    mallory's (not in the file) at line 1; levels follow severity (MEDIUM unregistered user: warning, HIGH
    unregistered key: error, LOW missing entitlement: note). A log with an invalid level fails the schema."""
    # Given a registry file and an account with drift
    account = drifted_account(aws)
    path = tmp_path / "registry.yaml"
    path.write_text(registry_yaml(ACCOUNT, account), encoding="utf-8")
    # When it is scanned as SARIF
    result = sarif_scan(run_cli, account, path)
    # Then it is valid SARIF 2.1.0 with the expected content
    assert result.code == 1, result.err
    log = json.loads(result.out)
    assert sarif_errors(log) == []
    run = log["runs"][0]
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == [t.value for t in DriftType]
    results = {(r["ruleId"], r["properties"]["identity"]): r for r in run["results"]}
    alice = results[("missing-entitlement", "user#alice")]
    mallory = results[("unregistered-identity", "user#mallory")]
    key = next(r for (rule, ident), r in results.items() if ident.startswith("access_key#"))
    assert alice["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": path.resolve().as_uri()},
        "region": {"startLine": 3},
    }
    assert path.read_text().splitlines()[2] == "  - kind: user"  # line 3 is alice's entry
    assert mallory["locations"][0]["physicalLocation"]["region"] == {"startLine": 1}
    assert (alice["level"], mallory["level"], key["level"]) == ("note", "warning", "error")
    assert all(r["ruleIndex"] == [t.value for t in DriftType].index(r["ruleId"]) for r in run["results"])
    # And the schema is really checked
    broken = copy.deepcopy(log)
    broken["runs"][0]["results"][0]["level"] = "fatal"
    assert sarif_errors(broken) != []
    broken = copy.deepcopy(log)
    del broken["runs"][0]["tool"]["driver"]["name"]
    assert sarif_errors(broken) != []


def test_sarif_fingerprints_are_stable_and_mutes_are_suppressions(
    aws: Clients, run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two SARIF scans of the same drift give the same partialFingerprints (a dashboard follows one alert); with a
    live mute on mallory, her result stays in the log with an accepted external suppression carrying the reason, and
    an expired mute is a warning notification of the invocation. A relative registry path stays relative."""
    account = drifted_account(aws)
    monkeypatch.chdir(tmp_path)
    Path("registry.yaml").write_text(registry_yaml(ACCOUNT, account), encoding="utf-8")
    first = json.loads(sarif_scan(run_cli, account, Path("registry.yaml")).out)
    mutes = mute_file(
        tmp_path,
        {"identity": "user#mallory", "type": "unregistered-identity", "expires": TOMORROW, "reason": "leaves Friday"},
        {"identity": "role#gone", "type": "missing-identity", "expires": "2020-01-01", "reason": "old"},
    )
    second_run = sarif_scan(run_cli, account, Path("registry.yaml"), "--ignore", str(mutes))
    second = json.loads(second_run.out)
    assert sarif_errors(second) == []

    def prints(log: Any) -> dict[str, str]:
        return {
            r["properties"]["identity"]: r["partialFingerprints"]["driftlineDrift/v1"]
            for r in log["runs"][0]["results"]
        }

    assert prints(first) == prints(second) and len(prints(first)) == 3
    suppressed = [r for r in second["runs"][0]["results"] if "suppressions" in r]
    assert [(r["properties"]["identity"], r["suppressions"]) for r in suppressed] == [
        ("user#mallory", [{"kind": "external", "status": "accepted", "justification": "leaves Friday"}])
    ]
    notes = second["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert [n["level"] for n in notes] == ["warning"] and "role#gone missing-identity expired" in notes[0]["message"][
        "text"
    ]
    uri = first["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "registry.yaml"


def test_sarif_without_a_registry_file_has_logical_locations(aws: Clients, run_cli: RunCli) -> None:
    """--registry-table (no file to point at): every result has a logical location naming the identity (kind#name,
    and its ARN when IAM has it) and no physical location; the log still validates."""
    account = drifted_account(aws)
    write_registry_table(account)
    log = json.loads(run_cli(scan_table(account, "--format", "sarif")).out)
    assert sarif_errors(log) == []
    for result in log["runs"][0]["results"]:
        (location,) = result["locations"]
        assert "physicalLocation" not in location
        assert location["logicalLocations"][0]["name"] == result["properties"]["identity"]
    mallory = next(r for r in log["runs"][0]["results"] if r["properties"]["identity"] == "user#mallory")
    assert (
        mallory["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == f"arn:aws:iam::{ACCOUNT}:user/mallory"
    )


# --- ASFF ----------------------------------------------------------------------------------------------------------


def test_asff_is_valid_batch_import_findings_input(aws: Clients, run_cli: RunCli) -> None:
    """--format asff on three drifts: {"Findings": [...]} passes botocore's ParamValidator for
    BatchImportFindings, one finding per drift with the Id --publish would use; nothing is imported (no Security
    Hub call). The same document with a finding missing its required Title fails the validator."""
    # Given an account with three drifts
    account = drifted_account(aws)
    write_registry_table(account)
    # When it is scanned as ASFF
    result = run_cli(scan_table(account, "--format", "asff"))
    # Then it is what BatchImportFindings takes
    assert result.code == 1, result.err
    document = json.loads(result.out)
    assert asff_errors(document) == []
    assert set(document) == {"Findings"}
    place = Place(account_id=ACCOUNT, region="us-east-1")
    expected = {
        finding_id(place, DriftType(t), ident)
        for t, ident in (
            (d["type"], _ref(d)) for d in json.loads(run_cli(scan_table(account, "--format", "json")).out)["drifts"]
        )
    }
    assert {f["Id"] for f in document["Findings"]} == expected and len(expected) == 3
    assert {f["AwsAccountId"] for f in document["Findings"]} == {ACCOUNT}
    # And each is labelled as the sink's first import of it would be
    assert {f["ProductFields"]["driftline/ImportReason"] for f in document["Findings"]} == {"new"}
    # And the validator is really applied
    broken = copy.deepcopy(document)
    del broken["Findings"][0]["Title"]
    assert any("Title" in line for line in asff_errors(broken))


def _ref(drift: dict[str, Any]) -> Any:
    from driftline.domain.identity import IdentityRef

    return IdentityRef.model_validate(drift["identity"])


def test_asff_leaves_out_muted_and_filtered_drifts(aws: Clients, run_cli: RunCli, tmp_path: Path) -> None:
    """--format asff --severity HIGH,MEDIUM with mallory's user muted: only mallory's unregistered key (HIGH) is a
    finding (alice's LOW missing entitlement is filtered out, the user muted)."""
    account = drifted_account(aws)
    write_registry_table(account)
    mutes = mute_file(
        tmp_path, {"identity": "user#mallory", "type": "unregistered-identity", "expires": TOMORROW, "reason": "r"}
    )
    result = run_cli(scan_table(account, "--format", "asff", "--severity", "HIGH,MEDIUM", "--ignore", str(mutes)))
    findings = json.loads(result.out)["Findings"]
    assert [f["ProductFields"]["driftline/Identity"].split("#")[0] for f in findings] == ["access_key"]
    assert asff_errors({"Findings": findings}) == []


# --- scan --org JSON -----------------------------------------------------------------------------------------------


def test_org_json_validates_against_its_schema(aws: Clients, run_cli: RunCli) -> None:
    """scan --org --format json over two members: the document validates against docs/schema/scan-org.schema.json
    (which shares definitions with scan.schema.json); an account line with an unknown status does not."""
    from tests.cli.test_scan_org import org_scan, organisation

    organisation(aws, 2)
    assert aws.endpoint_url is not None
    result = org_scan(run_cli, aws.endpoint_url, "--format", "json")
    assert result.code == 1, result.err
    document = json.loads(result.out)
    assert org_errors(document) == []
    # the two members and moto's management account itself
    assert document["schema_version"] == "1.0" and document["summary"]["scanned"] == len(document["accounts"]) == 3
    broken = copy.deepcopy(document)
    broken["accounts"][0]["status"] = "maybe"
    assert org_errors(broken) != []


@pytest.mark.parametrize("fmt", ["csv", "sarif", "asff"])
def test_org_refuses_formats_it_does_not_have(fmt: str, run_cli: RunCli) -> None:
    """scan --org --format csv|sarif|asff: a usage mistake (exit 2) naming the formats --org has; nothing is called
    (the endpoint is a closed port)."""
    result = run_cli(
        ["scan", "--org", "--registry-table", REGISTRY, "--format", fmt, "--endpoint-url", "http://127.0.0.1:9"]
    )
    assert result.code == 2
    assert f"--format {fmt} is not available with --org (choose from table, json)" in result.err


def test_dates_in_mutes_are_dates(tmp_path: Path) -> None:
    """A mute's 'expires' given as a YAML date is kept as that date (muted through the end of that day, UTC)."""
    from driftline.cli.gate import parse_mutes

    parsed = parse_mutes(
        "mutes:\n  - {identity: user#a, type: stale-credential, expires: 2030-01-31, reason: r}\n", "m.yaml"
    )
    assert parsed.mutes[0].expires == date(2030, 1, 31)
    assert parsed.mutes[0].ends_at == datetime(2030, 2, 1, tzinfo=UTC)


def test_sarif_says_an_invalid_registry_item_failed_the_run(aws: Clients, run_cli: RunCli) -> None:
    """A registry table holding an item without an owner (role#ghost), --format sarif: exit 3, the log still
    validates, its invocation is not successful and carries an error notification naming the item."""
    account = seed_clean_account(aws)
    write_registry_table(account)
    account.clients.dynamodb().put_item(
        TableName=REGISTRY,
        Item={"pk": {"S": ACCOUNT}, "sk": {"S": "role#ghost"}, "kind": {"S": "role"}, "name": {"S": "ghost"}},
    )
    result = run_cli(scan_table(account, "--format", "sarif"))
    assert result.code == 3
    log = json.loads(result.out)
    assert sarif_errors(log) == []
    (invocation,) = log["runs"][0]["invocations"]
    assert invocation["executionSuccessful"] is False
    assert [(n["level"], "role#ghost" in n["message"]["text"]) for n in invocation["toolExecutionNotifications"]] == [
        ("error", True)
    ]


def test_json_revocations_validate(aws: Clients, run_cli: RunCli) -> None:
    """bob revoked in the registry a minute ago (in his grace period: a pending revocation, no drift yet): the JSON's
    revocations list him as pending and the document validates (the revocation's fields are the schema's)."""
    from driftline.domain.registry import Status

    account = seed_clean_account(aws)
    revoked = [
        e.model_copy(update={"status": Status.REVOKED, "revoked_at": datetime.now(UTC) - timedelta(minutes=1)})
        if e.name == "bob"
        else e
        for e in account.entries
    ]
    write_registry_table(account, revoked)
    result = run_cli(scan_table(account, "--format", "json"))
    document = json.loads(result.out)
    assert [(r["identity"]["name"], r["state"]) for r in document["revocations"]] == [("bob", "pending")]
    assert scan_errors(document) == []
    broken = copy.deepcopy(document)
    broken["revocations"][0]["state"] = "forgotten"
    assert scan_errors(broken) != []
