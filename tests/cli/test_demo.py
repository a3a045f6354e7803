"""``driftline demo``: the embedded moto account must show exactly ``demo_scenario.EXPECTED`` and leave nothing behind.

The JSON run happens once per module (it takes a few seconds); the tests below each check one property of it.
"""

from __future__ import annotations

import io
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest

from driftline.adapters.aws import Clients
from driftline.cli import demo, demo_scenario, sandbox
from driftline.cli.main import main
from driftline.domain.drift import DriftType
from tests.cli.conftest import RunCli, reset_moto

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class DemoRun:
    code: int
    out: str
    seconds: float
    endpoints: list[str]
    env_before: dict[str, str]
    env_after: dict[str, str]
    threads_before: set[threading.Thread]
    threads_after: list[threading.Thread]


@contextmanager
def recording_servers(endpoints: list[str]) -> Iterator[None]:
    """Wrap the demo's moto_server so the test learns the endpoint (port) it ran on."""

    @contextmanager
    def spy() -> Iterator[str]:
        with sandbox.moto_server() as endpoint:
            endpoints.append(endpoint)
            yield endpoint

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(demo, "moto_server", spy)
        yield


def run_demo_json() -> DemoRun:
    """``main(["demo", "--format", "json"])`` on a fresh moto state, with its output, timing and side effects."""
    reset_moto()  # moto's backends are process-global: other tests' identities would join the demo account
    out = io.StringIO()
    endpoints: list[str] = []
    env_before = dict(os.environ)
    threads_before = set(threading.enumerate())
    with recording_servers(endpoints), pytest.MonkeyPatch.context() as patch:
        patch.setattr(demo.run_demo, "__defaults__", (out,))
        started = time.perf_counter()
        code = main(["demo", "--format", "json"])
        seconds = time.perf_counter() - started
    return DemoRun(
        code=code,
        out=out.getvalue(),
        seconds=seconds,
        endpoints=endpoints,
        env_before=env_before,
        env_after=dict(os.environ),
        threads_before=threads_before,
        threads_after=threading.enumerate(),
    )


@pytest.fixture(scope="module")
def demo_run() -> DemoRun:
    return run_demo_json()


def identity_of(drift: dict[str, Any]) -> str:
    """``kind#name``, except access keys, which are named by their user: ``access_key@<user>`` (as in EXPECTED)."""
    identity = drift["identity"]
    if identity["kind"] == "access_key":
        return f"access_key@{drift['user']}"
    return f"{identity['kind']}#{identity['name']}"


def test_demo_json_exits_0(demo_run: DemoRun) -> None:
    """main(['demo', '--format', 'json']) returns 0 and prints one JSON document; its wall time is printed (-s)."""
    # Given / When the demo has run (module fixture)
    print(f"\ndriftline demo --format json: {demo_run.seconds:.2f} s wall time")
    # Then it succeeded and printed JSON for the demo account
    assert demo_run.code == 0
    assert json.loads(demo_run.out)["account_id"] == demo_scenario.ACCOUNT


def test_demo_reports_exactly_the_expected_drifts(demo_run: DemoRun) -> None:
    """Every drift of the demo, as (type, identity) with keys named access_key@<user>, equals EXPECTED: nothing
    missing, nothing extra, no duplicates."""
    # Given the demo's JSON output
    drifts = json.loads(demo_run.out)["drifts"]
    # When each drift is named as EXPECTED names them
    found = [(d["type"], identity_of(d)) for d in drifts]
    # Then the set is exactly EXPECTED, each reported once
    assert set(found) == demo_scenario.EXPECTED
    assert len(found) == len(set(found)) == len(demo_scenario.EXPECTED)


def test_demo_shows_every_drift_type(demo_run: DemoRun) -> None:
    """Each DriftType value occurs at least once in the demo's drifts (and in summary.by_type)."""
    # Given the demo's JSON output
    data = json.loads(demo_run.out)
    # When the drift types are collected
    types = {d["type"] for d in data["drifts"]}
    # Then every type is present
    assert types == {t.value for t in DriftType}
    assert set(data["summary"]["by_type"]) == {t.value for t in DriftType}
    assert sum(data["summary"]["by_type"].values()) == len(data["drifts"])


