"""The output sink: stdout is data, stderr is for people.

JSON, CSV and Markdown go to stdout as exact bytes through ``sys.stdout.write`` (never rich), so
pipes get what they expect. Tables go to stdout through a rich console; progress, warnings, hints
and errors go to a stderr console.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from rich.console import Console

__all__ = ["WIDE_HELP", "Output", "out"]

WIDE_HELP = ("Tables show every column at full width, past the terminal's edge, instead of leaving columns out "
             "(with a note) or stacking rows.")


# ``--wide``: tables take the room their columns need, past the terminal's edge, rather than
# leaving columns out or stacking rows (for ``less -S``, a wide window, or a file).
_UNBOUNDED = 10_000


class Output:
    def __init__(self) -> None:
        self._stdout: Console | None = None
        self._stderr: Console | None = None
        self.wide = False

    def set_wide(self, wide: bool) -> None:
        self.wide = wide
        self._stdout = None

    @property
    def stdout(self) -> Console:
        # Built lazily so tests that swap sys.stdout (CliRunner) are honoured.
        if self._stdout is None or self._stdout.file is not sys.stdout:
            # Piped or redirected, rich would assume 80 columns and wrap model names mid-word;
            # a file has no width, so give tables room (COLUMNS still wins when set).
            width = None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 160
            if self.wide:
                width = _UNBOUNDED
            self._stdout = Console(file=sys.stdout, soft_wrap=False, width=width)
        return self._stdout

    @property
    def stderr(self) -> Console:
        if self._stderr is None or self._stderr.file is not sys.stderr:
            # Summaries printed for people (the ingest table) get the same room as stdout in a CI
            # log: at rich's default 80 columns a long path would fold mid-name.
            width = None if sys.stderr.isatty() or os.environ.get("COLUMNS") else 160
            self._stderr = Console(file=sys.stderr, soft_wrap=False, width=width)
        return self._stderr

    def data(self, text: str) -> None:
        """Exact text to stdout (JSON, CSV, Markdown)."""
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        sys.stdout.flush()

    def json(self, payload: Any) -> None:
        self.data(json.dumps(payload, indent=2, sort_keys=False, default=str))

    def table(self, renderable: Any) -> None:
        self.stdout.print(renderable)

    def _say(self, message: str, style: str | None) -> None:
        # A person at a terminal gets colour and wrapping; a CI log or a file gets each message on
        # one line, as written (rich wrapped at 80 columns and split paths in two).
        if sys.stderr.isatty():
            self.stderr.print(message, style=style, markup=False, highlight=False)
        else:
            sys.stderr.write(message + "\n")
            sys.stderr.flush()

    def info(self, message: str) -> None:
        self._say(message, None)

    def warning(self, message: str) -> None:
        self._say(f"warning: {message}", "yellow")

    def error(self, message: str) -> None:
        self._say(f"error: {message}", "bold red")

    def hint(self, message: str) -> None:
        self._say(message, "dim")


out = Output()
