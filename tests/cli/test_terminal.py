"""Colour, width and progress: ``driftline scan`` under a pseudo-terminal (the ``pty`` module: a child process whose
stdin, stdout and stderr are the terminal, of a set size) and piped (in process, where capsys's streams are no
terminal), with ``NO_COLOR``, ``FORCE_COLOR`` and ``COLUMNS``; the progress display's one-second rule on a stand-in
terminal stream; ``--verbose``, ``--debug`` and ``--quiet``.
"""

from __future__ import annotations

import fcntl
import io
import json
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path
from typing import Any

import pytest

from driftline.adapters.aws import Clients
from driftline.cli import terminal
from driftline.cli.terminal import Activity, console
from tests.cli.conftest import RunCli
from tests.cli.test_output_formats import drifted_account
from tests.cli.test_scan import REGISTRY, STATE, scan_table, write_registry_table

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
SGR = re.compile(r"\x1b\[[0-9;]*m")  # Select Graphic Rendition: colour and style
CHILD = (
    "import sys\n"
    "from driftline.cli import terminal\n"
    "from driftline.cli.main import main\n"
    "terminal.PROGRESS_DELAY = float(sys.argv[1])\n"
    "sys.exit(main(sys.argv[2:]))\n"
)


def visible(text: str) -> str:
    return ANSI.sub("", text)


def in_pty(
    argv: list[str], *, columns: int = 100, env: dict[str, str] | None = None, delay: float = 1.0
) -> tuple[int, str]:
    """``driftline <argv>`` in a child process on a pseudo-terminal of ``columns`` x 40; its exit code and everything
    it wrote (stdout and stderr share the terminal), raw."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    child_env = dict(os.environ) | {"TERM": "xterm-256color"} | (env or {})
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(delay), *argv],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=child_env,
        start_new_session=True,
    )
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 1.0)
            if not ready:
                if child.poll() is not None:
                    break
                continue
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        code = child.wait(timeout=30)
    finally:
        os.close(master)
        if child.poll() is None:
            child.kill()
    return code, b"".join(chunks).decode("utf-8", errors="replace")


@pytest.fixture
def account(aws: Clients) -> Any:
    account = drifted_account(aws)
    write_registry_table(account)
    return account


def table_lines(text: str) -> list[str]:
    """The lines of the drift table, as seen on screen (escape codes removed)."""
    return [line for line in visible(text).replace("\r", "").splitlines() if line[:1] in "┏┃┡│└"]


# --- colour and width ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("columns", [100, 132])
def test_on_a_terminal_the_table_has_colour_and_the_terminals_width(columns: int, account: Any) -> None:
    """scan on a pseudo-terminal of 100 (then 132) columns: the severities are coloured (SGR escape codes, the HIGH
    one bold red: 1;31), and the table is exactly as wide as the terminal (its summaries are long enough to fill it)."""
    code, output = in_pty(scan_table(account), columns=columns)
    assert code == 1, output
    assert SGR.search(output), "no colour on a terminal"
    assert "\x1b[1;31mHIGH" in output
    lines = table_lines(output)
    assert lines, visible(output)
    assert max(len(line) for line in lines) == columns


def test_no_color_turns_colour_off_on_a_terminal(account: Any) -> None:
    """NO_COLOR=1 on a pseudo-terminal: no SGR escape code at all, the width is still the terminal's."""
    code, output = in_pty(scan_table(account), columns=100, env={"NO_COLOR": "1"})
    assert code == 1, output
    assert not SGR.search(output), repr(output[:300])
    assert max(len(line) for line in table_lines(output)) == 100


def test_piped_output_has_no_colour_and_160_columns(account: Any, run_cli: RunCli) -> None:
    """scan with stdout captured (not a terminal): not one escape code, and the table as wide as 160 columns (a
    wider terminal elsewhere changes nothing)."""
    result = run_cli(scan_table(account))
    assert result.code == 1
    assert "\x1b" not in result.out and "\x1b" not in result.err
    assert max(len(line) for line in table_lines(result.out)) == 160


def test_columns_sets_the_width_when_piped(account: Any, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch) -> None:
    """COLUMNS=90, piped: the table is 90 columns wide."""
    monkeypatch.setenv("COLUMNS", "90")
    result = run_cli(scan_table(account))
    assert max(len(line) for line in table_lines(result.out)) == 90


