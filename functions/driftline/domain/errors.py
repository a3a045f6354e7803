"""The one error hierarchy of driftline. Adapters translate SDK errors into these, always chaining the cause."""

from __future__ import annotations


class DriftlineError(Exception):
    """Base class: every failure driftline reports on purpose derives from this."""


class RegistryError(DriftlineError):
    """The registry could not be read or written."""


class RegistryFileError(RegistryError):
    """A registry file is malformed; ``problems`` lists every problem found, each naming its place."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        listing = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{source}: {len(problems)} problem(s) in the registry file:\n{listing}")


class VersionConflict(RegistryError):
    """A versioned write lost a race: the entry changed since it was read."""


class IamReadError(DriftlineError):
    """Live IAM state could not be read (access denied, throttled after retries, unexpected answer)."""


class CredentialReportUnavailable(IamReadError):
    """The IAM credential report did not become ready within the allowed time."""


class StateStoreError(DriftlineError):
    """The detector's state table could not be read or written."""


class LedgerItemUnreadable(StateStoreError):
    """One ledger item is not a valid record: reported and skipped, never overwritten."""


class EnforcementError(DriftlineError):
    """An enforcement (or undo) step failed in IAM; ``code`` is AWS's error code when there is one."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class PolicyQuotaFull(EnforcementError):
    """The identity already holds as many managed policies as IAM allows (LimitExceeded on Attach*Policy)."""
