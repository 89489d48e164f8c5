"""Reading files on every core: runs of consecutive files are read by worker processes, and the
scan takes their rows and books in file order, as if it had read them itself.

A worker does what the scan does for a file up to its de-duplication across files: sniffed head,
the reader (several files per call where the reader can), the file's own books and rejects. The
scan then replays the books and rejects, de-duplicates across files and keeps the store, in order,
so a report is the same whichever way a file was read (``tests/ingest/test_pool.py``).

Workers are forked (Linux): they inherit the imported modules, so a pool starts in milliseconds
where spawning would re-import pyarrow in each. Elsewhere, and below ``MIN_BYTES`` of input (a
pool costs more than it saves on a small folder), files are read in the scan's own process.
``LLMAUDIT_WORKERS=N`` sets the number of processes (1: no pool).
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import sys
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from llmaudit.errors import InputError
from llmaudit.ingest.source import VANISHED, Source, VanishedError, count_newlines
from llmaudit.ingest.summary import FileSummary, IngestSummary, ReadContext

__all__ = ["MIN_BYTES", "SPLIT_MIN_WORKERS", "UNIT_BYTES", "FileBooks", "Pool", "Unit", "UnitResult", "read_unit",
           "split_points", "workers"]

# Less input than this is read in the scan's own process: forking, shipping the tables back and
# the workers' competition with the main thread cost more than they save. On 2 cores, report --spend
# on a 20 MB Claude Code folder took 0.69 s in-process and 0.79 s pooled (median of 9, alternated;
# 50 MB: 0.88 s against 0.95 s; bench/_work, 2026-12-04).
MIN_BYTES = 32 << 20
UNIT_BYTES = 24 << 20   # a worker's share per task: small enough to spread, large enough to batch
# One big file is cut into byte ranges only with this many workers or more. pyarrow's JSON parser
# already spreads one file's parse over its own threads: on 2 cores a 1M-request OpenAI log took
# 2.44 s in one process and 3.54 s cut over two (`--no-whatif`, bench/_work/p9, 2026-12-04).
SPLIT_MIN_WORKERS = 4


def workers() -> int:
    """Processes to read with: ``LLMAUDIT_WORKERS``, else the cores this process may run on."""
    if multiprocessing.current_process().daemon:
        return 1   # a daemonic process (a dask or multiprocessing worker) may not have children
    env = os.environ.get("LLMAUDIT_WORKERS", "").strip()
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            return 1
    if not sys.platform.startswith("linux"):
        return 1   # fork is the only start method that is cheap here, and it is safe on Linux only
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


@dataclass
class Unit:
    """Files ``start:end`` of the scan's plan: (path, size on disk, reader name, or None for a file
    the worker sniffs); or, for a big log
    of a reader that reads each line on its own, one byte range of file ``start`` (part ``part``
    of ``parts``, from ``offset``, ``length`` bytes, starting at a line)."""

    start: int
    end: int
    files: list[tuple[str, int | None, str | None]]
    mapping: dict[str, str] | None
    part: int = 0
    parts: int = 1
    offset: int = 0
    length: int | None = None
    identify: bool = False   # the store keeps what is read: the files' ``store.identity`` is wanted


@dataclass
class FileBooks:
    rows_read: int = 0
    rows_rejected: int = 0
    duplicates: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    bytes_read: int = 0
    rejects: list[tuple[int | None, str, str]] = field(default_factory=list)
    not_read: str | None = None   # the file was gone when the worker opened it (source.VANISHED), or
                                  # (sniffed there) no reader knows its format (registry.UNKNOWN_FORMAT)
    lines: int = 0   # newlines in a byte range (its part's line numbers start after the earlier parts')
    # A file the scan left unsniffed (``Unit.files`` without a reader): the reader the worker found
    # (None: empty, or ``not_read`` says why), and ``Source.appendable_shape`` of what it saw.
    reader: str | None = None
    appendable_shape: bool = False
    # ``Unit.identify``: (size, ``store.identity``) of a small file the worker read whole to sniff
    # it, so the store's entry needs no second read of its ends (20,000 files: 0.24 s here).
    identity: tuple[int, str, str, bool] | None = None


@dataclass
class UnitResult:
    tables: list[tuple[pa.Table, np.ndarray]]   # rows, and each row's file (0-based in the unit)
    books: list[FileBooks]
    error: str | None = None                    # why the first file that could not be read failed (names it)


def read_unit(unit: Unit) -> UnitResult:
    """In a worker: read ``unit``'s files as the scan would, up to its de-duplication. A file
    handed over without a reader (``scan._sniffed_by_workers``) is sniffed here first; its books
    say what was found (``FileBooks.reader``)."""
    from llmaudit.ingest.registry import READERS, sniff_file
    from llmaudit.ingest.scan import GROUP_BYTES
    from llmaudit.ingest.validation import reject_invalid

    n = len(unit.files)
    if unit.length is not None:
        path, _, _ = unit.files[0]
        sources = [Source(path=path, size=unit.length, offset=unit.offset, limit=unit.length)]
    else:
        sources = [Source(path=path, size=size) for path, size, _ in unit.files]
    names: list[str | None] = [reader for _, _, reader in unit.files]
    sniffed = [name is None for name in names]
    not_read: list[str | None] = [None] * n
    tables: list[tuple[pa.Table, np.ndarray]] = []
    error = None
    fsums = [FileSummary(path, name or "") for path, _, name in unit.files]
    summaries = [IngestSummary(files=[f]) for f in fsums]
    k = 0
    try:
        for j in np.flatnonzero(sniffed).tolist():
            k = j
            reader, not_read[j] = sniff_file(sources[j], mapping=bool(unit.mapping))
            sources[j].head_is_recent = True
            names[j] = reader.name if reader is not None else None
        ctxs = [ReadContext(path, names[j] or "", fsums[j], summaries[j], mapping=unit.mapping)
                for j, (path, _, _) in enumerate(unit.files)]
        k = 0
        while k < n:
            name = names[k]
            if name is None:   # sniffed here: empty, not a known format, or gone
                k += 1
                continue
            reader = READERS[name]
            if reader.read_many is None:
                try:
                    if not sniffed[k]:
                        sources[k].prepare(None)
                    for t in reader.read(sources[k], ctxs[k]):
                        t, _ = reject_invalid(t, [ctxs[k]])   # the scan's one validation, here as there
                        tables.append((t, np.full(t.num_rows, k, dtype=np.int64)))
                except VanishedError:
                    if fsums[k].rows_read:
                        raise
                    fsums[k].not_read = VANISHED
                k += 1
                continue
            end, size = k + 1, sources[k].size or 0
            while end < n and names[end] == name:
                size += sources[end].size or 0
                if size > GROUP_BYTES:
                    break
                end += 1
            for j in range(k, end):
                try:
                    if not sniffed[j]:
                        sources[j].prepare(None)
                except VanishedError:   # read_many meets it again and lists it as not read
                    fsums[j].not_read = VANISHED
            items = list(zip(sources[k:end], ctxs[k:end], strict=True))
            for t, files in reader.read_many(items):
                t, valid = reject_invalid(t, ctxs[k:end], files)
                tables.append((t, (files if valid is None else valid) + k))
            k = end
    except InputError as exc:
        error = exc.message
    except UnicodeDecodeError as exc:   # as the scan says it in its own process (scan._not_utf8)
        from llmaudit.ingest.scan import _not_utf8

        at = min(k, n - 1)
        error = _not_utf8(exc, READERS.get(names[at] or ""), sources[at]).message
    except OSError as exc:
        error = InputError(f"read failed: {exc}", path=unit.files[min(k, n - 1)][0]).message
    finally:
        for source in sources:
            source.close()
    books = [FileBooks(f.rows_read, f.rows_rejected, f.duplicates, dict(f.skipped), s.bytes_read,
                       [(r.line, r.reason, r.raw) for r in summary.rejects], not_read=f.not_read or why,
                       reader=name if was_sniffed else None, appendable_shape=was_sniffed and s.appendable_shape)
             for f, s, summary, name, why, was_sniffed in zip(fsums, sources, summaries, names, not_read, sniffed,
                                                              strict=True)]
    if unit.length is not None and error is None:
        books[0].lines = count_newlines(unit.files[0][0], unit.offset, unit.length)
    if unit.identify:
        from llmaudit.ingest.store import identity_of

        for b, source in zip(books, sources, strict=True):
            if (source.head_is_recent and not source.compressed and not source.cr_lines
                    and len(source.head) == source.size):
                b.identity = (source.size, *identity_of(source.head))
    return UnitResult(tables, books, error)


def split_points(path: str, size: int, parts: int) -> list[int]:
    """Offsets that cut ``path`` into about ``parts`` byte ranges, each starting at a line."""
    cuts = [0]
    with open(path, "rb") as fh:
        for k in range(1, parts):
            at = max(size * k // parts, cuts[-1])
            fh.seek(at)
            while True:
                block = fh.read(1 << 16)
                if not block:
                    at = size
                    break
                nl = block.find(b"\n")
                if nl >= 0:
                    at += nl + 1
                    break
                at += len(block)
            if at >= size:
                break
            if at > cuts[-1]:
                cuts.append(at)
    return cuts


def _finished(future: Future[UnitResult]) -> bool:
    """A worker's result that arrived whole (not cancelled, not failed with the pool)."""
    return future.done() and not future.cancelled() and future.exception() is None


