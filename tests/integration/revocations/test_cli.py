"""``driftline enforce`` and ``driftline evidence`` as an operator runs them, against a moto server on loopback
(``driftline.cli.sandbox.moto_server``) with ``--endpoint-url``."""

from __future__ import annotations

import csv
import io
import json
import re
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from driftline.adapters.aws import Clients
from driftline.adapters.ledger import DynamoLedger
from driftline.cli.main import main
from driftline.cli.sandbox import create_tables
from driftline.domain.credit import CredentialChange
from driftline.domain.drift import RevocationCheck, RevocationState
from driftline.domain.identity import IdentityRef
from driftline.domain.ledger import ActionLog, LedgerRecord, advance, cancel, log_action, open_record
from driftline.domain.registry import RegistryEntry
from tests.integration.revocations.support import restore, revoke
from tests.integration.support import ACCOUNT, REGISTRY_TABLE, STATE_TABLE, Sandbox

EVIDENCE_COLUMNS = [
    "identity",
    "state",
    "requested_at",
    "requested_by",
    "ticket",
    "reason",
    "first_seen_unenforced",
    "enforced_at",
    "enforced_by",
    "enforced_basis",
    "event_id",
    "event_name",
    "actor_arn",
    "seconds_to_enforce",
    "open_age_seconds",
    "cancelled_at",
    "denied_attempts",
]
EVIL_TICKET = "SEC-666 <script>alert('pwned')</script>"
BASE = datetime(2026, 5, 1, 9, 30, tzinfo=UTC)
EVENT_ID = "8c0f6e9a-1b2c-4d3e-9f8a-7b6c5d4e3f2a"
ACTOR = "arn:aws:iam::123456789012:user/secops-oncall"
KEY_ID = "AKIAQWERTYUIOPASDFGH"


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


Cli = Callable[..., Run]


@pytest.fixture
def endpoint(moto_endpoint: str) -> str:
    """The run's shared moto server (tests/conftest.py); each test resets it below."""
    return moto_endpoint


@pytest.fixture
def account(endpoint: str) -> Sandbox:
    """A fresh moto account behind the server, with the registry and state tables."""
    request = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")
    urllib.request.urlopen(request, timeout=30).read()
    sandbox = Sandbox(Clients(endpoint_url=endpoint))
    create_tables(sandbox.dynamodb, REGISTRY_TABLE, STATE_TABLE)
    return sandbox


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], endpoint: str) -> Cli:
    """Run ``driftline <argv> --endpoint-url <moto>`` in process; return its exit code, stdout and stderr."""

    def run(*argv: str) -> Run:
        capsys.readouterr()
        code = main([*argv, "--endpoint-url", endpoint])
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


# -- driftline enforce ---------------------------------------------------------------------------------------------
def seed_revocations(sandbox: Sandbox) -> tuple[str, str]:
    """bob's key K1 (of two) revoked and carol (key + password) revoked, three hours ago; returns (K1, carol's key)."""
    k1 = str(sandbox.user("bob", key=True))
    k2 = sandbox.key("bob")
    sandbox.register_user("bob")
    sandbox.register_key(k2, "bob")
    revoked_at = datetime.now(UTC) - timedelta(hours=3)
    revoke(sandbox, sandbox.register_key(k1, "bob"), revoked_at)
    carol_key = str(sandbox.user("carol", key=True, password=True))
    revoke(sandbox, sandbox.register_user("carol"), revoked_at)
    sandbox.iam.generate_credential_report()
    return k1, carol_key


def iam_state(sandbox: Sandbox) -> dict[str, object]:
    """What enforcement could change: every key's status, login profiles and inline policies of bob and carol."""
    state: dict[str, object] = {}
    for user in ("bob", "carol"):
        for key in sandbox.iam.list_access_keys(UserName=user)["AccessKeyMetadata"]:
            state[key["AccessKeyId"]] = key["Status"]
        state[f"{user} policies"] = sandbox.iam.list_user_policies(UserName=user)["PolicyNames"]
    state["carol login"] = sandbox.iam.get_login_profile(UserName="carol")["LoginProfile"]["UserName"]
    return state


