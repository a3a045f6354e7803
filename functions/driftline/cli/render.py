"""Printing an evaluation for people (a rich table) or for tools (JSON)."""

from __future__ import annotations

import json
from typing import Any, TextIO

from rich.console import Console
from rich.table import Table

from driftline.domain.drift import Severity
from driftline.service.pipeline import Evaluation

STYLE = {
    Severity.CRITICAL: "bold white on red",
    Severity.HIGH: "bold red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFORMATIONAL: "dim",
}


def as_json(evaluation: Evaluation, api_calls: dict[str, int] | None = None) -> dict[str, Any]:
    comparison = evaluation.comparison
    return {
        "account_id": evaluation.account_id,
        "compared_at": comparison.compared_at.isoformat(),
        "drifts": [d.model_dump(mode="json") | {"key": d.key} for d in comparison.drifts],
        "revocations": [r.model_dump(mode="json") for r in comparison.revocations],
        "summary": {
            "drifts": evaluation.drift_count,
            "by_type": {t.value: n for t, n in sorted(comparison.by_type().items())},
            "identities_observed": evaluation.identities_observed,
            "registry_entries": evaluation.registry_entries,
            "registry_problems": evaluation.registry_problems,
            "api_calls": api_calls or {},
        },
    }


def print_json(evaluation: Evaluation, out: TextIO, api_calls: dict[str, int] | None = None) -> None:
    json.dump(as_json(evaluation, api_calls), out, indent=2)
    out.write("\n")


def print_table(evaluation: Evaluation, out: TextIO, api_calls: dict[str, int] | None = None) -> None:
    console = Console(file=out, width=160, force_terminal=False, soft_wrap=False)
    drifts = evaluation.comparison.drifts
    table = Table(title=f"driftline: {len(drifts)} drift(s) in account {evaluation.account_id}", show_lines=False)
    for column in ("Severity", "Type", "Identity", "Owner", "Why"):
        table.add_column(column, overflow="fold")
    for drift in drifts:
        table.add_row(
            f"[{STYLE[drift.severity]}]{drift.severity.value}[/]",
            drift.type.value,
            drift.identity.key,
            drift.owner or "-",
            drift.summary,
        )
    console.print(table)
    counts = ", ".join(f"{t.value} {n}" for t, n in sorted(evaluation.comparison.by_type().items())) or "none"
    console.print(
        f"Identities observed: {evaluation.identities_observed}; registry entries: {evaluation.registry_entries}; "
        f"drifts by type: {counts}"
    )
    pending = [r for r in evaluation.comparison.revocations if r.state.value == "pending"]
    for revocation in pending:
        console.print(
            f"Pending revocation: {revocation.identity.key} "
            f"(grace period ends {revocation.grace_ends_at:%Y-%m-%d %H:%M} UTC)"
        )
    for problem in evaluation.registry_problems:
        console.print(f"[red]Invalid registry entry:[/] {problem}")
    if api_calls is not None:
        console.print(
            f"AWS API calls: {sum(api_calls.values())} ({', '.join(f'{k} {v}' for k, v in api_calls.items())})"
        )
