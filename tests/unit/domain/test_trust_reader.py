"""The principal-by-principal trust reader (policy.trusted_principals) and the principal forms (domain/principals.py).

Literal trust policies in the shapes IAM accepts (string-or-list fields, an account as id or root ARN, ``*``,
``NotPrincipal``, denies, web-identity ``sub`` conditions), then property tests over the grammar's shapes. The reading
errs towards "can assume": a conditional allow still admits its principal.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from driftline.domain.policy import trusted_principals
from driftline.domain.principals import covers, parse_principal

ACCOUNT, OTHER = "111122223333", "444455556666"
GITHUB = f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
GITHUB_SUB = "token.actions.githubusercontent.com:sub"


def trust(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(principal: Any, action: Any = "sts:AssumeRole", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": principal, "Action": action, **extra}


def deny(principal: Any, action: Any = "sts:*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Principal": principal, "Action": action, **extra}


def web_identity(operator: str, subjects: Any) -> dict[str, Any]:
    return allow(
        {"Federated": GITHUB},
        "sts:AssumeRoleWithWebIdentity",
        Condition={operator: {GITHUB_SUB: subjects, "token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}},
    )


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        # an account as its id and as its root ARN: one principal, written as the id
        (trust(allow({"AWS": f"arn:aws:iam::{ACCOUNT}:root"})), {f"AWS:{ACCOUNT}": True}),
        (trust(allow({"AWS": ACCOUNT})), {f"AWS:{ACCOUNT}": True}),
        # a role ARN kept as written; service principals lower-cased
        (
            trust(allow({"AWS": f"arn:aws:iam::{OTHER}:role/deployer", "Service": "Lambda.amazonaws.com"})),
            {f"AWS:arn:aws:iam::{OTHER}:role/deployer": True, "Service:lambda.amazonaws.com": True},
        ),
        # "*" and {"AWS": "*"} are anyone; with a condition it is anyone, conditioned
        (trust(allow("*")), {"*": True}),
        (trust(allow({"AWS": "*"})), {"*": True}),
        (
            trust(allow("*", Condition={"StringEquals": {"aws:PrincipalOrgID": "o-abc"}})),
            {"*": False},
        ),
        # NotPrincipal in an Allow admits everyone else: anyone
        (trust({"Effect": "Allow", "NotPrincipal": {"AWS": ACCOUNT}, "Action": "sts:AssumeRole"}), {"*": True}),
        # a non-assume action admits nobody
        (trust(allow({"AWS": ACCOUNT}, "sts:TagSession")), {}),
        # GitHub OIDC: StringEquals / StringLike on <provider>:sub keep the subject pattern, one per value
        (
            trust(web_identity("StringLike", "repo:org/app:*")),
            {f"Federated:{GITHUB}#sub=repo:org/app:*": False},
        ),
        (
            trust(web_identity("StringEquals", ["repo:org/app:ref:refs/heads/main", "repo:org/app:environment:prod"])),
            {
                f"Federated:{GITHUB}#sub=repo:org/app:environment:prod": False,
                f"Federated:{GITHUB}#sub=repo:org/app:ref:refs/heads/main": False,
            },
        ),
        # only the audience checked: every subject of the provider can assume the role
        (
            trust(
                allow(
                    {"Federated": GITHUB},
                    "sts:AssumeRoleWithWebIdentity",
                    Condition={"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}},
                )
            ),
            {f"Federated:{GITHUB}": False},
        ),
        # ...IfExists and negated operators never narrow the subject
        (trust(web_identity("StringLikeIfExists", "repo:org/app:*")), {f"Federated:{GITHUB}": False}),
        (trust(web_identity("StringNotEquals", "repo:org/evil:*")), {f"Federated:{GITHUB}": False}),
        # a conditional allow of an AWS principal (ExternalId) still admits it
        (
            trust(allow({"AWS": OTHER}, Condition={"StringEquals": {"sts:ExternalId": "x"}})),
            {f"AWS:{OTHER}": False},
        ),
        # unconditional deny of named principals removes exactly those; a conditioned deny removes nothing
        (trust(allow({"AWS": [ACCOUNT, OTHER]}), deny({"AWS": OTHER})), {f"AWS:{ACCOUNT}": True}),
        (
            trust(allow({"AWS": [ACCOUNT, OTHER]}), deny({"AWS": OTHER}, Condition={"Bool": {"aws:X": "true"}})),
            {f"AWS:{ACCOUNT}": True, f"AWS:{OTHER}": True},
        ),
        # a deny of {"AWS": "*"} removes AWS principals only; a deny of "*" leaves nobody
        (
            trust(allow({"AWS": ACCOUNT, "Service": "ec2.amazonaws.com"}), deny({"AWS": "*"})),
            {"Service:ec2.amazonaws.com": True},
        ),
        (trust(allow({"AWS": ACCOUNT, "Service": "ec2.amazonaws.com"}), deny("*")), {}),
        # a deny of a provider (every subject) removes each of its subject patterns
        (trust(web_identity("StringLike", "repo:org/*"), deny({"Federated": GITHUB})), {}),
        # a deny with NotPrincipal leaves only the listed principals (of anyone: exactly those)
        (
            trust(
                allow({"AWS": [ACCOUNT, OTHER]}),
                {"Effect": "Deny", "NotPrincipal": {"AWS": ACCOUNT}, "Action": "sts:*"},
            ),
            {f"AWS:{ACCOUNT}": True},
        ),
        (
            trust(allow("*"), {"Effect": "Deny", "NotPrincipal": {"AWS": ACCOUNT}, "Action": "sts:*"}),
            {f"AWS:{ACCOUNT}": True},
        ),
        # a deny of only some assume actions is ignored (errs towards "can assume")
        (trust(allow({"AWS": ACCOUNT}), deny("*", "sts:AssumeRole")), {f"AWS:{ACCOUNT}": True}),
        # an unreadable document: anyone, under a condition we could not read
        (None, {"*": False}),
    ],
)
def test_trust_policy_shapes(document: Any, expected: dict[str, bool]) -> None:
    """Each literal trust policy reads as exactly these principals, each flagged True when a statement without any
    Condition admits it."""
    assert trusted_principals(document) == expected


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        (ACCOUNT, f"AWS:{ACCOUNT}"),
        (f"arn:aws:iam::{ACCOUNT}:root", f"AWS:{ACCOUNT}"),
        (f"aws:arn:aws-us-gov:iam::{ACCOUNT}:root", f"AWS:{ACCOUNT}"),
        (f"arn:aws:iam::{ACCOUNT}:role/ci", f"AWS:arn:aws:iam::{ACCOUNT}:role/ci"),
        ("service:Lambda.amazonaws.com", "Service:lambda.amazonaws.com"),
        (GITHUB, f"Federated:{GITHUB}"),
        (f"{GITHUB}#sub=repo:org/app:*", f"Federated:{GITHUB}#sub=repo:org/app:*"),
        ("Federated:cognito-identity.amazonaws.com", "Federated:cognito-identity.amazonaws.com"),
        ("  *  ", "*"),
    ],
)
def test_registry_forms_normalise(written: str, canonical: str) -> None:
    """A principal as a person writes it in the registry normalises to the reader's canonical form."""
    assert parse_principal(written) == canonical