def test_enforce_dry_run_prints_the_plan_and_changes_nothing(account: Sandbox, cli: Cli) -> None:
    """``driftline enforce --dry-run`` on bob's revoked key K1 (bob also has K2) and revoked carol must print on
    stderr "Enforcement plan (dry run: nothing changed): 3 step(s)" with each step [planned] (no login profile
    deletion: the deny policy stops the console), exit 1 (drift found), and leave every key, login profile and
    policy as it was; the ledger (kept with --state-table) holds no action."""
    # Given the revocations
    k1, carol_key = seed_revocations(account)
    before = iam_state(account)

    # When an operator runs the dry run
    result = cli(
        "enforce", "--dry-run", "--registry-table", REGISTRY_TABLE, "--state-table", STATE_TABLE,
        "--account-id", ACCOUNT, "--report-wait", "5",
    )  # fmt: skip

    # Then the plan is on stderr and nothing changed
    assert result.code == 1, result.err
    assert "Enforcement plan (dry run: nothing changed): 3 step(s)" in result.err
    planned = re.findall(r"^  \[planned\] (.+)$", result.err, flags=re.MULTILINE)
    assert planned == [
        f"deactivate-access-key {k1}",
        f"attach-deny-policy carol (arn:aws:iam::{ACCOUNT}:policy/driftline/DriftlineRevoked)",
        f"deactivate-access-key {carol_key}",
    ]
    assert "[applied]" not in result.err
    assert "unenforced-revocation" in result.out
    assert iam_state(account) == before
    ledger = DynamoLedger(account.dynamodb, STATE_TABLE).records(ACCOUNT)
    assert {r.identity for r in ledger} == {f"access_key#{k1}", "user#carol"}
    assert all(r.actions == () for r in ledger)


def test_enforce_without_state_table_exits_2_and_changes_nothing(account: Sandbox, cli: Cli) -> None:
    """``driftline enforce`` (not a dry run) without --state-table is a usage mistake: exit 2 with an error saying why
    (every step is written to the ledger first), and change nothing in IAM."""
    # Given the revocations
    seed_revocations(account)
    before = iam_state(account)

    # When enforce runs without a state table
    result = cli("enforce", "--registry-table", REGISTRY_TABLE, "--account-id", ACCOUNT, "--report-wait", "5")

    # Then it refuses
    assert result.code == 2
    assert "enforce needs --state-table" in result.err
    assert iam_state(account) == before


def test_enforce_applies_the_plan_and_spares_break_glass(account: Sandbox, cli: Cli) -> None:
    """``driftline enforce --state-table … --break-glass carol`` must deactivate only bob's revoked K1, print it as
    [applied], show carol's steps as SKIP … break-glass principal, and exit 1 (carol's revocation stays a drift)."""
    # Given the revocations
    k1, carol_key = seed_revocations(account)

    # When enforce runs with carol as break-glass
    result = cli(
        "enforce", "--registry-table", REGISTRY_TABLE, "--state-table", STATE_TABLE, "--account-id", ACCOUNT,
        "--break-glass", "carol", "--report-wait", "5",
    )  # fmt: skip

    # Then bob's K1 alone was deactivated
    assert result.code == 1, result.err
    assert f"  [applied] deactivate-access-key {k1}" in result.err
    assert f"  [planned] SKIP deactivate-access-key {carol_key}: break-glass principal" in result.err
    statuses = {
        k["AccessKeyId"]: k["Status"] for k in account.iam.list_access_keys(UserName="bob")["AccessKeyMetadata"]
    }
    assert statuses[k1] == "Inactive"
    assert sorted(statuses.values()) == ["Active", "Inactive"]
    assert iam_state(account)[carol_key] == "Active"


