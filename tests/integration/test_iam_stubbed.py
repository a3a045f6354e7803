"""IAM reads that moto cannot exercise, on a plain boto3 IAM client with botocore's Stubber (no moto, no network):
pagination (moto ignores MaxItems), the credential report's states, and error mapping.

The client is built with ``max_attempts=1`` so each stubbed error is answered once, deterministically.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from driftline.adapters.credential_report import fetch_credential_report
from driftline.adapters.iam_account import Boto3IamReader
from driftline.domain.errors import CredentialReportUnavailable, IamReadError
from driftline.domain.observed import KeyStatus
from tests.integration.support import ACCOUNT, no_sleep

CREATED = datetime(2026, 9, 1, 12, 0, 0, tzinfo=UTC)
REPORT_COLUMNS = [
    "user",
    "arn",
    "user_creation_time",
    "password_enabled",
    "password_last_used",
    "password_last_changed",
    "password_next_rotation",
    "mfa_active",
    "access_key_1_active",
    "access_key_1_last_rotated",
    "access_key_1_last_used_date",
    "access_key_1_last_used_region",
    "access_key_1_last_used_service",
    "access_key_2_active",
    "access_key_2_last_rotated",
    "access_key_2_last_used_date",
    "access_key_2_last_used_region",
    "access_key_2_last_used_service",
    "cert_1_active",
    "cert_1_last_rotated",
    "cert_2_active",
    "cert_2_last_rotated",
]
GAAD_FIRST = {"Filter": ["User", "Role"], "MaxItems": 1000}


@pytest.fixture
def iam() -> Any:
    return boto3.client("iam", region_name="us-east-1", config=Config(retries={"max_attempts": 1}))


@pytest.fixture
def stub(iam: Any) -> Iterator[Stubber]:
    with Stubber(iam) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


# -- response builders ---------------------------------------------------------------------------------------------
def _iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def report_row(user: str, *keys: tuple[bool, datetime, datetime | None], password: bool = False) -> dict[str, str]:
    """One credential report row; ``keys`` are (active, created, last used) per slot."""
    row = dict.fromkeys(REPORT_COLUMNS, "N/A")
    row.update(
        user=user,
        arn=f"arn:aws:iam::{ACCOUNT}:user/{user}",
        user_creation_time=_iso(CREATED),
        password_enabled=str(password).lower(),
        password_last_used="no_information" if password else "N/A",
        mfa_active="false",
        access_key_1_active="false",
        access_key_2_active="false",
        cert_1_active="false",
        cert_2_active="false",
    )
    for n, (active, created, used) in enumerate(keys, start=1):
        row[f"access_key_{n}_active"] = str(active).lower()
        row[f"access_key_{n}_last_rotated"] = _iso(created)
        row[f"access_key_{n}_last_used_date"] = _iso(used) if used else "N/A"
    return row


def report_content(*rows: dict[str, str]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=REPORT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerow(report_row("<root_account>"))
    for row in rows:
        writer.writerow(row)
    return buffer.getvalue().encode()


def user_detail(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "UserName": name,
        "UserId": f"AIDA{name.upper():X<16}"[:20],
        "Arn": f"arn:aws:iam::{ACCOUNT}:user/{name}",
        "Path": "/",
        "CreateDate": CREATED,
        "GroupList": [],
        "AttachedManagedPolicies": [],
        "UserPolicyList": [],
        **extra,
    }


def role_detail(name: str) -> dict[str, Any]:
    return {
        "RoleName": name,
        "RoleId": f"AROA{name.upper():X<16}"[:20],
        "Arn": f"arn:aws:iam::{ACCOUNT}:role/{name}",
        "Path": "/",
        "CreateDate": CREATED,
        "RolePolicyList": [],
        "AttachedManagedPolicies": [],
        "RoleLastUsed": {},
    }


def key_meta(user: str, key_id: str, created: datetime, status: str = "Active") -> dict[str, Any]:
    return {"UserName": user, "AccessKeyId": key_id, "Status": status, "CreateDate": created}


def stub_report(stub: Stubber, *rows: dict[str, str]) -> None:
    stub.add_response("generate_credential_report", {"State": "COMPLETE"}, {})
    stub.add_response(
        "get_credential_report",
        {"Content": report_content(*rows), "ReportFormat": "text/csv", "GeneratedTime": CREATED},
        {},
    )


def reader(iam: Any) -> Boto3IamReader:
    return Boto3IamReader(iam, sleep=no_sleep, now=lambda: CREATED)


class FakeTime:
    """A monotonic clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