@pytest.mark.parametrize(
    ("written", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("lambda.amazonaws.com", "write AWS:"),
        ("AWS:", "names no AWS"),
        (f"AWS:{ACCOUNT}#sub=x", "only a Federated"),
        (f"Federated:{GITHUB}#sub=  ", "empty subject"),
        ("AWS:" + "a" * 1100, "longer than"),
        (f"{ACCOUNT};{OTHER}", "list separator"),
    ],
)
def test_registry_forms_rejected(written: str, reason: str) -> None:
    """A malformed principal is refused with a reason naming what is wrong."""
    with pytest.raises(ValueError, match=reason):
        parse_principal(written)


def test_a_provider_for_every_subject_covers_one_subject_and_not_the_reverse() -> None:
    """Approving a provider for every subject covers a subject pattern of it; approving one pattern does not cover
    the provider unnarrowed, nor another pattern; ``*`` covers anything."""
    provider, narrowed = f"Federated:{GITHUB}", f"Federated:{GITHUB}#sub=repo:org/app:*"
    assert covers(provider, narrowed)
    assert not covers(narrowed, provider)
    assert not covers(narrowed, f"Federated:{GITHUB}#sub=repo:org/*")
    assert covers("*", f"AWS:{ACCOUNT}")


# -- properties over the grammar's shapes ---------------------------------------------------------------------------
accounts = st.from_regex(r"\A[0-9]{12}\Z")
roles = st.builds(lambda a, n: f"arn:aws:iam::{a}:role/{n}", accounts, st.from_regex(r"\A[a-z][a-z0-9-]{0,10}\Z"))
services = st.sampled_from(["lambda.amazonaws.com", "ec2.amazonaws.com", "ecs-tasks.amazonaws.com"])
aws_values = st.one_of(accounts, roles)
principal_blocks = st.fixed_dictionaries(
    {},
    optional={
        "AWS": st.lists(aws_values, min_size=1, max_size=4),
        "Service": st.lists(services, min_size=1, max_size=3),
    },
).filter(bool)


