"""Every AWS operation the functions' code calls is an action their roles are granted.

moto does not enforce IAM, so a new call in an adapter (a BatchGetItem, a paginator) passes every other test and
fails with AccessDenied only once deployed. This test reads the adapters' source (and Powertools' idempotency
store, which writes the state table for the event function), turns each boto3 method and paginator into its API
action with botocore's own mapping, and checks it against the action lists the stack grants (``stacks.constants``;
``test_permissions`` checks that the template renders exactly those lists).
"""

from __future__ import annotations

import ast
import inspect
from collections.abc import Iterable
from types import ModuleType

import boto3
import pytest
from aws_lambda_powertools.utilities.idempotency.persistence import dynamodb as idempotency_store

from driftline.adapters import (
    credential_report,
    dynamo,
    dynamo_batch,
    enforcer,
    finding_state,
    iam_access,
    iam_account,
    iam_identity,
    key_cache,
    ledger,
    organization,
    reconcile_request,
    registry,
    securityhub,
)
from stacks import constants


def _api_names(service: str) -> dict[str, str]:
    client = boto3.client(service, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    return dict(client.meta.method_to_api_mapping)


def _batch_helpers() -> dict[str, set[str]]:
    """The boto3 methods each DynamoDB helper (``adapters.dynamo_batch``, ``adapters.dynamo``) calls on its ``db``."""
    helpers: dict[str, set[str]] = {}
    for module in (dynamo_batch, dynamo):
        tree = ast.parse(inspect.getsource(module))
        helpers |= {fn.name: _calls(ast.unparse(fn), {"db"}) for fn in tree.body if isinstance(fn, ast.FunctionDef)}
    return helpers


def _calls(source: str, receivers: set[str], class_name: str | None = None) -> set[str]:
    """boto3 method names called on ``receivers`` (``self._db``, ``iam``…), paginator names, and the methods of the
    ``dynamo_batch`` helpers called, in the module or in one class of it."""
    tree: ast.AST = ast.parse(source)
    if class_name is not None:
        tree = next(n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and n.name == class_name)
    helpers = _batch_helpers() if "db" not in receivers else {}
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in helpers:
            found |= helpers[node.func.id]
            continue
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        receiver = ast.unparse(node.func.value)
        if receiver not in receivers:
            continue
        if node.func.attr == "get_paginator" and node.args and isinstance(node.args[0], ast.Constant):
            found.add(str(node.args[0].value))
        elif not node.func.attr.startswith("_") and node.func.attr not in {"meta", "exceptions"}:
            found.add(node.func.attr)
    return found


# Where IAM's action name is not the API operation's name (Service Authorization Reference).
ACTION_NAMES = {"lambda:Invoke": "lambda:InvokeFunction"}


def _actions(service: str, methods: Iterable[str]) -> set[str]:
    names = _api_names(service)
    unknown = sorted(m for m in methods if m not in names)
    assert not unknown, f"not {service} operations: {unknown}"
    return {ACTION_NAMES.get(f"{service}:{names[m]}", f"{service}:{names[m]}") for m in methods}


def _of(module: ModuleType, receivers: set[str], class_name: str | None = None) -> set[str]:
    return _calls(inspect.getsource(module), receivers, class_name)


@pytest.mark.parametrize(
    ("what", "service", "methods", "granted"),
    [
        (
            "registry reads (DynamoRegistry)",
            "dynamodb",
            lambda: _of(registry, {"self._db"}, "DynamoRegistry"),
            constants.REGISTRY_READ_ACTIONS,
        ),
        (
            "state table (finding states, ledger, key cache, Powertools idempotency)",
            "dynamodb",
            lambda: (
                _of(finding_state, {"self._db"})
                | _of(ledger, {"self._db"})
                | _of(key_cache, {"self._db"})
                | _of(reconcile_request, {"self._db"})
                | _of(idempotency_store, {"self.client"})
            ),
            constants.STATE_READ_WRITE_ACTIONS,
        ),
        (
            "IAM reads (account, identities, credential report)",
            "iam",
            lambda: (
                _of(iam_account, {"self._iam"})
                | _of(iam_identity, {"self._iam"})
                | _of(iam_access, {"self._iam", "iam"})
                | _of(credential_report, {"iam"})
            ),
            constants.IAM_ACCOUNT_READ_ACTIONS
            + constants.IAM_USER_READ_ACTIONS
            + constants.IAM_ROLE_READ_ACTIONS
            + constants.IAM_GROUP_READ_ACTIONS
            + constants.IAM_POLICY_READ_ACTIONS,
        ),
        ("enforcement (enforce mode)", "iam", lambda: _of(enforcer, {"iam"}), constants.ENFORCE_ACTIONS),
        (
            "reconcile request (IAM event function)",
            "lambda",
            lambda: _of(reconcile_request, {"self._lambda"}),
            ("lambda:InvokeFunction",),
        ),
        (
            "Security Hub import",
            "securityhub",
            lambda: _of(securityhub, {"self._client"}),
            constants.SECURITY_HUB_IMPORT_ACTIONS,
        ),
    ],
    ids=["registry", "state", "iam-reads", "enforce", "reconcile-request", "securityhub"],
)
def test_every_call_in_the_code_is_granted(what: str, service: str, methods: object, granted: tuple[str, ...]) -> None:
    """The actions of ``what``'s calls (read from source) must all be in the granted list, and the scan must find
    calls at all (a renamed receiver would otherwise make this test pass vacuously)."""
    assert callable(methods)
    called = _actions(service, methods())

    assert called, f"no {service} calls found for {what}: has the client attribute been renamed?"
    assert called <= set(granted), f"{what} calls actions its role lacks: {sorted(called - set(granted))}"


def test_the_scan_sees_a_missing_grant() -> None:
    """The check itself can fail: the registry's batch read is a call the scan finds, so a grant without
    dynamodb:BatchGetItem would be reported."""
    called = _actions("dynamodb", _of(registry, {"self._db"}, "DynamoRegistry"))

    assert "dynamodb:BatchGetItem" in called
    assert not called <= {"dynamodb:GetItem", "dynamodb:Query"}


# Each adapter module, its client attributes, and the service they call.
ADAPTERS = [
    (iam_account, "iam", {"self._iam"}, None),
    (iam_identity, "iam", {"self._iam"}, None),
    (iam_access, "iam", {"self._iam", "iam"}, None),
    (credential_report, "iam", {"iam"}, None),
    (enforcer, "iam", {"iam"}, None),
    (registry, "dynamodb", {"self._db"}, "DynamoRegistry"),
    (finding_state, "dynamodb", {"self._db"}, None),
    (ledger, "dynamodb", {"self._db"}, None),
    (key_cache, "dynamodb", {"self._db"}, None),
    (reconcile_request, "dynamodb", {"self._db"}, None),
    (reconcile_request, "lambda", {"self._lambda"}, None),
    (securityhub, "securityhub", {"self._client"}, None),
    (organization, "organizations", {"organizations"}, None),
]


@pytest.mark.parametrize(
    ("module", "service", "receivers", "class_name"),
    ADAPTERS,
    ids=[f"{m.__name__.rsplit('.', 1)[-1]}-{svc}" for m, svc, _, _ in ADAPTERS],
)
def test_each_adapter_declares_exactly_what_it_calls(
    module: ModuleType, service: str, receivers: set[str], class_name: str | None
) -> None:
    """An adapter's ``PERMISSIONS`` (what the stack grants from) hold every action its code calls on ``service``;
    and every action it declares for ``service`` is called somewhere in it (no grant outlives its call). The
    registry's GetItem is the one declared action no longer called (kept for readers of older deployments)."""
    called = _actions(service, _of(module, receivers, class_name))
    declared = {a for actions in module.PERMISSIONS.values() for a in actions if a.startswith(f"{service}:")}
    assert called, f"no {service} calls found in {module.__name__}"
    assert called <= declared, f"{module.__name__} calls undeclared actions: {sorted(called - declared)}"
    unused = declared - called - {"dynamodb:GetItem"} if module is registry else declared - called
    assert unused == set(), f"{module.__name__} declares actions it never calls: {sorted(unused)}"