def test_demo_registry_is_valid_and_access_keys_name_their_user(demo_run: DemoRun) -> None:
    """The demo registry has no invalid entries, and every access-key drift carries its user."""
    # Given the demo's JSON output
    data = json.loads(demo_run.out)
    # When its registry problems and key drifts are inspected
    key_drifts = [d for d in data["drifts"] if d["identity"]["kind"] == "access_key"]
    # Then the registry was valid and no key drift lacks its user
    assert data["summary"]["registry_problems"] == []
    assert key_drifts and all(d["user"] for d in key_drifts)


def test_demo_stops_its_server(demo_run: DemoRun) -> None:
    """After the demo returns, the port its moto server listened on refuses connections."""
    # Given the endpoint the demo's server used
    assert len(demo_run.endpoints) == 1
    port = int(demo_run.endpoints[0].rsplit(":", 1)[1])
    # When something connects to it
    with socket.socket() as sock:
        sock.settimeout(2)
        refused = sock.connect_ex(("127.0.0.1", port))
    # Then nothing is listening
    assert refused != 0


def test_demo_restores_the_environment(demo_run: DemoRun) -> None:
    """The demo points boto3 at moto through os.environ; afterwards the environment is exactly as before."""
    # Given / When the demo has run
    # Then no variable of the demo is left behind, and none of ours was changed
    assert "AWS_ENDPOINT_URL" not in demo_run.env_after
    assert "DRIFTLINE_REGISTRY_TABLE" not in demo_run.env_after
    assert demo_run.env_after == demo_run.env_before


def test_demo_leaves_no_thread_running(demo_run: DemoRun) -> None:
    """No thread started by the demo that could keep the process alive (non-daemon) is left, and the server thread
    is gone."""
    # Given the threads alive before and after the demo
    new = [t for t in demo_run.threads_after if t not in demo_run.threads_before and t.is_alive()]
    # When the new ones are examined
    non_daemon = [t for t in new if not t.daemon]
    servers = [t for t in new if "_server_entry" in repr(getattr(t, "_target", None))]
    # Then none can hold the process, and no moto server thread survives
    assert non_daemon == []
    assert servers == []


def test_demo_table_names_every_drift_type(run_cli: RunCli) -> None:
    """main(['demo']) (table format) returns 0, prints each drift type's name, the quiet re-run line and
    'the moto server is stopped'."""
    # Given a fresh moto state
    reset_moto()
    # When the demo runs with the default (table) format
    started = time.perf_counter()
    result = run_cli(["demo"])
    print(f"\ndriftline demo (table): {time.perf_counter() - started:.2f} s wall time")
    # Then the table shows every type and the closing lines
    assert result.code == 0, result.err
    missing = [t.value for t in DriftType if t.value not in result.out]
    assert missing == []
    assert f"driftline: {len(demo_scenario.EXPECTED)} drift(s) in account {demo_scenario.ACCOUNT}" in result.out
    assert "the moto server is stopped" in result.out
    assert "AWS_ENDPOINT_URL" not in os.environ


def test_demo_runs_on_a_fresh_account_whatever_ran_before(aws: Clients, run_cli: RunCli) -> None:
    """With the IAM policy 'DevRead' left in the moto account by an earlier run in this process (exactly what a
    first demo leaves behind), main(['demo', '--format', 'json']) should still return 0 and report EXPECTED."""
    # Given state left behind in this process's moto account by an earlier demo
    aws.iam().create_policy(PolicyName="DevRead", PolicyDocument=demo_scenario.READ)
    # When the demo runs
    result = run_cli(["demo", "--format", "json"])
    # Then it runs on its own fresh account
    assert result.code == 0
    assert {(d["type"], identity_of(d)) for d in json.loads(result.out)["drifts"]} == demo_scenario.EXPECTED


def test_demo_json_validates_against_the_documented_schema(demo_run: DemoRun) -> None:
    """The demo's JSON (every drift type, with its evidence, and every revocation state) validates against
    docs/schema/scan.schema.json: the schema describes real output of each type, not only the CLI tests' drifts."""
    from tests.cli.test_output_formats import scan_errors

    assert scan_errors(json.loads(demo_run.out)) == []
