"""The domain is pure: no AWS SDK, no Powertools, no environment, no logging, no outer layers."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import driftline.domain

DOMAIN_DIR = Path(driftline.domain.__file__).parent
FORBIDDEN = ("boto3", "botocore", "aws_lambda_powertools", "os", "logging")
FORBIDDEN_DRIFTLINE = ("driftline.adapters", "driftline.handlers", "driftline.cli")
MODULES = sorted(DOMAIN_DIR.rglob("*.py"))


def _package_of(path: Path) -> str:
    """The dotted package a file belongs to (files outside the domain tree count as driftline.domain)."""
    try:
        parts = path.parent.relative_to(DOMAIN_DIR).parts
    except ValueError:
        parts = ()
    return ".".join(("driftline", "domain", *parts))


def _imported_modules(path: Path) -> set[str]:
    """Absolute names of every module a file imports, relative imports resolved against the file's package."""
    package = _package_of(path)
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def _forbidden(name: str) -> bool:
    return any(name == f or name.startswith(f + ".") for f in FORBIDDEN + FORBIDDEN_DRIFTLINE)


def test_the_domain_package_has_modules() -> None:
    """Guard against a vacuous pass: the walk finds the domain modules, compare.py among them."""
    assert DOMAIN_DIR / "compare.py" in MODULES
    assert len(MODULES) >= 10


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_domain_module_imports_nothing_impure(path: Path) -> None:
    """Each domain module imports none of boto3, botocore, aws_lambda_powertools, os, logging, or
    driftline.adapters/handlers/cli (at any depth, relative or absolute, including inside functions)."""
    # Given a domain module's syntax tree
    # When its imports are collected
    bad = sorted(name for name in _imported_modules(path) if _forbidden(name))
    # Then none is forbidden
    assert bad == [], f"{path.name} imports {bad}"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import os", True),
        ("import os.path", True),
        ("from os import environ", True),
        ("import boto3.session", True),
        ("from botocore.exceptions import ClientError", True),
        ("from aws_lambda_powertools import Logger", True),
        ("def f():\n    import logging", True),
        ("from driftline.adapters import aws", True),
        ("from driftline import cli", True),
        ("from .. import handlers", True),
        ("import ossify", False),
        ("from driftline.domain import compare", False),
        ("from typing import Any", False),
    ],
)
def test_the_checker_itself(tmp_path: Path, source: str, expected: bool) -> None:
    """The boundary check flags '{source}' == {expected}: it catches nested, relative and from-imports and does not
    flag look-alike names."""
    module = tmp_path / "m.py"
    module.write_text(source + "\n")
    assert any(_forbidden(n) for n in _imported_modules(module)) is expected
