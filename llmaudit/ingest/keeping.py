"""One scan's dealings with the store: which files it can skip, what it keeps of those it reads.

A file read in full is stored only when its identity (size, mtime, inode, ctime) is the same before and
after the read: a log written to while it was read is read again next time. What is stored is the
reader's output before the scan's de-duplication across files (that depends on the other files
named), with the file's own books, so a hit replays exactly what the read gave.
"""

from __future__ import annotations

import os
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from llmaudit.errors import redact
from llmaudit.ingest.dedup import dedup_key
from llmaudit.ingest.source import VANISHED, Source, VanishedError, count_newlines, stat_key
from llmaudit.ingest.store import Entry, Store, identity, settled
from llmaudit.ingest.summary import MAX_STORED, FileSummary, IngestSummary, ReadContext, Reject

if TYPE_CHECKING:
    from llmaudit.ingest.scan import _Planned

__all__ = ["Keeping", "Tail", "mapping_key"]


def mapping_key(mapping: dict[str, str] | None) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted((mapping or {}).items()))


@dataclass
class Tail:
    """What was appended to a stored file, read on its own (line numbers already the file's)."""

    tables: list[pa.Table]
    books: FileSummary
    rejects: list[tuple[int | None, str, str]]
    size: int


def _stat(path: str) -> tuple[int, int, int, int, int] | None:
    """``stat_key`` of ``path`` now; None when it is gone."""
    try:
        return stat_key(os.stat(path))
    except OSError:
        return None


