"""The registry file format: parse_registry, load_registry_file and dump_registry (no AWS involved)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from driftline.cli.registry_file import dump_registry, load_registry_file, parse_registry
from driftline.domain.errors import RegistryFileError
from driftline.domain.identity import IdentityRef, Kind
from driftline.domain.registry import RegistryEntry, RegistrySnapshot, Status

DATA = Path(__file__).parent / "data"
ACCOUNT = "123456789012"


def problems_of(text: str, source: str = "registry.yaml") -> list[str]:
    """The problems parse_registry reports for ``text``; fails the test if the text parses."""
    with pytest.raises(RegistryFileError) as caught:
        parse_registry(text, source)
    assert caught.value.source == source
    return caught.value.problems


def yaml_doc(*entries: str, head: str = f'account_id: "{ACCOUNT}"\n') -> str:
    """A YAML registry whose ``entries`` are the given (already indented) item texts."""
    return head + "entries:\n" + "".join(entries)


ALICE = "  - kind: user\n    name: alice\n    owner: alice@example.com\n"


# --- valid files ---------------------------------------------------------------------------------------------------


def test_valid_yaml_file_loads() -> None:
    """data/valid_registry.yaml (user, access key, revoked user, role) loads into a snapshot with every field."""
    # Given a valid YAML registry file
    path = DATA / "valid_registry.yaml"
    # When it is loaded
    snapshot = load_registry_file(path)
    # Then every entry is there, in order, with its fields typed
    assert snapshot.account_id == ACCOUNT
    assert [e.ref.key for e in snapshot.entries] == [
        "user#alice",
        "access_key#AKIAABCDEFGHIJKLMNOP",
        "user#carol",
        "role#app-runtime",
    ]
    alice, key, carol, role = snapshot.entries
    assert alice.managed_policies == ("arn:aws:iam::aws:policy/ReadOnlyAccess",)
    assert alice.groups == ("developers",)
    assert alice.inline_policies == ()  # "nothing approved", not "not governed"
    assert key.user == "alice" and key.managed_policies is None
    assert carol.status is Status.REVOKED
    assert carol.revoked_at == datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert role.max_unused_days == 30
    assert role.expires_at == datetime(2029, 12, 31, 22, 0, tzinfo=UTC)


def test_valid_json_file_loads() -> None:
    """data/valid_registry.json (user with an empty policy list, access key, revoked role) loads as JSON."""
    # Given a valid JSON registry file
    path = DATA / "valid_registry.json"
    # When it is loaded
    snapshot = load_registry_file(str(path))
    # Then the snapshot holds its three entries
    assert snapshot.account_id == ACCOUNT
    assert [e.ref.key for e in snapshot.entries] == [
        "user#bob",
        "access_key#AKIA0123456789ABCDEF",
        "role#contractor-access",
    ]
    assert snapshot.entries[0].managed_policies == ()
    assert snapshot.entries[2].is_revoked
    assert snapshot.entries[2].revoked_at == datetime(2024, 6, 1, 8, 30, tzinfo=UTC)


def test_account_id_written_as_a_number_is_accepted() -> None:
    """An unquoted 12-digit account id (a YAML int) is read as the same account id string."""
    # Given a registry whose account id is a bare number
    text = yaml_doc(ALICE, head=f"account_id: {ACCOUNT}\n")
    # When it is parsed
    snapshot = parse_registry(text)
    # Then the account id is the 12-digit string
    assert snapshot.account_id == ACCOUNT


def test_empty_entries_is_an_empty_registry() -> None:
    """``entries: []`` is valid and yields a snapshot without entries."""
    # Given / When a registry with no entries is parsed
    snapshot = parse_registry(f'account_id: "{ACCOUNT}"\nentries: []\n')
    # Then it is an empty snapshot of the account
    assert snapshot == RegistrySnapshot(account_id=ACCOUNT, entries=())


# --- document-level problems ---------------------------------------------------------------------------------------


def test_yaml_syntax_error_names_its_line() -> None:
    """A YAML document whose line 5 reads 'owner: a: b' (a mapping value where none may be) is reported as invalid
    YAML at line 5."""
    # Given YAML with a syntax error on line 5
    text = yaml_doc("  - kind: user\n    name: alice\n    owner: a: b\n")
    # When it is parsed
    problems = problems_of(text)
    # Then exactly one problem is reported, naming line 5 and what YAML objects to
    assert len(problems) == 1
    assert problems[0].startswith("line 5: invalid YAML: mapping values are not allowed")


def test_unclosed_yaml_list_is_reported_where_the_parser_gives_up() -> None:
    """An unclosed flow list is reported as invalid YAML at the line where the document ends (line 7 here)."""
    # Given YAML whose line 6 opens a list that never closes (the text ends on line 7)
    text = yaml_doc(ALICE + "    managed_policies: [arn:aws:iam::aws:policy/ReadOnlyAccess\n")
    # When it is parsed
    problems = problems_of(text)
    # Then one problem names the line and the missing bracket
    assert len(problems) == 1
    assert problems[0].startswith("line 7: invalid YAML: ")
    assert "expected ',' or ']'" in problems[0]


def test_yaml_syntax_error_line_is_exact() -> None:
    """A tab used for indentation on line 4 is reported with 'line 4'."""
    # Given YAML with a tab character starting line 4
    text = f'account_id: "{ACCOUNT}"\nentries:\n  - kind: user\n\tname: alice\n'
    # When it is parsed
    problems = problems_of(text)
    # Then the problem names line 4
    assert problems == [problems[0]] and problems[0].startswith("line 4: invalid YAML:"), problems


def test_json_syntax_error_names_its_line(tmp_path: Path) -> None:
    """A .json file with a trailing comma on line 3 is reported as invalid JSON at line 4 (where JSON sees it)."""
    # Given a JSON file whose entries list ends with a stray comma
    path = tmp_path / "registry.json"
    path.write_text('{\n  "account_id": "123456789012",\n  "entries": [1,],\n}\n', encoding="utf-8")
    # When it is loaded
    with pytest.raises(RegistryFileError) as caught:
        load_registry_file(path)
    # Then one problem names the line and says JSON
    assert caught.value.problems == ["line 3: invalid JSON: Expecting value"]
    assert str(path) in str(caught.value)


def test_json_is_chosen_by_the_file_suffix() -> None:
    """The same broken text is judged as JSON when the source ends with .json, as YAML otherwise."""
    # Given text that is invalid in both formats
    text = '{"account_id": "123456789012",\n "entries": [\n'
    # When it is parsed under both names
    as_json = problems_of(text, "r.json")
    as_yaml = problems_of(text, "r.yaml")
    # Then each names its format
    assert "invalid JSON" in as_json[0] and "invalid YAML" in as_yaml[0]


@pytest.mark.parametrize("text", ["- a\n- b\n", "just a string\n", "42\n", ""], ids=["list", "str", "int", "empty"])
def test_document_that_is_not_a_mapping(text: str) -> None:
    """A document that is a list, a scalar or empty is rejected with one 'must be a mapping' problem."""
    # Given a document that is not a mapping
    # When it is parsed
    problems = problems_of(text)
    # Then the one problem says what the document must be
    assert problems == ["the document must be a mapping with 'account_id' and 'entries'"]


def test_json_list_document_is_not_a_mapping() -> None:
    """A JSON array document is rejected like a YAML one."""
    # Given / When a JSON list is parsed
    problems = problems_of("[]", "r.json")
    # Then it must be a mapping
    assert problems == ["the document must be a mapping with 'account_id' and 'entries'"]


def test_unknown_top_level_fields_are_each_named() -> None:
    """Two unknown top-level fields ('colour', 'Entries') are both reported, by name."""
    # Given a registry with two stray top-level keys
    text = yaml_doc(ALICE) + "colour: blue\nEntries: []\n"
    # When it is parsed
    problems = problems_of(text)
    # Then each is reported
    assert problems == ["unknown top-level field 'Entries'", "unknown top-level field 'colour'"]


@pytest.mark.parametrize(
    ("value", "shown"),
    [('"12345"', "'12345'"), ('"12345678901a"', "'12345678901a'"), ("1234567890123", "1234567890123"), ("", "None")],
    ids=["short", "letter", "long", "missing"],
)
def test_bad_account_id(value: str, shown: str) -> None:
    """An account id that is not 12 digits (short, non-digit, 13 digits, null) is reported with the bad value."""
    # Given a registry with a bad account id
    text = yaml_doc(ALICE, head=f"account_id: {value}\n")
    # When it is parsed
    problems = problems_of(text)
    # Then the problem says what an account id must be and shows the value given
    assert problems == [f"account_id must be a 12-digit AWS account id, got {shown}"]


def test_missing_account_id_is_reported() -> None:
    """A registry without any account_id key is rejected."""
    # Given / When a registry without account_id is parsed
    problems = problems_of("entries: []\n")
    # Then the account id is reported missing (None)
    assert problems == ["account_id must be a 12-digit AWS account id, got None"]


@pytest.mark.parametrize("entries", ["alice", "{kind: user}", "7"], ids=["str", "mapping", "int"])
def test_entries_must_be_a_list(entries: str) -> None:
    """'entries' given as a string, a mapping or a number is reported as not a list."""
    # Given a registry whose entries is not a list
    text = f'account_id: "{ACCOUNT}"\nentries: {entries}\n'
    # When it is parsed
    problems = problems_of(text)
    # Then that is the problem
    assert len(problems) == 1
    assert problems[0].startswith("'entries' must be a list, got ")


# --- entry problems ------------------------------------------------------------------------------------------------


def test_entry_of_unknown_kind() -> None:
    """An entry of kind 'group' is reported with its index, line, kind#name and the allowed kinds."""
    # Given an entry of a kind driftline does not govern
    text = yaml_doc("  - kind: group\n    name: developers\n    owner: it@example.com\n")
    # When it is parsed
    problems = problems_of(text)
    # Then the problem names the entry, the field and the allowed values
    assert problems == ["entries[0] (line 3) group#developers: kind: Input should be 'user', 'role' or 'access_key'"]


