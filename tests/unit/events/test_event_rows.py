"""The rows of issue 17's "events that change an identity": for each event name, the identities it touches, the
facets of a user it re-reads, and whether its failure is kept as a refused enforcing call. Each row is checked on its
corpus event (tests/events/cloudtrail), through triage and the event's scope as the handler builds it."""

from __future__ import annotations

from typing import Any, cast

import pytest

from driftline.cli.file_registry import FileRegistry
from driftline.domain.identity import IdentityRef, Kind
from driftline.domain.observed import ALL_FACETS, Facet, Inventory, OtherCredential
from driftline.domain.registry import RegistrySnapshot
from driftline.domain.settings import Exclusions
from driftline.service.ports import IamReader
from driftline.service.registry_memo import RegistryMemo
from driftline.triggers.cloudtrail import ENFORCING_EVENT_NAMES, EVENT_RULES, CloudTrailDetail, touched
from driftline.triggers.event_changes import attempted, credential_changes
from driftline.triggers.event_scope import event_scope
from driftline.triggers.triage import Triage, triage
from tests.events import corpus
from tests.unit.domain.builders import inventory, observed_user

ACCOUNT = corpus.ACCOUNT
LINKED_ROLE = "AWSServiceRoleForAmazonElasticFileSystem"
VALUES = corpus.defaults(user="alice", new_user="alice-renamed", role="app-role", linked_role=LINKED_ROLE)
ALICE, RENAMED, ROLE = "user#alice", "user#alice-renamed", "role#app-role"
LINKED = f"role#{LINKED_ROLE.lower()}"
CREDENTIALS, ENTITLEMENTS = frozenset({Facet.CREDENTIALS}), frozenset({Facet.ENTITLEMENTS})

# event name -> (identity keys its corpus event touches, facets of a user re-read, enforcing)
ROWS: dict[str, tuple[set[str], frozenset[Facet], bool]] = {
    "UpdateUser": ({ALICE, RENAMED}, ALL_FACETS, False),  # a rename: the old name and the new, read whole
    "UpdateRole": ({ROLE}, ALL_FACETS, False),  # maximum session duration or description
    "UpdateLoginProfile": ({ALICE}, CREDENTIALS, False),  # a new password: it disables nothing
    "CreateServiceSpecificCredential": ({ALICE}, CREDENTIALS, False),
    "UpdateServiceSpecificCredential": ({ALICE}, CREDENTIALS, True),  # to Inactive
    "DeleteServiceSpecificCredential": ({ALICE}, CREDENTIALS, True),
    "ResetServiceSpecificCredential": ({ALICE}, CREDENTIALS, False),  # a new password, same credential, same status
    "UploadSSHPublicKey": ({ALICE}, CREDENTIALS, False),
    "UpdateSSHPublicKey": ({ALICE}, CREDENTIALS, True),
    "DeleteSSHPublicKey": ({ALICE}, CREDENTIALS, True),
    "UploadSigningCertificate": ({ALICE}, CREDENTIALS, False),
    "UpdateSigningCertificate": ({ALICE}, CREDENTIALS, True),
    "DeleteSigningCertificate": ({ALICE}, CREDENTIALS, True),
    "PutUserPermissionsBoundary": ({ALICE}, ENTITLEMENTS, True),  # a boundary may allow nothing
    "DeleteUserPermissionsBoundary": ({ALICE}, ENTITLEMENTS, False),
    "PutRolePermissionsBoundary": ({ROLE}, ALL_FACETS, True),
    "DeleteRolePermissionsBoundary": ({ROLE}, ALL_FACETS, False),
    "CreateServiceLinkedRole": ({LINKED}, ALL_FACETS, False),  # named in responseElements only
    "UpdateAssumeRolePolicy": ({ROLE}, ALL_FACETS, True),  # a trust policy may admit nobody
}


def event(name: str, **values: Any) -> dict[str, Any]:
    return corpus.fill(f"iam.{name}", VALUES | values)


def detail(name: str, **values: Any) -> CloudTrailDetail:
    return CloudTrailDetail.model_validate(event(name, **values)["detail"])