# -- driftline evidence --------------------------------------------------------------------------------------------
def test_enforce_refuses_another_accounts_id_and_writes_nothing(account: Sandbox, cli: Cli) -> None:
    """``driftline enforce --account-id 999999999999`` with credentials of 123456789012: another account's registry
    must never be applied to this account's same-named principals. Exit 3 with a one-line error, no IAM write and no
    ledger record."""
    seed_revocations(account)
    before = iam_state(account)

    result = cli(
        "enforce", "--registry-table", REGISTRY_TABLE, "--state-table", STATE_TABLE, "--account-id", "999999999999",
        "--report-wait", "5",
    )  # fmt: skip

    assert result.code == 3
    assert (
        result.err.count("\n") == 1 and "--account-id 999999999999 is not the account of your credentials" in result.err
    )
    assert iam_state(account) == before
    assert DynamoLedger(account.dynamodb, STATE_TABLE).records(ACCOUNT) == []


def test_enforce_honours_the_deployments_break_glass_list(account: Sandbox, cli: Cli) -> None:
    """The stack publishes its break-glass list in SSM (/driftline/break-glass-principals). ``driftline enforce``
    without any --break-glass must read it and spare carol (listed there as "CAROL": names ignore case)."""
    k1, carol_key = seed_revocations(account)
    account.deny_policy()
    Clients(endpoint_url=account.clients.endpoint_url).ssm().put_parameter(
        Name="/driftline/break-glass-principals", Type="String", Value=json.dumps(["CAROL"])
    )

    result = cli(
        "enforce", "--registry-table", REGISTRY_TABLE, "--state-table", STATE_TABLE, "--report-wait", "5",
    )  # fmt: skip

    assert result.code == 1, result.err
    assert f"  [applied] deactivate-access-key {k1}" in result.err
    assert f"  [planned] SKIP deactivate-access-key {carol_key}: break-glass principal" in result.err
    assert iam_state(account)[carol_key] == "Active"


def test_enforce_refuses_an_unreadable_break_glass_list(account: Sandbox, cli: Cli) -> None:
    """A break-glass parameter that is not a JSON list of names: enforcing without the list could touch a break-glass
    principal, so the command stops (exit 3) before any write."""
    seed_revocations(account)
    before = iam_state(account)
    Clients(endpoint_url=account.clients.endpoint_url).ssm().put_parameter(
        Name="/driftline/break-glass-principals", Type="String", Value="carol,bob"
    )

    result = cli("enforce", "--registry-table", REGISTRY_TABLE, "--state-table", STATE_TABLE, "--report-wait", "5")

    assert result.code == 3
    assert "is not a JSON list of names" in result.err
    assert iam_state(account) == before


def test_restore_access_refuses_while_revoked_then_undoes_every_step(account: Sandbox, cli: Cli) -> None:
    """After ``driftline enforce`` locked carol out, ``driftline restore-access user#carol`` must refuse while the
    registry still revokes her (exit 3, nothing changed); ``--dry-run`` prints the exact aws iam calls; after the
    registry restores her, it detaches the deny policy and reactivates her key, printing each step."""
    _k1, carol_key = seed_revocations(account)
    deny = account.deny_policy()
    enforced = cli("enforce", "--registry-table", REGISTRY_TABLE, "--state-table", STATE_TABLE, "--report-wait", "5")
    assert enforced.code in (0, 1), enforced.err
    assert iam_state(account)[carol_key] == "Inactive"
    restore_args = ("restore-access", "user#carol", "--registry-table", REGISTRY_TABLE, "--state-table", STATE_TABLE)

    refused = cli(*restore_args)
    dry = cli(*restore_args, "--dry-run")

    assert refused.code == 3 and "the registry still revokes user#carol" in refused.err
    assert iam_state(account)[carol_key] == "Inactive"
    assert dry.code == 0
    assert f"aws iam detach-user-policy --user-name carol --policy-arn {deny}" in dry.out
    assert f"aws iam update-access-key --user-name carol --access-key-id {carol_key} --status Active" in dry.out

    entry = account.registry.get(ACCOUNT, IdentityRef.parse("user#carol"))
    assert entry is not None
    restore(account, entry)
    undone = cli(*restore_args)

    assert undone.code == 0, undone.err
    assert iam_state(account)[carol_key] == "Active"
    assert account.iam.list_attached_user_policies(UserName="carol")["AttachedPolicies"] == []
    assert undone.out.count("undone: ") == 2


