"""The registry file format (YAML, JSON or CSV), for seeding a registry, tests and the demo.

    account_id: "123456789012"
    entries:
      - kind: user
        name: alice
        owner: alice@example.com
        managed_policies: [arn:aws:iam::aws:policy/ReadOnlyAccess]

Every problem is reported at once, each with the entry's position (and line, for YAML); nothing is half-loaded.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from driftline.cli.duplicate_keys import json_duplicates, yaml_with_lines
from driftline.domain.errors import RegistryFileError
from driftline.domain.identity import IdentityRef
from driftline.domain.registry import RegistryEntry, RegistrySnapshot

TOP_LEVEL = {"account_id", "entries"}


LIST_FIELDS = ("managed_policies", "groups", "inline_policies", "trusted_principals")
CSV_COLUMNS = (
    "account_id",
    "kind",
    "name",
    "user",
    "owner",
    "purpose",
    "status",
    "revoked_at",
    "expires_at",
    *LIST_FIELDS,
    "permissions_boundary",
    "max_key_age_days",
    "max_unused_days",
    "ticket",
    "reason",
    "version",
    "updated_at",
    "updated_by",
)

Parsed = tuple[Any, dict[int, int], dict[int, list[str]]]  # document, line of each entry, problems of each entry


def _csv_document(text: str) -> Parsed:
    """CSV rows as a registry document. An empty cell is an absent field, a blank one (spaces only) empty text; list
    cells separate items with ';' and a single '-' means an empty list (nothing approved). A row with no cell but
    account_id holds no entry (an empty registry exports as one). Every row names the same account_id."""
    reader = csv.reader(io.StringIO(text, newline=""))  # newline="": CRLF inside quoted cells is kept
    header = next(reader, [])
    accounts: set[str] = set()
    entries: list[dict[str, Any]] = []
    lines: dict[int, int] = {}
    problems: dict[int, list[str]] = {}
    end = reader.line_num
    for cells in reader:
        start, end = end + 1, reader.line_num  # line_num counts physical lines: multi-line cells, blank lines
        row = dict(zip(header, cells, strict=False))
        entry: dict[str, Any] = {}
        for key, value in row.items():
            if key == "account_id" or value == "":
                continue
            if key in LIST_FIELDS:
                entry[key] = [] if value.strip() == "-" else [v.strip() for v in value.split(";") if v.strip()]
            else:
                entry[key] = value if value.strip() else ""
        if not entry and len(cells) <= len(header):  # a blank line, or a row naming only the account
            if row.get("account_id"):
                accounts.add(row["account_id"])
            continue
        accounts.add(row.get("account_id", ""))
        if len(cells) > len(header):
            problems[len(entries)] = [
                f"{len(cells)} cells for {len(header)} columns (a cell with a comma must be quoted)"
            ]
        lines[len(entries)] = start
        entries.append(entry)
    document: dict[str, Any] = {"entries": entries}
    if accounts:
        document["account_id"] = accounts.pop() if len(accounts) == 1 else "several: " + ", ".join(sorted(accounts))
    return document, lines, problems


def _csv_duplicates(text: str) -> list[str]:
    header = next(csv.reader(io.StringIO(text, newline="")), [])
    first: dict[str, int] = {}
    problems = []
    for column, name in enumerate(header, start=1):
        if name in first:
            problems.append(f"line 1: duplicate column {name!r} (columns {first[name]} and {column})")
        first.setdefault(name, column)
    return problems


def _parse(text: str, source: str) -> Parsed:
    if source.endswith(".csv"):
        if duplicates := _csv_duplicates(text):
            raise RegistryFileError(source, duplicates)
        return _csv_document(text)
    if source.endswith(".json"):
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise RegistryFileError(source, [f"line {exc.lineno}: invalid JSON: {exc.msg}"]) from exc
        if duplicates := json_duplicates(text):
            raise RegistryFileError(source, duplicates)
        return document, {}, {}
    try:
        data, lines, duplicates = yaml_with_lines(text, "entries")
        if duplicates:
            raise RegistryFileError(source, duplicates)
        return data, lines, {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise RegistryFileError(source, [f"{where}invalid YAML: {getattr(exc, 'problem', exc)}"]) from exc


def _entry_problems(index: int, raw: Any, line: int | None, found: list[str]) -> tuple[RegistryEntry | None, list[str]]:
    """The entry, and its problems: ``found`` while reading the file, then the model's."""
    where = f"entries[{index}]" + (f" (line {line})" if line else "")  # CSV: the row's line, header is line 1
    if isinstance(raw, dict) and raw.get("kind") and raw.get("name"):
        where += f" {raw['kind']}#{raw['name']}"
    problems = [f"{where}: {problem}" for problem in found]
    try:
        return RegistryEntry.model_validate(raw), problems
    except ValidationError as exc:
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"])
            message = err["msg"].removeprefix("Value error, ")
            problems.append(f"{where}: {field + ': ' if field else ''}{message}")
        return None, problems