# -- pagination ----------------------------------------------------------------------------------------------------
def test_account_details_are_read_from_every_page(iam: Any, stub: Stubber) -> None:
    """GetAccountAuthorizationDetails answering two pages (IsTruncated/Marker): users and roles of both pages must be
    in the inventory, the first request must ask Filter=["User","Role"] with the maximum page size, and the second
    must carry the Marker."""
    # Given a report for two keyless users and an account whose details come in two pages
    stub_report(stub, report_row("alice"), report_row("bob"))
    stub.add_response(
        "get_account_authorization_details",
        {
            "UserDetailList": [user_detail("alice")],
            "RoleDetailList": [role_detail("app-runtime")],
            "IsTruncated": True,
            "Marker": "page-2",
        },
        GAAD_FIRST,
    )
    stub.add_response(
        "get_account_authorization_details",
        {"UserDetailList": [user_detail("bob")], "RoleDetailList": [role_detail("batch")], "IsTruncated": False},
        {**GAAD_FIRST, "Marker": "page-2"},
    )

    # When the account is read
    inventory = reader(iam).read_account(ACCOUNT)

    # Then both pages are in the inventory (the Stubber checked each request's parameters)
    assert sorted(inventory.users) == ["alice", "bob"]
    assert sorted(inventory.roles) == ["app-runtime", "batch"]
    assert inventory.keys == {}


def test_access_keys_are_listed_across_pages(iam: Any, stub: Stubber) -> None:
    """ListAccessKeys answering two pages for a user whose report shows two keys (no cache): both keys must be
    observed with their status from IAM and their last use from the matching report slot."""
    # Given a user with two keys in the report, and a key listing split over two pages
    first, second = CREATED, CREATED + timedelta(days=3)
    used = CREATED + timedelta(days=10)
    stub_report(stub, report_row("alice", (True, first, used), (False, second, None)))
    stub.add_response(
        "get_account_authorization_details",
        {"UserDetailList": [user_detail("alice")], "RoleDetailList": [], "IsTruncated": False},
        GAAD_FIRST,
    )
    stub.add_response(
        "list_access_keys",
        {"AccessKeyMetadata": [key_meta("alice", "AKIAAAAAAAAAAAAAAAA1", first)], "IsTruncated": True, "Marker": "k2"},
        {"UserName": "alice"},
    )
    stub.add_response(
        "list_access_keys",
        {"AccessKeyMetadata": [key_meta("alice", "AKIAAAAAAAAAAAAAAAA2", second, "Inactive")], "IsTruncated": False},
        {"UserName": "alice", "Marker": "k2"},
    )

    # When the account is read
    inventory = reader(iam).read_account(ACCOUNT)

    # Then both keys are there, with per-key facts
    assert sorted(inventory.keys) == ["AKIAAAAAAAAAAAAAAAA1", "AKIAAAAAAAAAAAAAAAA2"]
    one, two = inventory.keys["AKIAAAAAAAAAAAAAAAA1"], inventory.keys["AKIAAAAAAAAAAAAAAAA2"]
    assert (one.status, one.last_used_at) == (KeyStatus.ACTIVE, used)
    assert (two.status, two.last_used_at) == (KeyStatus.INACTIVE, None)
    assert {one.user_name, two.user_name} == {"alice"}


# -- the credential report -----------------------------------------------------------------------------------------
def test_report_generation_is_polled_until_complete(iam: Any, stub: Stubber) -> None:
    """GenerateCredentialReport answering STARTED, then COMPLETE, with GetCredentialReport raising ReportInProgress
    once: the report must be polled (sleeping between attempts, backing off) and then parsed without the root row."""
    # Given a report that is started, then complete but not yet servable, then served
    time = FakeTime()
    stub.add_response("generate_credential_report", {"State": "STARTED"}, {})
    stub.add_response("generate_credential_report", {"State": "COMPLETE"}, {})
    stub.add_client_error("get_credential_report", "ReportInProgress", "Report is being generated", 404)
    stub.add_response("generate_credential_report", {"State": "COMPLETE"}, {})
    stub.add_response(
        "get_credential_report",
        {"Content": report_content(report_row("alice", password=True)), "ReportFormat": "text/csv"},
        {},
    )

    # When the report is fetched
    rows = fetch_credential_report(iam, wait_seconds=60, poll_seconds=0.25, sleep=time.sleep, clock=time.clock)

    # Then it was waited for twice, with back-off, and its rows are parsed
    assert time.sleeps == [0.25, 0.5]
    assert list(rows) == ["alice"]
    assert rows["alice"].password_enabled is True
    assert rows["alice"].key_slots == ()


