"""session_deny: recognising deny-everything and AWSRevokeOlderSessions inline policies in their many spellings."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from driftline.domain.observed import SessionDeny
from driftline.domain.policy import ensure_list, session_deny

CUTOFF = "2026-11-25T12:00:00Z"
CUTOFF_AT = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def _doc(statement: Any) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": statement}


def _revoke_statement(**overrides: Any) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Effect": "Deny",
        "Action": ["*"],
        "Resource": ["*"],
        "Condition": {"DateLessThan": {"aws:TokenIssueTime": CUTOFF}},
    }
    statement.update(overrides)
    return statement


def test_aws_revoke_older_sessions_document_is_a_session_deny() -> None:
    """The exact document IAM's 'Revoke active sessions' writes gives a SessionDeny with its cutoff."""
    # Given the AWSRevokeOlderSessions policy as AWS writes it (strings, not lists)
    document = _doc(
        [
            {
                "Effect": "Deny",
                "Action": "*",
                "Resource": "*",
                "Condition": {"DateLessThan": {"aws:TokenIssueTime": CUTOFF}},
            }
        ]
    )
    # When it is read
    deny = session_deny("AWSRevokeOlderSessions", document)
    # Then it denies sessions issued before the cutoff
    assert deny == SessionDeny(policy_name="AWSRevokeOlderSessions", issued_before=CUTOFF_AT)


def test_unconditional_deny_everything_is_a_quarantine() -> None:
    """Deny * on * with no Condition denies every request: issued_before is None."""
    deny = session_deny("Quarantine", _doc([{"Effect": "Deny", "Action": "*", "Resource": "*"}]))
    assert deny == SessionDeny(policy_name="Quarantine", issued_before=None)


@pytest.mark.parametrize("action", ["*", ["*"], ["s3:GetObject", "*"], ("iam:*", "*")])
def test_action_as_string_or_list_with_star(action: Any) -> None:
    """Action '*' as a string, a one-item list, or inside a longer list all deny every action."""
    deny = session_deny("p", _doc([_revoke_statement(Action=action)]))
    assert deny is not None
    assert deny.issued_before == CUTOFF_AT


@pytest.mark.parametrize(
    "condition",
    [
        {"datelessthan": {"aws:tokenissuetime": CUTOFF}},
        {"DATELESSTHAN": {"AWS:TokenIssueTime": CUTOFF}},
        {"DateLessThan": {"aws:TokenIssueTime": [CUTOFF]}},
    ],
)
def test_condition_operator_and_key_are_case_insensitive(condition: dict[str, Any]) -> None:
    """Condition operator and key match regardless of case, and a one-item value list is accepted."""
    deny = session_deny("p", _doc([_revoke_statement(Condition=condition)]))
    assert deny == SessionDeny(policy_name="p", issued_before=CUTOFF_AT)


def test_offset_time_is_parsed_as_aware() -> None:
    """A cutoff written with a +02:00 offset is the same instant as its UTC form."""
    deny = session_deny(
        "p", _doc([_revoke_statement(Condition={"DateLessThan": {"aws:TokenIssueTime": "2026-11-25T14:00:00+02:00"}})])
    )
    assert deny is not None
    assert deny.issued_before == CUTOFF_AT


def test_allow_is_not_a_session_deny() -> None:
    """An Allow * on * (the opposite of a deny) gives None."""
    assert session_deny("p", _doc([_revoke_statement(Effect="Allow")])) is None


@pytest.mark.parametrize(
    "overrides",
    [
        {"Action": "s3:*"},
        {"Action": ["iam:*", "sts:*"]},
        {"Resource": "arn:aws:s3:::bucket/*"},
        {"Action": None},
    ],
)
def test_deny_on_narrower_action_or_resource_is_not_a_session_deny(overrides: dict[str, Any]) -> None:
    """A deny limited to some actions or some resources does not stop the identity acting: None."""
    assert session_deny("p", _doc([_revoke_statement(**overrides)])) is None


def test_not_action_deny_is_not_a_session_deny() -> None:
    """Deny with NotAction (every action except some) is not deny-everything: None."""
    statement = {"Effect": "Deny", "NotAction": "iam:ChangePassword", "Resource": "*"}
    assert session_deny("p", _doc([statement])) is None


@pytest.mark.parametrize(
    "condition",
    [
        {"DateGreaterThan": {"aws:TokenIssueTime": CUTOFF}},
        {"DateLessThan": {"aws:CurrentTime": CUTOFF}},
        {"DateLessThan": {"aws:TokenIssueTime": CUTOFF, "aws:CurrentTime": CUTOFF}},
        {"DateLessThan": {"aws:TokenIssueTime": CUTOFF}, "Bool": {"aws:MultiFactorAuthPresent": "false"}},
        {"StringEquals": {"aws:PrincipalTag/team": "x"}},
        {"DateLessThan": {"aws:TokenIssueTime": [CUTOFF, "2026-12-01T00:00:00Z"]}},
        {"DateLessThan": "not-a-mapping"},
    ],
)
def test_other_conditions_are_not_a_session_deny(condition: dict[str, Any]) -> None:
    """Any condition other than a single DateLessThan aws:TokenIssueTime with one value gives None."""
    assert session_deny("p", _doc([_revoke_statement(Condition=condition)])) is None


@pytest.mark.parametrize("value", ["yesterday", "2026-13-45T00:00:00Z", "2026-11-25T12:00:00", 1764072000, None])
def test_unparseable_or_naive_time_is_not_a_session_deny(value: Any) -> None:
    """A cutoff that is not an ISO-8601 time with a zone (text, impossible date, naive, a number) gives None."""
    statement = _revoke_statement(Condition={"DateLessThan": {"aws:TokenIssueTime": value}})
    assert session_deny("p", _doc([statement])) is None


@pytest.mark.parametrize("document", [{"Version": "2012-10-17"}, {}, None, "not-a-document", ["list"]])
def test_document_without_statement_is_not_a_session_deny(document: Any) -> None:
    """A document with no Statement, or something that is not a document at all, gives None."""
    assert session_deny("p", document) is None


def test_statement_as_a_dict_instead_of_a_list() -> None:
    """IAM allows Statement to be a single object; it is read like a one-item list."""
    deny = session_deny("p", _doc(_revoke_statement()))
    assert deny == SessionDeny(policy_name="p", issued_before=CUTOFF_AT)


def test_later_matching_statement_is_found() -> None:
    """An unrelated first statement does not hide a deny-everything statement after it."""
    document = _doc([{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}, _revoke_statement()])
    assert session_deny("p", document) == SessionDeny(policy_name="p", issued_before=CUTOFF_AT)


def test_non_mapping_statements_are_skipped() -> None:
    """Garbage items in the Statement list are skipped, not fatal."""
    assert session_deny("p", _doc(["junk", 3, None])) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, []), ("a", ["a"]), (["a", "b"], ["a", "b"]), (("a",), ["a"]), ({"k": 1}, [{"k": 1}])],
)
def test_ensure_list(value: Any, expected: list[Any]) -> None:
    """ensure_list: None is empty, a scalar or mapping becomes one item, a list or tuple is copied."""
    assert ensure_list(value) == expected
