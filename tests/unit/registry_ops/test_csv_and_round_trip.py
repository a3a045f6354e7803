"""The CSV registry format, and dump_registry -> parse_registry round trips in YAML, JSON and CSV (pure).

CSV: one row per entry under a header; every row repeats account_id; an empty cell is an absent field; list cells
separate items with ';' and a single '-' means an empty list ("nothing approved", as opposed to "not governed").
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from driftline.cli.registry_file import CSV_COLUMNS, dump_registry, load_registry_file, parse_registry
from driftline.domain.errors import RegistryFileError
from driftline.domain.identity import Kind
from driftline.domain.principals import parse_principal
from driftline.domain.registry import RegistryEntry, RegistrySnapshot, Status

ACCOUNT = "123456789012"
OTHER = "210987654321"
READ = "arn:aws:iam::aws:policy/ReadOnlyAccess"
HEADER = "account_id,kind,name,user,owner,status,revoked_at,managed_policies,groups,inline_policies\n"


def csv_problems(text: str) -> list[str]:
    """The problems parse_registry reports for a CSV text ([] when it parses)."""
    try:
        parse_registry(text, "registry.csv")
    except RegistryFileError as exc:
        return exc.problems
    return []


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


# --- reading CSV ---------------------------------------------------------------------------------------------------


def test_list_cells_dash_empty_and_separated() -> None:
    """managed_policies 'Read' (one item), groups '-' (empty list), inline_policies '' (absent -> None); a second row
    'a; b ;;c' gives ('a', 'b', 'c'): items are trimmed and empty items dropped."""
    # Given CSV rows with every kind of list cell
    text = HEADER + (
        f"{ACCOUNT},user,alice,,alice@example.com,,,{READ},-,\n{ACCOUNT},user,bob,,bob@example.com,,,-,, a; b ;;c\n"
    )
    # When it is parsed
    alice, bob = parse_registry(text, "registry.csv").entries
    # Then the three cases are told apart
    assert (alice.managed_policies, alice.groups, alice.inline_policies) == ((READ,), (), None)
    assert (bob.managed_policies, bob.groups, bob.inline_policies) == ((), None, ("a", "b", "c"))


def test_columns_may_be_a_subset_in_any_order() -> None:
    """A CSV with only the columns it needs, in another order (owner,name,kind,account_id,user), parses."""
    # Given a CSV with few, reordered columns
    text = f"owner,name,kind,account_id,user\nops,AKIAABCDEFGHIJKLMNOP,access_key,{ACCOUNT},alice\n"
    # When it is parsed
    [key] = parse_registry(text, "r.csv").entries
    # Then the entry is complete
    assert (key.kind, key.name, key.user, key.owner, key.status) == (
        Kind.ACCESS_KEY,
        "AKIAABCDEFGHIJKLMNOP",
        "alice",
        "ops",
        Status.ACTIVE,
    )


def test_problems_name_the_row_line() -> None:
    """Rows 1..3 (lines 2..4): the second has no owner, the third a naive revoked_at; each problem names its line."""
    # Given a CSV with problems on lines 3 and 4
    text = HEADER + (
        f"{ACCOUNT},user,alice,,a@example.com,,,,,\n"
        f"{ACCOUNT},user,bob,,,,,,,\n"
        f"{ACCOUNT},user,carol,,c@example.com,revoked,2024-05-01T12:00:00,,,\n"
    )
    # When it is parsed
    # Then both problems are reported at their lines
    assert csv_problems(text) == [
        "entries[1] (line 3) user#bob: owner: Field required",
        "entries[2] (line 4) user#carol: revoked_at: Input should have timezone info",
    ]


def test_rows_for_several_accounts_are_one_problem() -> None:
    """Rows naming two accounts: one problem naming both, no snapshot."""
    # Given rows of two accounts
    text = HEADER + f"{ACCOUNT},user,a,,o,,,,,\n{OTHER},user,b,,o,,,,,\n"
    # When it is parsed
    # Then the account mix is the problem
    assert csv_problems(text) == [f"account_id must be a 12-digit AWS account id, got 'several: {ACCOUNT}, {OTHER}'"]


def test_unknown_column_is_reported_per_row() -> None:
    """A column 'team' that is no registry field: each row reports 'team: Extra inputs are not permitted'."""
    # Given a CSV with an unknown column
    text = f"account_id,kind,name,owner,team\n{ACCOUNT},user,a,o,payments\n"
    # When it is parsed
    # Then the column is named
    assert csv_problems(text) == ["entries[0] (line 2) user#a: team: Extra inputs are not permitted"]


@pytest.mark.parametrize(
    "before",
    [f'{ACCOUNT},user,alice,,a@example.com,"first line\nsecond line",\n', f"{ACCOUNT},user,alice,,a@example.com,,\n\n"],
    ids=["multi-line-cell", "blank-line"],
)
def test_row_line_counts_physical_lines(before: str) -> None:
    """bob (no owner) starts on line 4 because the row before spans two lines (a purpose written on two lines in a
    spreadsheet) or is followed by a blank line: the problem names 'entries[1] (line 4)'."""
    # Given a CSV where bob's row starts on line 4
    text = "account_id,kind,name,user,owner,purpose,status\n" + before + f"{ACCOUNT},user,bob,,,,\n"
    assert text.splitlines()[3].startswith(f"{ACCOUNT},user,bob")
    # When it is parsed
    # Then the problem names line 4
    assert csv_problems(text) == ["entries[1] (line 4) user#bob: owner: Field required"]


def test_row_with_more_cells_than_the_header_is_a_problem() -> None:
    """Header 'account_id,kind,name,owner' and a row whose owner was written unquoted as 'Smith, John': a problem at
    line 2, not owner 'Smith' with ' John' silently dropped."""
    # Given a row with one cell too many
    text = f"account_id,kind,name,owner\n{ACCOUNT},user,jsmith,Smith, John\n"
    # When it is parsed
    problems = csv_problems(text)
    # Then the extra cell is reported, not dropped
    assert any("line 2" in p for p in problems), parse_registry(text, "r.csv").entries[0].owner


def test_rows_without_an_entry_name_the_account_or_nothing() -> None:
    """A row holding only account_id (as an empty registry exports) and a row of empty cells hold no entry; a header
    alone names no account."""
    # Given a header, an account-only row and an empty row
    text = HEADER + f"{ACCOUNT},,,,,,,,,\n,,,,,,,,,\n"
    # When it is parsed
    # Then it is the account's empty registry
    assert parse_registry(text, "r.csv") == RegistrySnapshot(account_id=ACCOUNT)
    assert csv_problems(HEADER) == ["account_id must be a 12-digit AWS account id, got None"]


# --- writing CSV ---------------------------------------------------------------------------------------------------


def test_dump_writes_dash_for_empty_lists_and_empty_cells_for_absent_ones() -> None:
    """A user approving no managed policy (()) and not governing groups (None), a key: the CSV has the documented
    header, '-' for the empty list, an empty cell for None, ';' between items, and the account on every row."""
    # Given a snapshot with empty and absent lists
    snapshot = RegistrySnapshot(
        account_id=ACCOUNT,
        entries=(
            RegistryEntry(kind=Kind.USER, name="alice", owner="a", managed_policies=(), inline_policies=("x", "y")),
            RegistryEntry(kind=Kind.ACCESS_KEY, name="AKIAABCDEFGHIJKLMNOP", user="alice", owner="a"),
        ),
    )
    # When it is dumped as CSV
    text = dump_registry(snapshot, "csv")
    # Then the cells say which is which
    assert text.splitlines()[0] == ",".join(CSV_COLUMNS)
    alice, key = rows_of(text)
    assert (alice["managed_policies"], alice["groups"], alice["inline_policies"]) == ("-", "", "x;y")
    assert (key["managed_policies"], key["user"]) == ("", "alice")
    assert {alice["account_id"], key["account_id"]} == {ACCOUNT}
    assert parse_registry(text, "r.csv") == snapshot


def test_empty_registry_is_the_header_and_an_account_row() -> None:
    """An empty registry dumps as the header and one row naming only the account, which parses back."""
    # Given an empty registry
    snapshot = RegistrySnapshot(account_id=ACCOUNT)
    # When it is dumped as CSV
    text = dump_registry(snapshot, "csv")
    # Then the account is on the one row, and it parses back
    assert [row["account_id"] for row in rows_of(text)] == [ACCOUNT]
    assert parse_registry(text, "r.csv") == snapshot


def test_csv_keeps_bookkeeping_fields() -> None:
    """An entry at version 3, updated_at 2026-01-01Z by 'p': back as is from CSV (not version 0, updated_at None,
    updated_by None)."""
    # Given an entry as the table stores it
    stored = RegistryEntry(
        kind=Kind.USER, name="a", owner="o", version=3, updated_at=datetime(2026, 1, 1, tzinfo=UTC), updated_by="p"
    )
    snapshot = RegistrySnapshot(account_id=ACCOUNT, entries=(stored,))
    # When it goes through CSV
    again = parse_registry(dump_registry(snapshot, "csv"), "r.csv")
    # Then nothing is lost
    assert again == snapshot


def test_csv_list_of_a_single_dash_item() -> None:
    """inline_policies ('-',) (IAM allows '-' as a policy name): back as ('-',), not () (it is written '-;')."""
    # Given an inline policy named '-'
    snapshot = RegistrySnapshot(
        account_id=ACCOUNT, entries=(RegistryEntry(kind=Kind.USER, name="a", owner="o", inline_policies=("-",)),)
    )
    # When it goes through CSV
    # Then the item survives
    assert parse_registry(dump_registry(snapshot, "csv"), "r.csv") == snapshot


def test_csv_empty_text_field() -> None:
    """purpose '' and ticket '' (valid: only owner and name must be non-blank): back as '', not None (empty text is
    written as a blank cell, an absent field as an empty one)."""
    # Given an entry with empty text fields
    snapshot = RegistrySnapshot(
        account_id=ACCOUNT, entries=(RegistryEntry(kind=Kind.USER, name="a", owner="o", purpose="", ticket=""),)
    )
    # When it goes through CSV
    # Then the fields are still ''
    assert parse_registry(dump_registry(snapshot, "csv"), "r.csv") == snapshot


# --- round trips -----------------------------------------------------------------------------------------------------

IAM_NAME = st.from_regex(r"[A-Za-z0-9+=,.@_-]{1,20}", fullmatch=True)
KEY_ID = st.from_regex(r"AKIA[A-Z0-9]{16}", fullmatch=True)
TEXT = st.text(min_size=1, max_size=20).filter(lambda s: s.strip() != "")
WHEN = st.datetimes(
    min_value=datetime(2000, 1, 2),  # the registry takes 2000–2200 (domain/times.py)
    max_value=datetime(2199, 12, 30),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))]),
)
ARN = st.builds(
    lambda partition, owner, name: f"arn:{partition}:iam::{owner}:policy/{name}",
    st.sampled_from(["aws", "aws-us-gov", "aws-cn"]),
    st.sampled_from(["aws", ACCOUNT]),
    IAM_NAME,
)

TRUSTED = st.one_of(
    st.just("*"),
    st.from_regex(r"\A[0-9]{12}\Z"),
    st.builds(lambda a: f"arn:aws:iam::{a}:root", st.from_regex(r"\A[0-9]{12}\Z")),
    st.builds(lambda n: f"AWS:arn:aws:iam::{ACCOUNT}:role/{n}", IAM_NAME),
    st.sampled_from(["Service:lambda.amazonaws.com", "service:EC2.amazonaws.com"]),
    st.builds(
        lambda sub: f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com#sub={sub}",
        st.from_regex(r"\Arepo:[a-z]{1,8}/[a-z*]{1,8}:(ref:refs/heads/[a-z]{1,8}|\*)\Z"),
    ),
)


@st.composite
def entries(draw: st.DrawFn) -> RegistryEntry:
    """Any valid entry: every kind, active or revoked, each optional field present or absent (optional text fields
    also ''), entitlement lists absent (None), empty or full (a lone '-' item included), bookkeeping fields."""
    kind = draw(st.sampled_from(list(Kind)))
    revoked = draw(st.booleans())
    item = IAM_NAME
    fields: dict[str, Any] = {
        "kind": kind,
        "name": draw(KEY_ID if kind is Kind.ACCESS_KEY else IAM_NAME),
        "owner": draw(TEXT),
        "status": "revoked" if revoked else "active",
    }
    if revoked:
        fields["revoked_at"] = draw(WHEN)
    optional: dict[str, st.SearchStrategy[Any]] = {
        "purpose": TEXT | st.just(""),
        "expires_at": WHEN,
        "max_key_age_days": st.integers(1, 36500),
        "max_unused_days": st.integers(1, 36500),
        "ticket": TEXT | st.just(""),
        "reason": TEXT | st.just(""),
        "version": st.integers(0, 2**40),
        "updated_at": WHEN,
        "updated_by": TEXT,
    }
    if kind is Kind.ACCESS_KEY:
        fields["user"] = draw(IAM_NAME)
    else:
        optional |= {
            "managed_policies": st.lists(ARN, max_size=3),
            "inline_policies": st.lists(item, max_size=3),
            "permissions_boundary": ARN | st.just("none"),
        }
        if kind is Kind.USER:
            optional["groups"] = st.lists(item, max_size=3)
        else:
            optional["trusted_principals"] = st.lists(TRUSTED, max_size=3, unique_by=parse_principal)
    for field, strategy in optional.items():
        if draw(st.booleans()):
            fields[field] = draw(strategy)
    return RegistryEntry.model_validate(fields)


def snapshots() -> st.SearchStrategy[RegistrySnapshot]:
    return st.builds(
        lambda account, items: RegistrySnapshot(account_id=account, entries=tuple(items)),
        st.from_regex(r"[0-9]{12}", fullmatch=True),
        st.lists(entries(), max_size=15, unique_by=lambda e: e.ref.key),
    )


@pytest.mark.parametrize("fmt", ["yaml", "json", "csv"])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_dump_then_parse_is_the_same_snapshot(fmt: str, data: st.DataObject) -> None:
    """For generated valid registries (0-15 entries) with every kind, revoked entries, offsets, odd owner text, empty
    text, None vs empty vs full entitlement lists, versions and updated_at/by: parsing the dump gives back an equal
    snapshot, every field compared."""
    # Given a valid snapshot
    snapshot = data.draw(snapshots(), label="snapshot")
    # When it is dumped in the format and parsed back
    text = dump_registry(snapshot, fmt)
    again = parse_registry(text, f"registry.{fmt}")
    # Then it is the same snapshot, field for field
    assert again == snapshot
    for before, after in zip(snapshot.entries, again.entries, strict=True):
        assert after.model_dump() == before.model_dump()
        for field in ("managed_policies", "groups", "inline_policies"):
            assert (getattr(after, field) is None) == (getattr(before, field) is None), field


@pytest.mark.parametrize("fmt", ["yaml", "json", "csv"])
def test_file_round_trip_keeps_carriage_returns(fmt: str, tmp_path: Path) -> None:
    """A purpose 'line1\\r\\nline2' (a Windows line break) dumped to a file byte for byte and loaded: the same text
    back in every format (CSV files are read without newline translation, as the csv module needs)."""
    # Given a snapshot with a CRLF inside a text field, written to a file as dumped
    snapshot = RegistrySnapshot(
        account_id=ACCOUNT, entries=(RegistryEntry(kind=Kind.USER, name="a", owner="o", purpose="line1\r\nline2"),)
    )
    path = tmp_path / f"registry.{fmt}"
    path.write_bytes(dump_registry(snapshot, fmt).encode("utf-8"))
    # When the file is loaded
    again = load_registry_file(path)
    # Then the text is unchanged
    assert again == snapshot, again.entries[0].purpose


@pytest.mark.parametrize("fmt", ["yaml", "json", "csv"])
def test_file_with_a_byte_order_mark_loads(fmt: str, tmp_path: Path) -> None:
    """A registry file saved with a UTF-8 byte-order mark (Excel's "CSV UTF-8", some Windows editors): it loads
    as the same registry; the mark must not become part of the first column name or key."""
    snapshot = RegistrySnapshot(account_id=ACCOUNT, entries=(RegistryEntry(kind=Kind.USER, name="a", owner="o"),))
    path = tmp_path / f"registry.{fmt}"
    path.write_bytes(b"\xef\xbb\xbf" + dump_registry(snapshot, fmt).encode("utf-8"))

    assert load_registry_file(path) == snapshot


def test_trusted_principals_column_lists_with_semicolons_and_dash_for_nobody() -> None:
    """Tried: role rows whose trusted_principals cell is 'acct; Service:lambda.amazonaws.com; <GitHub provider>#sub=
    repo:org/app:*' (an account, a service, a federated subject), '-' (nobody) and '' (not governed). Must: the first
    reads as the three canonical principals (the account as AWS:<id>), the second as (), the third as None; dumping
    and parsing gives back the same snapshot, with the same cells."""
    github = f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
    header = "account_id,kind,name,owner,trusted_principals\n"
    text = header + (
        f"{ACCOUNT},role,ci,o,{OTHER}; Service:lambda.amazonaws.com; {github}#sub=repo:org/app:*\n"
        f"{ACCOUNT},role,sealed,o,-\n"
        f"{ACCOUNT},role,free,o,\n"
    )
    ci, free, sealed = sorted(parse_registry(text, "registry.csv").entries, key=lambda e: e.name)
    assert ci.trusted_principals == (
        f"AWS:{OTHER}",
        "Service:lambda.amazonaws.com",
        f"Federated:{github}#sub=repo:org/app:*",
    )
    assert (sealed.trusted_principals, free.trusted_principals) == ((), None)
    snapshot = parse_registry(text, "registry.csv")
    dumped = dump_registry(snapshot, "csv")
    cells = {row["name"]: row["trusted_principals"] for row in rows_of(dumped)}
    assert cells == {"ci": ";".join(ci.trusted_principals), "sealed": "-", "free": ""}
    assert parse_registry(dumped, "r.csv") == snapshot


def test_trusted_principals_problems_are_reported_with_the_row() -> None:
    """Tried: a role row trusting 'lambda.amazonaws.com' (no type), a user row with trusted_principals, and a role
    listing an account by id and by root ARN. Must: three problems, each naming what is wrong."""
    text = "account_id,kind,name,owner,trusted_principals\n" + (
        f"{ACCOUNT},role,a,o,lambda.amazonaws.com\n"
        f"{ACCOUNT},user,b,o,{OTHER}\n"
        f"{ACCOUNT},role,c,o,{OTHER};arn:aws:iam::{OTHER}:root\n"
    )
    problems = csv_problems(text)
    assert len(problems) == 3, problems
    assert "write AWS:" in problems[0]
    assert "only a role has a trust policy" in problems[1]
    assert "the same principal" in problems[2]


@pytest.mark.parametrize("trusted", [None, [], ["111122223333", "Service:lambda.amazonaws.com"]])
def test_trusted_principals_survive_the_dynamodb_item(trusted: list[str] | None) -> None:
    """Tried: a role entry with trusted_principals omitted, [] (nobody) and two principals, written as a DynamoDB
    item and read back. Must: the same entry (None stays not governed, [] stays nobody, the account as AWS:<id>)."""
    from driftline.adapters.registry import from_item, to_item

    fields: dict[str, Any] = {"kind": Kind.ROLE, "name": "ci", "owner": "o"}
    if trusted is not None:
        fields["trusted_principals"] = trusted
    entry = RegistryEntry.model_validate(fields)
    again = from_item(to_item(ACCOUNT, entry))
    assert again == entry
    assert again.trusted_principals == (None if trusted is None else tuple(parse_principal(p) for p in trusted))