def _check(identity: str, requested: datetime, state: RevocationState) -> RevocationCheck:
    return RevocationCheck(
        identity=IdentityRef.parse(identity),
        revoked_at=requested,
        state=state,
        still_active=() if state is RevocationState.ENFORCED else ("access key is Active",),
        grace_ends_at=requested + timedelta(hours=1),
    )


def _opened(identity: str, requested: datetime, ticket: str, **extra: str) -> LedgerRecord:
    ref = IdentityRef.parse(identity)
    entry = RegistryEntry.model_validate(
        {
            "kind": ref.kind,
            "name": ref.name,
            "owner": "security@example.com",
            "status": "revoked",
            "revoked_at": requested,
            "ticket": ticket,
            "reason": "left the company",
            "updated_by": "arn:aws:iam::123456789012:role/identity-governance",
            **extra,
        }
    )
    return open_record(ACCOUNT, entry, requested + timedelta(minutes=2))


def _moved(
    record: LedgerRecord | None, state: RevocationState, at: datetime, changes: tuple[CredentialChange, ...] = ()
) -> LedgerRecord:
    assert record is not None
    moved = advance(record, _check(record.identity, record.requested_at, state), at, changes)
    assert moved is not None
    return moved


def ledger_records(now: datetime) -> list[LedgerRecord]:
    """Six revocations: enforced by CloudTrail, by driftline, observed; pending; unenforced; cancelled."""
    u, e = RevocationState.UNENFORCED, RevocationState.ENFORCED
    alice = _moved(_opened("user#alice", BASE, "SEC-1042"), u, BASE + timedelta(hours=1, minutes=5))
    trail = CredentialChange(
        credential="*", effect="disable", at=BASE + timedelta(seconds=8225), event_id=EVENT_ID,
        event_name="UpdateAccessKey", actor_arn=ACTOR,
    )  # fmt: skip
    alice = _moved(alice, e, BASE + timedelta(hours=2, minutes=18), (trail,))
    key_at = datetime(2026, 5, 2, 14, 5, tzinfo=UTC)
    key = _moved(_opened(f"access_key#{KEY_ID}", key_at, "SEC-1043", user="bob"), u, key_at + timedelta(hours=1))
    done_at = key_at + timedelta(hours=1, minutes=30)
    for status in ("intended", "done"):
        key = log_action(
            key,
            ActionLog(
                step="deactivate-access-key",
                target=KEY_ID,
                status=status,
                at=done_at,
                credential=f"access_key:{KEY_ID}",
            ),
        )
    key = _moved(key, e, done_at)
    old_at = datetime(2026, 5, 3, 8, 0, tzinfo=UTC)
    observed = _moved(_opened("role#old-ci", old_at, "SEC-1044"), e, old_at + timedelta(hours=4))
    cancelled_at = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
    cancelled = cancel(_opened("role#deploy-bot", cancelled_at, EVIL_TICKET), cancelled_at + timedelta(minutes=30))
    assert cancelled is not None
    pending = _opened("user#dave", now - timedelta(minutes=20), "SEC-1046")
    erin_at = now - timedelta(days=3)
    unenforced = _moved(_opened("user#erin", erin_at, "SEC-1047"), u, erin_at + timedelta(hours=1, minutes=1))
    return [alice, key, observed, cancelled, pending, unenforced]


@pytest.fixture
def ledger(account: Sandbox) -> list[LedgerRecord]:
    store = DynamoLedger(account.dynamodb, STATE_TABLE)
    return [store.put(record, None) for record in ledger_records(datetime.now(UTC))]


def evidence(cli: Cli, *extra: str) -> Run:
    return cli("evidence", "--state-table", STATE_TABLE, "--account-id", ACCOUNT, *extra)