def test_report_that_never_completes_is_unavailable_after_the_wait(iam: Any, stub: Stubber) -> None:
    """A report stuck IN PROGRESS must raise CredentialReportUnavailable (an IamReadError) once the wait is used up,
    saying how long it waited and the last state, after a bounded number of polls."""
    # Given a report that stays in progress
    time = FakeTime()
    for _ in range(4):
        stub.add_response("generate_credential_report", {"State": "INPROGRESS"}, {})

    # When the report is fetched with a 10-second wait
    with pytest.raises(CredentialReportUnavailable) as caught:
        fetch_credential_report(iam, wait_seconds=10, poll_seconds=1, sleep=time.sleep, clock=time.clock)

    # Then it gave up within the wait, with a clear message
    assert isinstance(caught.value, IamReadError)
    assert time.sleeps == [1, 2, 4]
    assert time.now <= 10
    message = str(caught.value)
    assert "not ready after 10 s" in message
    assert "INPROGRESS" in message


def test_report_that_stays_unservable_is_unavailable(iam: Any, stub: Stubber) -> None:
    """COMPLETE but GetCredentialReport answering ReportExpired every time must also end in
    CredentialReportUnavailable, not loop forever."""
    # Given a report IAM calls complete but never serves
    time = FakeTime()
    for _ in range(3):
        stub.add_response("generate_credential_report", {"State": "COMPLETE"}, {})
        stub.add_client_error("get_credential_report", "ReportExpired", "The report is expired", 410)

    # When the report is fetched with a 3-second wait
    with pytest.raises(CredentialReportUnavailable, match="not ready after 3 s"):
        fetch_credential_report(iam, wait_seconds=3, poll_seconds=1, sleep=time.sleep, clock=time.clock)

    # Then it polled within the wait
    assert time.sleeps == [1, 2]


# -- errors --------------------------------------------------------------------------------------------------------
def _gaad_page(stub: Stubber) -> None:
    stub.add_response(
        "get_account_authorization_details",
        {"UserDetailList": [user_detail("alice")], "RoleDetailList": [], "IsTruncated": False},
        GAAD_FIRST,
    )


def _access_denied_on_report(stub: Stubber) -> None:
    stub.add_response("generate_credential_report", {"State": "COMPLETE"}, {})
    stub.add_client_error("get_credential_report", "AccessDenied", "not authorized to iam:GetCredentialReport", 403)


def _access_denied_on_generate(stub: Stubber) -> None:
    stub.add_client_error(
        "generate_credential_report", "AccessDenied", "not authorized to iam:GenerateCredentialReport", 403
    )


def _access_denied_on_details(stub: Stubber) -> None:
    stub_report(stub, report_row("alice"))
    stub.add_client_error(
        "get_account_authorization_details", "AccessDenied", "not authorized to iam:GetAccountAuthorizationDetails", 403
    )


def _throttled_on_second_details_page(stub: Stubber) -> None:
    stub_report(stub, report_row("alice"))
    stub.add_response(
        "get_account_authorization_details",
        {"UserDetailList": [user_detail("alice")], "RoleDetailList": [], "IsTruncated": True, "Marker": "p2"},
        GAAD_FIRST,
    )
    stub.add_client_error("get_account_authorization_details", "Throttling", "Rate exceeded", 400)


def _throttled_listing_keys(stub: Stubber) -> None:
    stub_report(stub, report_row("alice", (True, CREATED, None)))
    _gaad_page(stub)
    stub.add_client_error("list_access_keys", "Throttling", "Rate exceeded", 400)


@pytest.mark.parametrize(
    ("arrange", "operation", "code"),
    [
        pytest.param(_access_denied_on_generate, "GenerateCredentialReport", "AccessDenied", id="generate-denied"),
        pytest.param(_access_denied_on_report, "GetCredentialReport", "AccessDenied", id="report-denied"),
        pytest.param(_access_denied_on_details, "GetAccountAuthorizationDetails", "AccessDenied", id="gaad-denied"),
        pytest.param(
            _throttled_on_second_details_page, "GetAccountAuthorizationDetails", "Throttling", id="gaad-throttled"
        ),
        pytest.param(_throttled_listing_keys, "ListAccessKeys", "Throttling", id="keys-throttled"),
    ],
)
def test_iam_failure_is_an_iam_read_error_naming_operation_and_code(
    iam: Any, stub: Stubber, arrange: Callable[[Stubber], None], operation: str, code: str
) -> None:
    """AccessDenied or Throttling (after the client's retries) on any read of the reconcile must surface as
    IamReadError naming the IAM operation and AWS's error code, with the ClientError chained; nothing is skipped."""
    # Given IAM failing one operation of the whole-account read
    arrange(stub)

    # When the account is read
    with pytest.raises(IamReadError) as caught:
        reader(iam).read_account(ACCOUNT)

    # Then the error names the operation and the code
    assert not isinstance(caught.value, CredentialReportUnavailable)
    assert f"IAM {operation} failed with {code}" in str(caught.value)
    assert isinstance(caught.value.__cause__, ClientError)
