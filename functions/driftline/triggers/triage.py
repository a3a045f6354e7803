"""Deciding what to do with an incoming event before any AWS call: reject bad input, skip what is not ours.

Never raises: whatever arrives (wrong types, missing fields, other services, failed calls, huge payloads) gets a
decision with a reason, so the handler can log it and count it.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from driftline.domain.identity import Kind
from driftline.domain.registry import IAM_NAME
from driftline.domain.text import valid_unicode
from driftline.triggers.cloudtrail import (
    DETAIL_TYPE,
    ENFORCING_EVENT_NAMES,
    CloudTrailDetail,
    IamApiCall,
    Touched,
    touched,
)

MAX_EVENT_BYTES = 256 * 1024  # EventBridge's own limit: anything larger did not come from EventBridge


class Triage(BaseModel):
    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    status: Literal["process", "rejected", "skipped", "widen", "attempt"]
    reason: str = ""
    detail: CloudTrailDetail | None = None
    raw_detail: dict[str, Any] | None = None
    touched: Touched | None = None
    accounts: frozenset[str] = frozenset()  # the envelope's account and CloudTrail's recipientAccountId

    def foreign_to(self, account_id: str) -> str | None:
        """The other account this event belongs to, if it is not ``account_id``'s own (None when it is)."""
        return next((a for a in sorted(self.accounts) if a != account_id), None)


def _size(event: Any) -> int:
    try:
        return len(json.dumps(event, default=str))
    except (TypeError, ValueError, RecursionError):
        return MAX_EVENT_BYTES + 1


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "event"
    return f"{where}: {err['msg']}"


def _unusable(event: Any) -> str | None:
    """Why ``event`` cannot be an EventBridge event at all, before any parsing; None when it may be one."""
    if not isinstance(event, dict):
        return f"the event is a {type(event).__name__}, not a JSON object"
    if _size(event) > MAX_EVENT_BYTES:
        return "the event is larger than EventBridge's 256 KB limit"
    if not valid_unicode(event):
        return "the event holds text that is not valid Unicode (a lone surrogate)"
    return None


# What IAM accepts (CreateUser/CreateRole/CreateGroup, AccessKeyId): a name outside these never came from IAM, and
# asking IAM about it would only fail (moto even answers such a name with XML botocore cannot parse).
_GROUP_NAME = re.compile(r"^[A-Za-z0-9+=,.@_-]{1,128}$")
_KEY_ID = re.compile(r"^[A-Za-z0-9_]{16,128}$")


def _impossible_name(hit: Touched) -> str | None:
    """Why an identity the event names cannot exist in IAM, if one cannot."""
    for ref in sorted(hit.refs, key=lambda r: r.key):
        pattern = _KEY_ID if ref.kind is Kind.ACCESS_KEY else IAM_NAME
        if not pattern.match(ref.name):
            return f"the event names {ref.kind.value} {ref.name[:80]!r}, which is no valid IAM name"
    for group in sorted(hit.groups):
        if not _GROUP_NAME.match(group):
            return f"the event names group {group[:80]!r}, which is no valid IAM name"
    return None


def triage(event: Any) -> Triage:
    if (why := _unusable(event)) is not None:
        return Triage(status="rejected", reason=why)
    try:
        call = IamApiCall.model_validate(event)
    except ValidationError as exc:
        return Triage(status="rejected", reason=f"not an EventBridge CloudTrail event: {_first_error(exc)}")
    detail = call.detail
    if call.source != "aws.iam" or call.detail_type != DETAIL_TYPE or detail.eventSource != "iam.amazonaws.com":
        return Triage(status="skipped", reason=f"not an IAM API call ({call.source}, {detail.eventSource})")
    raw = event.get("detail")
    assert isinstance(raw, dict)
    if not all(isinstance(key, str) for key in raw):
        return Triage(status="rejected", reason="the event detail has a key that is not a string")
    accounts = frozenset(a for a in (call.account, detail.recipientAccountId) if a)
    if detail.errorCode:
        if detail.eventName in ENFORCING_EVENT_NAMES:
            reason = f"failed enforcing call {detail.eventName} ({detail.errorCode})"
            return Triage(status="attempt", reason=reason, detail=detail, raw_detail=raw, accounts=accounts)
        return Triage(status="skipped", reason=f"failed call {detail.eventName} ({detail.errorCode}) changed nothing")
    hit = touched(detail)
    if hit is None:
        return Triage(status="skipped", reason=f"event {detail.eventName} is not one driftline evaluates")
    if (bad := _impossible_name(hit)) is not None:
        return Triage(status="rejected", reason=bad)
    if hit.widen:
        return Triage(status="widen", reason=hit.widen, detail=detail, raw_detail=raw, touched=hit, accounts=accounts)
    return Triage(status="process", detail=detail, raw_detail=raw, touched=hit, accounts=accounts)