class NoGroups:
    """The IAM reader as event_scope uses it: none of these events names a group."""

    def group_members(self, group: str) -> list[str] | None:
        raise AssertionError(f"no row names a group, asked for {group}")


def registry(*entries: dict[str, Any]) -> RegistryMemo:
    snapshot = RegistrySnapshot.model_validate({"account_id": ACCOUNT, "entries": list(entries)})
    return RegistryMemo(FileRegistry(snapshot), ACCOUNT)


def scope_of(decision: Triage, memo: RegistryMemo | None = None) -> Any:
    return event_scope(
        decision,
        account_id=ACCOUNT,
        iam=cast("IamReader", NoGroups()),
        registry=memo or registry(),
        exclusions=Exclusions(),
    )


def test_every_row_of_the_issue_is_a_handled_event() -> None:
    """Input: the issue's list of events. Must: each is a row of EVENT_RULES, so the rule pattern delivers it."""
    assert set(ROWS) - set(EVENT_RULES) == set()


@pytest.mark.parametrize("name", sorted(ROWS))
def test_row_reads_the_facets_the_event_can_change(name: str) -> None:
    """Input: the row of ``name``. Must: it re-reads exactly the facets in ROWS (a credential event never reads
    policies, a rename reads everything)."""
    assert EVENT_RULES[name].reads == ROWS[name][1]


@pytest.mark.parametrize("name", sorted(ROWS))
def test_corpus_event_triages_to_the_identities_it_touched(name: str) -> None:
    """Input: the corpus event of ``name`` (documented shape, default names). Must: processed, naming exactly the
    identities in ROWS and no group."""
    decision = triage(event(name))

    assert decision.status == "process", decision.reason
    assert decision.touched is not None and decision.touched.groups == frozenset()
    assert {ref.key for ref in decision.touched.refs} == ROWS[name][0]


@pytest.mark.parametrize("name", sorted(ROWS))
def test_event_scope_reads_the_touched_identities_with_the_rows_facets(name: str) -> None:
    """Input: the processed corpus event of ``name``, every identity it names registered as active (so that the
    service-linked role, excluded by default, is not left out). Must: the scope the detector evaluates holds exactly
    those identities, read for the row's facets."""
    entries = [
        {"kind": IdentityRef.parse(key).kind.value, "name": IdentityRef.parse(key).name, "owner": "team"}
        for key in sorted(ROWS[name][0])
    ]
    scope = scope_of(triage(event(name)), registry(*entries))

    assert scope is not None
    assert {ref.key for ref in scope.refs} == ROWS[name][0]
    assert scope.facets == ROWS[name][1]


@pytest.mark.parametrize("name", sorted(ROWS))
def test_a_failed_call_is_kept_only_when_the_event_can_disable_a_way_to_act(name: str) -> None:
    """Input: the corpus event of ``name`` failed with AccessDenied (no responseElements, as CloudTrail writes a
    failed call), status Inactive where the call takes one. Must: an enforcing row is kept as an attempt (the rule
    pattern lets its failures through), any other is skipped."""
    failed = event(name, status="Inactive")
    failed["detail"]["errorCode"] = "AccessDenied"
    failed["detail"].pop("responseElements")

    decision = triage(failed)

    enforcing = ROWS[name][2]
    assert (name in ENFORCING_EVENT_NAMES) is enforcing
    assert decision.status == ("attempt" if enforcing else "skipped")


def test_enforcing_names_are_exactly_the_events_whose_failure_would_have_disabled_something() -> None:
    """Input: every handled event name's corpus event, failed, with status Inactive and a deny-everything policy
    document. Must: ``attempted`` finds something it tried to disable exactly for the enforcing names, so the table
    and the ledger's credit logic cannot disagree (a failed enabling call is never kept, a failed disabling one is)."""
    deny = '{"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]}'
    would_disable = set()
    for name, rule in EVENT_RULES.items():
        if rule.target in ("policy", "group"):
            continue  # a managed policy's version or a group's policy: no single identity's way to act
        failed = event(name, status="Inactive", policy_document=deny)["detail"]
        failed["errorCode"] = "AccessDenied"
        if attempted(CloudTrailDetail.model_validate(failed)) is not None:
            would_disable.add(name)

    assert would_disable == set(ENFORCING_EVENT_NAMES)


