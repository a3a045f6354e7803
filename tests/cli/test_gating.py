"""CI gating of ``driftline scan``: ``--fail-on``, ``--type``/``--severity`` and the mute list ``--ignore FILE``,
end to end against a moto account (main([...]), exit code and output).

The account has three drifts of three severities: user mallory unregistered (MEDIUM), her access key unregistered
(HIGH), alice missing her approved policy (LOW).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from driftline.adapters.aws import Clients
from tests.cli.conftest import RunCli
from tests.cli.test_output_formats import drifted_account
from tests.cli.test_scan import scan_table, write_registry_table

TODAY = datetime.now(UTC).date()
TOMORROW = (TODAY + timedelta(days=1)).isoformat()
YESTERDAY = (TODAY - timedelta(days=1)).isoformat()
CLOSED = "http://127.0.0.1:9"  # nothing listens: a usage error must be found before any call


@pytest.fixture
def account(aws: Clients) -> Any:
    account = drifted_account(aws)
    write_registry_table(account)
    return account


def scan_json(run_cli: RunCli, account: Any, *extra: str) -> tuple[int, dict[str, Any], str]:
    result = run_cli(scan_table(account, "--format", "json", *extra))
    return result.code, json.loads(result.out) if result.out else {}, result.err


def write_mutes(tmp_path: Path, text: str, name: str = "mutes.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- --fail-on -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fail_on", "code", "failing"),
    [
        (None, 1, 3),  # the default: any drift fails, as before
        ("any", 1, 3),
        ("CRITICAL", 0, 0),
        ("HIGH", 1, 1),
        ("high", 1, 1),
        ("MEDIUM", 1, 2),
        ("LOW", 1, 3),
        ("INFORMATIONAL", 1, 3),
        ("never", 0, 0),
    ],
)
def test_fail_on_sets_the_threshold(
    fail_on: str | None, code: int, failing: int, account: Any, run_cli: RunCli
) -> None:
    """Drifts MEDIUM, HIGH and LOW with --fail-on <threshold>: exit 1 only when a drift is at or above it; every drift
    is still reported (summary.drifts 3), summary.failing counts those at or above."""
    extra = ["--fail-on", fail_on] if fail_on else []
    exit_code, report, err = scan_json(run_cli, account, *extra)
    assert exit_code == code, err
    assert report["summary"]["drifts"] == 3
    assert report["summary"]["failing"] == failing


def test_fail_on_in_the_table_says_how_many_fail(account: Any, run_cli: RunCli) -> None:
    """Table output with --fail-on HIGH: a line says 1 of 3 drifts fails; exit 1."""
    result = run_cli(scan_table(account, "--fail-on", "HIGH"))
    assert result.code == 1
    assert "Failing (--fail-on HIGH): 1 of 3 drift(s)" in result.out


# --- --type / --severity -------------------------------------------------------------------------------------------


def test_type_filter_reports_only_that_type(account: Any, run_cli: RunCli) -> None:
    """--type missing-entitlement: only alice's LOW drift is reported, 2 filtered out; it fails by default (exit 1)
    and not with --fail-on MEDIUM (exit 0)."""
    code, report, _ = scan_json(run_cli, account, "--type", "missing-entitlement")
    assert code == 1
    assert [(d["type"], d["identity"]["name"]) for d in report["drifts"]] == [("missing-entitlement", "alice")]
    assert report["summary"]["filtered_out"] == 2
    assert report["gate"]["types"] == ["missing-entitlement"]
    code, report, _ = scan_json(run_cli, account, "--type", "missing-entitlement", "--fail-on", "MEDIUM")
    assert code == 0 and report["summary"]["drifts"] == 1 and report["summary"]["failing"] == 0


def test_type_filter_takes_lists_and_repeats(account: Any, run_cli: RunCli) -> None:
    """--type unregistered-identity,missing-identity --type missing-entitlement: the union (all three drifts here)."""
    code, report, _ = scan_json(
        run_cli, account, "--type", "unregistered-identity,missing-identity", "--type", "missing-entitlement"
    )
    assert code == 1 and report["summary"]["drifts"] == 3 and report["summary"]["filtered_out"] == 0


def test_severity_filter_is_case_insensitive(account: Any, run_cli: RunCli) -> None:
    """--severity high,Medium: the unregistered user (MEDIUM) and key (HIGH), not alice's LOW; the table names what
    it left out."""
    code, report, _ = scan_json(run_cli, account, "--severity", "high,Medium")
    assert code == 1
    assert sorted(d["severity"] for d in report["drifts"]) == ["HIGH", "MEDIUM"]
    table = run_cli(scan_table(account, "--severity", "low"))
    assert "1 drift(s) in account" in table.out and "Not shown: 2 drift(s) outside --type/--severity" in table.out


def test_a_filter_that_leaves_nothing_exits_0(account: Any, run_cli: RunCli) -> None:
    """--severity CRITICAL on an account without a CRITICAL drift: nothing reported, exit 0."""
    code, report, _ = scan_json(run_cli, account, "--severity", "CRITICAL")
    assert code == 0 and report["drifts"] == [] and report["summary"]["filtered_out"] == 3


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--type", "stale", "argument --type: invalid drift type 'stale' (choose from unregistered-identity,"),
        ("--type", ",", "argument --type: invalid drift type ','"),
        ("--severity", "SEVERE", "argument --severity: invalid severity 'SEVERE' (choose from CRITICAL,"),
        ("--fail-on", "always", "argument --fail-on: invalid severity 'always' (choose from CRITICAL,"),
    ],
)
def test_bad_filter_values_are_usage_errors(option: str, value: str, message: str, run_cli: RunCli) -> None:
    """An unknown drift type or severity: exit 2 with the usage line and the valid values; nothing is called."""
    result = run_cli(["scan", "--registry-table", "t", "--endpoint-url", CLOSED, option, value])
    assert result.code == 2
    assert result.err.startswith("usage: driftline scan")
    assert message in result.err


# --- mutes ---------------------------------------------------------------------------------------------------------


def test_live_mutes_mute_and_the_run_passes(account: Any, run_cli: RunCli, tmp_path: Path) -> None:
    """A YAML mute file accepting all three drifts (until tomorrow, by date; the key by kind#id in another case):
    nothing reported, exit 0, each drift under 'muted' with its reason; the table lists them."""
    code, report, _ = scan_json(run_cli, account)
    key = next(d["identity"]["name"] for d in report["drifts"] if d["identity"]["kind"] == "access_key")
    path = write_mutes(
        tmp_path,
        "mutes:\n"
        f"  - identity: user#Mallory\n    type: unregistered-identity\n    expires: {TOMORROW}\n    reason: leaving\n"
        f"  - identity: access_key#{key}\n    type: unregistered-identity\n    expires: {TOMORROW}\n"
        "    reason: leaving\n"
        f"  - identity: user#alice\n    type: missing-entitlement\n    expires: {TOMORROW}T12:00:00Z\n"
        "    reason: policy being reworked, SEC-9\n",
    )
    code, report, err = scan_json(run_cli, account, "--ignore", str(path))
    assert code == 0, err
    assert report["drifts"] == [] and report["summary"]["muted"] == 3
    assert {m["mute"]["reason"] for m in report["muted"]} == {"leaving", "policy being reworked, SEC-9"}
    table = run_cli(scan_table(account, "--ignore", str(path)))
    assert table.code == 0
    assert f"Muted: 3 drift(s) accepted in {path}" in table.out
    assert "missing-entitlement/user#alice until" in table.out and "SEC-9" in table.out


def test_a_mute_for_today_still_mutes(account: Any, run_cli: RunCli, tmp_path: Path) -> None:
    """expires: today's date mutes through the end of today (UTC): mallory's user is muted, 2 drifts remain. Today
    is read when the test runs, not when the module was imported (a suite crossing midnight UTC failed here)."""
    today = datetime.now(UTC).date().isoformat()
    path = write_mutes(tmp_path, one(identity="user#mallory", type="unregistered-identity", expires=today, reason="r"))
    code, report, _ = scan_json(run_cli, account, "--ignore", str(path))
    assert report["summary"]["muted"] == 1 and report["summary"]["drifts"] == 2 and report["expired_mutes"] == []


def test_an_expired_mute_is_reported_and_no_longer_mutes(account: Any, run_cli: RunCli, tmp_path: Path) -> None:
    """A mute of alice's missing-entitlement that expired yesterday: her drift is reported again (exit 1), stderr
    warns that the mute expired (naming it, its date and reason), the JSON lists it under expired_mutes."""
    path = write_mutes(
        tmp_path,
        f"mutes:\n  - {{identity: user#alice, type: missing-entitlement, expires: {YESTERDAY}, reason: SEC-9}}\n",
    )
    code, report, err = scan_json(run_cli, account, "--ignore", str(path), "--type", "missing-entitlement")
    assert code == 1
    assert [d["identity"]["name"] for d in report["drifts"]] == ["alice"]
    assert report["muted"] == []
    assert [m["identity"] for m in report["expired_mutes"]] == ["user#alice"]
    assert (
        f"driftline scan: warning: mute of user#alice missing-entitlement expired on {YESTERDAY} (SEC-9): "
        "no longer mutes" in err
    )


def test_a_mute_of_another_type_does_not_mute(account: Any, run_cli: RunCli, tmp_path: Path) -> None:
    """A mute of user#mallory for stale-credential leaves her unregistered-identity drift reported (identity AND type
    must match); --verbose says the mute muted nothing."""
    path = write_mutes(
        tmp_path, f"mutes:\n  - {{identity: user#mallory, type: stale-credential, expires: {TOMORROW}, reason: r}}\n"
    )
    result = run_cli(scan_table(account, "--format", "json", "--ignore", str(path), "--verbose"))
    report = json.loads(result.out)
    assert report["summary"]["muted"] == 0 and report["summary"]["drifts"] == 3
    assert "mute of user#mallory stale-credential muted nothing" in result.err


def one(**fields: Any) -> str:
    """A mute file of one entry (on line 2) with ``fields``, written as YAML flow (JSON) mapping."""
    return f"mutes:\n  - {json.dumps(fields)}\n"


GOOD: dict[str, Any] = {"identity": "user#a", "type": "stale-credential", "expires": "2030-01-01", "reason": "r"}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (one(**{k: v for k, v in GOOD.items() if k != "reason"}), "mutes[0] (line 2): reason: Field required"),
        (one(**GOOD | {"reason": "  "}), "mutes[0] (line 2): reason: String should have at least 1 character"),
        (one(**GOOD | {"identity": "alice"}), "identity: identity 'alice' is not of the form kind#name"),
        (one(**GOOD | {"type": "stale"}), "mutes[0] (line 2): type: Input should be"),
        (one(**GOOD | {"expiry": "2030-01-01"}), "mutes[0] (line 2): expiry: Extra inputs are not permitted"),
        (
            one(**GOOD | {"expires": "2030-01-01T10:00:00"}),
            "mutes[0] (line 2): expires: a date (2026-12-31) or a time with its zone (2026-12-31T18:00:00Z), "
            "got '2030-01-01T10:00:00'",
        ),
        (one(**GOOD | {"expires": "soon"}), "expires: a date (2026-12-31) or a time with its zone"),
        (one(**GOOD | {"account_id": "12"}), "account_id: String should match pattern"),
        (f"- {json.dumps(GOOD)}\n", "must be a mapping with one key, 'mutes'"),
        (one(**GOOD) + "mutes: []\n", "line 3: duplicate key 'mutes' (first at line 1)"),
        (
            one(**GOOD) + f"  - {json.dumps(GOOD | {'identity': 'user#A'})}\n",
            "mutes[1]: user#A stale-credential is muted twice (first in mutes[0])",
        ),
        ("mutes: [\n", "invalid YAML"),
    ],
    ids=[
        "no-reason",
        "blank-reason",
        "bad-identity",
        "bad-type",
        "unknown-key",
        "naive-time",
        "not-a-time",
        "bad-account",
        "not-a-mapping",
        "duplicate-key",
        "muted-twice",
        "bad-yaml",
    ],
)
def test_a_malformed_mute_file_is_a_usage_error(text: str, problem: str, run_cli: RunCli, tmp_path: Path) -> None:
    """Each malformed mute file: exit 2 before any AWS call (the endpoint is a closed port), the usage line, and the
    file and problem named (with the entry's line for YAML)."""
    path = write_mutes(tmp_path, text)
    result = run_cli(["scan", "--registry-table", "t", "--endpoint-url", CLOSED, "--ignore", str(path)])
    assert result.code == 2, result.err
    assert result.err.startswith("usage: driftline scan")
    assert f"argument --ignore: {path}" in result.err
    assert problem in result.err
    assert result.out == ""


def test_every_problem_of_a_mute_file_is_listed(run_cli: RunCli, tmp_path: Path) -> None:
    """Two bad entries in one JSON file: both named at once, with the count."""
    path = tmp_path / "mutes.json"
    path.write_text(
        json.dumps({"mutes": [{"identity": "user#a", "type": "x", "expires": "2030-01-01", "reason": "r"}, {}]}),
        encoding="utf-8",
    )
    result = run_cli(["scan", "--registry-table", "t", "--endpoint-url", CLOSED, "--ignore", str(path)])
    assert result.code == 2
    assert "problem(s) in the mute file" in result.err
    assert "mutes[0]: type:" in result.err and "mutes[1]: identity: Field required" in result.err


def test_a_missing_mute_file_is_a_usage_error(run_cli: RunCli, tmp_path: Path) -> None:
    """--ignore naming no file: exit 2, 'cannot read the mute file'."""
    result = run_cli(["scan", "--registry-table", "t", "--endpoint-url", CLOSED, "--ignore", str(tmp_path / "no")])
    assert result.code == 2 and "cannot read the mute file" in result.err


# --- scan --org ----------------------------------------------------------------------------------------------------


def test_org_mutes_can_name_one_account(aws: Clients, run_cli: RunCli, tmp_path: Path) -> None:
    """Three members, each with unregistered mallory (and OrganizationAccountAccessRole): a mute of user#mallory in
    the first member only leaves one drift there and two in the others; still exit 1; with --fail-on never exit 0;
    --type unregistered-identity keeps them all (it is their type)."""
    from tests.cli.test_scan_org import org_scan, organisation

    members = organisation(aws, 3)
    path = write_mutes(
        tmp_path,
        "mutes:\n  - identity: user#mallory\n    type: unregistered-identity\n"
        f"    expires: {TOMORROW}\n    reason: test user\n    account_id: '{members[0]}'\n",
    )
    assert aws.endpoint_url is not None
    result = org_scan(run_cli, aws.endpoint_url, "--format", "json", "--ignore", str(path))
    assert result.code == 1, result.err
    by_account = {a["account_id"]: a for a in json.loads(result.out)["accounts"]}
    assert (by_account[members[0]]["drifts"], by_account[members[0]]["muted"]) == (1, 1)
    assert all((by_account[m]["drifts"], by_account[m]["muted"]) == (2, 0) for m in members[1:])
    quiet = org_scan(run_cli, aws.endpoint_url, "--ignore", str(path), "--fail-on", "never")
    assert quiet.code == 0 and "(1 more muted)" in quiet.out
