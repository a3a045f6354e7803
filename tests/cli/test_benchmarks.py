"""Smoke runs of ``make bench`` at a tiny size, so the benchmarks cannot rot between the runs the README quotes.

Each runs the real benchmark (moto server on loopback, the real ``driftline scan`` process, the real handler) and
checks the figures it writes: targets that must hold at any size, not timings.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks import accuracy, event_path, hub_run, registry_import
from benchmarks import run as reconcile_bench
from driftline.domain.drift import DriftType
from driftline.settings import get_settings
from tests.cli.conftest import reset_moto

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _isolated() -> Iterator[None]:
    """The benchmarks set variables in the environment (credentials, the handler's tables) and leave moto state:
    the environment and the cached settings are put back exactly, and moto is reset, for the tests that follow."""
    before = dict(os.environ)
    reset_moto()
    yield
    os.environ.clear()
    os.environ.update(before)
    get_settings.cache_clear()
    reset_moto()


def test_reconcile_benchmark_at_100_users(tmp_path: Path) -> None:
    """100 users: the first run imports findings, the quiet re-run stays within the IAM budget (one call per 100
    identities + 10) with no Security Hub import, the one-change run finds the new user and key. With 10% of users
    and roles revoked (four in five enforced), a quiet re-run reads no enforced revoked user again: per-user reads
    only for the unenforced ones, other credentials from the cache, each policy document once."""
    assert reconcile_bench.main(["--sizes", "100", "--revoked-shares", "0,0.1", "--results", str(tmp_path)]) == 0

    row, revoked = json.loads((tmp_path / "reconcile.json").read_text())
    unenforced_users = revoked["injected"]["revoked users unenforced"]
    quiet = revoked["quiet"]["calls"]
    assert revoked["injected"]["revoked users enforced"] > 0 and revoked["injected"]["revoked roles enforced"] > 0
    assert quiet.get("iam.ListAccessKeys", 0) == quiet.get("iam.GetLoginProfile", 0) == unenforced_users
    assert not {"iam.ListSSHPublicKeys", "iam.ListSigningCertificates", "iam.ListServiceSpecificCredentials"} & set(
        quiet
    )
    assert quiet.get("iam.GetPolicyVersion", 0) <= 21  # the 20 bench policies and the deny policy, once each
    assert revoked["quiet"]["securityhub_imports"] == 0
    assert row["first"]["securityhub_imports"] >= 1 and row["first"]["drifts"] > 0
    assert row["quiet"]["iam_calls"] <= row["quiet_iam_budget"]
    assert row["quiet"]["securityhub_imports"] == 0
    assert row["one_change"]["drifts"] == row["quiet"]["drifts"] + 2
    assert row["first"]["cpu_s"] > 0 and row["first"]["peak_rss_mb"] > 0


# a skipped event publishes no metric: Powertools warns, as the benchmark delivers events outside Lambda's runtime
@pytest.mark.filterwarnings("ignore:No application metrics:UserWarning")
def test_event_path_benchmark_at_20_users(tmp_path: Path) -> None:
    """30 events on 20 users: every first delivery is evaluated, a redelivery costs one call (the idempotency
    record), and the typical event stays a handful of calls."""
    assert event_path.main(["--users", "20", "--events", "30", "--cold-events", "1", "--results", str(tmp_path)]) == 0

    result = json.loads((tmp_path / "event_path.json").read_text())
    assert set(result["statuses"]) == {"evaluated"}
    assert result["by_event"]["Redelivery"]["aws_calls"]["max"] == 1
    assert result["overall"]["aws_calls"]["p50"] <= 16


def test_registry_import_benchmark_at_200_entries(tmp_path: Path) -> None:
    """200 entries: validation and the first import see all 200; the no-op re-import writes nothing."""
    assert registry_import.main(["--size", "200", "--results", str(tmp_path)]) == 0

    steps = json.loads((tmp_path / "registry_import.json").read_text())["steps"]
    assert steps["validate"]["summary"][0].endswith(": 200 valid entries for account 123456789012")
    assert steps["import"]["summary"][0] == "200 added, 0 changed, 0 unchanged, 0 removed"
    assert steps["reimport"]["summary"][-1] == "nothing to write"


def test_hub_run_benchmark_at_3_accounts(tmp_path: Path) -> None:
    """Three members of 30 users and the management account: every account is reconciled through two assumed roles
    in each run, the first run finds the seeded drifts, and a quiet run reads far less than the first."""
    assert hub_run.main(["--accounts", "3", "--users", "30", "--results", str(tmp_path)]) == 0

    result = json.loads((tmp_path / "hub_run.json").read_text())
    first, quiet, parallel = result["runs"]
    for run in result["runs"]:
        assert (run["accounts"], run["reconciled"], run["failed"]) == (4, 4, [])
        assert run["assume_role_per_account"] == 2  # the read role and the findings publisher role
    assert first["drifts"] > 0 and quiet["drifts"] == parallel["drifts"] == first["drifts"]
    assert quiet["calls_per_account_median"] < first["calls_per_account_median"]


def test_accuracy_benchmark_at_20_users(tmp_path: Path) -> None:
    """20 clean users and 10 roles, one injection of every drift type and one set of near-misses: every type is
    injected, found with precision and recall 1.0 (no false positive, none missed), and no near-miss is reported."""
    assert accuracy.main(["--users", "20", "--results", str(tmp_path)]) == 0

    result = json.loads((tmp_path / "accuracy.json").read_text())
    injected = {name: row for name, row in result["by_type"].items() if row["injected"]}
    assert set(injected) == {t.value for t in DriftType} - set(accuracy.NOT_PRODUCIBLE)
    for name, row in result["by_type"].items():
        assert (name, row["fp"], row["fn"]) == (name, 0, 0), row
    assert {(row["precision"], row["recall"]) for row in injected.values()} == {(1.0, 1.0)}
    assert result["near_misses"] > 0 and result["near_misses_reported"] == {}
