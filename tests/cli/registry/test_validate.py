"""``driftline registry validate FILE``: every problem of a YAML, JSON or CSV file named with its place and field.

Each case of ISSUE 7's list (unknown kind, bad key id, naive or unparseable dates, duplicate identities, missing
owner, revoked without revoked_at, policy ARN that is not an ARN) is written as the second entry of a file whose first
entry is valid, in each of the three formats: YAML reports the entry's line, CSV the row's line (the header is line
1), JSON the entry's index. No AWS is involved: validate reads only the file.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import ACCOUNT, RunCli
from tests.cli.registry.support import READ_ONLY

VALID = {"kind": "user", "name": "alice", "owner": "alice@example.com"}


@dataclass(frozen=True)
class Case:
    """One bad entry, and the problem text validate must print for it after ``entries[1] (line N)``."""

    id: str
    raw: dict[str, Any]
    problem: str


CASES = [
    Case(
        "unknown-kind",
        {"kind": "group", "name": "admins", "owner": "it@example.com"},
        " group#admins: kind: Input should be 'user', 'role' or 'access_key'",
    ),
    Case(
        "bad-key-id",
        {"kind": "access_key", "name": "AKIA123", "user": "alice", "owner": "alice@example.com"},
        " access_key#AKIA123: 'AKIA123' is not an access key id: expected AKIA followed by 16 upper-case letters or "
        "digits",
    ),
    Case(
        "lower-case-key-id",
        {"kind": "access_key", "name": "akiaabcdefghijklmnop", "user": "alice", "owner": "alice@example.com"},
        " access_key#akiaabcdefghijklmnop: 'akiaabcdefghijklmnop' is not an access key id",
    ),
    Case(
        "naive-expires-at",
        {"kind": "user", "name": "carol", "owner": "carol@example.com", "expires_at": "2030-01-01T00:00:00"},
        " user#carol: expires_at: Input should have timezone info",
    ),
    Case(
        "naive-revoked-at",
        {
            "kind": "user",
            "name": "carol",
            "owner": "carol@example.com",
            "status": "revoked",
            "revoked_at": "2024-05-01 12:00:00",
        },
        " user#carol: revoked_at: Input should have timezone info",
    ),
    Case(
        "unparseable-expires-at",
        {"kind": "user", "name": "dave", "owner": "dave@example.com", "expires_at": "next tuesday"},
        " user#dave: expires_at: Input should be a valid datetime or date",
    ),
    Case(
        "unparseable-revoked-at",
        {"kind": "role", "name": "app", "owner": "dave@example.com", "status": "revoked", "revoked_at": "2024-13-45"},
        " role#app: revoked_at: Input should be a valid datetime or date",
    ),
    Case(
        "duplicate-identity",
        {"kind": "user", "name": "alice", "owner": "someone-else@example.com"},
        ": duplicate of entries[0]",
    ),
    Case(
        "missing-owner",
        {"kind": "role", "name": "app"},
        " role#app: owner: Field required",
    ),
    Case(
        "blank-owner",
        {"kind": "role", "name": "app", "owner": "   "},
        " role#app: owner: String should have at least 1 character",
    ),
    Case(
        "revoked-without-revoked-at",
        {"kind": "user", "name": "frank", "owner": "frank@example.com", "status": "revoked"},
        " user#frank: status is 'revoked' but 'revoked_at' is missing: say when the revocation was decided",
    ),
    Case(
        "policy-name-not-arn",
        {"kind": "user", "name": "gina", "owner": "gina@example.com", "managed_policies": ["ReadOnlyAccess"]},
        " user#gina: managed_policies: 'ReadOnlyAccess' is not an IAM managed policy ARN",
    ),
    Case(
        "role-arn-not-policy-arn",
        {
            "kind": "role",
            "name": "app",
            "owner": "gina@example.com",
            "managed_policies": [READ_ONLY, f"arn:aws:iam::{ACCOUNT}:role/app"],
        },
        f" role#app: managed_policies: 'arn:aws:iam::{ACCOUNT}:role/app' is not an IAM managed policy ARN",
    ),
]


def yaml_text(entries: list[dict[str, Any]]) -> tuple[str, list[int]]:
    """YAML written by hand (one ``key: value`` a line, lists in flow style, every scalar quoted so a date stays the
    string the case wrote); also the line each entry starts on."""
    lines = [f'account_id: "{ACCOUNT}"', "entries:"]
    starts = []
    for raw in entries:
        starts.append(len(lines) + 1)
        for n, (key, value) in enumerate(raw.items()):
            text = "[" + ", ".join(value) + "]" if isinstance(value, list) else json.dumps(value)
            lines.append(f"  {'-' if n == 0 else ' '} {key}: {text}")
    return "\n".join(lines) + "\n", starts


def csv_text(entries: list[dict[str, Any]]) -> str:
    columns = ["account_id", *dict.fromkeys(k for raw in entries for k in raw)]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns)
    writer.writeheader()
    for raw in entries:
        writer.writerow(
            {k: ";".join(v) if isinstance(v, list) else v for k, v in raw.items()} | {"account_id": ACCOUNT}
        )
    return buffer.getvalue()


def write(tmp_path: Path, fmt: str, entries: list[dict[str, Any]]) -> tuple[Path, list[str]]:
    """The file, and the place validate must name for each entry (``entries[i] (line n)``, or ``entries[i]``)."""
    path = tmp_path / f"registry.{fmt}"
    if fmt == "yaml":
        text, starts = yaml_text(entries)
        places = [f"entries[{i}] (line {line})" for i, line in enumerate(starts)]
    elif fmt == "csv":
        text = csv_text(entries)
        places = [f"entries[{i}] (line {i + 2})" for i in range(len(entries))]
    else:
        text = json.dumps({"account_id": ACCOUNT, "entries": entries}, indent=2)
        places = [f"entries[{i}]" for i in range(len(entries))]
    path.write_text(text, encoding="utf-8")
    return path, places


FORMATS = ("yaml", "json", "csv")


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_each_validation_error_is_reported_with_its_place_and_field(
    case: Case, fmt: str, tmp_path: Path, run_cli: RunCli
) -> None:
    """A file of two entries, a valid user then the case's bad entry (in YAML starting on line 6, in CSV on row line
    3): exit 1, stdout empty, stderr '1 problem(s)' and exactly the case's problem after ``entries[1] (line N)``."""
    # Given a registry file whose second entry has the case's problem
    path, places = write(tmp_path, fmt, [VALID, case.raw])
    if fmt == "yaml":
        assert places[1] == "entries[1] (line 6)"
    # When it is validated
    result = run_cli(["registry", "validate", str(path)])
    # Then validate fails with exactly that problem, at the bad entry's place
    assert result.code == 1, result
    assert result.out == ""
    assert result.err.startswith(f"{path}: 1 problem(s) in the registry file:\n"), result.err
    problems = [line for line in result.err.splitlines()[1:] if line.strip()]
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"  - {places[1]}{case.problem}"), (problems[0], places[1] + case.problem)


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_problem_of_a_file_is_listed_at_once(fmt: str, tmp_path: Path, run_cli: RunCli) -> None:
    """One file holding a valid entry and then every case of the issue's list (13 bad entries): exit 1 and all 13
    problems, in file order, each at its own place (YAML line / CSV row line / JSON index); the valid entry is not
    mentioned."""
    # Given one file with every kind of problem
    raws = [VALID] + [c.raw for c in CASES]
    path, places = write(tmp_path, fmt, raws)
    # When it is validated
    result = run_cli(["registry", "validate", str(path)])
    # Then every problem is listed, each where it is
    assert result.code == 1
    assert f"{len(CASES)} problem(s) in the registry file" in result.err
    listed = [line.removeprefix("  - ") for line in result.err.splitlines()[1:]]
    assert len(listed) == len(CASES), listed
    for problem, case, place in zip(listed, CASES, places[1:], strict=True):
        assert problem.startswith(place + case.problem), (problem, place + case.problem)
    assert not any(p.startswith(places[0] + " ") or p.startswith(places[0] + ":") for p in listed)


