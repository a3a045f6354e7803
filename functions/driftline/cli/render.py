"""Printing an evaluation: a table for people, JSON and CSV for tools (SARIF and ASFF: cli/sarif.py, cli/asff_out.py).

The JSON document is described by docs/schema/scan.schema.json; ``schema_version`` changes its major number when a
field is removed or changes meaning, its minor number when fields are added.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any, TextIO

from rich.table import Table
from rich.text import Text

from driftline.cli.gate import Gate, Gated
from driftline.cli.terminal import console
from driftline.domain.drift import Drift, Severity
from driftline.service.pipeline import Evaluation

SCHEMA_VERSION = "1.0"

STYLE = {
    Severity.CRITICAL: "bold white on red",
    Severity.HIGH: "bold red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFORMATIONAL: "dim",
}


def ungated(evaluation: Evaluation) -> Gated:
    """Every drift reported and failing: the output without CI gating (the demo, a scan without gate options)."""
    drifts = evaluation.comparison.drifts
    return Gated(reported=drifts, failing=drifts)


def drift_json(drift: Drift) -> dict[str, Any]:
    return drift.model_dump(mode="json") | {"key": drift.key}


def _by_type(drifts: tuple[Drift, ...]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for drift in drifts:
        counts[drift.type.value] = counts.get(drift.type.value, 0) + 1
    return dict(sorted(counts.items()))


def as_json(
    evaluation: Evaluation,
    api_calls: dict[str, int] | None = None,
    gated: Gated | None = None,
    gate: Gate | None = None,
) -> dict[str, Any]:
    comparison = evaluation.comparison
    gated = gated or ungated(evaluation)
    gate = gate or Gate(now=comparison.compared_at)
    severities = [d.severity for d in gated.reported]
    return {
        "schema_version": SCHEMA_VERSION,
        "account_id": evaluation.account_id,
        "compared_at": comparison.compared_at.isoformat(),
        "drifts": [drift_json(d) for d in gated.reported],
        "muted": [drift_json(m.drift) | {"mute": m.mute.as_json()} for m in gated.muted],
        "expired_mutes": [m.as_json() for m in gate.expired],
        "revocations": [r.model_dump(mode="json") for r in comparison.revocations],
        "gate": gate.summary(),
        "summary": {
            "drifts": len(gated.reported),
            "by_type": _by_type(gated.reported),
            "by_severity": {s.value: severities.count(s) for s in Severity if s in severities},
            "failing": len(gated.failing),
            "muted": len(gated.muted),
            "filtered_out": gated.filtered_out,
            "identities_observed": evaluation.identities_observed,
            "registry_entries": evaluation.registry_entries,
            "registry_problems": evaluation.registry_problems,
            "api_calls": api_calls or {},
        },
    }


def print_json(
    evaluation: Evaluation,
    out: TextIO,
    api_calls: dict[str, int] | None = None,
    gated: Gated | None = None,
    gate: Gate | None = None,
) -> None:
    json.dump(as_json(evaluation, api_calls, gated, gate), out, indent=2)
    out.write("\n")


CSV_COLUMNS = (
    "account_id",
    "severity",
    "type",
    "identity",
    "kind",
    "name",
    "user",
    "arn",
    "owner",
    "ticket",
    "since",
    "summary",
    "key",
)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def inert(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula ('=', '+', '-', '@' first: IAM names may start with '+',
    '=', '@' or '-') gets a leading apostrophe, as OWASP advises for CSV meant for people."""
    return f"'{value}" if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value


def print_csv(evaluation: Evaluation, out: TextIO, gated: Gated | None = None) -> None:
    """One row per reported drift (header included, so no drift is a header alone)."""
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for drift in (gated or ungated(evaluation)).reported:
        row = {
            "account_id": evaluation.account_id,
            "severity": drift.severity.value,
            "type": drift.type.value,
            "identity": drift.identity.key,
            "kind": drift.identity.kind.value,
            "name": drift.identity.name,
            "user": drift.user or "",
            "arn": drift.arn or "",
            "owner": drift.owner or "",
            "ticket": drift.ticket or "",
            "since": drift.since.isoformat() if drift.since else "",
            "summary": drift.summary,
            "key": drift.key,
        }
        writer.writerow({k: inert(v) for k, v in row.items()})