@pytest.mark.parametrize("key_id", ["AKIA123", "akiaabcdefghijklmnop", "ASIAABCDEFGHIJKLMNOP", "AKIAABCDEFGHIJKLMNO!"])
def test_bad_access_key_id(key_id: str) -> None:
    """An access key entry whose name is not AKIA + 16 upper-case letters/digits is rejected, naming the id."""
    # Given an access key entry with a malformed key id
    text = yaml_doc(f"  - kind: access_key\n    name: '{key_id}'\n    user: alice\n    owner: alice@example.com\n")
    # When it is parsed
    problems = problems_of(text)
    # Then the problem shows the id and what an id must look like
    assert len(problems) == 1
    assert problems[0].startswith(f"entries[0] (line 3) access_key#{key_id}: '{key_id}' is not an access key id")
    assert "AKIA followed by 16 upper-case letters or digits" in problems[0]


def test_access_key_without_user() -> None:
    """An access key entry without 'user' is rejected."""
    # Given a key entry that does not name its user
    text = yaml_doc("  - kind: access_key\n    name: AKIAABCDEFGHIJKLMNOP\n    owner: alice@example.com\n")
    # When it is parsed
    problems = problems_of(text)
    # Then the problem asks for the user
    assert problems == [
        "entries[0] (line 3) access_key#AKIAABCDEFGHIJKLMNOP: an access key entry must name its IAM user in 'user'"
    ]


