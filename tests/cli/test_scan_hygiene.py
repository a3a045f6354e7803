"""``driftline scan --no-hygiene``: the stale-credential checks switched off for one scan (where Security Hub's
IAM.3/IAM.8/IAM.22 controls or IAM Access Analyzer's unused-access findings already report them).

Against the in-process moto server: alice's key is backdated in moto's IAM backend (moto documents setting
``AccessKey.create_date`` by hand), so the default scan finds it stale.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from moto.core.utils import utcnow
from moto.iam.models import iam_backends

from driftline.adapters.aws import Clients
from driftline.cli.main import build_parser
from driftline.cli.scan import compare_settings
from tests.cli.conftest import ACCOUNT, RunCli
from tests.cli.test_scan import REGISTRY, scan_table, seed_clean_account, write_registry_table


def _age_alices_key(days: int) -> None:
    (key,) = iam_backends[ACCOUNT]["global"].users["alice"].access_keys
    key.create_date = utcnow() - timedelta(days=days)


def _stale(out: str) -> list[str]:
    return [d["identity"]["name"] for d in json.loads(out)["drifts"] if d["type"] == "stale-credential"]


def test_a_200_day_old_key_is_stale_by_default_and_not_with_no_hygiene(aws: Clients, run_cli: RunCli) -> None:
    """Input: a clean registered account whose key of alice is 200 days old, scanned twice: as is, then with
    --no-hygiene. Must report alice's key as stale-credential (exit 1) the first time, and no drift (exit 0) the
    second."""
    # Given the clean account with alice's key backdated
    account = seed_clean_account(aws)
    write_registry_table(account)
    _age_alices_key(200)

    # When scanned by default, then with the hygiene checks off
    default = run_cli(scan_table(account, "--format", "json"))
    without = run_cli(scan_table(account, "--format", "json", "--no-hygiene"))

    # Then only the default scan finds the stale key
    assert default.code == 1, default.err
    assert _stale(default.out) == [account.keys["alice"]]
    assert without.code == 0, without.err
    assert json.loads(without.out)["drifts"] == []


@pytest.mark.parametrize(("flag", "hygiene"), [([], True), (["--hygiene"], True), (["--no-hygiene"], False)])
def test_the_hygiene_flag_reaches_the_comparison_settings(flag: list[str], hygiene: bool) -> None:
    """Input: scan's arguments without the flag, with --hygiene and with --no-hygiene. Must give the comparison
    hygiene on, on and off."""
    args = build_parser().parse_args(["scan", "--registry-table", REGISTRY, *flag])
    assert compare_settings(args).hygiene is hygiene