class Keeping:
    def __init__(self, store: Store, planned: list[_Planned], mapping: dict[str, str] | None,
                 progress: Callable[[int], None] | None = None) -> None:
        self.store = store
        self.planned = planned
        self.mapping = mapping_key(mapping)
        self.progress = progress
        self.segment = store.segment()
        self.before: dict[int, tuple[int, int, int, int, int] | None] = {}
        self.parts: dict[int, list[list[Any]]] = defaultdict(list)
        self.rejects: dict[int, list[tuple[int | None, str, str]]] = defaultdict(list)
        self.unstorable: set[int] = set()
        self.scan_duplicates: dict[int, int] = defaultdict(int)
        self.entries: list[Entry] = []
        # The wall clock before any ``before`` stat (store.settled): a later stat (a reread) is
        # only judged more strictly against it.
        self.taken_ns = time.time_ns()
        for i, p in enumerate(planned):
            if p.mode == "read" and (p.reader is not None or p.deferred) and not p.source.is_stdin:
                self.before[i] = _stat(p.source.path)

    # ------------------------------------------------------------------------- files read in full
    def reread(self, i: int) -> None:
        """Stored file ``i`` is read in full after all: keep what this read gives."""
        self.before[i] = _stat(self.planned[i].source.path)

    def on_reject(self, i: int, forward: Callable[[Reject], None] | None) -> Callable[[Reject], None]:
        kept = self.rejects[i]

        def record(rej: Reject) -> None:
            if len(kept) < MAX_STORED:
                # A rejected line may hold a key: the store is on disk, so it keeps the line redacted.
                kept.append((rej.line, rej.reason, redact(rej.raw)))
            else:
                self.unstorable.add(i)
            if forward is not None:
                forward(rej)
        return record

    def add(self, i: int, table: pa.Table) -> None:
        where = self.segment.add(table)
        if where is None:
            self.unstorable.add(i)
        elif where[1]:
            self.parts[i].append([self.segment.name, *where])

    def add_many(self, start: int, table: pa.Table, files: np.ndarray) -> None:
        """Rows of several files, ascending by file (``ReadMany``'s contract): one write."""
        where = self.segment.add(table)
        counts = np.bincount(files, minlength=int(files.max()) + 1 if len(files) else 0).tolist()
        at = where[0] if where is not None else 0
        for k, count in enumerate(counts):
            if where is None:
                self.unstorable.add(start + k)
            elif count:
                self.parts[start + k].append([self.segment.name, at, count])
            at += count

    def read(self, i: int, fsum: FileSummary) -> None:
        """File ``i`` was read in full: keep its entry if it did not change meanwhile."""
        planned = self.planned[i]
        before = self.before.get(i)
        if (before is None or i in self.unstorable or planned.reader is None
                or _stat(planned.source.path) != before):
            return
        size = before[0]
        if planned.identity is not None and planned.identity[0] == size:
            # Hashed by the worker from the whole file it read, after ``before`` was taken: the
            # stat above, unchanged, says no byte changed in between.
            _, head, tail, newline = planned.identity
        else:
            try:
                # Unchanged since before the read (the stat above): these are the ends of what was read.
                head, tail, newline = identity(planned.source.path, size)
            except OSError:
                return
        source = planned.source
        # A file a worker sniffed is known here by what the worker saw of its head.
        shape = planned.appendable if planned.appendable is not None else source.appendable_shape
        appendable = planned.reader.appendable and newline and shape
        entry = Entry(
            path=os.path.abspath(source.path), display=source.path, reader=planned.reader.name,
            mapping=self.mapping, size=size, mtime_ns=before[1], inode=before[3], head=head, tail=tail,
            appendable=appendable, rows_read=fsum.rows_read, rows_rejected=fsum.rows_rejected,
            duplicates=fsum.duplicates - self.scan_duplicates.get(id(fsum), 0), skipped=dict(fsum.skipped),
            bytes_read=fsum.bytes_read, parts=self.parts.pop(i, []), ctime_ns=before[2],
            settled=settled(before[1], before[2], self.taken_ns),
        )
        rejects = self.rejects.pop(i, [])
        if rejects:
            entry.rejects.append([self.segment.name, *self.segment.add_rejects(rejects)])
        self.entries.append(entry)

    # ------------------------------------------------------------------------------- stored files
    def stored_rows(self, entry: Entry) -> Iterator[pa.Table]:
        return self.store.iter_rows(entry)

    def stored_parts(self, parts: list[list[Any]]) -> Iterator[pa.Table]:
        return self.store.iter_parts(parts)

    def restore(self, entry: Entry, fsum: FileSummary, ctx: ReadContext, tail: Tail | None) -> None:
        """The books of a stored file (and of its new part), its rejects replayed in line order."""
        fsum.absorb(entry)
        for line, reason, raw in self.store.rejects(entry):
            ctx.replay(line, reason, raw)
        if tail is not None:
            fsum.absorb(tail.books)
            for line, reason, raw in tail.rejects:
                ctx.replay(line, reason, raw)
        if self.progress is not None:
            self.progress(fsum.bytes_read)

    def read_tail(self, i: int) -> Tail | None:
        """Read what was appended to stored file ``i``; None when it must be read in full instead
        (it changed meanwhile, or its new lines continue a request the store already holds).
        ``VanishedError`` when the file is gone before its new part could be opened."""
        planned = self.planned[i]
        entry, reader = planned.stored, planned.reader
        assert entry is not None and reader is not None
        path = planned.source.path
        taken = time.time_ns()
        before = _stat(path)
        try:
            offset = count_newlines(path, 0, entry.size) if before is not None else None
        except FileNotFoundError:
            offset = None
        if before is None or offset is None:
            raise VanishedError(VANISHED, path=planned.source.display)
        source = Source(path=path, size=before[0] - entry.size, offset=entry.size)
        books = FileSummary(path, reader.name)
        scratch = IngestSummary(files=[books])
        ctx = ReadContext(path, reader.name, books, scratch, mapping=None)
        try:
            source.prepare(None)
            from llmaudit.ingest.validation import reject_invalid

            tables = [self._shift(reject_invalid(t, [ctx])[0], offset) for t in reader.read(source, ctx)]
        finally:
            books.bytes_read = source.bytes_read
            source.close()
        if scratch.rejects_not_stored or _stat(path) != before:
            return None
        if tables and self._continues(entry, tables):
            return None
        try:
            head, tail_hash, newline = identity(path, before[0])
        except OSError:
            return None
        rejects = [(None if r.line is None else r.line + offset, r.reason, redact(r.raw)) for r in scratch.rejects]
        new = replace(entry, size=before[0], mtime_ns=before[1], inode=before[3], ctime_ns=before[2], head=head,
                      tail=tail_hash, settled=settled(before[1], before[2], taken),
                      appendable=newline, rows_read=entry.rows_read + books.rows_read,
                      rows_rejected=entry.rows_rejected + books.rows_rejected,
                      duplicates=entry.duplicates + books.duplicates,
                      skipped={k: entry.skipped.get(k, 0) + books.skipped.get(k, 0)
                               for k in {*entry.skipped, *books.skipped}},
                      bytes_read=entry.bytes_read + books.bytes_read,
                      parts=list(entry.parts), rejects=list(entry.rejects))
        for table in tables:
            where = self.segment.add(table)
            if where is None:
                break
            if where[1]:
                new.parts.append([self.segment.name, *where])
        else:
            if rejects:
                new.rejects.append([self.segment.name, *self.segment.add_rejects(rejects)])
            self.entries.append(new)
        return Tail(tables, books, rejects, before[0])

    @staticmethod
    def _shift(table: pa.Table, lines: int) -> pa.Table:
        at = table.schema.get_field_index("source_line")
        if at < 0 or not lines:
            return table
        return table.set_column(at, "source_line", pc.add(table.column(at), lines))

    def _continues(self, entry: Entry, tables: list[pa.Table]) -> bool:
        """Whether new rows share a request with stored ones (a message whose lines straddle the
        end of the last read: the reader's own de-duplication must see them together)."""
        new = {k for t in tables if "request_id" in t.column_names for k in dedup_key(t).to_pylist() if k}
        if not new:
            return False
        return any(k in new for t in self.store.iter_rows(entry) for k in dedup_key(t).to_pylist())

    # ------------------------------------------------------------------------------------- end
    def commit(self) -> None:
        self.store.commit(self.segment, self.entries)