def parse_registry(text: str, source: str = "<registry>") -> RegistrySnapshot:
    """Validate a whole registry document; raise RegistryFileError listing every problem."""
    data, lines, found_while_reading = _parse(text, source)
    if not isinstance(data, dict):
        raise RegistryFileError(source, ["the document must be a mapping with 'account_id' and 'entries'"])
    problems = [f"unknown top-level field {key!r}" for key in sorted(set(data) - TOP_LEVEL)]
    account = str(data.get("account_id", ""))
    if not account.isdigit() or len(account) != 12:
        problems.append(f"account_id must be a 12-digit AWS account id, got {data.get('account_id')!r}")
    raw_entries = data.get("entries")
    if raw_entries is None:
        raw_entries = []
    if not isinstance(raw_entries, list):
        problems.append(f"'entries' must be a list, got {type(raw_entries).__name__}")
        raw_entries = []
    entries: list[RegistryEntry] = []
    seen: dict[str, tuple[int, RegistryEntry]] = {}
    for index, raw in enumerate(raw_entries):
        entry, found = _entry_problems(index, raw, lines.get(index), found_while_reading.get(index, []))
        problems.extend(found)
        if entry is None:
            continue
        if entry.ref.key in seen:
            first, other = seen[entry.ref.key]
            problems.append(
                f"entries[{index}]{_line(lines, index)}: duplicate of entries[{first}]{_line(lines, first)}: "
                f"{other.ref.label} and {entry.ref.label} are the same IAM identity (IAM names ignore case)"
            )
        seen.setdefault(entry.ref.key, (index, entry))
        entries.append(entry)
    if problems:
        raise RegistryFileError(source, problems)
    return RegistrySnapshot(account_id=account, entries=tuple(entries))


def _line(lines: dict[int, int], index: int) -> str:
    return f" (line {lines[index]})" if index in lines else ""


def load_registry_file(path: str | Path) -> RegistrySnapshot:
    file = Path(path)
    try:
        # utf-8-sig: a leading byte-order mark (Excel's "CSV UTF-8", some Windows editors) is not part of the text.
        # No newline translation: CSV cells keep their CRLF.
        text = file.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise RegistryFileError(str(file), [f"cannot read the file: {exc.strerror}"]) from exc
    except UnicodeDecodeError as exc:
        raise RegistryFileError(str(file), [f"the file is not UTF-8 text (byte {exc.start}): {exc.reason}"]) from exc
    return parse_registry(text, str(file))


def entry_lines(path: str | Path) -> dict[str, int]:
    """The line of each entry of a valid YAML or CSV registry file, by ``kind#name`` key (for SARIF locations); a
    JSON file has none. Read after ``load_registry_file`` accepted the file."""
    source = str(path)
    data, lines, _ = _parse(Path(path).read_bytes().decode("utf-8-sig"), source)
    entries = data.get("entries") if isinstance(data, dict) else None
    found: dict[str, int] = {}
    for index, raw in enumerate(entries if isinstance(entries, list) else []):
        if index in lines and isinstance(raw, dict) and raw.get("kind") and raw.get("name"):
            try:
                found[IdentityRef.parse(f"{raw['kind']}#{raw['name']}").key] = lines[index]
            except ValueError:
                continue
    return found


def _csv_cell(field: str, value: Any) -> Any:
    """A cell that _csv_document reads back as ``value``: '-' for an empty list, '-;' for the list of the one item
    '-' (a bare '-' is the empty list), a blank cell (one space) for empty text (an empty cell is an absent field)."""
    if field in LIST_FIELDS:
        return ";".join(value) + (";" if value == ["-"] else "") if value else "-"
    return " " if value == "" else value


def dump_registry(snapshot: RegistrySnapshot, fmt: str = "yaml") -> str:
    """Text in ``fmt`` (yaml, json or csv) that ``parse_registry`` reads back to the same snapshot."""
    data = snapshot.model_dump(mode="json", exclude_none=True)
    if fmt == "json":
        return json.dumps(data, indent=2) + "\n"
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS)  # a field without a column raises, never drops
        writer.writeheader()
        for entry in data["entries"]:
            writer.writerow({k: _csv_cell(k, v) for k, v in entry.items()} | {"account_id": snapshot.account_id})
        if not data["entries"]:
            writer.writerow({"account_id": snapshot.account_id})  # the account of an empty registry
        return buffer.getvalue()
    return yaml.safe_dump(data, sort_keys=False)