@pytest.mark.parametrize("field", ["revoked_at", "expires_at", "updated_at"])
def test_naive_datetime_is_rejected(field: str) -> None:
    """A datetime without a time zone (YAML timestamp 2024-05-01T12:00:00) is rejected for each datetime field."""
    # Given an entry whose datetime field has no time zone
    status = "    status: revoked\n" if field == "revoked_at" else ""
    text = yaml_doc(ALICE + status + f"    {field}: 2024-05-01T12:00:00\n")
    # When it is parsed
    problems = problems_of(text)
    # Then the field is named and the missing time zone explained
    assert problems == [f"entries[0] (line 3) user#alice: {field}: Input should have timezone info"]


def test_naive_datetime_in_json_is_rejected() -> None:
    """A JSON string datetime without an offset is rejected too."""
    # Given a JSON entry with a naive expires_at
    doc = {
        "account_id": ACCOUNT,
        "entries": [{"kind": "user", "name": "erin", "owner": "o", "expires_at": "2030-01-01T00:00:00"}],
    }
    # When it is parsed as JSON
    problems = problems_of(json.dumps(doc), "r.json")
    # Then the field is named (JSON has no line numbers for entries)
    assert problems == ["entries[0] user#erin: expires_at: Input should have timezone info"]


def test_revoked_without_revoked_at() -> None:
    """status: revoked without revoked_at is rejected, asking when the revocation was decided."""
    # Given a revoked entry with no revocation time
    text = yaml_doc(ALICE + "    status: revoked\n")
    # When it is parsed
    problems = problems_of(text)
    # Then the problem explains what is missing
    assert problems == [
        "entries[0] (line 3) user#alice: status is 'revoked' but 'revoked_at' is missing: "
        "say when the revocation was decided"
    ]