# -- UpdateUser: a rename touches both names ------------------------------------------------------------------------
def test_a_rename_of_a_revoked_user_reads_both_names_whole() -> None:
    """Input: UpdateUser alice -> alice-renamed, alice's entry revoked. Must: both names are evaluated, whole (a
    revoked identity is read for every way to act), and the new name too although nobody registered it."""
    memo = registry(
        {"kind": "user", "name": "alice", "owner": "team", "status": "revoked", "revoked_at": "2026-01-01T00:00:00Z"}
    )

    scope = scope_of(triage(event("UpdateUser")), memo)

    assert scope is not None
    assert {ref.key for ref in scope.refs} == {ALICE, RENAMED}
    assert scope.facets == ALL_FACETS


def test_a_path_only_update_touches_the_one_user() -> None:
    """Input: UpdateUser with newPath and no newUserName. Must: only alice is touched."""
    changed = event("UpdateUser")
    changed["detail"]["requestParameters"] = {"userName": "alice", "newPath": "/contractors/"}

    hit = touched(CloudTrailDetail.model_validate(changed["detail"]))

    assert hit is not None and {ref.key for ref in hit.refs} == {ALICE}


@pytest.mark.parametrize("bad", [None, 42, "", "al ice"])
def test_a_rename_whose_old_name_cannot_be_read_is_widened_not_half_evaluated(bad: object) -> None:
    """Input: UpdateUser whose userName is unusable (absent, a number, empty, not an IAM name) and whose newUserName
    is fine. Must: widened to a whole-account reconcile, since the old name (perhaps registered, perhaps revoked)
    cannot be evaluated; never the new name alone."""
    renamed = event("UpdateUser")
    renamed["detail"]["requestParameters"]["userName"] = bad

    decision = triage(renamed)

    assert decision.status == "widen"
    assert decision.touched is not None and decision.touched.refs == frozenset()


# -- CreateServiceLinkedRole: the name is only in IAM's answer ------------------------------------------------------
def test_a_service_linked_role_is_named_from_the_response_only() -> None:
    """Input: the corpus CreateServiceLinkedRole (request: aWSServiceName only). Must: the role named by
    responseElements.role.roleName is touched, though no request parameter names it."""
    found = detail("CreateServiceLinkedRole")
    assert "roleName" not in (found.requestParameters or {})

    hit = touched(found)

    assert hit is not None
    assert hit.refs == frozenset({IdentityRef(kind=Kind.ROLE, name=LINKED_ROLE)})


@pytest.mark.parametrize("response", [None, {}, {"role": None}, {"role": {"roleName": 7}}, {"role": {"roleName": ""}}])
def test_a_service_linked_role_without_a_usable_response_is_widened(response: object) -> None:
    """Input: CreateServiceLinkedRole whose responseElements is null, empty, or holds no usable role name. Must:
    widened (a role was created and cannot be named), never dropped."""
    created = event("CreateServiceLinkedRole")
    created["detail"]["responseElements"] = response

    decision = triage(created)

    assert decision.status == "widen"
    assert decision.reason == "CreateServiceLinkedRole names no identity driftline can determine"


def test_an_unregistered_service_linked_role_is_left_alone_and_a_registered_one_judged() -> None:
    """Input: CreateServiceLinkedRole of AWSServiceRoleForAmazonElasticFileSystem, first unregistered, then
    registered. Must: unregistered it is excluded by the default exclusions (AWS-owned, as in the reconcile), so
    nothing is evaluated; registered it is evaluated like any role."""
    decision = triage(event("CreateServiceLinkedRole"))

    assert scope_of(decision) is None
    registered = scope_of(decision, registry({"kind": "role", "name": LINKED_ROLE, "owner": "platform"}))
    assert registered is not None and {ref.key for ref in registered.refs} == {LINKED}