def test_evidence_csv_has_the_documented_columns_and_every_revocation(ledger: list[LedgerRecord], cli: Cli) -> None:
    """``driftline evidence --format csv`` over six ledger records must parse as CSV with exactly the documented
    columns, one row per revocation in requested_at order, the CloudTrail row with its event id, actor and 8225.0
    seconds, driftline's row with its step, the observed row, and an open age only for the open rows."""
    # When the CSV is exported
    result = evidence(cli, "--format", "csv")

    # Then it parses with the documented columns
    assert result.code == 0, result.err
    reader = csv.DictReader(io.StringIO(result.out))
    assert reader.fieldnames == EVIDENCE_COLUMNS
    rows = {row["identity"]: row for row in reader}
    assert list(rows) == [
        "user#alice", f"access_key#{KEY_ID}", "role#old-ci", "role#deploy-bot", "user#erin", "user#dave",
    ]  # fmt: skip
    alice = rows["user#alice"]
    assert (alice["state"], alice["enforced_by"], alice["event_id"]) == ("enforced", "cloudtrail", EVENT_ID)
    assert (alice["event_name"], alice["actor_arn"], alice["seconds_to_enforce"]) == (
        "UpdateAccessKey",
        ACTOR,
        "8225.0",
    )
    assert alice["requested_at"] == BASE.isoformat() and alice["ticket"] == "SEC-1042"
    assert datetime.fromisoformat(alice["enforced_at"]) == BASE + timedelta(seconds=8225)
    key = rows[f"access_key#{KEY_ID}"]
    assert (key["enforced_by"], key["event_name"], key["seconds_to_enforce"]) == (
        "driftline", "deactivate-access-key", "5400.0",
    )  # fmt: skip
    assert (rows["role#old-ci"]["enforced_by"], rows["role#old-ci"]["seconds_to_enforce"]) == ("observed", "14400.0")
    assert rows["role#deploy-bot"]["state"] == "cancelled" and rows["role#deploy-bot"]["cancelled_at"]
    assert rows["role#deploy-bot"]["ticket"] == EVIL_TICKET
    assert rows["user#dave"]["state"] == "pending" and rows["user#erin"]["state"] == "unenforced"
    assert 3 * 86400 <= float(rows["user#erin"]["open_age_seconds"]) < 3 * 86400 + 300
    assert rows["user#erin"]["first_seen_unenforced"]
    assert {n for n, row in rows.items() if row["open_age_seconds"]} == {"user#dave", "user#erin"}


def test_evidence_json_has_the_revocations(ledger: list[LedgerRecord], cli: Cli) -> None:
    """``--format json`` must give an object with the account, generated_at and a ``revocations`` list holding the
    same six rows (same keys as the CSV columns)."""
    # When the JSON is exported
    result = evidence(cli, "--format", "json")

    # Then
    assert result.code == 0, result.err
    document = json.loads(result.out)
    assert document["account_id"] == ACCOUNT
    assert datetime.fromisoformat(document["generated_at"]).tzinfo is not None
    revocations = document["revocations"]
    assert len(revocations) == 6
    assert all(list(r) == EVIDENCE_COLUMNS for r in revocations)
    alice = next(r for r in revocations if r["identity"] == "user#alice")
    assert (alice["event_id"], alice["seconds_to_enforce"]) == (EVENT_ID, 8225.0)


def test_evidence_html_is_self_contained_and_escaped(ledger: list[LedgerRecord], cli: Cli, tmp_path: Path) -> None:
    """``--format html --output FILE`` must write a self-contained page (no <script>, no external http(s) URL, no
    stylesheet or image links) that names every identity, has an inline <svg> chart with one bar per enforced
    revocation (3), shows the open ones' age, and escapes a ticket containing "<script>"."""
    # When the HTML report is written to a file
    target = tmp_path / "evidence.html"
    result = evidence(cli, "--format", "html", "--output", str(target))

    # Then it was written, and it is self-contained
    assert result.code == 0 and result.out == ""
    assert "wrote 6 revocation(s)" in result.err
    page = target.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page.lower()
    assert not re.search(r"https?://", page)
    assert not re.search(r"<(link|img|iframe|object|embed)\b", page, flags=re.IGNORECASE)
    for record in ledger:
        assert record.identity in page
    assert page.count("<svg") == 1 and page.count("<rect") == 3
    assert "&lt;script&gt;alert(&#x27;pwned&#x27;)&lt;/script&gt;" in page
    assert "6 revocation(s); 3 enforced (median time to enforce 2.3 h); 2 still open" in page
    assert EVENT_ID in page and ACTOR in page
    assert re.search(r'<tr class="unenforced"><td>user#erin</td>.*?<td>3\.0 d</td><td></td></tr>', page)


