"""The terminal: colour and width for tables, and a progress display on stderr for work that takes a while.

Colour only on a terminal (or with ``FORCE_COLOR``), never with ``NO_COLOR`` (https://no-color.org: set and not
empty), which wins. Width: the terminal's (``COLUMNS`` overrides it); piped, ``COLUMNS`` or 160 columns, so a table
written to a file or a CI log wraps the same way every time.

The progress display appears only when the work has lasted longer than a second (``PROGRESS_DELAY``), only on a
terminal, never with ``--quiet`` or ``--debug`` (whose per-call lines it would overwrite), and is removed when the
work ends, so a quick command prints exactly what it printed before.
"""

from __future__ import annotations

import os
import threading
import time
from types import TracebackType
from typing import Any, TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from driftline.adapters.aws import Clients

PIPED_WIDTH = 160
PROGRESS_DELAY = 1.0  # seconds of work before the progress display appears

# What a scan is doing, by the AWS operation it is calling (botocore event names: service.Operation).
PHASES = {
    "sts.GetCallerIdentity": "checking the caller",
    "sts.AssumeRole": "assuming the role",
    "dynamodb.Query": "reading the registry and state",
    "dynamodb.GetItem": "reading the registry and state",
    "dynamodb.BatchGetItem": "reading the registry and state",
    "iam.GetAccountAuthorizationDetails": "reading IAM users, roles and policies",
    "iam.GenerateCredentialReport": "waiting for IAM's credential report",
    "iam.GetCredentialReport": "waiting for IAM's credential report",
    "iam.ListAccessKeys": "listing access keys",
    "iam.GetAccessKeyLastUsed": "reading when access keys were last used",
    "ssm.GetParameter": "reading the deployment's break-glass list",
}
SERVICE_PHASES = {
    "securityhub": "publishing findings to Security Hub",
    "iam": "reading IAM",
    "dynamodb": "updating the state table",
}


def isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):  # no isatty, or a closed stream
        return False


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "") != ""


def colour_enabled(stream: Any) -> bool:
    """Colour on a terminal or with FORCE_COLOR; never with NO_COLOR or on a dumb terminal."""
    if _env_flag("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    return isatty(stream) or _env_flag("FORCE_COLOR")


def width_of(stream: Any) -> int:
    """``COLUMNS`` when set, else the terminal's width (of this very stream), else 160 (piped)."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    if isatty(stream):
        try:
            return os.get_terminal_size(stream.fileno()).columns or 80
        except (AttributeError, ValueError, OSError):
            return 80
    return PIPED_WIDTH


def console(stream: TextIO) -> Console:
    """A rich console on ``stream`` with this module's rules for colour and width."""
    colour = colour_enabled(stream)
    return Console(
        file=stream,
        width=width_of(stream),
        force_terminal=colour,
        color_system="auto" if colour else None,
        no_color=not colour,
        highlight=False,
        soft_wrap=False,
        emoji=False,
    )


class Activity:
    """A progress display for one long piece of work, on ``stream`` (stderr).

    Without ``total`` it shows what is being done (the AWS operation being called, through ``watch``), how many AWS
    calls so far and the time; with ``total`` (accounts, registry writes) a bar that ``advance`` moves."""

    def __init__(
        self,
        stream: TextIO,
        description: str,
        *,
        enabled: bool = True,
        total: int | None = None,
        delay: float | None = None,
    ) -> None:
        self.enabled = enabled and isatty(stream) and os.environ.get("TERM") != "dumb"
        self._delay = PROGRESS_DELAY if delay is None else delay
        self._lock = threading.Lock()
        self._started = False
        self._closed = False
        self._timer: threading.Timer | None = None
        self._calls = 0
        self._watched: list[tuple[Clients, Any]] = []
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn() if total is not None else TextColumn("{task.fields[calls]} AWS calls"),
            TimeElapsedColumn(),
            console=console(stream),
            transient=True,
            disable=not self.enabled,
        )
        self._task = self._progress.add_task(description, total=total, calls=0)
        self.shown_after: float | None = None  # seconds of work when the display appeared (None: it never did)
        self._began = time.monotonic()

    def __enter__(self) -> Activity:
        if self.enabled:
            self._timer = threading.Timer(self._delay, self._show)
            self._timer.daemon = True
            self._timer.start()
        return self

    def _show(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._progress.start()
            self._started = True
            self.shown_after = time.monotonic() - self._began

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self._timer is not None:
            self._timer.cancel()
        with self._lock:
            self._closed = True
            if self._started:
                self._progress.stop()
        for clients, handler in self._watched:
            clients.session.events.unregister("before-call", handler)

    def describe(self, text: str) -> None:
        self._progress.update(self._task, description=text)

    def set_total(self, total: int) -> None:
        self._progress.update(self._task, total=total)

    def advance(self, steps: int = 1) -> None:
        self._progress.advance(self._task, steps)

    def watch(self, clients: Clients) -> None:
        """Follow ``clients``' AWS calls: the description says what the call is for, the count goes up."""
        if not self.enabled:
            return

        def called(model: Any, **_: Any) -> None:
            name = f"{model.service_model.service_name}.{model.name}"
            service = model.service_model.service_name
            with self._lock:
                self._calls += 1
                calls = self._calls
            self._progress.update(
                self._task, calls=calls, description=PHASES.get(name, SERVICE_PHASES.get(service, name))
            )

        clients.session.events.register("before-call", called)
        self._watched.append((clients, called))
