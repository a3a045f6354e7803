"""``on_hub_accounts``: the items of the hub's Map, the organisation's ACTIVE accounts (or those of the configured
organisational units), each once, sorted by id, as ``{"account_id", "name"}``."""

from __future__ import annotations

from typing import Any

import pytest

from driftline.compose import HubMisconfigured
from driftline.handlers import on_hub_accounts
from driftline.settings import get_settings
from tests.integration.hub.conftest import HUB, FakeLambdaContext, Org
from tests.integration.state_partitions import Watch


def listed(org: Org) -> list[dict[str, Any]]:
    result: dict[str, Any] = on_hub_accounts.handler({}, FakeLambdaContext(function_name="driftline-hub-accounts"))
    assert list(result) == ["accounts"]
    accounts: list[dict[str, Any]] = result["accounts"]
    return accounts


def test_every_active_account_is_an_item_sorted_by_id(org: Org, state_partitions: Watch) -> None:
    """Four members (one without the spoke roles: listing does not care) and the management account, which is the
    hub here: five items, sorted by id, each with its name; a closed member is left out. No state is touched."""
    for n in range(4):
        org.add_member(f"member-{n}", roles=n != 3)
    closed = org.add_member("closed")
    org.hub.organizations().close_account(AccountId=closed)

    accounts = listed(org)

    ids = [a["account_id"] for a in accounts]
    assert ids == sorted([HUB, *org.members[:4]])
    assert all(set(a) == {"account_id", "name"} for a in accounts)
    by_id = {a["account_id"]: a["name"] for a in accounts}
    assert [by_id[m] for m in org.members[:4]] == ["member-0", "member-1", "member-2", "member-3"]
    assert closed not in ids
    assert state_partitions.seen.get("HubAccountsFunction", 0) == 0


def test_only_the_accounts_of_the_configured_units(org: Org, monkeypatch: pytest.MonkeyPatch) -> None:
    """DRIFTLINE_ORGANIZATION_UNITS names two OUs: the accounts anywhere under either (four of six members, one of
    them in a unit nested two levels below "workloads", where the spokes' StackSet deploys too), sorted, each once
    even when a unit is named twice; the members left in the root and the management account are not."""
    organizations = org.hub.organizations()
    root = organizations.list_roots()["Roots"][0]["Id"]
    units = [
        organizations.create_organizational_unit(ParentId=root, Name=name)["OrganizationalUnit"]["Id"]
        for name in ("workloads", "sandbox")
    ]
    team = organizations.create_organizational_unit(ParentId=units[0], Name="team")["OrganizationalUnit"]["Id"]
    nested = organizations.create_organizational_unit(ParentId=team, Name="prod")["OrganizationalUnit"]["Id"]
    for n in range(6):
        org.add_member(f"member-{n}")
    placed = {org.members[0]: units[0], org.members[2]: units[1], org.members[4]: units[0], org.members[5]: nested}
    for account, unit in placed.items():
        organizations.move_account(AccountId=account, SourceParentId=root, DestinationParentId=unit)
    monkeypatch.setenv("DRIFTLINE_ORGANIZATION_UNITS", f" {units[0]},{units[1]}, {units[0]} ")
    get_settings.cache_clear()

    accounts = listed(org)

    assert [a["account_id"] for a in accounts] == sorted(placed)
    assert {a["name"] for a in accounts} == {"member-0", "member-2", "member-4", "member-5"}


def test_an_organisation_without_members_lists_the_management_account_only(org: Org) -> None:
    (only,) = listed(org)
    assert only["account_id"] == HUB


@pytest.mark.filterwarnings("ignore:No application metrics to publish")
def test_enforce_mode_is_refused_here_too(org: Org, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRIFTLINE_MODE", "enforce")
    get_settings.cache_clear()
    with pytest.raises(HubMisconfigured, match="DRIFTLINE_MODE=enforce is refused"):
        listed(org)
