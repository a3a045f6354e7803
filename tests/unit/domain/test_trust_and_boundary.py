"""Who a trust policy lets assume a role, and whether a permissions boundary allows anything (domain/policy.py).

Literal policy documents in the shapes IAM accepts, including evasions: ``Action`` and ``Principal`` values as a
string or a list, wildcards, ``NotAction``/``NotPrincipal``, conditions, denies that cover some principals only. Every
reading must err towards "can still be assumed / still allows", because a false "nobody" is a false "enforced".
Reference: IAM User Guide, reference_policies_elements_principal.html and access_policies_boundaries.html.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from driftline.domain.policy import assumable_by, boundary_allows_nothing, session_deny

ACCOUNT_ROOT = "arn:aws:iam::111122223333:root"


def trust(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(principal: Any, action: Any = "sts:AssumeRole", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": principal, "Action": action, **extra}


def deny(principal: Any, action: Any = "sts:*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Principal": principal, "Action": action, **extra}


@pytest.mark.parametrize(
    ("principal", "expected"),
    [
        ({"AWS": ACCOUNT_ROOT}, ("AWS:" + ACCOUNT_ROOT,)),
        ({"AWS": "111122223333"}, ("AWS:111122223333",)),
        (
            {"Service": ["ec2.amazonaws.com", "lambda.amazonaws.com"]},
            ("Service:ec2.amazonaws.com", "Service:lambda.amazonaws.com"),
        ),
        (
            {"Federated": "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"},
            ("Federated:arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com",),
        ),
        ("*", ("*",)),
        ({"AWS": "*"}, ("*",)),
    ],
    ids=["account-root-arn", "bare-account-id", "two-services", "oidc", "star", "aws-star"],
)
def test_every_principal_form_of_an_allow_is_listed(principal: Any, expected: tuple[str, ...]) -> None:
    assert assumable_by(trust(allow(principal))) == expected


@pytest.mark.parametrize(
    "action",
    ["sts:AssumeRole", ["sts:AssumeRoleWithWebIdentity"], "sts:AssumeRoleWithSAML", "sts:*", "*", "STS:assumerole*"],
)
def test_any_action_spelling_that_covers_an_assume_action_admits(action: Any) -> None:
    """Actions are case-insensitive and may be wildcards: each of these lets the principal in."""
    assert assumable_by(trust(allow({"AWS": ACCOUNT_ROOT}, action))) == ("AWS:" + ACCOUNT_ROOT,)


def test_an_allow_of_tag_session_only_admits_nobody() -> None:
    """sts:TagSession alone makes no session."""
    assert assumable_by(trust(allow({"AWS": ACCOUNT_ROOT}, "sts:TagSession"))) == ()


def test_a_condition_narrows_but_does_not_remove_the_principal() -> None:
    """A GitHub OIDC trust limited to one repository still lets that repository in: listed."""
    condition = {"StringLike": {"token.actions.githubusercontent.com:sub": "repo:org/app:*"}}
    found = assumable_by(
        trust(
            allow({"Federated": "arn:aws:iam::1:oidc-provider/x"}, "sts:AssumeRoleWithWebIdentity", Condition=condition)
        )
    )
    assert found == ("Federated:arn:aws:iam::1:oidc-provider/x",)


def test_not_principal_in_an_allow_admits_everyone_else() -> None:
    statement = {"Effect": "Allow", "NotPrincipal": {"AWS": ACCOUNT_ROOT}, "Action": "sts:AssumeRole"}
    assert assumable_by(trust(statement)) == ("*",)


def test_not_action_in_an_allow_admits_unless_it_leaves_out_every_assume_action() -> None:
    leaves_one = {"Effect": "Allow", "Principal": {"AWS": ACCOUNT_ROOT}, "NotAction": "sts:AssumeRole"}
    leaves_none = {"Effect": "Allow", "Principal": {"AWS": ACCOUNT_ROOT}, "NotAction": "sts:AssumeRole*"}
    assert assumable_by(trust(leaves_one)) == ("AWS:" + ACCOUNT_ROOT,)
    assert assumable_by(trust(leaves_none)) == ()


def test_an_unconditional_deny_of_everyone_shuts_the_role() -> None:
    assert assumable_by(trust(allow({"AWS": ACCOUNT_ROOT}), deny("*"))) == ()


def test_a_conditional_deny_removes_nobody() -> None:
    """A deny that applies only under a condition can be avoided: the principal stays listed."""
    conditional = deny("*", Condition={"Bool": {"aws:MultiFactorAuthPresent": "false"}})
    assert assumable_by(trust(allow({"AWS": ACCOUNT_ROOT}), conditional)) == ("AWS:" + ACCOUNT_ROOT,)


def test_a_deny_of_aws_star_leaves_services_in() -> None:
    """Services may read {"AWS": "*"} unlike "*": a deny of it removes AWS principals only (the safe reading)."""
    found = assumable_by(trust(allow({"AWS": ACCOUNT_ROOT, "Service": "ec2.amazonaws.com"}), deny({"AWS": "*"})))
    assert found == ("Service:ec2.amazonaws.com",)


def test_a_deny_of_one_action_only_removes_nobody() -> None:
    """Denying sts:AssumeRole leaves sts:AssumeRoleWithWebIdentity: not a deny of every assume action."""
    found = assumable_by(trust(allow("*", "sts:AssumeRole*"), deny("*", "sts:AssumeRole")))
    assert found == ("*",)


def test_a_deny_naming_one_principal_removes_exactly_it() -> None:
    other = "arn:aws:iam::444455556666:root"
    found = assumable_by(trust(allow({"AWS": [ACCOUNT_ROOT, other]}), deny({"AWS": other})))
    assert found == ("AWS:" + ACCOUNT_ROOT,)


@pytest.mark.parametrize("document", [None, "not a policy", {"Version": "2012-10-17"}], ids=["none", "text", "empty"])
def test_unreadable_or_empty_trust(document: Any) -> None:
    """No document at all is read as "anyone" (nothing proves otherwise); a document without statements admits
    nobody (IAM evaluates no allow)."""
    expected = () if isinstance(document, dict) else ("*",)
    assert assumable_by(document) == expected


_principal = st.sampled_from(["*", {"AWS": ACCOUNT_ROOT}, {"Service": "ec2.amazonaws.com"}, {"AWS": ["1", "2"]}])
_action = st.sampled_from(["sts:AssumeRole", "sts:*", "*", ["sts:AssumeRoleWithSAML", "s3:GetObject"]])
_statement = st.builds(allow, _principal, _action)


@given(st.lists(_statement, min_size=1, max_size=5))
def test_property_a_deny_of_everyone_always_wins(statements: list[dict[str, Any]]) -> None:
    """Whatever the allows, adding an unconditional Deny of sts:* to "*" leaves nobody able to assume the role."""
    assert assumable_by(trust(*statements, deny("*"))) == ()


@given(st.lists(_statement, min_size=1, max_size=5))
def test_property_allows_of_assume_actions_always_admit_someone(statements: list[dict[str, Any]]) -> None:
    """Without a deny, any allow of an assume action admits at least one principal."""
    assert assumable_by(trust(*statements)) != ()


# --- permissions boundaries ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "nothing"),
    [
        ({"Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]}, True),
        ({"Statement": []}, True),
        ({"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}, False),
        (
            {
                "Statement": [
                    {"Effect": "Allow", "Action": "*", "Resource": "*"},
                    {"Effect": "Deny", "Action": "*", "Resource": "*"},
                ]
            },
            True,
        ),
        (
            {
                "Statement": [
                    {"Effect": "Allow", "Action": "*", "Resource": "*"},
                    {
                        "Effect": "Deny",
                        "Action": "*",
                        "Resource": "*",
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    },
                ]
            },
            False,
        ),
        (None, False),
        ({"Version": "2012-10-17"}, False),
    ],
    ids=[
        "deny-all",
        "no-statement",
        "allows-one-action",
        "allow-then-deny-all",
        "conditional-deny",
        "unread",
        "no-statement-key",
    ],
)
def test_boundary_allows_nothing(document: Any, nothing: bool) -> None:
    """A boundary intersects with the identity policies: with no Allow, or an unconditional deny of everything, the
    principal can do nothing. An unreadable document proves nothing."""
    assert boundary_allows_nothing(document) is nothing


def test_managed_policy_deny_keeps_its_arn_and_origin() -> None:
    arn = "arn:aws:iam::aws:policy/AWSDenyAll"
    found = session_deny(arn, {"Statement": {"Effect": "Deny", "Action": "*", "Resource": "*"}}, via="managed")
    assert found is not None and found.unconditional and found.via == "managed" and found.policy_name == arn


def test_unconditional_statement_wins_over_a_session_cutoff_in_the_same_policy() -> None:
    """A policy with both a TokenIssueTime deny and an unconditional deny-all denies everything."""
    document = {
        "Statement": [
            {
                "Effect": "Deny",
                "Action": "*",
                "Resource": "*",
                "Condition": {"DateLessThan": {"aws:TokenIssueTime": "2026-01-01T00:00:00Z"}},
            },
            {"Effect": "Deny", "Action": "*", "Resource": "*"},
        ]
    }
    found = session_deny("p", document)
    assert found is not None and found.unconditional