def test_revoked_at_on_an_active_entry() -> None:
    """revoked_at on an entry whose status is active is rejected."""
    # Given an active entry with a revocation time
    text = yaml_doc(ALICE + "    revoked_at: 2024-05-01T12:00:00Z\n")
    # When it is parsed
    problems = problems_of(text)
    # Then the contradiction is reported
    assert len(problems) == 1 and "'revoked_at' is set but status is 'active'" in problems[0]


@pytest.mark.parametrize("owner", [None, "''", "'   '"], ids=["absent", "empty", "blank"])
def test_missing_owner(owner: str | None) -> None:
    """An entry without an owner, or with an empty/blank one, is rejected naming 'owner'."""
    # Given an entry whose owner is absent or blank
    text = yaml_doc("  - kind: role\n    name: app-runtime\n" + (f"    owner: {owner}\n" if owner else ""))
    # When it is parsed
    problems = problems_of(text)
    # Then 'owner' is named
    assert len(problems) == 1
    assert problems[0].startswith("entries[0] (line 3) role#app-runtime: owner: "), problems
    expected = "Field required" if owner is None else "String should have at least 1 character"
    assert problems[0].endswith(expected)


def test_unknown_entry_field() -> None:
    """An entry with a field the format does not know ('colour') is rejected, naming the field."""
    # Given an entry with a stray field
    text = yaml_doc(ALICE + "    colour: red\n")
    # When it is parsed
    problems = problems_of(text)
    # Then the field is named
    assert problems == ["entries[0] (line 3) user#alice: colour: Extra inputs are not permitted"]


def test_entry_that_is_not_a_mapping() -> None:
    """A list item that is a plain string is rejected with its index and line."""
    # Given an entries list holding a string
    text = yaml_doc(ALICE, "  - bob\n")
    # When it is parsed
    problems = problems_of(text)
    # Then the item is reported by index and line
    assert len(problems) == 1 and problems[0].startswith("entries[1] (line 6): "), problems


def test_bad_policy_arn() -> None:
    """A managed policy that is not a policy ARN is rejected, naming the field and the ARN."""
    # Given an entry approving a role ARN as a managed policy
    text = yaml_doc(ALICE + "    managed_policies: ['arn:aws:iam::123456789012:role/admin']\n")
    # When it is parsed
    problems = problems_of(text)
    # Then the field and the value are named
    assert len(problems) == 1
    assert problems[0].startswith("entries[0] (line 3) user#alice: managed_policies: ")
    assert "'arn:aws:iam::123456789012:role/admin' is not an IAM managed policy ARN" in problems[0]


def test_duplicate_identities_name_both_indexes() -> None:
    """Two entries for user#alice (at 0 and 2) are reported as one duplicate naming both indexes and the identity."""
    # Given the same identity registered twice
    bob = "  - kind: user\n    name: bob\n    owner: bob@example.com\n"
    text = yaml_doc(ALICE, bob, ALICE.replace("alice@example.com", "other@example.com"))
    # When it is parsed
    problems = problems_of(text)
    # Then one problem names both positions (with their lines) and the identity
    assert problems == [
        "entries[2] (line 9): duplicate of entries[0] (line 3): user#alice and user#alice are the same IAM identity "
        "(IAM names ignore case)"
    ]


def test_names_that_differ_only_in_case_are_duplicates_with_both_positions() -> None:
    """bob and Bob are one IAM user (IAM names ignore case): the second is a duplicate, both spellings and both
    positions named, and nothing is loaded."""
    bob = "  - kind: user\n    name: bob\n    owner: bob@example.com\n"
    text = yaml_doc(bob, ALICE, bob.replace("name: bob", "name: Bob"))
    problems = problems_of(text)
    assert problems == [
        "entries[2] (line 9): duplicate of entries[0] (line 3): user#bob and user#Bob are the same IAM identity "
        "(IAM names ignore case)"
    ]


def test_same_name_of_different_kinds_is_no_duplicate() -> None:
    """A user and a role both named 'deploy' are distinct identities."""
    # Given a user and a role with one name
    text = yaml_doc(
        "  - kind: user\n    name: deploy\n    owner: a@example.com\n",
        "  - kind: role\n    name: deploy\n    owner: a@example.com\n",
    )
    # When it is parsed
    snapshot = parse_registry(text)
    # Then both are kept
    assert {e.ref for e in snapshot.entries} == {
        IdentityRef(kind=Kind.USER, name="deploy"),
        IdentityRef(kind=Kind.ROLE, name="deploy"),
    }


