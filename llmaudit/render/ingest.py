"""What an ingest read (per file: reader, rows read / kept / rejected, duplicates, skipped) and a
progress bar for long reads. Both go to stderr: stdout stays data.
"""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.text import Text

from llmaudit.render.formats import count
from llmaudit.render.table import FitTable

__all__ = ["ReadProgress", "render_ingest_summary"]

_SHOW_AFTER_S = 1.0
_LINE_EVERY_S = 5.0


class ReadProgress:
    """Progress of a long read on stderr: a rich bar on a terminal (at once), and on a pipe or log
    file, after ~1 s, a plain status line every few seconds (a live bar would only garble a log).

    Use as a context manager and pass ``advance`` as the reader's progress callback (bytes read).
    """

    def __init__(self, total: int | None, label: str = "reading", console: Console | None = None) -> None:
        self.total = total
        self.label = label
        self.console = console or Console(file=sys.stderr)
        self.done = 0
        self._start = time.monotonic()
        self._progress: Progress | None = None
        self._task: Any = None
        self._last_line: float | None = None

    def __enter__(self) -> ReadProgress:
        self._start = time.monotonic()
        if self.console.is_terminal:
            self._begin()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._progress is not None:
            self._progress.stop()
        elif self._last_line is not None and exc_type is None:
            self._line(final=True)

    def _begin(self) -> None:
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
        self.console.print(text, markup=False, highlight=False)

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


def render_ingest_summary(summary: Any, *, unpriced: dict[tuple[str, str], int] | None = None,
                          out_path: str | None = None, rows_written: int | None = None) -> RenderableType:
    """The per-file table and the totals line (and, for ``ingest``, unpriced models and the output)."""
    table = FitTable("Ingest")
    table.add_column("File", fold=True)
    for name, just in (("Reader", "left"), ("Read", "right"), ("Kept", "right"),
                       ("Rejected", "right"), ("Duplicates", "right")):
        table.add_column(name, justify=just)  # type: ignore[arg-type]
    table.add_column("Skipped", justify="right", text=True)
    read = kept = rejected = dups = skipped = 0
    for f in summary.files:
        skipped_n = sum(f.skipped.values()) if getattr(f, "skipped", None) else 0
        why = ", ".join(f"{k} {v}" for k, v in sorted(f.skipped.items())) if skipped_n else ""
        reader = f"{f.reader} (stored; deleted since)" if getattr(f, "archived", False) else f.reader
        table.add_row(f.path, reader, count(f.rows_read), count(f.rows_kept), count(f.rows_rejected),
                      count(f.duplicates), f"{count(skipped_n)}" + (f"\n({why})" if why else ""))
        read += f.rows_read
        kept += f.rows_kept
        rejected += f.rows_rejected
        dups += f.duplicates
        skipped += skipped_n
    if len(summary.files) > 1:
        table.add_row("total", "", count(read), count(kept), count(rejected), count(dups), count(skipped),
                      style="bold")
    parts: list[RenderableType] = [table]
    for f in summary.files:
        if getattr(f, "not_read", None):
            parts.append(Text(f"not read {f.path}: {f.not_read} (name its format to read it as one)",
                              style="yellow"))
    for r in list(getattr(summary, "rejects", []))[:5]:
        where = f"{r.path}:{r.line}" if r.line is not None else r.path
        parts.append(Text(f"rejected {where}: {r.reason}", style="yellow"))
    if rejected > 5:
        parts.append(Text(f"… {count(rejected - 5)} more rejects (write them all with --rejects FILE.jsonl)",
                          style="dim"))
    if unpriced:
        total = sum(unpriced.values())
        models = ", ".join(f"{m} ({s.replace('_', ' ')}, {count(n)})" for (m, s), n in
                           sorted(unpriced.items(), key=lambda kv: -kv[1]))
        parts.append(Text(f"{count(total)} rows unpriced: {models}", style="yellow"))
    if out_path is not None:
        parts.append(Text(f"wrote {count(rows_written or 0)} priced rows to {out_path}", style="green"))
    return Group(*parts)
