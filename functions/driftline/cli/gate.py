"""CI gating for ``scan``: which drifts are reported (``--type``, ``--severity``), which are muted (``--ignore
FILE``), and which fail the run (``--fail-on SEVERITY``).

A mute file lists accepted drifts, each with an expiry date and a reason:

    mutes:
      - identity: user#build-bot          # kind#name, as in the registry
        type: stale-credential            # a drift type
        expires: 2026-12-31               # a date (muted through that day, UTC) or a time with its zone
        reason: "rotation scheduled, SEC-1234"
        account_id: "123456789012"        # optional: only in this account (for scan --org)

An expired mute no longer mutes, and is reported (stderr, and in the JSON and SARIF output). A malformed mute file
is a usage error (exit 2) naming every problem, found before AWS is asked anything. Filters and mutes shape the
report and the exit code only: ``--publish`` and ``enforce`` still act on every drift.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, StringConstraints, ValidationError

from driftline.cli.duplicate_keys import json_duplicates, yaml_with_lines
from driftline.domain.drift import Drift, DriftType, Severity
from driftline.domain.identity import IdentityRef

NEVER = "never"
ANY = "any"


def _identity(value: Any) -> Any:
    return IdentityRef.parse(value) if isinstance(value, str) else value


def _expiry(value: Any) -> date | datetime:
    """A date, or a time with its zone (YAML makes either of its own accord; JSON gives text)."""
    found: date | datetime | None = None
    if isinstance(value, datetime):
        found = value
    elif isinstance(value, date):
        return value
    elif isinstance(value, str):
        try:
            found = date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
        except ValueError:
            found = None
    if isinstance(found, datetime) and found.tzinfo is None:
        found = None
    if found is None:
        raise ValueError(f"a date (2026-12-31) or a time with its zone (2026-12-31T18:00:00Z), got {value!r}")
    return found


class Mute(BaseModel):
    """One accepted drift: an identity and a drift type, until ``expires``, for ``reason``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    identity: Annotated[IdentityRef, BeforeValidator(_identity)]
    type: DriftType
    expires: Annotated[datetime | date, BeforeValidator(_expiry)]
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
    account_id: Annotated[str, StringConstraints(pattern=r"^\d{12}$")] | None = None

    @property
    def ends_at(self) -> datetime:
        """The first moment the mute no longer holds (a date mutes through the end of that day, UTC)."""
        if isinstance(self.expires, datetime):
            return self.expires
        return datetime.combine(self.expires + timedelta(days=1), datetime.min.time(), tzinfo=UTC)

    def expired(self, now: datetime) -> bool:
        return now >= self.ends_at

    def matches(self, drift: Drift, account_id: str) -> bool:
        return (
            drift.type is self.type
            and drift.identity == self.identity
            and (self.account_id is None or self.account_id == account_id)
        )

    @property
    def label(self) -> str:
        where = f" in account {self.account_id}" if self.account_id else ""
        return f"{self.identity.label} {self.type.value}{where}"

    def as_json(self) -> dict[str, Any]:
        return {
            "identity": self.identity.key,
            "type": self.type.value,
            "expires": self.expires.isoformat(),
            "reason": self.reason,
            "account_id": self.account_id,
        }


@dataclass(frozen=True)
class MuteFile:
    path: str
    mutes: tuple[Mute, ...]


