"""Fixtures of the registry command tests: a reset moto account with the registry and state tables created.

Every ``driftline registry …`` run builds its own ``boto3.Session`` (as the CLI does for real), and each new session
parses botocore's JSON data (endpoints, partitions, service models) again: about 0.2 s per command, most of this
package's runtime. ``_shared_botocore_data`` gives every session one shared botocore loader, which caches what it has
parsed (botocore's own per-session cache, here per test run). Nothing else about the sessions or clients changes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import botocore.loaders
import botocore.session
import pytest

from driftline.adapters.aws import Clients
from driftline.cli.sandbox import create_tables
from tests.cli.conftest import CliResult, RunCli
from tests.cli.registry.support import REGISTRY, STATE, Registry, registry_cli

Cli = Callable[..., CliResult]

_LOADER = botocore.loaders.create_loader()
_BOTO3_SESSION = boto3.Session


@pytest.fixture(autouse=True)
def _shared_botocore_data(monkeypatch: pytest.MonkeyPatch) -> None:
    def session(*args: Any, **kwargs: Any) -> boto3.Session:
        if kwargs.get("botocore_session") is None:
            core = botocore.session.get_session()
            core.register_component("data_loader", _LOADER)
            kwargs["botocore_session"] = core
        made = _BOTO3_SESSION(*args, **kwargs)
        _LOADER.search_paths[:] = list(dict.fromkeys(_LOADER.search_paths))  # boto3 appends its data path each time
        return made

    monkeypatch.setattr(boto3, "Session", session)


@pytest.fixture
def registry(aws: Clients) -> Registry:
    """An empty registry table (stream on, as the stack makes it) on a freshly reset moto account."""
    create_tables(aws.dynamodb(), REGISTRY, STATE)
    assert aws.endpoint_url is not None
    return Registry(clients=aws, endpoint=aws.endpoint_url)


@pytest.fixture
def cli(run_cli: RunCli, registry: Registry) -> Cli:
    """``cli("import", path, "--dry-run")`` runs ``driftline registry import path --dry-run`` against ``registry``."""

    def run(*argv: str) -> CliResult:
        return registry_cli(run_cli, registry, *argv)

    return run