def csv_text(evaluation: Evaluation, gated: Gated | None = None) -> str:
    buffer = io.StringIO()
    print_csv(evaluation, buffer, gated)
    return buffer.getvalue()


def print_table(
    evaluation: Evaluation,
    out: TextIO,
    api_calls: dict[str, int] | None = None,
    gated: Gated | None = None,
    gate: Gate | None = None,
) -> None:
    """A table of the reported drifts and a few lines of totals; colour and width from the terminal (cli/terminal)."""
    screen = console(out)
    gated = gated or ungated(evaluation)
    drifts = gated.reported
    table = Table(title=f"driftline: {len(drifts)} drift(s) in account {evaluation.account_id}", show_lines=False)
    # Severity and type never break; identities and owners keep their width up to a point (an access key's id is 31
    # characters with its kind), then fold; the sentence takes what is left and wraps.
    identity = min(max((len(d.identity.key) for d in drifts), default=8), 40)
    owner = min(max((len(d.owner or "-") for d in drifts), default=5), 28)
    fixed = max((len(d.type.value) for d in drifts), default=4) + max((len(d.severity) for d in drifts), default=8)
    roomy = screen.width >= fixed + identity + owner + 30 + 16  # 30 for the sentence; 16 for borders and padding
    table.add_column("Severity", no_wrap=True)
    table.add_column("Type", no_wrap=True)
    table.add_column("Identity", overflow="fold", min_width=identity if roomy else None)
    table.add_column("Owner", overflow="fold", min_width=owner if roomy else None)
    table.add_column("Why", overflow="fold", ratio=1)
    for drift in drifts:
        table.add_row(  # Text, not markup: names, owners and summaries are data, never rich markup
            Text(drift.severity.value, style=STYLE[drift.severity]),
            Text(drift.type.value),
            Text(drift.identity.key),
            Text(drift.owner or "-"),
            Text(drift.summary),
        )
    screen.print(table)
    counts = ", ".join(f"{t} {n}" for t, n in _by_type(drifts).items()) or "none"
    screen.print(
        f"Identities observed: {evaluation.identities_observed}; registry entries: {evaluation.registry_entries}; "
        f"drifts by type: {counts}",
        markup=False,
    )
    if gated.muted:
        source = gate.mute_file if gate and gate.mute_file else "the mute file"
        screen.print(f"Muted: {len(gated.muted)} drift(s) accepted in {source}", markup=False)
        for muted in gated.muted:
            screen.print(
                f"  {muted.drift.key} until {muted.mute.expires.isoformat()}: {muted.mute.reason}", markup=False
            )
    if gated.filtered_out:
        screen.print(f"Not shown: {gated.filtered_out} drift(s) outside --type/--severity")
    if gate is not None and gate.fail_on != "any" and drifts:
        screen.print(f"Failing (--fail-on {gate.fail_on}): {len(gated.failing)} of {len(drifts)} drift(s)")
    pending = [r for r in evaluation.comparison.revocations if r.state.value == "pending"]
    for revocation in pending:
        screen.print(
            f"Pending revocation: {revocation.identity.key} "
            f"(grace period ends {revocation.grace_ends_at:%Y-%m-%d %H:%M} UTC)",
            markup=False,
        )
    for problem in evaluation.registry_problems:
        screen.print(Text.assemble(("Invalid registry entry:", "red"), " ", problem))
    if api_calls is not None:
        screen.print(
            f"AWS API calls: {sum(api_calls.values())} ({', '.join(f'{k} {v}' for k, v in api_calls.items())})",
            markup=False,
        )