def _document(text: str, path: str) -> tuple[Any, dict[int, int]]:
    if path.endswith(".json"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise argparse.ArgumentTypeError(f"{path}: line {exc.lineno}: invalid JSON: {exc.msg}") from exc
        if duplicates := json_duplicates(text):
            raise argparse.ArgumentTypeError(f"{path}: " + "; ".join(duplicates))
        return data, {}
    try:
        data, lines, duplicates = yaml_with_lines(text, "mutes")
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise argparse.ArgumentTypeError(f"{path}: {where}invalid YAML: {getattr(exc, 'problem', exc)}") from exc
    if duplicates:
        raise argparse.ArgumentTypeError(f"{path}: " + "; ".join(duplicates))
    return data, lines


def _problems(index: int, line: int | None, exc: ValidationError) -> list[str]:
    where = f"mutes[{index}]" + (f" (line {line})" if line else "")
    found = []
    for error in exc.errors():
        name = ".".join(str(p) for p in error["loc"])
        found.append(f"{where}: {name + ': ' if name else ''}{error['msg'].removeprefix('Value error, ')}")
    return found


def parse_mutes(text: str, path: str = "<mutes>") -> MuteFile:
    """Every mute of a YAML or JSON document, or ``ArgumentTypeError`` naming every problem."""
    data, lines = _document(text, path)
    if not isinstance(data, dict) or set(data) != {"mutes"} or not isinstance(data["mutes"], list):
        raise argparse.ArgumentTypeError(
            f"{path}: the document must be a mapping with one key, 'mutes', holding a list "
            "(each mute: identity, type, expires, reason; optionally account_id)"
        )
    mutes: list[Mute] = []
    problems: list[str] = []
    seen: dict[tuple[str, DriftType, str | None], int] = {}
    for index, raw in enumerate(data["mutes"]):
        try:
            mute = Mute.model_validate(raw)
        except ValidationError as exc:
            problems.extend(_problems(index, lines.get(index), exc))
            continue
        key = (mute.identity.key, mute.type, mute.account_id)
        if key in seen:
            problems.append(f"mutes[{index}]: {mute.label} is muted twice (first in mutes[{seen[key]}])")
        seen.setdefault(key, index)
        mutes.append(mute)
    if problems:
        listing = "\n".join(f"  - {p}" for p in problems)
        raise argparse.ArgumentTypeError(f"{path}: {len(problems)} problem(s) in the mute file:\n{listing}")
    return MuteFile(path=path, mutes=tuple(mutes))


def load_mutes(path: str) -> MuteFile:
    """``--ignore``'s type: the mute file, read and validated while the command line is parsed."""
    try:
        text = Path(path).read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise argparse.ArgumentTypeError(f"{path}: cannot read the mute file: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise argparse.ArgumentTypeError(f"{path}: the mute file is not UTF-8 text (byte {exc.start})") from exc
    return parse_mutes(text, path)


def _choices(kind: str, allowed: Sequence[str]) -> Any:
    def parse(text: str) -> list[str]:
        values = [v.strip() for v in text.split(",") if v.strip()]
        wrong = [v for v in values if v.lower() not in {a.lower() for a in allowed}]
        if wrong or not values:
            raise argparse.ArgumentTypeError(f"invalid {kind} {text!r} (choose from {', '.join(allowed)})")
        return values

    return parse


def _fail_on(text: str) -> str:
    allowed = [s.value for s in Severity] + [ANY, NEVER]
    if text.lower() not in {a.lower() for a in allowed}:
        raise argparse.ArgumentTypeError(f"invalid severity {text!r} (choose from {', '.join(allowed)})")
    return text.upper() if text.upper() in Severity.__members__ else text.lower()


def add_gate_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("CI gating (the report and the exit code; --publish and enforce see all)")
    group.add_argument(
        "--fail-on",
        type=_fail_on,
        default=ANY,
        metavar="SEVERITY",
        help="exit 1 only for a reported drift of this severity or worse: CRITICAL, HIGH, MEDIUM, LOW, "
        "INFORMATIONAL, 'any' (the default: every drift fails) or 'never'",
    )
    group.add_argument(
        "--type",
        dest="types",
        action="append",
        type=_choices("drift type", [t.value for t in DriftType]),
        metavar="TYPE[,TYPE]",
        help="report only these drift types (repeatable)",
    )
    group.add_argument(
        "--severity",
        dest="severities",
        action="append",
        type=_choices("severity", [s.value for s in Severity]),
        metavar="SEVERITY[,SEVERITY]",
        help="report only these severities (repeatable), e.g. CRITICAL,HIGH",
    )
    group.add_argument(
        "--ignore",
        type=load_mutes,
        metavar="FILE",
        help="mute file (YAML or JSON): accepted drifts by identity and type, each with an expiry and a reason",
    )


@dataclass(frozen=True)
class Muted:
    drift: Drift
    mute: Mute


@dataclass(frozen=True)
class Gated:
    """One account's drifts after the gate: reported, muted, left out by the filters; which reported ones fail."""

    reported: tuple[Drift, ...]
    muted: tuple[Muted, ...] = ()
    filtered_out: int = 0
    failing: tuple[Drift, ...] = ()


@dataclass(frozen=True)
class Gate:
    types: frozenset[DriftType] | None = None
    severities: frozenset[Severity] | None = None
    mutes: tuple[Mute, ...] = ()
    mute_file: str | None = None
    fail_on: str = ANY
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    @classmethod
    def from_args(cls, args: argparse.Namespace, now: datetime | None = None) -> Gate:
        types = [t.lower() for group in getattr(args, "types", None) or [] for t in group]
        severities = [s.upper() for group in getattr(args, "severities", None) or [] for s in group]
        mute_file: MuteFile | None = getattr(args, "ignore", None)
        return cls(
            types=frozenset(DriftType(t) for t in types) if types else None,
            severities=frozenset(Severity(s) for s in severities) if severities else None,
            mutes=mute_file.mutes if mute_file else (),
            mute_file=mute_file.path if mute_file else None,
            fail_on=getattr(args, "fail_on", ANY),
            now=now or datetime.now(UTC),
        )

    @property
    def expired(self) -> tuple[Mute, ...]:
        return tuple(m for m in self.mutes if m.expired(self.now))

    @property
    def active(self) -> tuple[Mute, ...]:
        return tuple(m for m in self.mutes if not m.expired(self.now))

    def fails(self, drift: Drift) -> bool:
        if self.fail_on == NEVER:
            return False
        if self.fail_on == ANY:
            return True
        return drift.severity.rank >= Severity(self.fail_on).rank

    def apply(self, drifts: Iterable[Drift], account_id: str) -> Gated:
        reported: list[Drift] = []
        muted: list[Muted] = []
        filtered_out = 0
        active = self.active
        for drift in drifts:
            if (self.types is not None and drift.type not in self.types) or (
                self.severities is not None and drift.severity not in self.severities
            ):
                filtered_out += 1
                continue
            mute = next((m for m in active if m.matches(drift, account_id)), None)
            if mute is not None:
                muted.append(Muted(drift, mute))
            else:
                reported.append(drift)
        return Gated(
            reported=tuple(reported),
            muted=tuple(muted),
            filtered_out=filtered_out,
            failing=tuple(d for d in reported if self.fails(d)),
        )

    def unused(self, gated: Iterable[Gated]) -> list[Mute]:
        """Active mutes that muted nothing (candidates for removal)."""
        used = {id(m.mute) for g in gated for m in g.muted}
        return [m for m in self.active if id(m) not in used]

    def summary(self) -> dict[str, Any]:
        return {
            "fail_on": self.fail_on,
            "types": sorted(t.value for t in self.types) if self.types is not None else None,
            "severities": [s.value for s in Severity if s in self.severities] if self.severities is not None else None,
            "mute_file": self.mute_file,
        }
