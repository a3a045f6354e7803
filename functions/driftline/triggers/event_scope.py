"""What one accepted IAM event asks the detector to look at: its ``Scope``.

The identities the event touched, the members of a group it changed, and whoever made the call if they are revoked
(a revoked identity acting is the loudest drift of all); minus names driftline leaves alone (excluded and not
registered: a registered identity is judged like any other, as the reconcile does). A user is re-read only for the
facets the event could have changed, unless someone revoked is involved: then whole, as the ledger and the
revoked-credential-used check need every way the identity can act.

Depends on ports only (the IAM reader for group members, the invocation's registry memo), so it is tested with fakes.
"""

from __future__ import annotations

from driftline.domain.identity import IdentityRef
from driftline.domain.ledger import Attempt
from driftline.domain.observed import ALL_FACETS
from driftline.domain.scope import Scope
from driftline.domain.settings import Exclusions
from driftline.service.ports import IamReader
from driftline.service.registry_memo import RegistryMemo
from driftline.triggers.callers import caller_of, clipped_arn
from driftline.triggers.cloudtrail import EVENT_RULES, caller_refs, group_member_refs, mark_use, revoked_callers
from driftline.triggers.event_changes import attempted, credential_changes
from driftline.triggers.triage import Triage


def event_scope(
    decision: Triage, *, account_id: str, iam: IamReader, registry: RegistryMemo, exclusions: Exclusions
) -> Scope | None:
    """The scope of an accepted event; None when it touches only identities driftline leaves alone."""
    assert decision.detail is not None and decision.touched is not None
    detail = decision.detail

    def revoked(ref: IdentityRef) -> bool:
        entry = registry.get(account_id, ref)
        return entry is not None and entry.is_revoked

    refs = set(decision.touched.refs)
    for group in sorted(decision.touched.groups):
        refs.update(group_member_refs(iam.group_members(group) or []))
    registry.prefetch(refs | caller_refs(detail))  # one batch for everything known before reading IAM
    used = revoked_callers(detail, revoked)
    refs.update(used)
    named = {r for r in refs - set(used) if exclusions.excludes(r.name, kind=r.kind)}  # the event carries no path
    refs -= {r for r in named if registry.get(account_id, r) is None}
    if not refs:
        return None
    facets = ALL_FACETS if any(revoked(r) for r in refs) else EVENT_RULES[detail.eventName].reads
    return Scope(
        refs=tuple(sorted(refs, key=lambda r: r.key)),
        facets=facets,
        changes=credential_changes(detail),
        observe=mark_use(used, detail) if used else None,
    )


def refused_attempt(decision: Triage) -> tuple[list[IdentityRef], Attempt] | None:
    """A failed call that would have enforced something: the identities it aimed at and the attempt as the ledger
    keeps it; None when it would not have enforced anything (``UpdateAccessKey`` to Active, an ``Allow`` policy)."""
    assert decision.detail is not None
    detail = decision.detail
    aim = attempted(detail)
    if aim is None:
        return None
    refs, target = aim
    attempt = Attempt(
        at=detail.eventTime,
        event_name=detail.eventName,
        error_code=detail.errorCode or "Unknown",
        event_id=detail.eventID,
        actor_arn=clipped_arn(detail.userIdentity),
        target=target,
        actor=caller_of(detail.userIdentity).display,
    )
    return refs, attempt