class Pool:
    """Units read ahead by ``n`` forked processes, handed back in order; at most ``2 n`` in flight
    so a huge corpus never sits whole in memory."""

    def __init__(self, units: list[Unit], n: int) -> None:
        self._units = units
        self._executor = ProcessPoolExecutor(max_workers=n, mp_context=multiprocessing.get_context("fork"))
        self._ahead = 2 * n
        self._futures: dict[int, Future[UnitResult]] = {}
        self._next = 0
        self.broken: str | None = None   # why the workers were given up (said on stderr)
        # The workers are forked by the first submit. Everything this process holds by then (the
        # plan of 20,000 files, the modules) is frozen out of their garbage collections, which
        # would otherwise walk it all again in each worker (and write to its pages, copying them).
        # 20,000 transcripts: 1.40 -> 1.32 s, CPU 0.94x (farm-bench -n 8, 2 cores, 2026-12-05).
        gc.freeze()
        try:
            self._fill()   # reading starts now, not when the first result is asked for
        finally:
            gc.unfreeze()   # in this process only: the workers keep theirs frozen

    def _fill(self) -> None:
        while self._next < len(self._units) and len(self._futures) < self._ahead:
            self._futures[self._next] = self._executor.submit(read_unit, self._units[self._next])
            self._next += 1

    def results(self) -> Iterator[tuple[Unit, UnitResult]]:
        try:
            for i, unit in enumerate(self._units):
                if self.broken is None:
                    try:
                        self._fill()
                        result = self._futures.pop(i).result()
                        self._fill()
                    except BrokenProcessPool:
                        # A worker died (the kernel's out-of-memory killer, a stray signal): this unit
                        # and the rest are read here instead, as one process would have read them, so
                        # the report is the same; only the speed is lost, and that is said.
                        self.broken = ("a worker process reading the logs was killed (out of memory? "
                                       "LLMAUDIT_WORKERS=1 reads in one process); the rest was read without workers")
                        self.close()
                        result = read_unit(unit)
                else:   # a unit a worker finished before the pool broke is taken as it is
                    future = self._futures.pop(i, None)
                    result = future.result() if future is not None and _finished(future) else read_unit(unit)
                yield unit, result
        finally:
            self.close()

    def close(self) -> None:
        for future in self._futures.values():
            future.cancel()
        self._executor.shutdown(wait=True, cancel_futures=True)
