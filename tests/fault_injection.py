"""Faults injected at the botocore boundary, for code that builds its own clients (the CLI, the handlers).

``inject(monkeypatch, "dynamodb.BatchWriteItem", Killed, after=2)`` makes the third and later BatchWriteItem calls of
every ``Clients`` built afterwards raise ``Killed`` before anything is sent: the request never reaches moto, exactly
as when the process dies or the network breaks at that point. ``Killed`` is a BaseException, so no ``except
Exception`` in the code under test can swallow it: it stands for the process being killed.
"""

from __future__ import annotations

from typing import Any

import pytest

from driftline.adapters.aws import Clients


class Killed(BaseException):
    """The process died here (SIGKILL, a Lambda timeout): nothing after this point ran."""


class Fault:
    """Counts the calls of one operation and raises from the ``after``-th on (``times`` of them, all if None)."""

    def __init__(self, error: BaseException | type[BaseException], after: int, times: int | None) -> None:
        self.error = error
        self.after = after
        self.times = times
        self.calls = 0
        self.raised = 0

    def __call__(self, **_: Any) -> None:
        self.calls += 1
        if self.calls > self.after and (self.times is None or self.raised < self.times):
            self.raised += 1
            raise self.error


def inject(
    monkeypatch: pytest.MonkeyPatch,
    operation: str,
    error: BaseException | type[BaseException],
    *,
    after: int = 0,
    times: int | None = None,
) -> Fault:
    """Raise ``error`` from the ``after+1``-th call of ``operation`` ("service.Operation") on every Clients built
    from now on; the returned Fault tells how many calls were made and how many failed."""
    fault = Fault(error, after, times)
    service, name = operation.split(".")
    original = Clients.__init__

    def init(self: Clients, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self.session.events.register(f"before-call.{service}.{name}", fault)

    monkeypatch.setattr(Clients, "__init__", init)
    return fault
