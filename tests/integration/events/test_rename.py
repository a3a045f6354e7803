"""UpdateUser renames a user on moto, then its CloudTrail event arrives: both names are evaluated."""

from __future__ import annotations

from tests.integration.events.conftest import EventAccount
from tests.integration.support import ago

OLD, NEW = "alice", "alice-renamed"


def test_a_rename_reports_the_old_name_missing_and_the_new_one_unregistered(account: EventAccount) -> None:
    """Input: alice, registered and active, renamed alice-renamed in IAM; then UpdateUser's event. Must: one
    evaluation of both names; the registry entry of alice now describes nothing (missing-identity), and
    alice-renamed is an identity nobody registered (unregistered-identity)."""
    account.iam.create_user(UserName=OLD)
    account.sandbox.register_user(OLD)
    account.iam.update_user(UserName=OLD, NewUserName=NEW)
    account.evaluated.clear()

    _, result = account.send("iam.UpdateUser", user=OLD, new_user=NEW)

    assert result["status"] == "evaluated", result
    assert account.evaluated == [{f"user#{OLD}", f"user#{NEW}"}]
    assert account.state_of("missing-identity", f"user#{OLD}") == "ACTIVE"
    assert account.state_of("unregistered-identity", f"user#{NEW}") == "ACTIVE"


def test_renaming_a_revoked_user_does_not_enforce_its_revocation(account: EventAccount) -> None:
    """Input: alice revoked two hours ago with an active key (unenforced-revocation raised), then renamed
    alice-renamed. Must: the revocation stays unenforced: the principal and its key still act, under another name.
    The ledger saw alice's unique id (AIDA…) while she was revoked; the id lives on as alice-renamed, so the name's
    absence is a rename, not a deletion (it was credited as "deleted" before this was fixed)."""
    account.iam.create_user(UserName=OLD)
    account.sandbox.key(OLD)
    account.sandbox.register_user(OLD, status="revoked", revoked_at=ago(hours=2), ticket="SEC-1")
    account.send("iam.TagUser", user=OLD)
    assert account.state_of("unenforced-revocation", f"user#{OLD}") == "ACTIVE"
    account.iam.update_user(UserName=OLD, NewUserName=NEW)

    account.send("iam.UpdateUser", user=OLD, new_user=NEW)

    assert account.state_of("unenforced-revocation", f"user#{OLD}") == "ACTIVE"
