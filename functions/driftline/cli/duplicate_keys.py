"""Duplicated mapping keys in YAML and JSON registry files. Both parsers keep the last value silently, so a file with
two ``entries:`` blocks, or an entry with two ``status:`` lines, would validate as something its author never
read. Each duplicate is a problem naming both lines."""

from __future__ import annotations

import bisect
import json
import re
from typing import Any

import yaml

MERGE_KEY = "<<"  # YAML's merge key may repeat
_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\]:]')


def yaml_duplicates(root: yaml.Node | None) -> list[str]:
    """'line 9: duplicate key 'entries' (first at line 2)' for every repeated key of every mapping under ``root``."""
    problems: list[str] = []
    pending = [root] if root is not None else []
    while pending:
        node = pending.pop()
        if isinstance(node, yaml.MappingNode):
            seen: dict[tuple[str, str], int] = {}
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value != MERGE_KEY:
                    line, name = key.start_mark.line + 1, (key.tag, key.value)
                    if name in seen:
                        problems.append(f"line {line}: duplicate key {key.value!r} (first at line {seen[name]})")
                    else:
                        seen[name] = line
                pending.extend((key, value))
        elif isinstance(node, yaml.SequenceNode):
            pending.extend(node.value)
    return sorted(problems, key=_line_number)


def json_duplicates(text: str) -> list[str]:
    """The same for JSON text that ``json.loads`` has accepted: a scan of its strings and brackets, keeping the keys
    of each open object."""
    newlines = [m.start() for m in re.finditer("\n", text)]
    problems: list[str] = []
    stack: list[dict[str, int] | None] = []  # an object's keys and their lines; None for an array
    last_string: tuple[str, int] | None = None
    for match in _JSON_TOKEN.finditer(text):
        token = match.group()
        if token in "{[":
            stack.append({} if token == "{" else None)
        elif token in "}]":
            stack.pop()
        elif token == ":":
            keys = stack[-1] if stack else None
            if keys is not None and last_string is not None:
                name, offset = json.loads(last_string[0]), last_string[1]
                line = bisect.bisect_left(newlines, offset) + 1
                if name in keys:
                    problems.append(f"line {line}: duplicate key {name!r} (first at line {keys[name]})")
                else:
                    keys[name] = line
        else:
            last_string = (token, match.start())
    return problems


def _line_number(problem: str) -> int:
    return int(problem.split(":", 1)[0].removeprefix("line "))


LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when installed: ~10x faster


def yaml_with_lines(text: str, list_key: str) -> tuple[Any, dict[int, int], list[str]]:
    """The YAML document, the line (1-based) of each item of its top-level ``list_key`` list, and the duplicated
    keys, from one parse."""
    loader = LOADER(text)
    try:
        node = loader.get_single_node()
        duplicates = yaml_duplicates(node)  # before construction, which writes merged (<<) keys into the nodes
        data = loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()
    lines: dict[int, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if key.value == list_key and isinstance(value, yaml.SequenceNode):
                lines = {i: item.start_mark.line + 1 for i, item in enumerate(value.value)}
    return data, lines, duplicates
