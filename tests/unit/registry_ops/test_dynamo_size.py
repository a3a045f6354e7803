"""The item size DynamoDB counts (names + values; numbers at their 21-byte maximum; 3 bytes + 1 per element for
lists and maps), so a write over 400 KB is refused before the first write of a change."""

from __future__ import annotations

import pytest

from driftline.adapters.dynamo_size import MAX_ITEM_BYTES, item_size


def test_sizes_follow_dynamodbs_rules() -> None:
    """'sk' = 'user#é' is 2 + 7 bytes (é is two in UTF-8); a number counts 21; a bool 1; a list of two strings
    3 + (1+1) + (1+2); a map {'a': 'bc'} 3 + 1 + 1 + 2."""
    item = {
        "sk": {"S": "user#é"},
        "n": {"N": "1"},
        "b": {"BOOL": True},
        "l": {"L": [{"S": "x"}, {"S": "yz"}]},
        "m": {"M": {"a": {"S": "bc"}}},
    }
    assert item_size(item) == (2 + 7) + (1 + 21) + (1 + 1) + (1 + 3 + 2 + 3) + (1 + 3 + 1 + 1 + 2)


@pytest.mark.parametrize(("length", "fits"), [(MAX_ITEM_BYTES - 10, True), (MAX_ITEM_BYTES, False)])
def test_the_limit_is_400_kb_including_names(length: int, fits: bool) -> None:
    """A string of 400 KB minus 10 bytes under the name 'p' fits; one of exactly 400 KB does not (its name counts)."""
    assert (item_size({"p": {"S": "x" * length}}) <= MAX_ITEM_BYTES) is fits


def test_an_unknown_type_is_an_error_not_zero() -> None:
    with pytest.raises(ValueError, match="'X'"):
        item_size({"p": {"X": "?"}})
