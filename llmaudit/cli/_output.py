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

__all__ = ["Output", "out"]


class Output:
    def __init__(self) -> None:
        self._stdout: Console | None = None
        self._stderr: Console | None = None

    @property
    def stdout(self) -> Console:
        # Built lazily so tests that swap sys.stdout (CliRunner) are honoured.
        if self._stdout is None or self._stdout.file is not sys.stdout:
            # Piped or redirected, rich would assume 80 columns and wrap model names mid-word;
            # a file has no width, so give tables room (COLUMNS still wins when set).
            width = None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 160
            self._stdout = Console(file=sys.stdout, soft_wrap=False, width=width)
        return self._stdout

    @property
    def stderr(self) -> Console:
        if self._stderr is None or self._stderr.file is not sys.stderr:
            self._stderr = Console(file=sys.stderr, soft_wrap=False)
        return self._stderr

    def data(self, text: str) -> None:
        """Exact text to stdout (JSON, CSV, Markdown)."""
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        sys.stdout.flush()

    def json(self, payload: Any) -> None:
        self.data(json.dumps(payload, indent=2, sort_keys=False, default=str))

    def table(self, renderable: Any) -> None:
        self.stdout.print(renderable)

    def info(self, message: str) -> None:
        self.stderr.print(message, markup=False, highlight=False)

    def warning(self, message: str) -> None:
        self.stderr.print(f"warning: {message}", style="yellow", markup=False, highlight=False)

    def error(self, message: str) -> None:
        self.stderr.print(f"error: {message}", style="bold red", markup=False, highlight=False)

    def hint(self, message: str) -> None:
        self.stderr.print(message, style="dim", markup=False, highlight=False)


out = Output()
