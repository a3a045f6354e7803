"""A revoked user or role that is renamed is not deleted: IAM keeps its unique id (AIDA…/AROA…) across UpdateUser and
UpdateRole, so while that id lives on under another name, the revocation is judged there, never credited as
"deleted". An attacker who renames a revoked identity keeps acting with its keys or trust policy; the verdict must
say unenforced and name the new name."""

from __future__ import annotations

from datetime import timedelta

from driftline.domain.compare import compare
from driftline.domain.drift import DriftType, RevocationState
from driftline.domain.settings import CompareSettings
from driftline.service.pipeline import ids_of, known_ids
from tests.unit.domain.builders import (
    NOW,
    inventory,
    observed_key,
    observed_role,
    observed_user,
    ref,
    revoked,
    role_entry,
    user_entry,
)

ALICE = observed_user("alice")
REVOKED_ALICE = revoked(user_entry("alice"), NOW - timedelta(hours=3))


def _check(entries: list, inv, known: dict | None = None):  # type: ignore[no-untyped-def]
    result = compare(entries, inv, CompareSettings(), NOW, known_ids=known)
    (check,) = result.revocations
    return result, check


def test_a_renamed_user_with_an_active_key_stays_unenforced_under_its_new_name() -> None:
    # Given alice revoked three hours ago, the ledger having seen her id, and IAM now holding that id as "mallory"
    # with alice's active key
    mallory = ALICE.model_copy(update={"name": "mallory", "arn": ALICE.arn.replace("alice", "mallory")})
    inv = inventory(users=[mallory], keys=[observed_key("AKIAALICE00000000001", "mallory")])
    # When judging alice's revocation with the id the ledger knows
    result, check = _check([REVOKED_ALICE], inv, {ref("user#alice"): ALICE.principal_id})
    # Then it is unenforced, the reason names the new name and the key, and the check carries the id on
    assert check.state is RevocationState.UNENFORCED
    assert check.still_active == ("renamed to mallory: access key AKIAALICE00000000001 is Active",)
    assert check.principal_id == ALICE.principal_id
    assert DriftType.UNENFORCED_REVOCATION in {d.type for d in result.drifts}


def test_without_the_id_the_vanished_name_still_reads_as_deleted() -> None:
    # Control: the same IAM state without the ledger's id (never observed before the rename) is "deleted": the
    # test above fails if the id is not what decides it
    mallory = ALICE.model_copy(update={"name": "mallory"})
    _, check = _check(
        [REVOKED_ALICE], inventory(users=[mallory], keys=[observed_key("AKIAALICE00000000001", "mallory")])
    )
    assert check.state is RevocationState.ENFORCED and check.basis == "the user is deleted"


def test_a_renamed_user_that_cannot_act_is_enforced_and_the_basis_says_renamed() -> None:
    mallory = ALICE.model_copy(update={"name": "mallory"})
    _, check = _check([REVOKED_ALICE], inventory(users=[mallory]), {ref("user#alice"): ALICE.principal_id})
    assert check.state is RevocationState.ENFORCED
    assert check.basis == "renamed to mallory, and it holds no usable credential"


def test_an_id_that_is_gone_too_is_a_deletion() -> None:
    _, check = _check([REVOKED_ALICE], inventory(), {ref("user#alice"): ALICE.principal_id})
    assert check.state is RevocationState.ENFORCED and check.basis == "the user is deleted"


def test_a_role_s_id_reused_by_a_user_never_matches() -> None:
    # Given a revoked role whose recorded id (by a corrupt or hostile ledger item) is a user's: kinds never mix
    deployer = observed_role("deployer")
    entry = revoked(role_entry("deployer"), NOW - timedelta(hours=3))
    _, check = _check([entry], inventory(users=[ALICE]), {ref("role#deployer"): ALICE.principal_id})
    assert check.state is RevocationState.ENFORCED and check.basis == "the role is deleted"
    # And a renamed role that can still be assumed is unenforced
    renamed = deployer.model_copy(update={"name": "deployer-v2"})
    _, check = _check([entry], inventory(roles=[renamed]), {ref("role#deployer"): deployer.principal_id})
    assert check.state is RevocationState.UNENFORCED
    assert check.still_active[0].startswith("renamed to deployer-v2: role can still be assumed")


class _Ledger:
    def __init__(self, records: list) -> None:  # type: ignore[type-arg]
        self._records = records
        self.asked: list[list[str] | None] = []

    def records(self, account_id: str, identities: list[str] | None = None) -> list:  # type: ignore[type-arg]
        self.asked.append(identities)
        return self._records


def test_a_scoped_evaluation_reads_its_revoked_identities_records_once_and_keeps_their_ids() -> None:
    # Given a ledger that knows alice's id (and a record of someone else), alice revoked and present in IAM
    from driftline.domain.ledger import LedgerRecord, LedgerState

    def record(identity: str, principal_id: str, hours: float) -> LedgerRecord:
        return LedgerRecord(
            account_id="123456789012",
            identity=identity,
            requested_at=NOW - timedelta(hours=hours),
            state=LedgerState.UNENFORCED,
            opened_at=NOW - timedelta(hours=hours),
            last_checked=NOW,
            principal_id=principal_id,
        )

    older = record("user#alice", "AIDAOLDALICEXXXXXXXX", 30)
    ledger = _Ledger(
        [older, record("user#alice", ALICE.principal_id, 3), record("user#bob", "AIDABOBXXXXXXXXXXXXX", 3)]
    )
    # When asking for the ids the comparison needs
    found = known_ids(ledger, "123456789012", [REVOKED_ALICE], inventory(users=[ALICE]))  # type: ignore[arg-type]
    # Then exactly alice's records are read, once, and the id of her latest revocation is kept (bob's is not asked)
    assert ledger.asked == [["user#alice"]]
    assert found == {ref("user#alice"): ALICE.principal_id}
    # And the whole-account path picks the same from the partition it reads anyway
    assert ids_of(ledger.records("123456789012"), ["user#alice"]) == found


def test_nothing_revoked_reads_nothing() -> None:
    ledger = _Ledger([])
    assert known_ids(ledger, "123456789012", [user_entry("alice")], inventory(users=[ALICE])) == {}  # type: ignore[arg-type]
    assert ledger.asked == []


def test_a_decoy_created_under_the_old_name_does_not_stand_in_for_the_renamed_original() -> None:
    # Given alice (revoked, id known to the ledger) renamed to mallory with her active key, and a new user created
    # under the name "alice" with nothing to act with: the attacker's decoy
    mallory = ALICE.model_copy(update={"name": "mallory"})
    decoy = observed_user("alice", principal_id="AIDADECOYXXXXXXXXXXX")
    inv = inventory(users=[mallory, decoy], keys=[observed_key("AKIAALICE00000000001", "mallory")])
    # When judging alice's revocation with the id the ledger knows
    _, check = _check([REVOKED_ALICE], inv, {ref("user#alice"): ALICE.principal_id})
    # Then the original decides: unenforced, under its new name (the decoy's "no usable credential" is not evidence)
    assert check.state is RevocationState.UNENFORCED
    assert check.still_active == ("renamed to mallory: access key AKIAALICE00000000001 is Active",)
    assert check.principal_id == ALICE.principal_id
    # And without the known id the decoy would have been taken for alice (the id is what decides)
    _, fooled = _check([REVOKED_ALICE], inv)
    assert fooled.state is RevocationState.ENFORCED