def _as_written(block: dict[str, list[str]], single: bool) -> dict[str, Any]:
    """The same block with one-item lists written as a plain string when ``single``."""
    return {k: (v[0] if single and len(v) == 1 else v) for k, v in block.items()}


@given(principal_blocks)
def test_a_list_of_one_and_a_string_read_the_same(block: dict[str, list[str]]) -> None:
    """Tried: a Principal block whose one-item lists are written once as lists and once as plain strings (and the
    Action as a string and a list). Must: both read as the same principals."""
    as_lists = trusted_principals(trust(allow(_as_written(block, False), ["sts:AssumeRole"])))
    as_strings = trusted_principals(trust(allow(_as_written(block, True), "sts:AssumeRole")))
    assert as_lists == as_strings


@given(accounts)
def test_an_account_id_and_its_root_arn_are_one_principal(account: str) -> None:
    """Tried: an account trusted by its id, by its root ARN, and by both. Must: all three read as AWS:<id> alone."""
    by_id = trusted_principals(trust(allow({"AWS": account})))
    by_arn = trusted_principals(trust(allow({"AWS": f"arn:aws:iam::{account}:root"})))
    both = trusted_principals(trust(allow({"AWS": [account, f"arn:aws:iam::{account}:root"]})))
    assert by_id == by_arn == both == {f"AWS:{account}": True}
    assert parse_principal(account) == parse_principal(f"arn:aws:iam::{account}:root") == f"AWS:{account}"


@given(st.lists(principal_blocks, min_size=1, max_size=4))
def test_a_deny_of_everything_leaves_nobody(blocks: list[dict[str, list[str]]]) -> None:
    """Tried: any number of Allow statements, then an unconditional Deny of sts:* to "*". Must: nobody can assume."""
    statements = [allow(b) for b in blocks]
    assert trusted_principals(trust(*statements)) != {}
    assert trusted_principals(trust(*statements, deny("*"))) == {}


@given(st.lists(principal_blocks, min_size=1, max_size=4))
def test_statement_order_and_splitting_do_not_matter(blocks: list[dict[str, list[str]]]) -> None:
    """Tried: the same Allow statements in reverse order, and all their principals merged into one statement.
    Must: the same principals either way."""
    forward = trusted_principals(trust(*[allow(b) for b in blocks]))
    backward = trusted_principals(trust(*[allow(b) for b in reversed(blocks)]))
    merged: dict[str, list[str]] = {}
    for block in blocks:
        for kind, values in block.items():
            merged.setdefault(kind, []).extend(values)
    assert forward == backward == trusted_principals(trust(allow(merged)))


@given(principal_blocks, st.data())
def test_denying_one_present_principal_removes_exactly_it(block: dict[str, list[str]], data: st.DataObject) -> None:
    """Tried: an Allow of several principals and an unconditional Deny naming one of them. Must: that principal
    alone is gone; a conditioned Deny of it removes nothing."""
    before = trusted_principals(trust(allow(block)))
    kind = data.draw(st.sampled_from(sorted(block)))
    value = data.draw(st.sampled_from(block[kind]))
    gone = next(iter(trusted_principals(trust(allow({kind: value})))))
    after = trusted_principals(trust(allow(block), deny({kind: value})))
    assert after == {p: u for p, u in before.items() if p != gone}
    conditioned = deny({kind: value}, Condition={"Bool": {"aws:SecureTransport": "false"}})
    assert trusted_principals(trust(allow(block), conditioned)) == before


@given(principal_blocks)
def test_a_condition_never_removes_a_principal(block: dict[str, list[str]]) -> None:
    """Tried: the same Allow with and without an unrelated condition. Must: the same principals, only flagged as
    conditioned (errs towards "can assume")."""
    plain = trusted_principals(trust(allow(block)))
    conditioned = trusted_principals(trust(allow(block, Condition={"StringEquals": {"sts:ExternalId": "x"}})))
    assert set(plain) == set(conditioned)
    assert all(plain.values()) and not any(conditioned.values())