def test_update_role_takes_the_session_duration_as_an_integer() -> None:
    """Input: UpdateRole with maxSessionDuration 43200 (a JSON number, as the API's Integer is logged). Must: the
    event parses and names app-role."""
    found = detail("UpdateRole")
    assert found.requestParameters is not None and found.requestParameters["maxSessionDuration"] == 43200

    hit = touched(found)

    assert hit is not None and {ref.key for ref in hit.refs} == {ROLE}


# -- what each credential event does to a way to act (the ledger's credit) -----------------------------------------
CREDENTIAL_ID = "IDOFTHECREDENTIAL1"
IDS = {"ssh_key_id": CREDENTIAL_ID, "credential_id": CREDENTIAL_ID, "certificate_id": CREDENTIAL_ID}
SSH, SSC, CERT = "ssh-public-key", "service-specific-credential", "signing-certificate"

# event name -> the (credential token, effect) confirmed for alice when IAM, re-read, shows the credential inactive
# or gone; [] when the event changes no way to act.
CHANGES: dict[str, list[tuple[str, str]]] = {
    "UploadSSHPublicKey": [(f"{SSH}:{CREDENTIAL_ID}", "enable")],
    "UpdateSSHPublicKey": [(f"{SSH}:{CREDENTIAL_ID}", "disable")],
    "DeleteSSHPublicKey": [(f"{SSH}:{CREDENTIAL_ID}", "disable")],
    "CreateServiceSpecificCredential": [(f"{SSC}:{CREDENTIAL_ID}", "enable")],
    "UpdateServiceSpecificCredential": [(f"{SSC}:{CREDENTIAL_ID}", "disable")],
    "DeleteServiceSpecificCredential": [(f"{SSC}:{CREDENTIAL_ID}", "disable")],
    "ResetServiceSpecificCredential": [],
    "UploadSigningCertificate": [(f"{CERT}:{CREDENTIAL_ID}", "enable")],
    "UpdateSigningCertificate": [(f"{CERT}:{CREDENTIAL_ID}", "disable")],
    "DeleteSigningCertificate": [(f"{CERT}:{CREDENTIAL_ID}", "disable")],
    "UpdateLoginProfile": [],
    "UpdateUser": [],
}


def alice_without_usable_credentials() -> Inventory:
    others = tuple(OtherCredential(kind=k, credential_id=CREDENTIAL_ID, active=False) for k in (SSH, SSC, CERT))
    return inventory(users=[observed_user("alice", other_credentials=others)])


@pytest.mark.parametrize("name", sorted(CHANGES))
def test_credential_event_records_the_change_it_made(name: str) -> None:
    """Input: the corpus event of ``name`` (status Inactive where it takes one), IAM re-read showing alice's SSH key,
    service-specific credential and signing certificate inactive. Must: exactly the change in CHANGES is recorded
    for alice, carrying the event and who acted."""
    found = credential_changes(detail(name, status="Inactive", **IDS))(alice_without_usable_credentials())

    told = found.get(IdentityRef(kind=Kind.USER, name="alice"), [])
    assert [(c.credential, c.effect) for c in told] == CHANGES[name]
    for change in told:
        assert (change.event_name, change.actor) == (name, "IAM user admin (arn:aws:iam::123456789012:user/admin)")


@pytest.mark.parametrize("name", sorted(n for n, told in CHANGES.items() if told and told[0][1] == "disable"))
def test_refused_credential_disabling_names_the_credential_it_aimed_at(name: str) -> None:
    """Input: the disabling credential event ``name`` refused (AccessDenied). Must: the attempt aims at alice and
    names the credential, e.g. ``ssh-public-key IDOFTHECREDENTIAL1``."""
    failed = event(name, status="Inactive", **IDS)["detail"]
    failed["errorCode"] = "AccessDenied"

    aim = attempted(CloudTrailDetail.model_validate(failed))

    token = CHANGES[name][0][0]
    assert aim == ([IdentityRef(kind=Kind.USER, name="alice")], token.replace(":", " "))