def test_duplicate_in_yaml_reports_its_line() -> None:
    """A duplicate in YAML (the second alice, on line 6) should be reported with '(line 6)' like other problems."""
    # Given alice twice, the second item starting on line 6
    text = yaml_doc(ALICE, ALICE)
    # When it is parsed
    problems = problems_of(text)
    # Then the duplicate names its line
    assert len(problems) == 1 and "(line 6)" in problems[0], problems


def test_yaml_entries_report_their_line_numbers() -> None:
    """In a YAML file, each bad entry's problem names the line its list item starts on (3, 7 and 12 here)."""
    # Given three bad entries starting on known lines
    text = (
        f'account_id: "{ACCOUNT}"\n'  # 1
        "entries:\n"  # 2
        "  - kind: user\n"  # 3  bad: no owner
        "    name: ann\n"  # 4
        "  - kind: user\n"  # 5  good
        "    name: ben\n    owner: b@example.com\n"  # 6-7
        "  - kind: role\n"  # 8  bad: groups on a role
        "    name: r1\n    owner: o@example.com\n    groups: [g]\n"  # 9-11
        "\n"  # 12
        "  - {kind: user, name: cat, owner: c@example.com, status: revoked}\n"  # 13 bad: no revoked_at
    )
    # When it is parsed
    problems = problems_of(text)
    # Then each problem carries the line of its own item
    assert [re.match(r"entries\[(\d)\] \(line (\d+)\)", p).groups() for p in problems] == [  # type: ignore[union-attr]
        ("0", "3"),
        ("2", "8"),
        ("3", "13"),
    ]


def test_every_problem_of_a_file_is_reported_at_once() -> None:
    """data/broken_registry.yaml has five problems (stray field, bad key id, naive datetime, no owner, duplicate):
    loading it raises one RegistryFileError listing all five, each with its place."""
    # Given a file with five independent problems
    path = DATA / "broken_registry.yaml"
    # When it is loaded
    with pytest.raises(RegistryFileError) as caught:
        load_registry_file(path)
    # Then all five are listed, and the message counts them
    problems = caught.value.problems
    assert len(problems) == 5, problems
    assert problems[0] == "unknown top-level field 'colour'"
    assert problems[1].startswith("entries[1] (line 8) access_key#AKIA-not-a-key: 'AKIA-not-a-key' is not an access")
    assert problems[2] == "entries[2] (line 12) user#carol: revoked_at: Input should have timezone info"
    assert problems[3] == "entries[3] (line 17) role#app-runtime: owner: Field required"
    assert re.fullmatch(
        r"entries\[4\] \(line \d+\): duplicate of entries\[0\] \(line \d+\): user#alice and .*", problems[4]
    )
    message = str(caught.value)
    assert message.startswith(f"{path}: 5 problem(s) in the registry file:\n")
    assert message.count("\n  - ") == 5


def test_document_and_entry_problems_are_reported_together() -> None:
    """A bad account id, a stray top-level field and two bad entries give four problems in one error."""
    # Given problems at both levels
    text = yaml_doc(
        "  - kind: user\n    name: ann\n",
        "  - kind: access_key\n    name: AKIAABCDEFGHIJKLMNOP\n    owner: o@example.com\n",
        head="account_id: '42'\nnotes: hi\n",
    )
    # When it is parsed
    problems = problems_of(text)
    # Then all four are reported
    assert len(problems) == 4, problems
    assert problems[0] == "unknown top-level field 'notes'"
    assert problems[1] == "account_id must be a 12-digit AWS account id, got '42'"
    assert "user#ann: owner: Field required" in problems[2]
    assert "must name its IAM user in 'user'" in problems[3]


# --- reading files -------------------------------------------------------------------------------------------------


def test_missing_file_is_a_registry_file_error(tmp_path: Path) -> None:
    """Loading a path that does not exist raises RegistryFileError naming the path and the OS reason."""
    # Given a path with no file
    path = tmp_path / "nope.yaml"
    # When it is loaded
    with pytest.raises(RegistryFileError) as caught:
        load_registry_file(path)
    # Then the error names the file and why it could not be read
    assert caught.value.source == str(path)
    assert caught.value.problems == ["cannot read the file: No such file or directory"]


