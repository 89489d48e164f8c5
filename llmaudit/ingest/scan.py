"""``scan()``: expand inputs, pick a reader per file, stream normalized batches, keep the books.

Reading is lazy: ``Scan.batches()`` reads file after file and yields Arrow tables (cost still
null, ``price_status = "unpriced"``); ``Scan.summary`` fills in as batches are consumed. Formats
are sniffed in ``scan()``, each file on its own, or for the files worker processes will read, by
those workers (``_sniffed_by_workers``): a file no reader recognises is left out and listed with
the reason (``FileSummary.not_read``) while the rest is read; only when no input at all can be
read does the scan fail: in ``scan()``, before anything is read, or once the workers have sniffed
(no row can have been handed on then: there were none).

Duplicates: a request id seen earlier in the same scan (any file) is dropped and counted; the
first occurrence wins. Rows without a request id are never treated as duplicates.

Runs of consecutive files whose reader can read several per call (``Reader.read_many``: Claude Code
transcripts, hundreds of small files) are handed to it in groups of up to ``GROUP_BYTES``; its
tables say which file each row came from, and the books stay per file, as if read one by one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from llmaudit.errors import InputError, UnknownFormatError, UsageError
from llmaudit.ingest.dedup import SeenIds, dedup_key, drop_seen_ids, replayed_rows
from llmaudit.ingest.keeping import Keeping, mapping_key
from llmaudit.ingest.lines import _is_json_document
from llmaudit.ingest.pool import MIN_BYTES, SPLIT_MIN_WORKERS, UNIT_BYTES, Pool, Unit, UnitResult, split_points, workers
from llmaudit.ingest.reader import Reader, ReadMany
from llmaudit.ingest.readers.generic import check_mapping
from llmaudit.ingest.registry import READERS, UNKNOWN_FORMAT, sniff, sniff_file
from llmaudit.ingest.source import VANISHED, Source, VanishedError, expand_inputs
from llmaudit.ingest.store import Entry, Store
from llmaudit.ingest.summary import MAX_STORED, Duplicate, FileSummary, IngestSummary, ReadContext, Reject
from llmaudit.ingest.validation import reject_invalid

__all__ = ["GROUP_BYTES", "Scan", "scan", "sniff"]

# Consecutive files of a reader that reads several per call are handed to it in groups of at most
# this many bytes (on disk): few parser calls on a corpus of small files, bounded memory on a huge one.
GROUP_BYTES = 32 << 20
# Rows from the store handed on per table: few tables for a folder of small files, bounded memory.
STORED_ROWS = 1 << 20


def _splittable(planned: _Planned) -> bool:
    """A big log that worker processes can read in byte ranges: plain JSONL (not compressed, not
    one JSON document) of a reader that reads each line on its own and has no de-duplication of
    its own within a file (Claude Code's would not see a message split between two ranges)."""
    reader, source = planned.reader, planned.source
    return (reader is not None and reader.appendable and reader.read_many is None and not source.compressed
            and not _is_json_document(source.head))


def _unknown(source: Source) -> UnknownFormatError:
    known = ", ".join(n for n in READERS)
    return UnknownFormatError(
        f"unrecognised log format. Known formats: {known}. Name one (`ingest --format NAME`, "
        "`report --spend --log-format NAME`), or use the generic reader with --map "
        "input_tokens=COLUMN,... for any CSV/JSONL",
        path=source.display,
    )


@dataclass
class _Planned:
    source: Source
    reader: Reader | None     # None = empty file, or not_read
    not_read: str | None = None
    stored: Entry | None = None   # the store's entry for the file: used whole, or appended to
    mode: str = "read"            # "read", "hit" (rows from the store), "append" (store + the new part),
                                  # "archived" (rows from the store: the file is gone)
    # Handed to a worker process unsniffed (``_sniffed_by_workers``): its reader is known once the
    # worker's books come back (``Scan._resolve``), with ``appendable`` (``Source.appendable_shape``).
    deferred: bool = False
    appendable: bool | None = None
    identity: tuple[int, str, str, bool] | None = None   # from the worker that read it (FileBooks.identity)


class Scan:
    """A lazy read of many inputs. Iterate ``batches()`` once; read ``summary`` any time."""

    def __init__(self, planned: list[_Planned], mapping: dict[str, str] | None,
                 on_reject: Callable[[Reject], None] | None, forced: str | None = None,
                 store: Store | None = None, progress: Callable[[int], None] | None = None) -> None:
        self._planned = planned
        self._store = store
        self._progress = progress
        self._lines_before: dict[int, int] = {}   # a file read in byte ranges: lines in the ranges taken
        self._keeping = Keeping(store, planned, mapping, progress) if store is not None else None
        self._mapping = mapping
        self._on_reject = on_reject
        self._forced = forced
        self._seen_ids = SeenIds()
        self._seen_messages = SeenIds()
        self._consumed = False
        self._started = False
        self._plan_units: list[Unit] = []
        self._pool: Pool | None = None
        self.summary = IngestSummary(files=[FileSummary(p.source.display, _reader_label(p), not_read=p.not_read)
                                            for p in planned])
        self._deferred = any(p.deferred for p in planned)   # files the workers sniff

    @property
    def total_bytes(self) -> int | None:
        """Sum of input sizes on disk (for a progress bar); None when stdin is among the inputs."""
        sizes = [p.source.size for p in self._planned]
        return None if any(s is None for s in sizes) else sum(s for s in sizes if s is not None)

    def start(self) -> None:
        """Set the worker processes reading now, where this read uses them (``ingest.pool``), so
        they read while the caller loads the catalog and the rest; ``batches`` takes their results.
        Forked here, before those imports, the workers also inherit a smaller process."""
        if self._started:
            return
        self._started = True
        self._plan_units = self._units()
        if self._plan_units:
            self._pool = Pool(self._plan_units, min(workers(), len(self._plan_units)))
        elif self._deferred:
            self.sniff_here()   # left to workers that will not run after all (the files make one unit)

    def sniff_here(self) -> None:
        """Sniff in this process the files left to the workers (``_sniffed_by_workers``): for a plan
        whose readers must be known before reading (the dask engine hands files out by reader), or
        whose pool does not start. Fails as ``scan()`` does when no input can be read."""
        for i, p in enumerate(self._planned):
            if p.deferred:
                source = p.source
                reader, why = sniff_file(source, mapping=bool(self._mapping), progress=self._progress)
                self._resolve(i, reader, why, source.appendable_shape)
        self._deferred = False
        _check_readable(self._planned)

    def close(self) -> None:
        """Stop the workers of a read that was started and will not be taken (an error before it)."""
        if self._pool is not None:
            self._pool.close()

    def batches(self) -> Iterator[pa.Table]:
        if self._consumed:
            raise RuntimeError("Scan.batches() can be iterated only once")
        self._consumed = True
        self.start()
        units, pool = self._plan_units, self._pool
        results = pool.results() if pool is not None else iter(())
        starts = {u.start for u in units}
        i = 0
        while i < len(self._planned):
            reader = self._planned[i].reader
            if i in starts:
                while True:   # a file cut into byte ranges is several units of one start
                    unit, result = next(results)
                    yield from self._take_unit(unit, result)
                    if unit.part == unit.parts - 1:
                        break
                i = unit.end
                continue
            if self._planned[i].mode == "append":
                yield from self._read_stored(i)
                i += 1
                continue
            if self._planned[i].mode != "read":
                end = i + 1
                while end < len(self._planned) and self._planned[end].mode in ("hit", "archived"):
                    end += 1
                yield from self._read_stored_run(i, end)
                i = end
                continue
            many = reader.read_many if reader is not None else None
            if many is None:
                yield from self._read_one(i)
                i += 1
                continue
            end, size = i + 1, self._planned[i].source.size or 0
            while (end < len(self._planned) and self._planned[end].reader is reader
                   and self._planned[end].mode == "read"):
                size += self._planned[end].source.size or 0
                if size > GROUP_BYTES:
                    break
                end += 1
            yield from self._read_group(i, end, many)
            i = end
        if self._deferred:
            _check_readable(self._planned)   # every file the workers sniffed may be unknown
        if self._keeping is not None:
            self._keeping.commit()
        if self._pool is not None and self._pool.broken:
            self.summary.warnings.append(self._pool.broken)
        if self._store is not None and self._store.problem:
            self.summary.warnings.append(self._store.problem)
        self._check_forced()

    def _units(self) -> list[Unit]:
        """Runs of files to read on worker processes (``ingest.pool``): none when one process
        will do (one core, or too little to read for a pool to pay off)."""
        eligible = [p.mode == "read" and (p.reader is not None or p.deferred) and not p.source.is_stdin
                    and p.source.size is not None for p in self._planned]
        pooled = _pooled(sum(p.source.size or 0 for p, ok in zip(self._planned, eligible, strict=True) if ok))
        if pooled is None:
            return []
        n, share = pooled
        units: list[Unit] = []
        i = 0
        while i < len(self._planned):
            if not eligible[i]:
                i += 1
                continue
            planned = self._planned[i]
            assert planned.source.size is not None
            if planned.source.size > 2 * share and n >= SPLIT_MIN_WORKERS and _splittable(planned):
                assert planned.reader is not None
                cuts = split_points(planned.source.path, planned.source.size, -(-planned.source.size // share))
                bounds = [*cuts, planned.source.size]
                for k in range(len(cuts)):
                    units.append(Unit(i, i + 1, [(planned.source.path, planned.source.size, planned.reader.name)],
                                      self._mapping, part=k, parts=len(cuts), offset=bounds[k],
                                      length=bounds[k + 1] - bounds[k]))
                i += 1
                continue
            end, size = i, 0
            while (end < len(self._planned) and eligible[end] and (end == i or size < share)
                   and not (end > i and (self._planned[end].source.size or 0) > 2 * share
                            and n >= SPLIT_MIN_WORKERS and _splittable(self._planned[end]))):
                size += self._planned[end].source.size or 0
                end += 1
            files = [(p.source.path, p.source.size, p.reader.name if p.reader is not None else None)
                     for p in self._planned[i:end]]
            units.append(Unit(i, end, files, self._mapping, identify=self._keeping is not None))
            i = end
        # One unit keeps one core busy either way: no pool, no copying rows back.
        return units if len(units) > 1 else []

    def _take_unit(self, unit: Unit, result: UnitResult) -> Iterator[pa.Table]:
        """A unit read by a worker: its books and rejects, then its rows, de-duplicated across
        files and kept in the store as if read here."""
        fsums = self.summary.files[unit.start:unit.end]
        before = self._lines_before.pop(unit.start, 0) if unit.length is not None else 0
        if unit.length is not None:
            self._lines_before[unit.start] = before + result.books[0].lines
        for k, books in enumerate(result.books):
            fsum = fsums[k]
            if self._planned[unit.start + k].deferred:
                self._resolve(unit.start + k, READERS[books.reader] if books.reader else None, books.not_read,
                              books.appendable_shape)
            self._planned[unit.start + k].identity = books.identity
            fsum.absorb(books)
            if books.rejects:
                ctx = self._context(unit.start + k)
                for line, reason, raw in books.rejects:
                    ctx.replay(None if line is None else line + before, reason, raw)
            if self._progress is not None and books.bytes_read:
                self._progress(books.bytes_read)
        for table, files in result.tables:
            if before:
                at = table.schema.get_field_index("source_line")
                if at >= 0:
                    table = table.set_column(at, "source_line", pc.add(table.column(at), before))
            if self._keeping is not None:
                self._keeping.add_many(unit.start, table, files)
            yield from self._kept(table, files, fsums)
        if result.error is not None:
            raise InputError(result.error)
        if unit.part != unit.parts - 1:
            return
        self._lines_before.pop(unit.start, None)
        for k, fsum in enumerate(fsums):
            fsum.done = True
            if self._keeping is not None:
                self._keeping.read(unit.start + k, fsum)

    def _resolve(self, i: int, reader: Reader | None, not_read: str | None, appendable: bool) -> None:
        """File ``i``, left unsniffed, was sniffed (by a worker): its reader, as ``scan()`` would have set it."""
        planned = self._planned[i]
        planned.reader, planned.not_read, planned.appendable, planned.deferred = reader, not_read, appendable, False
        self.summary.files[i].reader = _reader_label(planned)
        self.summary.files[i].not_read = not_read

    def _context(self, i: int) -> ReadContext:
        planned, fsum = self._planned[i], self.summary.files[i]
        assert planned.reader is not None
        on_reject = self._on_reject if self._keeping is None else self._keeping.on_reject(i, self._on_reject)
        return ReadContext(planned.source.display, planned.reader.name, fsum, self.summary,
                           mapping=self._mapping, on_reject=on_reject)

    def _read_one(self, i: int) -> Iterator[pa.Table]:
        planned, fsum = self._planned[i], self.summary.files[i]
        source = planned.source
        try:
            if planned.reader is None:
                return
            ctx = self._context(i)
            for table in planned.reader.read(source, ctx):
                table, _ = reject_invalid(table, [ctx])   # one validation, whichever path made the rows
                if self._keeping is not None:
                    self._keeping.add(i, table)
                table = self._dedup(table, fsum)
                fsum.rows_kept += table.num_rows
                if table.num_rows:
                    yield table
        except VanishedError:
            if fsum.rows_read:   # gone after some of it was read: not a file to list as not read
                raise
            fsum.not_read = VANISHED
        except OSError as exc:
            raise InputError(f"read failed: {exc}", path=source.display) from None
        except UnicodeDecodeError as exc:
            raise _not_utf8(exc, planned.reader, source) from None
        finally:
            fsum.bytes_read = source.bytes_read
            fsum.done = True
            source.close()
            if self._keeping is not None:
                self._keeping.read(i, fsum)

    def _read_stored_run(self, start: int, end: int) -> Iterator[pa.Table]:
        """Files ``start:end``, all held by the store: their books, then their rows in tables of
        up to ``STORED_ROWS`` rows, de-duplicated as if read one by one (per-file tables would pay
        the per-table costs hundreds of times on a transcript folder)."""
        assert self._keeping is not None
        fsums = self.summary.files[start:end]
        tables: list[pa.Table] = []
        files: list[np.ndarray] = []
        rows = 0

        def flush() -> Iterator[pa.Table]:
            table = pa.concat_tables(tables)
            if table.num_rows and len(tables) > 1:
                table = table.combine_chunks()
            which = np.concatenate(files)
            tables.clear()
            files.clear()
            yield from self._kept(table, which, fsums)

        try:
            # Every file's books first, then its rows: the files' parts, merged where one ends where
            # the next begins (files stored by one run lie back to back in its segment), are read in
            # a few slices, not one per file (20,000 transcripts: 20,000 tables to join and free).
            parts: list[list[Any]] = []
            owners, counts = [], []   # each part's file (0-based in the run) and rows, in order
            for k in range(start, end):
                entry = self._planned[k].stored
                assert entry is not None
                self._keeping.restore(entry, fsums[k - start], self._context(k), None)
                for seg, first, count in entry.parts:
                    if not count:
                        continue
                    owners.append(k - start)
                    counts.append(count)
                    if parts and parts[-1][0] == seg and parts[-1][1] + parts[-1][2] == first:
                        parts[-1][2] += count
                    else:
                        parts.append([seg, first, count])
            file_of_row = np.repeat(np.asarray(owners, dtype=np.int64), np.asarray(counts, dtype=np.int64))
            at = 0
            for table in self._keeping.stored_parts(parts):   # every part whole, or an InputError
                tables.append(table)
                files.append(file_of_row[at: at + table.num_rows])
                at += table.num_rows
                rows += table.num_rows
                if rows >= STORED_ROWS:
                    yield from flush()
                    rows = 0
            if tables:
                yield from flush()
        finally:
            for fsum in fsums:
                fsum.done = True

    def _read_stored(self, i: int) -> Iterator[pa.Table]:
        """A file the store holds: its rows and books as stored, plus (``append``) the part
        written since, read on its own and stored with them."""
        assert self._keeping is not None and self._store is not None
        planned, fsum = self._planned[i], self.summary.files[i]
        entry = planned.stored
        assert entry is not None
        try:
            if planned.mode == "append":
                try:
                    tail = self._keeping.read_tail(i)
                    if tail is None:   # the new part continues a request the store holds: read it all
                        planned.mode, planned.stored = "read", None
                        self._keeping.reread(i)
                        planned.source.prepare(self._keeping.progress)
                except VanishedError:
                    # Deleted since the plan, before any of it was read: listed as not read, as a
                    # file deleted before a cold read is (its stored rows stay for --history).
                    fsum.not_read = VANISHED
                    return
                if tail is None:
                    yield from self._read_one(i)
                    return
            else:
                tail = None
            self._keeping.restore(entry, fsum, self._context(i), tail)
            for table in self._keeping.stored_rows(entry):
                table = self._dedup(table, fsum)
                fsum.rows_kept += table.num_rows
                if table.num_rows:
                    yield table
            if tail is not None:
                for table in tail.tables:
                    table = self._dedup(table, fsum)
                    fsum.rows_kept += table.num_rows
                    if table.num_rows:
                        yield table
        finally:
            fsum.done = True

    def _read_group(self, start: int, end: int, many: ReadMany) -> Iterator[pa.Table]:
        """Files ``start:end`` (same reader) read by one ``read_many`` call; the books per file."""
        fsums = self.summary.files[start:end]
        items = [(self._planned[i].source, self._context(i)) for i in range(start, end)]
        try:
            for table, files in many(items):
                table, valid = reject_invalid(table, [ctx for _, ctx in items], files)
                files = files if valid is None else valid
                if self._keeping is not None:
                    self._keeping.add_many(start, table, files)
                yield from self._kept(table, files, fsums)
        except UnicodeDecodeError as exc:
            raise _not_utf8(exc, self._planned[start].reader, items[0][0], len(items)) from None
        finally:
            for (source, _), fsum in zip(items, fsums, strict=True):
                fsum.bytes_read = source.bytes_read
                fsum.done = True
                source.close()
            if self._keeping is not None:
                for k, fsum in enumerate(fsums):
                    self._keeping.read(start + k, fsum)

    def _check_forced(self) -> None:
        """A reader the user chose (``--format``/``--log-format``) that found no record at all in
        non-empty input read the wrong format: an error, not an empty report with exit 0. (Rejected
        lines are records it recognised: the books say why they were not kept.)"""
        files = [f for p, f in zip(self._planned, self.summary.files, strict=True) if p.reader is not None]
        if self._forced and files and not any(f.rows_read or f.rows_skipped for f in files):
            raise InputError(f"the {self._forced} reader you chose found no {self._forced} records here; is it "
                             "another format? (leave the format out to sniff it)", path=files[0].path)

    def table(self) -> pa.Table:
        """Everything in one table (small inputs and tests)."""
        from llmaudit.schema import empty_table

        tables = list(self.batches())
        return pa.concat_tables(tables) if tables else empty_table()

    def _kept(self, table: pa.Table, files: np.ndarray, fsums: list[FileSummary]) -> Iterator[pa.Table]:
        """Rows of several files (``files[i]``: row i's file) after the scan's de-duplication,
        counted as kept per file."""
        table, files = self._dedup_files(table, files, fsums)
        for k, kept in enumerate(np.bincount(files, minlength=len(fsums)).tolist()):
            fsums[k].rows_kept += kept
        if table.num_rows:
            yield table

    def _dedup(self, table: pa.Table, fsum: FileSummary) -> pa.Table:
        return self._dedup_files(table, np.zeros(table.num_rows, dtype=np.int64), [fsum])[0]

    def _drop_rows(self, table: pa.Table, at: np.ndarray, files: np.ndarray, fsums: list[FileSummary]
                   ) -> tuple[pa.Table, np.ndarray]:
        """Drop rows ``at`` (ascending) as duplicates, charged to their files and recorded (up to
        MAX_STORED), in row order."""
        if not len(at):
            return table, files
        for k, count in enumerate(np.bincount(files[at], minlength=len(fsums)).tolist()):
            fsums[k].duplicates += count
            if self._keeping is not None and count:
                self._keeping.scan_duplicates[id(fsums[k])] += count
        room = max(0, MAX_STORED - len(self.summary.duplicates))
        self.summary.duplicates_not_stored += max(0, len(at) - room)
        stored = pa.array(at[:room])
        ids = table.column("request_id").take(stored).to_pylist()
        lines = (table.column("source_line").take(stored).to_pylist()
                 if "source_line" in table.column_names else [None] * len(ids))
        self.summary.duplicates.extend(
            Duplicate(fsums[f].path, line, rid or "")
            for f, line, rid in zip(files[at[:room]].tolist(), lines, ids, strict=True)
        )
        keep = np.ones(table.num_rows, dtype=bool)
        keep[at] = False
        return table.filter(pa.array(keep)), files[keep]

    def _dedup_files(self, table: pa.Table, files: np.ndarray, fsums: list[FileSummary]
                     ) -> tuple[pa.Table, np.ndarray]:
        """Drop the requests seen earlier in this scan (``dedup_key``: request id, with the message id
        where there is one) and sub-agent replays of messages already seen, counted and recorded per
        file (``files[i]``: row i's file, rows in file order), the same whether files come one by one
        or several per call.

        ``drop_seen_ids`` is asked about the keys alone, each row's position standing in for its
        line, so the rows it drops are known by position and charged to their files."""
        if "request_id" not in table.column_names or not table.num_rows:
            return table, files
        n = table.num_rows
        probe = pa.table({"request_id": dedup_key(table), "source_line": np.arange(n)})
        kept, _ = drop_seen_ids(probe, self._seen_ids, FileSummary("", ""), IngestSummary())
        keep = np.zeros(n, dtype=bool)
        keep[kept.column("source_line").to_numpy()] = True
        remaining = np.flatnonzero(keep)
        replays = np.zeros(0, dtype=np.int64)
        if "message_id" in table.column_names and table.column("message_id").null_count < n:
            # Only the two columns a replay is judged on: taking every column of a million-row
            # OpenAI log cost more than parsing it.
            probe = table.select([c for c in ("message_id", "tags") if c in table.column_names])
            if len(remaining) < n:
                probe = probe.take(pa.array(remaining))
            replays = remaining[replayed_rows(probe, self._seen_messages)]
        at = np.sort(np.concatenate([np.flatnonzero(~keep), replays]))
        return self._drop_rows(table, at, files, fsums)


def _not_utf8(exc: UnicodeDecodeError, reader: Reader | None, source: Source, files: int = 1) -> InputError:
    """Text that is not UTF-8 which a reader's vectorized path let through to where it could not
    say which line held it: the file is refused with a clear message instead of a traceback."""
    name = reader.name if reader is not None else "this"
    where = source.display if files == 1 else f"{source.display} (or one of the {files - 1} files read with it)"
    return InputError(f"invalid UTF-8 ({exc.reason}) in a record the {name} reader could not place on a line; "
                      "the file is not read", path=where)


def scan(paths: list[str], fmt: str = "auto", mapping: dict[str, str] | None = None,
         progress: Callable[[int], None] | None = None,
         on_reject: Callable[[Reject], None] | None = None, store: Store | None = None,
         history: bool = False, listed: list[Source] | None = None) -> Scan:
    """Plan a read of ``paths`` (files, directories, globs, ``.gz``, ``-`` for stdin).

    ``fmt`` is ``"auto"`` (sniff each file) or a reader name (``READERS``). ``mapping`` maps schema
    columns to source columns for the ``generic`` reader (``{"input_tokens": "prompt_toks"}``).
    ``progress`` is called with the number of bytes just read (a delta; total in
    ``Scan.total_bytes``). ``on_reject`` receives every reject as it happens (to stream them to a
    file); ``summary.rejects`` keeps the first 100,000. ``store`` (``ingest.store``): files it holds
    unchanged are not read again, files appended to are read from where they ended, and what is
    read is kept there. ``history``: files the store read earlier under the folders named here that
    are gone from disk since (Claude Code deletes transcripts after 30 days) are counted too, from
    the store.
    """
    if fmt != "auto" and fmt not in READERS:
        raise UsageError(f"unknown format {fmt!r}; known formats: auto, {', '.join(READERS)}")
    if fmt == "generic" and not mapping:
        raise UsageError("--format generic needs a column mapping, e.g. --map input_tokens=prompt_toks,...")
    if mapping:
        if fmt not in ("auto", "generic"):
            raise UsageError(f"--map applies to --format generic, not {fmt}")
        check_mapping(mapping)
    # ``listed``: what ``expand_inputs(paths)`` gave the remembered-answer check a moment ago.
    sources = listed if listed is not None else expand_inputs(paths)
    planned: list[_Planned] = []
    todo: list[int] = []   # files to read: each sniffed here or by a worker
    for source in sources:
        if source.not_read:
            planned.append(_Planned(source, None, source.not_read))
            continue
        if store is not None and not source.is_stdin:
            mode, entry, _ = store.lookup(source.path, None if fmt == "auto" else fmt, mapping_key(mapping),
                                          source.seen)
            known = READERS.get(entry.reader) if entry is not None else None
            if (known is not None and entry is not None and (mode == "hit" or (mode == "append" and known.appendable))
                    and store.usable(entry)):
                planned.append(_Planned(source, known, stored=entry, mode=mode))
                continue
        todo.append(len(planned))
        planned.append(_Planned(source, None))   # sniffed below: here, or by the worker that reads it
    deferred = _sniffed_by_workers(planned, todo) if fmt == "auto" else set()
    for i in todo:
        if i in deferred:
            planned[i].deferred = True
        else:
            planned[i].reader, planned[i].not_read = sniff_file(
                planned[i].source, mapping=bool(mapping), forced=None if fmt == "auto" else READERS[fmt],
                progress=progress)
    if history and store is not None:
        planned.extend(_archived(paths, store, fmt, mapping))
    _check_readable(planned)
    scanned = Scan(planned, mapping, on_reject, None if fmt == "auto" else fmt, store, progress)
    for p, f in zip(planned, scanned.summary.files, strict=True):
        f.archived = p.mode == "archived"
    return scanned


def _reader_label(planned: _Planned) -> str:
    if planned.reader is not None:
        return planned.reader.name
    if planned.deferred:
        return "not sniffed yet"   # a worker sniffs it (``Scan._resolve``)
    return "not read" if planned.not_read else "empty"


def _pooled(total: int) -> tuple[int, int] | None:
    """(workers, a worker's share per task: about 4 units a worker) for ``total`` bytes to read, or
    None when one process will do (one core, or too little to read for a pool to pay off)."""
    n = workers()
    if n < 2 or total < MIN_BYTES:
        return None
    return n, _share(total, n)


def _share(total: int, n: int) -> int:
    return min(UNIT_BYTES, max(1 << 20, total // (4 * n) + 1))


def _sniffed_by_workers(planned: list[_Planned], todo: list[int]) -> set[int]:
    """The files of ``todo`` that worker processes will read, left for them to sniff: a folder of
    20,000 transcripts took 0.2 s of this process's time to sniff before any worker could start
    (and held every head), where each worker now sniffs its own files as it opens them. Files
    that may be cut into byte ranges (``_units``: only with ``SPLIT_MIN_WORKERS``) are sniffed
    here: cutting one depends on its reader."""
    eligible = [i for i in todo if not planned[i].source.is_stdin and planned[i].source.size is not None]
    pooled = _pooled(sum(planned[i].source.size or 0 for i in eligible))
    if pooled is None:
        return set()
    n, share = pooled
    most = 2 * share
    return {i for i in eligible if n < SPLIT_MIN_WORKERS or (planned[i].source.size or 0) <= most}


def _check_readable(planned: list[_Planned]) -> None:
    """Fail when no input can be read at all (each file is unknown, empty or gone), naming one:
    here, before anything is read, or after the workers sniffed what was left to them."""
    if any(p.deferred for p in planned):
        return   # not known yet: ``Scan.batches`` asks again once the workers have sniffed
    unknown = [p for p in planned if p.not_read]
    if unknown and all(p.not_read or p.reader is None for p in planned):
        for p in planned:
            p.source.close()
        unrecognised = [p for p in unknown if p.not_read == UNKNOWN_FORMAT]
        if unrecognised:
            raise _unknown(unrecognised[0].source)
        # Nothing to read for another reason (a pipe met in a folder, a dangling link, a file
        # deleted since it was listed): say that one, not "unrecognised format".
        raise InputError(f"nothing to read: {unknown[0].not_read}", path=unknown[0].source.display)


def _archived(paths: list[str], store: Store, fmt: str, mapping: dict[str, str] | None) -> list[_Planned]:
    """Stored files under the folders in ``paths`` that no longer exist, as store hits."""
    import os

    folders = [os.path.join(os.path.abspath(os.path.expanduser(p)), "") for p in paths
               if p != "-" and os.path.isdir(os.path.expanduser(p))]
    found = []
    for path, entry in sorted(store.entries.items()):
        reader = READERS.get(entry.reader)
        if (reader is None or (fmt != "auto" and fmt != entry.reader) or entry.mapping != mapping_key(mapping)
                or not any(path.startswith(f) for f in folders) or os.path.lexists(path)):
            continue
        if not store.usable(entry):   # gone from disk and its stored rows unreadable: said, not dropped
            found.append(_Planned(Source(path=entry.display, size=entry.size), None,
                                  "no longer on disk, and the store's copy of it could not be read"))
            continue
        found.append(_Planned(Source(path=entry.display, size=entry.size), reader, stored=entry, mode="archived"))
    return found
