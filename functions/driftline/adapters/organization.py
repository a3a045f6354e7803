"""The organisation's member accounts, from AWS Organizations: every ACTIVE account, or every one anywhere under the
given organisational units or root (nested units included, as a StackSet deploys to them). One implementation for
``driftline scan --org``, ``driftline evidence --org`` and the hub's account listing (handlers/on_hub_accounts.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Final

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from mypy_boto3_organizations import OrganizationsClient

# The AWS actions this module calls, by what they act on: the hub's grant comes from here, and
# tests/infrastructure/test_code_calls_are_granted.py checks them against the calls in this file.
PERMISSIONS: Final[dict[str, tuple[str, ...]]] = {
    "organization": (
        "organizations:ListAccounts",
        "organizations:ListAccountsForParent",
        "organizations:ListOrganizationalUnitsForParent",
    )
}

ACCOUNT_ID_PATTERN: Final = r"^[0-9]{12}$"


class Member(BaseModel):
    """One member account: its 12-digit id and its name in the organisation."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    account_id: str = Field(pattern=ACCOUNT_ID_PATTERN)
    name: str = ""


def members(organizations: OrganizationsClient, parents: Iterable[str] = ()) -> list[Member]:
    """The organisation's ACTIVE accounts, or those anywhere under any of ``parents`` (organisational unit or root
    ids; nested units too: an account in a child OU is covered by a StackSet targeting its parent, so it must be
    judged too), each once, sorted by id. ``State`` is read where Organizations sends it (it replaces ``Status``)."""
    wanted = list(dict.fromkeys(parents))
    if wanted:
        pager = organizations.get_paginator("list_accounts_for_parent")
        pages = [
            page for parent in _with_descendants(organizations, wanted) for page in pager.paginate(ParentId=parent)
        ]
    else:
        pages = list(organizations.get_paginator("list_accounts").paginate())
    found = {
        a["Id"]: Member(account_id=a["Id"], name=a.get("Name", ""))
        for page in pages
        for a in page["Accounts"]
        if (a.get("State") or a.get("Status") or "ACTIVE") == "ACTIVE"
    }
    return [found[account] for account in sorted(found)]


def _with_descendants(organizations: OrganizationsClient, parents: list[str]) -> list[str]:
    """``parents`` and every organisational unit below them, each once, parents first."""
    seen = list(parents)
    pager = organizations.get_paginator("list_organizational_units_for_parent")
    queue = list(parents)
    while queue:
        for page in pager.paginate(ParentId=queue.pop(0)):
            for unit in page["OrganizationalUnits"]:
                if unit["Id"] not in seen:
                    seen.append(unit["Id"])
                    queue.append(unit["Id"])
    return seen


def account_ids(organizations: OrganizationsClient) -> frozenset[str]:
    """Every account of the organisation, whatever its state (a suspended account is still inside): what "outside
    the organisation" is judged against."""
    pages = organizations.get_paginator("list_accounts").paginate()
    return frozenset(a["Id"] for page in pages for a in page["Accounts"])