def test_directory_is_a_registry_file_error(tmp_path: Path) -> None:
    """Loading a directory raises RegistryFileError (not IsADirectoryError)."""
    # Given / When a directory is loaded
    with pytest.raises(RegistryFileError) as caught:
        load_registry_file(tmp_path)
    # Then it is reported as unreadable
    assert caught.value.problems == ["cannot read the file: Is a directory"]


def test_file_that_is_not_utf8_is_a_registry_file_error(tmp_path: Path) -> None:
    """A file holding bytes that are not UTF-8 is reported as a RegistryFileError, not a UnicodeDecodeError."""
    # Given a Latin-1 encoded file
    path = tmp_path / "latin1.yaml"
    path.write_bytes(yaml_doc("  - kind: user\n    name: ren\n    owner: Ren\xe9e\n").encode("latin-1"))
    # When it is loaded
    # Then the failure is driftline's error, naming the file
    with pytest.raises(RegistryFileError) as caught:
        load_registry_file(path)
    assert caught.value.source == str(path)


# --- dump / parse round trip ---------------------------------------------------------------------------------------


def test_dump_of_the_valid_file_parses_back_to_the_same_snapshot() -> None:
    """dump_registry of the loaded valid YAML file parses back to an equal snapshot (None fields stay absent)."""
    # Given the snapshot of the valid file
    snapshot = load_registry_file(DATA / "valid_registry.yaml")
    # When it is dumped and parsed again
    text = dump_registry(snapshot)
    again = parse_registry(text)
    # Then it is the same snapshot, and 'not governed' (None) fields were not written
    assert again == snapshot
    assert "null" not in text
    assert again.entries[1].managed_policies is None


NAME = st.from_regex(r"[A-Za-z0-9+=,.@_-]{1,24}", fullmatch=True)
KEY_ID = st.from_regex(r"AKIA[A-Z0-9]{16}", fullmatch=True)
TEXT = st.text(min_size=1, max_size=24).filter(lambda s: s.strip() != "")
WHEN = st.datetimes(
    min_value=datetime(2000, 1, 2),  # the registry takes 2000–2200 (domain/times.py)
    max_value=datetime(2199, 12, 30),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))]),
)
ARN = st.builds(lambda acct, name: f"arn:aws:iam::{acct}:policy/{name}", st.sampled_from(["aws", ACCOUNT]), NAME)


@st.composite
def registry_entries(draw: st.DrawFn) -> RegistryEntry:
    """Any valid registry entry (every optional field sometimes present)."""
    kind = draw(st.sampled_from(list(Kind)))
    revoked = draw(st.booleans())
    fields: dict[str, Any] = {
        "kind": kind,
        "name": draw(KEY_ID if kind is Kind.ACCESS_KEY else NAME),
        "owner": draw(TEXT),
        "status": "revoked" if revoked else "active",
    }
    if revoked:
        fields["revoked_at"] = draw(WHEN)
    optional: dict[str, st.SearchStrategy[Any]] = {
        "purpose": TEXT,
        "expires_at": WHEN,
        "max_key_age_days": st.integers(1, 36500),
        "max_unused_days": st.integers(1, 36500),
        "ticket": TEXT,
        "reason": TEXT,
        "version": st.integers(0, 2**40),
        "updated_at": WHEN,
        "updated_by": TEXT,
    }
    if kind is Kind.ACCESS_KEY:
        optional["user"] = NAME
        fields["user"] = draw(NAME)
    else:
        optional |= {
            "managed_policies": st.lists(ARN, max_size=3),
            "inline_policies": st.lists(NAME, max_size=3),
        }
        if kind is Kind.USER:
            optional["groups"] = st.lists(NAME, max_size=3)
    for field, strategy in optional.items():
        if draw(st.booleans()):
            fields[field] = draw(strategy)
    return RegistryEntry.model_validate(fields)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    account=st.from_regex(r"[0-9]{12}", fullmatch=True),
    entries=st.lists(registry_entries(), max_size=5, unique_by=lambda e: e.ref.key),
)
def test_dump_parse_round_trip(account: str, entries: list[RegistryEntry]) -> None:
    """For any valid snapshot (generated entries of every kind, odd owner text, offsets), dump → parse is identity."""
    # Given a valid snapshot
    snapshot = RegistrySnapshot(account_id=account, entries=tuple(entries))
    # When it is dumped to YAML and parsed back
    again = parse_registry(dump_registry(snapshot))
    # Then nothing changed
    assert again == snapshot
