"""A progress bar for long reads, on stderr (stdout stays data): a rich bar at a terminal, plain
status lines in a pipe or a log. rich is imported only for the bar: a report whose stderr is a
pipe (CI, a benchmark) does not pay for it.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

__all__ = ["ReadProgress"]

_SHOW_AFTER_S = 1.0
_LINE_EVERY_S = 5.0


class ReadProgress:
    """Progress of a long read on stderr: a rich bar on a terminal (at once), and on a pipe or log
    file, after ~1 s, a plain status line every few seconds (a live bar would only garble a log).

    Use as a context manager and pass ``advance`` as the reader's progress callback (bytes read).
    """

    def __init__(self, total: int | None, label: str = "reading",
                 console: Console | Callable[[], Console] | None = None) -> None:
        self.total = total
        self.label = label
        # A console (tests hand one in), or how to get one (the CLI's stderr console): rich costs
        # 0.05 s to import and is only needed for the bar at a terminal.
        given = console if console is not None and hasattr(console, "print") else None
        self._console: Console | None = given   # type: ignore[assignment]
        self._make: Callable[[], Console] | None = None if given is not None else console  # type: ignore[assignment]
        self.done = 0
        self._start = time.monotonic()
        self._progress: Progress | None = None
        self._task: Any = None
        self._last_line: float | None = None

    @property
    def console(self) -> Console:
        if self._console is None:
            if self._make is not None:
                self._console = self._make()
            else:
                from rich.console import Console

                self._console = Console(file=sys.stderr)
        return self._console

    def _terminal(self) -> bool:
        return self._console.is_terminal if self._console is not None else sys.stderr.isatty()

    def __enter__(self) -> ReadProgress:
        self._start = time.monotonic()
        if self._terminal():
            self._begin()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._progress is not None:
            self._progress.stop()
        elif self._last_line is not None and exc_type is None:
            self._line(final=True)

    def _begin(self) -> None:
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

        self._progress = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                                  TimeRemainingColumn(), console=self.console, transient=True)
        self._task = self._progress.add_task(self.label, total=self.total, completed=self.done)
        self._progress.start()

    def _line(self, final: bool = False) -> None:
        self._last_line = time.monotonic()
        elapsed = self._last_line - self._start
        mb = self.done / 1e6
        if final:
            text = f"{self.label}: done, {mb:,.1f} MB in {elapsed:,.1f} s"
        elif self.total:
            share = self.done / self.total
            text = f"{self.label}: {share:.0%} ({mb:,.1f} of {self.total / 1e6:,.1f} MB, {elapsed:,.0f} s)"
        else:
            text = f"{self.label}: {mb:,.1f} MB ({elapsed:,.0f} s)"
        if self._console is not None:
            self._console.print(text, markup=False, highlight=False)
        else:   # a pipe or a log: one plain line, as ``Output`` writes messages there
            sys.stderr.write(text + "\n")
            sys.stderr.flush()

    def advance(self, n: int) -> None:
        self.done += n
        if self._progress is not None:
            self._progress.update(self._task, completed=self.done, total=self.total)
            return
        now = time.monotonic()
        if now - self._start < _SHOW_AFTER_S:
            return
        if self._last_line is None or now - self._last_line >= _LINE_EVERY_S:
            self._line()
