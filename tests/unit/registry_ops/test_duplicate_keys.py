"""Duplicated mapping keys in registry files are errors naming both lines; YAML and JSON parsers would keep the
last value silently (a second ``entries:`` block replaced the first, and ``import --prune`` deleted what it held)."""

from __future__ import annotations

import json
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from driftline.cli.duplicate_keys import json_duplicates
from driftline.cli.registry_file import parse_registry
from driftline.domain.errors import RegistryFileError

ACCOUNT = "123456789012"
TWO_BLOCKS = f"""account_id: "{ACCOUNT}"
entries:
  - kind: user
    name: mallory
    owner: sec@example.com
    status: revoked
    revoked_at: "2026-01-01T00:00:00Z"
entries:
  - kind: user
    name: alice
    owner: alice@example.com
"""


def problems(text: str, source: str) -> list[str]:
    with pytest.raises(RegistryFileError) as caught:
        parse_registry(text, source)
    return caught.value.problems


def test_two_entries_blocks_in_yaml_name_both_lines() -> None:
    """The issue's file: a revoked mallory in the first ``entries:`` block, alice in a second one. It used to load
    as alice alone. It must be refused, naming line 8 and line 2."""
    assert problems(TWO_BLOCKS, "r.yaml") == ["line 8: duplicate key 'entries' (first at line 2)"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (  # a repeated field inside an entry, several lines apart
            f'account_id: "{ACCOUNT}"\nentries:\n  - kind: user\n    name: a\n    status: revoked\n'
            "    owner: o\n    status: active\n",
            "line 7: duplicate key 'status' (first at line 5)",
        ),
        (  # a flow mapping on one line
            f'account_id: "{ACCOUNT}"\nentries:\n  - {{kind: user, name: a, owner: o, owner: p}}\n',
            "line 3: duplicate key 'owner' (first at line 3)",
        ),
        (  # the top-level account id
            f'account_id: "{ACCOUNT}"\naccount_id: "210987654321"\nentries: []\n',
            "line 2: duplicate key 'account_id' (first at line 1)",
        ),
    ],
    ids=["field-in-entry", "flow-mapping", "top-level"],
)
def test_yaml_duplicates_anywhere(text: str, expected: str) -> None:
    assert problems(text, "r.yaml") == [expected]


def test_yaml_merge_keys_and_equal_values_under_different_keys_are_fine() -> None:
    """``<<: *base`` in two entries (merge keys may repeat) and entries sharing fields are not duplicates: 3 load."""
    text = (
        f'account_id: "{ACCOUNT}"\nentries:\n  - &base {{kind: user, name: a, owner: o}}\n'
        "  - <<: *base\n    name: b\n  - <<: *base\n    name: c\n"
    )
    assert len(parse_registry(text, "r.yaml").entries) == 3


def test_json_duplicates_name_both_lines() -> None:
    """JSON with 'owner' twice in an entry (one line) and 'entries' twice (lines 1 and 3): both named."""
    text = (
        f'{{"account_id": "{ACCOUNT}", "entries": [],\n'
        ' "x": {"a": 1},\n'
        ' "entries": [{"kind": "user", "name": "a", "owner": "o", "owner": "p"}]}'
    )
    assert problems(text, "r.json") == [
        "line 3: duplicate key 'entries' (first at line 1)",
        "line 3: duplicate key 'owner' (first at line 3)",
    ]


def test_csv_duplicate_columns_are_named() -> None:
    assert problems(f"account_id,kind,name,owner,owner\n{ACCOUNT},user,a,o,p\n", "r.csv") == [
        "line 1: duplicate column 'owner' (columns 4 and 5)"
    ]


KEYS = st.text(alphabet=string.ascii_letters + '"\\:{}[] é\u2028', min_size=0, max_size=6)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='ab"\\:{}[],', max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=20,
)


@given(JSON_VALUES, st.integers(min_value=0, max_value=3))
def test_json_scan_agrees_with_the_parser(document: object, indent: int) -> None:
    """Any JSON document without duplicates (keys and strings full of quotes, backslashes, brackets and colons),
    dumped with or without indentation: no problem is reported."""
    assert json_duplicates(json.dumps(document, indent=indent or None)) == []


@given(st.dictionaries(KEYS, st.integers(), min_size=1, max_size=5), st.data())
def test_json_scan_finds_an_injected_duplicate(mapping: dict[str, int], data: st.DataObject) -> None:
    """The same key written twice in an object nested in a list is always found."""
    key = data.draw(st.sampled_from(sorted(mapping)))
    body = json.dumps(mapping)[:-1] + f", {json.dumps(key)}: 0}}"
    found = json_duplicates(f'{{"entries": [{body}]}}')
    assert found == [f"line 1: duplicate key {key!r} (first at line 1)"]
