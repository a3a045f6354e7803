"""How driftline enters a member account of the organisation: the two roles it assumes there, exactly what each must
allow, and which failures mean "this account cannot be entered or read" (one account's problem, never the others').

Hub and spoke: a member account ("spoke") runs no driftline function. It holds two roles trusting the hub's
functions: ``DriftlineReadOnly`` (IAM reads only; ``driftline scan --org`` assumes the same role) and
``DriftlineFindingsPublisher`` (Security Hub imports of the member's own findings: BatchImportFindings with a
default product ARN must come from the account the findings name). The action lists below are gathered from the
adapters that make the calls (their ``PERMISSIONS``), so a spoke's role policies cannot fall behind the code.

Plain Python (no CDK): the stack imports these constants.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Final

from botocore.exceptions import ClientError

from driftline.adapters import credential_report, iam_access, iam_account, iam_identity, organization, securityhub
from driftline.adapters.aws import Clients
from driftline.domain.errors import DriftlineError, IamReadError

# --- the member's roles -----------------------------------------------------------------------------------------
MEMBER_READ_ROLE: Final = "DriftlineReadOnly"
FINDINGS_PUBLISHER_ROLE: Final = "DriftlineFindingsPublisher"
READ_SESSION: Final = "driftline-hub-read"
PUBLISH_SESSION: Final = "driftline-hub-findings"

IAM_READERS: Final[tuple[ModuleType, ...]] = (iam_account, credential_report, iam_identity, iam_access)


def _gathered(modules: tuple[ModuleType, ...], *targets: str) -> tuple[str, ...]:
    """The actions ``modules`` declare for ``targets``, in order, once each."""
    actions: list[str] = []
    for target in targets:
        for module in modules:
            actions += [a for a in module.PERMISSIONS.get(target, ()) if a not in actions]
    return tuple(actions)


# What the member's read-only role allows, by what it acts on (as stacks/constants.py groups the functions' own IAM
# reads): "account" actions support no resource-level permission (Resource "*"); the others can be limited to the
# member's users, roles, groups and policies.
MEMBER_READ_ACTIONS_BY_TARGET: Final[dict[str, tuple[str, ...]]] = {
    target: _gathered(IAM_READERS, target) for target in ("account", "user", "role", "group", "policy")
}
# Every IAM read of the reconcile and the event path (the union of the IAM reader adapters' PERMISSIONS).
MEMBER_READ_ACTIONS: Final[tuple[str, ...]] = _gathered(IAM_READERS, "account", "user", "role", "group", "policy")
# What the findings publisher role allows: imports on the member's own default product
# (arn:<partition>:securityhub:<region>:<member>:product/<member>/default).
FINDINGS_PUBLISHER_ACTIONS: Final[tuple[str, ...]] = _gathered((securityhub,), "product")
# The hub functions' own calls besides the state and registry tables: listing the organisation's accounts, and
# assuming the two member roles.
ORGANIZATION_READ_ACTIONS: Final[tuple[str, ...]] = _gathered((organization,), "organization")
ASSUME_MEMBER_ROLE_ACTIONS: Final[tuple[str, ...]] = ("sts:AssumeRole",)

# AWS's answers that mean the member account cannot be entered or read as configured: the role is missing or does not
# trust the hub (STS says AccessDenied for both), an SCP or permissions boundary denies the call, STS is disabled in
# the Region. Anything else (throttling after retries, an outage) is not the account's doing and is raised.
DENIED_CODES: Final = frozenset(
    {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "RegionDisabledException"}
)


def role_arn(partition: str, account_id: str, role_name: str) -> str:
    return f"arn:{partition}:iam::{account_id}:role/{role_name}"


class MemberUnreachable(DriftlineError):
    """A member account could not be entered (AssumeRole refused) or read (IAM refused the assumed role): the message
    is ``<code>: <message> (as <role arn>)``."""

    def __init__(self, code: str, message: str, role_arn: str) -> None:
        super().__init__(f"{code}: {message} (as {role_arn})")
        self.code = code
        self.role_arn = role_arn


def _denied(exc: BaseException) -> ClientError | None:
    """The ClientError with a denial code that is ``exc`` or caused it (adapters wrap AWS's errors in driftline's)."""
    current: BaseException | None = exc
    for _ in range(8):  # a chain of causes is short; never loop on a cycle
        if current is None:
            return None
        if isinstance(current, ClientError) and current.response.get("Error", {}).get("Code") in DENIED_CODES:
            return current
        current = current.__cause__
    return None


def _unreachable(denial: ClientError, arn: str) -> MemberUnreachable:
    error = denial.response.get("Error", {})
    return MemberUnreachable(str(error.get("Code")), str(error.get("Message", "")), arn)


def assume_member_role(hub: Clients, arn: str, session_name: str) -> Clients:
    """Clients acting as ``arn`` in the member account; ``MemberUnreachable`` when STS refuses (the role is missing,
    does not trust the hub, or an SCP denies it)."""
    try:
        return hub.assumed(arn, session_name)
    except ClientError as exc:
        denial = _denied(exc)
        if denial is None:
            raise
        raise _unreachable(denial, arn) from exc


@contextmanager
def reading_member(arn: str) -> Iterator[None]:
    """IAM refusing a read made as ``arn`` (the assumed read-only role) raises ``MemberUnreachable``. Other failures,
    the hub's own tables' included, pass unchanged: they are not the member account's doing."""
    try:
        yield
    except IamReadError as exc:
        denial = _denied(exc)
        if denial is None:
            raise
        raise _unreachable(denial, arn) from exc
