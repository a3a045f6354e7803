"""Per-identity IAM reads: one user (with its keys, groups, policies and login profile), one role, one key.

Used by the event path and, for a few revoked users, by the reconcile. Every read goes to IAM itself (never to
policy documents carried in events, which may be truncated: AWS-FACTS section 1).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import ClientError

from driftline.adapters.iam_access import PolicyDocuments, could_act, with_other_credentials
from driftline.adapters.iam_errors import absent_if_missing, error_code, iam_call
from driftline.adapters.iam_parse import aware, role_from_details, user_from_details
from driftline.domain.identity import IdentityRef, Kind, fold
from driftline.domain.observed import (
    ALL_FACETS,
    Facet,
    Inventory,
    KeyStatus,
    ObservedKey,
    ObservedRole,
    ObservedUser,
)

if TYPE_CHECKING:
    from mypy_boto3_iam import IAMClient

# The AWS actions this module calls, by what they act on: stacks/constants.py grants them from here, and
# tests/infrastructure/test_code_calls_are_granted.py checks them against the calls in this file.
PERMISSIONS: Final[dict[str, tuple[str, ...]]] = {
    "user": (
        "iam:ListAccessKeys",
        "iam:GetAccessKeyLastUsed",
        "iam:GetUser",
        "iam:GetLoginProfile",
        "iam:ListAttachedUserPolicies",
        "iam:ListUserPolicies",
        "iam:GetUserPolicy",
        "iam:ListGroupsForUser",
    ),
    "role": ("iam:GetRole", "iam:ListAttachedRolePolicies", "iam:ListRolePolicies", "iam:GetRolePolicy"),
    "group": ("iam:GetGroup",),
}


class IdentityReads:
    def __init__(self, iam: IAMClient) -> None:
        self._iam = iam

    # -- access keys ---------------------------------------------------------------------------------------------
    def list_keys(self, user: str) -> list[dict[str, Any]]:
        with iam_call("ListAccessKeys"):
            pages = self._iam.get_paginator("list_access_keys").paginate(UserName=user)
            return [dict(meta) for page in pages for meta in page["AccessKeyMetadata"]]

    def key_last_used(self, key_id: str) -> datetime | None:
        with iam_call("GetAccessKeyLastUsed"):
            used = self._iam.get_access_key_last_used(AccessKeyId=key_id).get("AccessKeyLastUsed", {})
        when = used.get("LastUsedDate")
        # Whole seconds, as the credential report gives them, so both sources yield the same evidence.
        return aware(when).replace(microsecond=0) if when else None

    def key_owner(self, key_id: str) -> str | None:
        answer = absent_if_missing(
            lambda: self._iam.get_access_key_last_used(AccessKeyId=key_id), "GetAccessKeyLastUsed"
        )
        return answer.get("UserName") if answer else None

    def user_credentials(
        self, user: ObservedUser, *, password_use_known: bool = False
    ) -> tuple[ObservedUser, list[ObservedKey]]:
        """The user's login profile, password use and keys (with exact last use), read directly from IAM."""
        profile = absent_if_missing(lambda: self._iam.get_login_profile(UserName=user.name), "GetLoginProfile")
        last_use = user.password_last_used_at
        if not password_use_known:
            got = absent_if_missing(lambda: self._iam.get_user(UserName=user.name), "GetUser")
            last = got["User"].get("PasswordLastUsed") if got else None
            last_use = aware(last) if last else None
        updated = user.model_copy(update={"password_enabled": profile is not None, "password_last_used_at": last_use})
        keys = [
            ObservedKey(
                access_key_id=meta["AccessKeyId"],
                user_name=user.name,
                status=KeyStatus(meta["Status"]),
                created_at=aware(meta["CreateDate"]),
                last_used_at=self.key_last_used(meta["AccessKeyId"]),
            )
            for meta in self.list_keys(user.name)
        ]
        return updated, keys

    def group_members(self, group: str) -> list[str] | None:
        """The user names in ``group``; None when the group does not exist (any more)."""
        try:
            pages = list(self._iam.get_paginator("get_group").paginate(GroupName=group))
        except ClientError as exc:
            if error_code(exc) == "NoSuchEntity":
                return None
            with iam_call("GetGroup"):
                raise
        return [user["UserName"] for page in pages for user in page["Users"]]

    # -- principals ----------------------------------------------------------------------------------------------
    def user(self, name: str, *, entitlements: bool = True) -> ObservedUser | None:
        got = absent_if_missing(lambda: self._iam.get_user(UserName=name), "GetUser")
        if got is None:
            return None
        detail: dict[str, Any] = dict(got["User"])
        if not entitlements:
            return self._with_password_use(user_from_details(detail, None), detail)
        with iam_call("ListAttachedUserPolicies"):
            detail["AttachedManagedPolicies"] = [
                p
                for page in self._iam.get_paginator("list_attached_user_policies").paginate(UserName=name)
                for p in page["AttachedPolicies"]
            ]
        with iam_call("ListGroupsForUser"):
            detail["GroupList"] = [
                g["GroupName"]
                for page in self._iam.get_paginator("list_groups_for_user").paginate(UserName=name)
                for g in page["Groups"]
            ]
        with iam_call("ListUserPolicies"):
            names = [
                n
                for page in self._iam.get_paginator("list_user_policies").paginate(UserName=name)
                for n in page["PolicyNames"]
            ]
        with iam_call("GetUserPolicy"):
            detail["UserPolicyList"] = [
                {
                    "PolicyName": n,
                    "PolicyDocument": self._iam.get_user_policy(UserName=name, PolicyName=n)["PolicyDocument"],
                }
                for n in names
            ]
        return self._with_password_use(user_from_details(detail, None), detail)

    @staticmethod
    def _with_password_use(observed: ObservedUser, detail: dict[str, Any]) -> ObservedUser:
        last = detail.get("PasswordLastUsed")
        return observed.model_copy(update={"password_last_used_at": aware(last)}) if last else observed

    def role(self, name: str) -> ObservedRole | None:
        got = absent_if_missing(lambda: self._iam.get_role(RoleName=name), "GetRole")
        if got is None:
            return None
        detail: dict[str, Any] = dict(got["Role"])
        with iam_call("ListAttachedRolePolicies"):
            detail["AttachedManagedPolicies"] = [
                p
                for page in self._iam.get_paginator("list_attached_role_policies").paginate(RoleName=name)
                for p in page["AttachedPolicies"]
            ]
        with iam_call("ListRolePolicies"):
            names = [
                n
                for page in self._iam.get_paginator("list_role_policies").paginate(RoleName=name)
                for n in page["PolicyNames"]
            ]
        with iam_call("GetRolePolicy"):
            detail["RolePolicyList"] = [
                {
                    "PolicyName": n,
                    "PolicyDocument": self._iam.get_role_policy(RoleName=name, PolicyName=n)["PolicyDocument"],
                }
                for n in names
            ]
        return role_from_details(detail)

    def _user_whole(
        self, name: str, facets: frozenset[Facet], judged: bool, docs: PolicyDocuments
    ) -> tuple[ObservedUser, list[ObservedKey]] | None:
        """One user with the ``facets`` asked for, and, when ``judged``, every other way it could act."""
        user = self.user(name, entitlements=Facet.ENTITLEMENTS in facets)
        if user is None:
            return None
        keys: list[ObservedKey] = []
        if Facet.CREDENTIALS in facets:
            user, keys = self.user_credentials(user, password_use_known=True)
            if judged:
                user = with_other_credentials(self._iam, user)
        if judged and Facet.ENTITLEMENTS in facets and could_act(user, sum(k.active for k in keys)):
            user = docs.denies(user)  # type: ignore[assignment]
        return user, keys

    # -- a scoped inventory --------------------------------------------------------------------------------------
    def read(
        self,
        account_id: str,
        refs: Iterable[IdentityRef],
        now: datetime,
        *,
        facets: frozenset[Facet] = ALL_FACETS,
        access: frozenset[IdentityRef] = frozenset(),
    ) -> Inventory:
        """An inventory scoped to ``refs``: a key's user is read too, and a user's keys come with it. With
        fewer ``facets`` a user is read without its login profile and keys (2 + one per key fewer calls) or without
        its policies and groups (3 + one per inline policy fewer). Of the ``access`` identities every way to act is
        read: a user's other credentials (3 calls), and the documents of managed policies and the boundary of any
        principal that could otherwise act (2 calls per policy)."""
        scope = set(refs)
        judged = {(r.kind, fold(r.name)) for r in access}
        docs = PolicyDocuments(self._iam)
        users: dict[str, ObservedUser] = {}
        roles: dict[str, ObservedRole] = {}
        keys: dict[str, ObservedKey] = {}

        def read_user(name: str) -> None:
            found = self._user_whole(name, facets, (Kind.USER, fold(name)) in judged, docs)
            if found is not None:
                user, held = found
                scope.add(user.ref)
                users[user.name] = user
                keys.update((k.access_key_id, k) for k in held)

        for name in sorted({r.name for r in scope if r.kind is Kind.USER}):
            read_user(name)
        # A key the users just read do not hold (the event named no user, or the wrong one): ask IAM whose it is.
        # Without credentials, keys are outside the observation: no owner to look for.
        unheld = [r for r in scope if r.kind is Kind.ACCESS_KEY and r.name not in keys and Facet.CREDENTIALS in facets]
        for ref in sorted(unheld, key=str):
            if (owner := self.key_owner(ref.name)) and IdentityRef(kind=Kind.USER, name=owner) not in {
                u.ref for u in users.values()
            }:
                read_user(owner)
        for ref in scope:
            if ref.kind is Kind.ROLE and (role := self.role(ref.name)):
                if (Kind.ROLE, fold(role.name)) in judged and could_act(role):
                    role = docs.denies(role)  # type: ignore[assignment]
                roles[role.name] = role
        return Inventory(
            account_id=account_id,
            observed_at=now,
            users=users,
            roles=roles,
            keys=keys,
            scope=frozenset(scope),
            facets=facets,
        )
