"""What an ingest did, file by file: rows read, kept, rejected (with reasons), duplicates, skipped.

Accounting identity, per file and in total::

    rows_read == rows_kept + rows_rejected + duplicates

``skipped`` counts lines that are not usage records by design (a Claude Code user turn, a
``<synthetic>`` placeholder, an OpenAI Batch error line for a request that never ran, a Langfuse
span): they are not rows, but they are counted by reason so nothing disappears silently.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from llmaudit.ingest.rawlines import LineCursor

__all__ = [
    "MAX_RAW_CHARS",
    "MAX_STORED",
    "Duplicate",
    "FileSummary",
    "IngestSummary",
    "ReadContext",
    "Reject",
]

MAX_STORED = 100_000   # rejects / duplicates kept in memory; the counts stay exact beyond it
MAX_RAW_CHARS = 65_536  # a reject keeps at most this much of its raw line


@dataclass(frozen=True)
class Reject:
    """A row that could not be used. ``line`` is 1-based (JSONL line, CSV row, record index)."""

    path: str
    line: int | None
    reason: str
    raw: str

    def as_dict(self) -> dict[str, object]:
        return {"path": self.path, "line": self.line, "reason": self.reason, "raw": self.raw}


@dataclass(frozen=True)
class Duplicate:
    """A row whose request id was already seen in this scan; it is counted once."""

    path: str
    line: int | None
    request_id: str


@dataclass
class FileSummary:
    path: str
    reader: str
    rows_read: int = 0
    rows_kept: int = 0
    rows_rejected: int = 0
    duplicates: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    bytes_read: int = 0
    done: bool = False
    not_read: str | None = None  # why the whole file was left out (no reader recognised it)
    archived: bool = False       # gone from disk; its rows come from the store (``--history``)

    @property
    def rows_skipped(self) -> int:
        return sum(self.skipped.values())

    def absorb(self, books: Any) -> None:
        """Add another account of (part of) this file: its rows read, rejected, duplicates, skips
        and bytes (the store's entry, a worker's share, an appended tail)."""
        self.rows_read += books.rows_read
        self.rows_rejected += books.rows_rejected
        self.duplicates += books.duplicates
        for reason, n in books.skipped.items():
            self.skipped[reason] = self.skipped.get(reason, 0) + n
        self.bytes_read += books.bytes_read
        if getattr(books, "not_read", None):   # a worker found the file gone (source.VANISHED)
            self.not_read = books.not_read


@dataclass
class IngestSummary:
    files: list[FileSummary] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    duplicates: list[Duplicate] = field(default_factory=list)
    rejects_not_stored: int = 0     # beyond MAX_STORED (still counted per file)
    duplicates_not_stored: int = 0
    # About this run's reading, not the figures (the store could not be written, a worker process
    # was killed): said on stderr by the commands, never part of a report.
    warnings: list[str] = field(default_factory=list)

    @property
    def rows_read(self) -> int:
        return sum(f.rows_read for f in self.files)

    @property
    def rows_kept(self) -> int:
        return sum(f.rows_kept for f in self.files)

    @property
    def rows_rejected(self) -> int:
        return sum(f.rows_rejected for f in self.files)

    @property
    def duplicate_count(self) -> int:
        return sum(f.duplicates for f in self.files)

    @property
    def rows_skipped(self) -> int:
        return sum(f.rows_skipped for f in self.files)

    def by_reader(self) -> dict[str, list[str]]:
        """reader name → files it read (the "which reader read which file" line)."""
        out: dict[str, list[str]] = {}
        for f in self.files:
            out.setdefault(f.reader, []).append(f.path)
        return out


class ReadContext:
    """Handed to a reader for one file: where rejects and skips go."""

    def __init__(
        self,
        path: str,
        reader: str,
        file_summary: FileSummary,
        summary: IngestSummary,
        *,
        mapping: dict[str, str] | None = None,
        on_reject: Callable[[Reject], None] | None = None,
    ) -> None:
        self.path = path
        self.reader = reader
        self.file = file_summary
        self.summary = summary
        self.mapping = mapping or {}
        self._on_reject = on_reject
        self._lines: LineCursor | None = None

    @property
    def lines(self) -> LineCursor:
        """This file's lines read back by number: the raw text of rows the vectorized paths reject."""
        if self._lines is None:
            self._lines = LineCursor(self.path)
        return self._lines

    def reject(self, line: int | None, reason: str, raw: str | bytes, *, counted: bool = False) -> None:
        """One row not kept. ``counted``: it was already counted as read (a row a reader yielded
        that the table-level validation then refused)."""
        if isinstance(raw, bytes):
            raw = raw.decode("utf-8", errors="replace")
        if len(raw) > MAX_RAW_CHARS:
            raw = raw[:MAX_RAW_CHARS]
        if not counted:
            self.file.rows_read += 1
        self.file.rows_rejected += 1
        self.replay(line, reason, raw.rstrip("\r\n"))

    def replay(self, line: int | None, reason: str, raw: str) -> None:
        """Record a reject whose row is already counted in the books (the store replays them)."""
        rej = Reject(self.path, line, reason, raw)
        if self._on_reject is not None:
            self._on_reject(rej)
        if len(self.summary.rejects) < MAX_STORED:
            self.summary.rejects.append(rej)
        else:
            self.summary.rejects_not_stored += 1

    def skip(self, reason: str, count: int = 1) -> None:
        self.file.skipped[reason] = self.file.skipped.get(reason, 0) + count