def test_evidence_since_until_filter_by_requested_at(ledger: list[LedgerRecord], cli: Cli) -> None:
    """--since 2026-05-02T14:05:00Z (exactly the key's requested_at) and --until 2026-05-04T10:00:00+00:00 (exactly
    deploy-bot's) must keep the key (since is inclusive) and old-ci, and drop deploy-bot (until is exclusive)."""
    # When the export is limited to a period
    result = evidence(
        cli, "--format", "json", "--since", "2026-05-02T14:05:00Z", "--until", "2026-05-04T10:00:00+00:00"
    )

    # Then only revocations requested in [since, until) are in it
    assert result.code == 0, result.err
    assert [r["identity"] for r in json.loads(result.out)["revocations"]] == [f"access_key#{KEY_ID}", "role#old-ci"]


def test_evidence_naive_since_is_a_usage_error(ledger: list[LedgerRecord], cli: Cli) -> None:
    """--since 2026-05-01T00:00:00 (no timezone) must be a usage error: exit 2 (main returns it), saying the time has
    no timezone, before anything is read."""
    # When / Then
    result = evidence(cli, "--since", "2026-05-01T00:00:00")
    assert result.code == 2 and "has no timezone" in result.err


def test_evidence_of_an_empty_ledger(account: Sandbox, cli: Cli) -> None:
    """An account without ledger records must export a header-only CSV and an HTML page saying no revocation was
    enforced in the period (no chart)."""
    csv_run, html_run = evidence(cli, "--format", "csv"), evidence(cli, "--format", "html")
    assert csv_run.code == html_run.code == 0
    assert csv_run.out.strip() == ",".join(EVIDENCE_COLUMNS)
    assert "No enforced revocation in this period." in html_run.out and "<svg" not in html_run.out


def test_evidence_names_a_corrupt_ledger_item_exports_the_rest_and_exits_3(
    account: Sandbox, cli: Cli, ledger: list[LedgerRecord]
) -> None:
    """One ledger item is corrupt: ``driftline evidence`` must still export the other revocations, name the bad item on
    stderr, and exit 3 (an auditor must not mistake a partial export for a whole one)."""
    bad_key = {"pk": {"S": f"ledger#{ACCOUNT}"}, "sk": {"S": "user#mallory#2026-05-09T00:00:00.000000+00:00"}}
    account.dynamodb.put_item(TableName=STATE_TABLE, Item=bad_key | {"record": {"S": "not json"}})

    result = evidence(cli, "--format", "csv")

    assert result.code == 3
    assert "ledger item user#mallory#2026-05-09T00:00:00.000000+00:00 is not a valid record" in result.err
    assert len(list(csv.DictReader(io.StringIO(result.out)))) == len(ledger)


def test_evidence_csv_cells_never_run_as_spreadsheet_formulas() -> None:
    """A revocation whose reason is '=HYPERLINK("http://x","open")' and whose ticket is '+SEC-1' (text an operator
    or a synced ticket system wrote): in the CSV both start with an apostrophe, so a spreadsheet shows them as text;
    the JSON export keeps them exactly."""
    from driftline.cli.evidence import render

    now = datetime.now(UTC)
    record = ledger_records(now)[0].model_copy(update={"reason": '=HYPERLINK("http://x","open")', "ticket": "+SEC-1"})

    (row,) = csv.DictReader(io.StringIO(render([record], "csv", ACCOUNT, now)))
    exact = json.loads(render([record], "json", ACCOUNT, now))["revocations"][0]

    assert (row["reason"], row["ticket"]) == ('\'=HYPERLINK("http://x","open")', "'+SEC-1")
    assert (exact["reason"], exact["ticket"]) == ('=HYPERLINK("http://x","open")', "+SEC-1")