@pytest.mark.parametrize("fmt", FORMATS)
def test_valid_file_exits_0_with_its_count(fmt: str, tmp_path: Path, run_cli: RunCli) -> None:
    """A valid file of 4 entries (user with policies, access key, revoked role, user approving nothing): exit 0,
    stdout '<file>: 4 valid entries for account 123456789012', stderr empty."""
    # Given a valid registry file
    path, _ = write(
        tmp_path,
        fmt,
        [
            VALID | {"managed_policies": [READ_ONLY], "groups": ["developers"]},
            {"kind": "access_key", "name": "AKIAABCDEFGHIJKLMNOP", "user": "alice", "owner": "alice@example.com"},
            {
                "kind": "role",
                "name": "old-app",
                "owner": "platform@example.com",
                "status": "revoked",
                "revoked_at": "2024-05-01T12:00:00Z",
                "ticket": "SEC-1",
            },
            {"kind": "user", "name": "bob", "owner": "bob@example.com", "inline_policies": []},
        ],
    )
    # When it is validated
    result = run_cli(["registry", "validate", str(path)])
    # Then it passes and says how many entries it holds
    assert result.code == 0, result.err
    assert result.out == f"{path}: 4 valid entries for account {ACCOUNT}\n"
    assert result.err == ""


def test_yaml_naive_timestamp_written_unquoted_is_rejected(tmp_path: Path, run_cli: RunCli) -> None:
    """YAML turns an unquoted ``expires_at: 2030-01-01T00:00:00`` into a naive datetime by itself (not a string):
    it is still reported as having no timezone, at the entry's line."""
    # Given a YAML file with an unquoted naive timestamp in its second entry (line 6)
    path = tmp_path / "registry.yaml"
    path.write_text(
        f'account_id: "{ACCOUNT}"\nentries:\n  - kind: user\n    name: alice\n    owner: a@example.com\n'
        "  - kind: user\n    name: carol\n    owner: c@example.com\n    expires_at: 2030-01-01T00:00:00\n",
        encoding="utf-8",
    )
    # When it is validated
    result = run_cli(["registry", "validate", str(path)])
    # Then the naive date is the one problem
    assert result.code == 1
    assert "  - entries[1] (line 6) user#carol: expires_at: Input should have timezone info" in result.err


def test_file_that_cannot_be_read_exits_1(tmp_path: Path, run_cli: RunCli) -> None:
    """validate of a path that does not exist: exit 1 and a 'cannot read the file' problem naming the path."""
    # Given a path with no file
    path = tmp_path / "missing.yaml"
    # When it is validated
    result = run_cli(["registry", "validate", str(path)])
    # Then it is reported as an invalid file
    assert result.code == 1
    assert f"{path}: 1 problem(s)" in result.err
    assert "cannot read the file" in result.err