def test_force_color_colours_piped_output_and_no_color_wins(
    account: Any, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """FORCE_COLOR=1, piped (a CI log that renders colour): SGR codes in the table; with NO_COLOR=1 as well, none."""
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert SGR.search(run_cli(scan_table(account)).out)
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b" not in run_cli(scan_table(account)).out


def test_findings_table_follows_the_same_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    """findings' table console: coloured on a terminal stream, plain and 160 wide when piped."""

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert console(Tty()).color_system is not None and console(io.StringIO()).color_system is None
    assert console(io.StringIO()).width == 160


# --- the progress display ------------------------------------------------------------------------------------------


class FakeTerminal(io.StringIO):
    """A stream that says it is a terminal (what rich then draws on it is kept, to be read)."""

    def isatty(self) -> bool:
        return True


def test_progress_appears_only_after_a_second_of_work() -> None:
    """On a terminal stream with the real delay (1 s): work of 0.2 s leaves the stream empty; work of 1.5 s draws
    the display (its description is on the stream) and reports when it appeared (about 1 s in)."""
    quick = FakeTerminal()
    with Activity(quick, "quick work"):
        time.sleep(0.2)
    assert quick.getvalue() == ""
    slow = FakeTerminal()
    with Activity(slow, "slow work") as activity:
        time.sleep(1.5)
    assert "slow work" in slow.getvalue()
    assert activity.shown_after is not None and 0.9 <= activity.shown_after < 1.5


@pytest.mark.parametrize("enabled", [False, True])
def test_progress_is_off_when_not_wanted_or_not_a_terminal(enabled: bool) -> None:
    """No display on a stream that is no terminal, even enabled; none on a terminal when disabled (--quiet,
    --debug), even after the delay."""
    stream = FakeTerminal() if not enabled else io.StringIO()
    with Activity(stream, "work", enabled=enabled, delay=0.0):
        time.sleep(0.3)
    assert stream.getvalue() == ""


def test_a_scan_on_a_terminal_shows_its_progress_on_stderr(account: Any) -> None:
    """scan on a pseudo-terminal, the delay set to 0 in the child (a moto scan takes less than a second): the
    display shows what is being read and the count of AWS calls; it is gone at the end (the last screen is the
    table); exit 1."""
    code, output = in_pty(scan_table(account), delay=0.0)
    assert code == 1, output
    screen = visible(output)
    assert "AWS calls" in screen
    assert any(phase in screen for phase in set(terminal.PHASES.values()) | set(terminal.SERVICE_PHASES.values()))
    # the cursor is hidden while the display runs, shown again when it is erased, and only then comes the table
    assert output.index("\x1b[?25l") < output.rindex("AWS calls") < output.index("\x1b[?25h")
    assert output.index("\x1b[?25h") < output.index("drift(s) in account") < output.index("AWS API calls:")


def test_quiet_shows_no_progress_on_a_terminal(account: Any) -> None:
    """scan --quiet on a pseudo-terminal with the delay at 0: no progress display at all (no call count, cursor
    never hidden), the table as usual."""
    code, output = in_pty([*scan_table(account), "--quiet"], delay=0.0)
    assert code == 1, output
    assert "AWS calls" not in visible(output) and "\x1b[?25l" not in output
    assert "drift(s) in account" in visible(output)


def test_registry_import_shows_its_progress(
    aws: Clients, run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """registry import of 30 entries with stderr taken for a terminal and no delay: the write display ('writing the
    registry', n/30) is drawn on stderr, never on stdout (which keeps the diff and 'wrote 30 change(s)')."""
    from driftline.cli.sandbox import create_tables
    from tests.cli.conftest import ACCOUNT

    create_tables(aws.dynamodb(), REGISTRY, STATE)
    path = tmp_path / "r.yaml"
    entries = "".join(f"  - {{kind: role, name: r{n}, owner: o}}\n" for n in range(30))
    path.write_text(f'account_id: "{ACCOUNT}"\nentries:\n{entries}', encoding="utf-8")
    monkeypatch.setattr(terminal, "PROGRESS_DELAY", 0.0)
    monkeypatch.setattr(terminal, "isatty", lambda stream: stream is sys.stderr)
    assert aws.endpoint_url is not None
    result = run_cli(
        ["registry", "import", str(path), "--registry-table", REGISTRY, "--endpoint-url", aws.endpoint_url]
    )
    assert result.code == 0, result.err
    assert "writing the registry" in visible(result.err) and "/30" in visible(result.err)
    assert "writing the registry" not in result.out and "wrote 30 change(s)" in result.out


def test_org_scan_progress_counts_accounts(aws: Clients, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch) -> None:
    """scan --org over two members (and moto's management account) with stderr taken for a terminal and no delay:
    the display counts accounts (n/3)."""
    from tests.cli.test_scan_org import org_scan, organisation

    organisation(aws, 2)
    monkeypatch.setattr(terminal, "PROGRESS_DELAY", 0.0)
    monkeypatch.setattr(terminal, "isatty", lambda stream: stream is sys.stderr)
    assert aws.endpoint_url is not None
    result = org_scan(run_cli, aws.endpoint_url)
    assert result.code == 1, result.err
    assert "scanning accounts" in visible(result.err) and "/3" in visible(result.err)


# --- --verbose, --debug, --quiet -----------------------------------------------------------------------------------


def test_verbose_says_who_and_debug_lists_every_call(account: Any, run_cli: RunCli) -> None:
    """--verbose: the caller's ARN, account and Region, and the time and call count at the end; --debug adds one line
    per AWS call (operation, HTTP status, ms) and never a credential; neither changes stdout."""
    plain = run_cli(scan_table(account, "--format", "json"))
    verbose = run_cli(scan_table(account, "--format", "json", "--verbose"))
    debug = run_cli(scan_table(account, "--format", "json", "--debug"))
    assert plain.err == ""
    assert (
        "driftline scan: as arn:aws:sts::123456789012:user/moto in account 123456789012, Region us-east-1"
        in verbose.err
    )
    assert re.search(r"driftline scan: done in \d+\.\d s with \d+ AWS call\(s\)", verbose.err)
    assert "debug:" not in verbose.err
    assert re.search(r"driftline scan: debug: sts\.GetCallerIdentity 200 \d+ ms", debug.err)
    assert re.search(r"driftline scan: debug: iam\.GetAccountAuthorizationDetails 200 \d+ ms", debug.err)
    assert "testing" not in debug.err  # the fake secret key and session token

    def report(out: str) -> Any:  # what does not vary between runs
        document = json.loads(out)
        del document["compared_at"], document["summary"]["api_calls"]
        return document

    assert report(plain.out) == report(verbose.out) == report(debug.out)


def test_top_level_debug_still_works(account: Any, run_cli: RunCli) -> None:
    """``driftline --debug scan`` (the option before the command, as before) turns debug on too."""
    result = run_cli(["--debug", *scan_table(account)])
    assert "debug: sts.GetCallerIdentity 200" in result.err
