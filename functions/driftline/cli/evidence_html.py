"""The self-contained HTML evidence report: no scripts, no external files; a table and an inline SVG chart."""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any

from driftline.domain.ledger import LedgerRecord, LedgerState

STYLE = (
    "body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;width:100%;"
    "font-size:13px}th,td{border:1px solid #ccc;padding:4px 6px;text-align:left;vertical-align:top}"
    "th{background:#f3f3f3}.unenforced{background:#fde2e1}.pending{background:#fff4d6}.enforced{background:#e6f4ea}"
    ".cancelled{color:#777}.num{text-align:right}"
)


def _duration(seconds: float | str) -> str:
    if seconds == "" or seconds is None:
        return ""
    value = float(seconds)
    if value < 60:
        return f"{value:.0f} s"
    if value < 3600:
        return f"{value / 60:.0f} min"
    if value < 86400 * 2:
        return f"{value / 3600:.1f} h"
    return f"{value / 86400:.1f} d"


def _chart(records: list[LedgerRecord]) -> str:
    """Horizontal bars: time to enforce per enforced revocation."""
    done = [r for r in records if r.state is LedgerState.ENFORCED and r.seconds_to_enforce is not None]
    if not done:
        return "<p>No enforced revocation in this period.</p>"
    longest = max(r.seconds_to_enforce or 0 for r in done) or 1.0
    height = 22 * len(done) + 10
    bars = []
    for i, record in enumerate(done):
        width = max(2.0, 500 * (record.seconds_to_enforce or 0) / longest)
        y = 5 + 22 * i
        label = _duration(record.seconds_to_enforce or 0)
        bars.append(
            f'<text x="0" y="{y + 14}" font-size="12">{escape(record.identity[:40])}</text>'
            f'<rect x="300" y="{y}" width="{width:.0f}" height="16" fill="#4a7bd0"/>'
            f'<text x="{305 + width:.0f}" y="{y + 13}" font-size="12">{label}</text>'
        )
    return f'<svg width="900" height="{height}" role="img" aria-label="time to enforce">{"".join(bars)}</svg>'


def _median(records: list[LedgerRecord]) -> float | None:
    done = sorted(
        r.seconds_to_enforce or 0
        for r in records
        if r.state is LedgerState.ENFORCED and r.seconds_to_enforce is not None
    )
    return done[len(done) // 2] if done else None


def _per_account(records: list[LedgerRecord]) -> str:
    """One row per account: revocations, enforced, median time to enforce, still open."""
    rows = []
    for account in sorted({r.account_id for r in records}):
        mine = [r for r in records if r.account_id == account]
        enforced = sum(r.state is LedgerState.ENFORCED for r in mine)
        median = _median(mine)
        cells = (
            account,
            len(mine),
            enforced,
            _duration(median) if median is not None else "",
            sum(r.is_open for r in mine),
        )
        rows.append("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in cells) + "</tr>")
    head = "".join(f"<th>{h}</th>" for h in ("Account", "Revocations", "Enforced", "Median time to enforce", "Open"))
    return f"<h2>Per account</h2><table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def render_html(
    records: list[LedgerRecord], rows: list[dict[str, Any]], account_id: str, now: datetime, *, org: bool = False
) -> str:
    open_rows = [r for r in records if r.is_open]
    enforced = [r for r in records if r.state is LedgerState.ENFORCED and r.seconds_to_enforce is not None]
    median = _median(records)
    head = "".join(
        f"<th>{escape(h)}</th>"
        for h in (
            *(("Account",) if org else ()),
            "Identity",
            "State",
            "Requested",
            "Ticket",
            "Enforced",
            "How",
            "Event / actor",
            "Time to enforce",
            "Open for",
            "Denied attempts",
        )
    )
    body = []
    for r in rows:
        evidence = " ".join(x for x in (r["event_name"], r["event_id"], r["actor_arn"]) if x)
        cells = (
            *((r["account_id"],) if org else ()),
            r["identity"],
            r["state"],
            r["requested_at"],
            r["ticket"],
            r["enforced_at"],
            ": ".join(x for x in (r["enforced_by"], r["enforced_basis"]) if x),
            evidence,
            _duration(r["seconds_to_enforce"]),
            _duration(r["open_age_seconds"]),
            r["denied_attempts"],
        )
        body.append(
            f'<tr class="{escape(r["state"])}">' + "".join(f"<td>{escape(str(c))}</td>" for c in cells) + "</tr>"
        )
    summary = (
        f"{len(records)} revocation(s); {len(enforced)} enforced"
        + (f" (median time to enforce {_duration(median)})" if median is not None else "")
        + f"; {len(open_rows)} still open"
    )
    accounts = len({r.account_id for r in records})
    scope = f"organisation ({accounts} accounts)" if org else f"account {account_id}"
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>driftline revocation evidence {escape(scope)}</title><style>{STYLE}</style></head><body>"
        f"<h1>Revocation evidence: {escape(scope)}</h1>"
        f"<p>Generated {escape(now.isoformat())} from the driftline revocation ledger. {escape(summary)}.</p>"
        "<p>How: <b>cloudtrail</b> = the CloudTrail event that enforced it; <b>driftline</b> = driftline's own "
        "reversible steps; <b>observed</b> = enforced no later than the reconcile that saw it.</p>"
        + (_per_account(records) if org else "")
        + f"<h2>Time to enforce</h2>{_chart(records)}"
        f"<h2>Every revocation</h2><table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
        "</body></html>\n"
    )
