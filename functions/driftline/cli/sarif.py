"""``scan --format sarif``: SARIF 2.1.0 for code-scanning dashboards and CI (GitHub code scanning, Azure DevOps,
SARIF viewers).

One rule per drift type (its title, why it matters, the remediation, a default level and GitHub's
``security-severity``); one result per reported drift, with a stable ``partialFingerprints`` entry (account and
drift key) so a dashboard follows one drift across runs. Muted drifts are results with an accepted external
suppression carrying the mute's reason; expired mutes and invalid registry entries are tool notifications.

Locations: scanning a registry file (``--registry-file``), each result points at the file and the line of the
identity's entry (line 1 for an identity the file does not register), which code scanning needs to show it; every
result also has a logical location naming the IAM identity (its ARN when known).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from driftline import __version__
from driftline.cli.gate import Gate, Gated
from driftline.domain.drift import Drift, DriftType, Severity
from driftline.domain.rules import RULES
from driftline.findings.catalog import CATALOG
from driftline.service.pipeline import Evaluation

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
FINGERPRINT = "driftlineDrift/v1"

LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFORMATIONAL: "note",
}
# GitHub code scanning's scale (0.1-3.9 low, 4.0-6.9 medium, 7.0-8.9 high, 9.0-10.0 critical).
SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFORMATIONAL: "0.1",
}
RULE_ORDER = list(DriftType)


def _rule_name(drift_type: DriftType) -> str:
    return "".join(part.capitalize() for part in drift_type.value.split("-"))


def rules() -> list[dict[str, Any]]:
    described = []
    for drift_type in RULE_ORDER:
        rule, advice = RULES[drift_type], CATALOG[drift_type]
        described.append(
            {
                "id": drift_type.value,
                "name": _rule_name(drift_type),
                "shortDescription": {"text": rule.title},
                "fullDescription": {"text": rule.why},
                "help": {
                    "text": advice.recommendation,
                    "markdown": f"{advice.recommendation}\n\n[{advice.url}]({advice.url})",
                },
                "helpUri": advice.url,
                "defaultConfiguration": {"level": LEVEL[rule.severity]},
                "properties": {
                    "security-severity": SECURITY_SEVERITY[rule.severity],
                    "tags": ["security", "iam", "drift", *advice.requirements],
                    "precision": "very-high",
                },
            }
        )
    return described


def _artifact_uri(path: str) -> str:
    file = Path(path)
    return file.resolve().as_uri() if file.is_absolute() else file.as_posix()


def _location(drift: Drift, registry_file: str | None, lines: dict[str, int]) -> dict[str, Any]:
    location: dict[str, Any] = {
        "logicalLocations": [
            {
                "name": drift.identity.key,
                "fullyQualifiedName": drift.arn or drift.identity.key,
                "kind": "resource",
            }
        ]
    }
    if registry_file:
        location["physicalLocation"] = {
            "artifactLocation": {"uri": _artifact_uri(registry_file)},
            "region": {"startLine": lines.get(drift.identity.key, 1)},
        }
    return location


def _result(
    drift: Drift, account_id: str, registry_file: str | None, lines: dict[str, int], reason: str | None = None
) -> dict[str, Any]:
    owner = drift.owner or "nobody (not in the registry)"
    result: dict[str, Any] = {
        "ruleId": drift.type.value,
        "ruleIndex": RULE_ORDER.index(drift.type),
        "level": LEVEL[drift.severity],
        "kind": "fail",
        "message": {"text": f"{drift.summary}. Owner: {owner}."},
        "locations": [_location(drift, registry_file, lines)],
        "partialFingerprints": {FINGERPRINT: hashlib.sha256(f"{account_id}/{drift.key}".encode()).hexdigest()},
        "properties": {
            "severity": drift.severity.value,
            "security-severity": SECURITY_SEVERITY[drift.severity],
            "account_id": account_id,
            "identity": drift.identity.key,
            "owner": drift.owner,
            "ticket": drift.ticket,
            "since": drift.since.isoformat() if drift.since else None,
            "evidence": drift.evidence,
        },
    }
    if reason is not None:
        result["suppressions"] = [{"kind": "external", "status": "accepted", "justification": reason}]
    return result


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _notification(text: str, level: str) -> dict[str, Any]:
    return {"message": {"text": text}, "level": level}


def sarif_log(
    evaluation: Evaluation,
    gated: Gated,
    gate: Gate,
    *,
    registry_file: str | None = None,
    lines: dict[str, int] | None = None,
    successful: bool = True,
) -> dict[str, Any]:
    """The SARIF log of one scan: one run, every rule, the reported drifts and the muted ones (suppressed)."""
    lines = lines or {}
    account = evaluation.account_id
    results = [_result(d, account, registry_file, lines) for d in gated.reported]
    results += [_result(m.drift, account, registry_file, lines, reason=m.mute.reason) for m in gated.muted]
    notifications = [
        _notification(f"mute of {m.label} expired on {m.expires.isoformat()} ({m.reason}): no longer mutes", "warning")
        for m in gate.expired
    ]
    notifications += [_notification(f"invalid registry entry: {p}", "error") for p in evaluation.registry_problems]
    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "driftline",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "rules": rules(),
                    }
                },
                "automationDetails": {"id": f"driftline/{account}/"},
                "invocations": [
                    {
                        "executionSuccessful": successful and not evaluation.registry_problems,
                        "endTimeUtc": _utc(evaluation.comparison.compared_at),
                        "toolExecutionNotifications": notifications,
                    }
                ],
                "results": results,
                "properties": {"account_id": account},
            }
        ],
    }
