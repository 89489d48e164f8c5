"""Claude Code transcripts: ``~/.claude/projects/<project>/<session>.jsonl`` (formats.md C7).

Only ``assistant`` lines carry ``message.usage`` (Anthropic semantics: cache reads and writes are
added into ``input_tokens``); every other line (user turns, summaries, snapshots) is counted as
skipped. Lines whose model is ``<synthetic>`` (API-error placeholders) are skipped, as ccusage does.

De-duplication follows ccusage: Claude Code writes one API message on several lines (one per
content block); lines sharing ``message.id`` + ``requestId`` are one request, and the line with the
largest token total is kept (the others count as duplicates). Across files (resumed sessions copy
history) the scan's de-duplication on (request id, message id) keeps the first, as ccusage's
``message.id:requestId`` key does. ``costUSD``, written by older
Claude Code versions, is kept as the billed cost. ``project`` is the folder under ``projects/``,
``session`` the line's ``sessionId``; ``host`` is the folder holding a copied ``.claude`` config
folder (``backups/laptop/.claude/projects/…`` → ``laptop``) and null otherwise (``_host``).
``message.usage.service_tier``, ``.speed`` (``fast`` in fast mode) and ``.inference_geo`` fill the
columns of those names; the tags a reader sets are ``sidechain`` (a subagent's request) and, on
the extra rows of ``usage.iterations`` (``layouts.anthropic``), ``compaction`` / ``advisor``. What a
line means is declared once in ``layouts.claude_code``; both paths below read that declaration.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from llmaudit.errors import InputError
from llmaudit.ingest.fastjson import _valid_utf8
from llmaudit.ingest.layouts.claude_code import CLAUDE_CODE
from llmaudit.ingest.lines import (
    CHUNK_BYTES,
    _is_json_document,
    count_newlines,
    first_record,
    iter_chunks,
    iter_json_lines,
    iter_json_values,
)
from llmaudit.ingest.rows import (
    SHAPE_ERRORS,
    check_row,
    finish_table,
    get_path,
    rows_to_table,
    shape_reason,
    violations,
)
from llmaudit.ingest.source import VANISHED, Source, VanishedError
from llmaudit.ingest.summary import ReadContext

__all__ = ["read", "read_many", "sniff"]

SYNTHETIC = "<synthetic>"


def sniff(head: bytes, path: str) -> bool:
    if b'"sessionId"' not in head:
        return False
    if b'"parentUuid"' in head or b'"isSidechain"' in head or b'"userType"' in head:
        return True
    # A minimal transcript line, as ccusage reads them (its own test fixtures): a session id, a
    # timestamp and ``message.usage``, without the conversation-tree fields.
    rec = first_record(head)
    return (isinstance(rec, dict) and "sessionId" in rec and "timestamp" in rec
            and isinstance(rec.get("message"), dict) and isinstance(rec["message"].get("usage"), dict))


def _project(path: str) -> str | None:
    return _in_folder(path)[0]


def _host(path: str) -> str | None:
    """The machine a transcript was copied from, where its path says so without doubt: the folder
    above ``<x>/.claude/projects/`` when that is not a home directory (``/home/alice/.claude`` is
    alice's own). A config folder under another name (CLAUDE_CONFIG_DIR=~/.claude-work) names a
    profile, not a host: null."""
    return _in_folder(path)[1]


def _in_folder(path: str) -> tuple[str | None, str | None]:
    """(project, host) of a transcript: the same for every file of a folder, so worked out once per
    folder (a ``PurePath`` per file took 20 µs, 0.4 s of CPU on 20,000 transcripts). The file's own
    name counts only as a last part, unless it is ``projects`` itself."""
    folder, name = os.path.split(path)
    if name == "projects" or not name:
        return _project_of(path), _host_of(path)
    return _folder_facts(folder)


@functools.lru_cache(maxsize=4096)
def _folder_facts(folder: str) -> tuple[str | None, str | None]:
    stand_in = os.path.join(folder, "f")
    return _project_of(stand_in), _host_of(stand_in)


def _project_of(path: str) -> str | None:
    parts = PurePath(path).parts
    if "projects" in parts:
        i = len(parts) - 1 - parts[::-1].index("projects")
        if i + 2 < len(parts):   # projects/<project>/<file or session dir>
            return parts[i + 1]
    return parts[-2] if len(parts) >= 2 else None


# A ``.claude`` folder right under one of these is a live config folder in a home directory: the
# folder above it names a user, not a machine.
_HOMES = frozenset({"home", "Users", "root"})


def _host_of(path: str) -> str | None:
    parts = PurePath(path).parts
    if "projects" not in parts:
        return None
    i = len(parts) - 1 - parts[::-1].index("projects")
    if i < 2 or parts[i - 1] != ".claude":
        return None
    owner = parts[i - 2]
    if owner in ("/", "~", ".", "..") or owner in _HOMES or (i >= 3 and parts[i - 3] in _HOMES):
        return None
    return owner


def _normalize(obj: dict[str, Any], line: int, project: str | None) -> list[dict[str, Any]]:
    """The line's row, then one per advisor call it reports (``layouts.anthropic``)."""
    rows = CLAUDE_CODE.read_all(obj)
    for row in rows:
        row["project"] = project
        row["source_line"] = line
    return rows


# ------------------------------------------------------------------------------ vectorized path
# A transcript corpus is hundreds of MB of mostly message text; pyarrow's C++ JSON parser reads
# only the fields the layout declares (the rest is skipped) and both paths end in the same rows.
_S = pa.string()
_SCHEMA = CLAUDE_CODE.schema()
_PARSE = pj.ParseOptions(explicit_schema=_SCHEMA, unexpected_field_behavior="ignore")
_MSG_ID = "message_id"


def _timestamps(ts: pa.ChunkedArray, files: np.ndarray) -> pa.Array:
    """ISO strings → UTC timestamps. A file with one the cast refuses gets nulls throughout (each of
    its rows then goes through the per-line path, which says why), as when read on its own."""
    to = pa.timestamp("us", tz="UTC")
    try:
        return pc.cast(ts, to)
    except pa.ArrowInvalid:
        pass
    bounds = np.flatnonzero(np.diff(files)) + 1
    parts = []
    for lo, hi in zip(np.concatenate([[0], bounds]), np.concatenate([bounds, [len(files)]]), strict=True):
        try:
            parts.append(pc.cast(ts.slice(lo, hi - lo), to))
        except pa.ArrowInvalid:
            parts.append(pa.nulls(hi - lo, to))
    return pa.concat_arrays(parts) if parts else pa.array([], to)


def _per_file(mask: np.ndarray, files: np.ndarray, n_files: int) -> list[int]:
    return np.bincount(files[mask], minlength=n_files).tolist()


@dataclass
class _Vectorized:
    rows: pa.Table              # the good rows (with the message id, for the per-file de-duplication)
    files: np.ndarray           # file of each good row
    redo: np.ndarray            # parsed-row indices to redo line by line (rejects, with reasons)
    not_usage: list[int]        # per file: lines that carry no usage
    synthetic: list[int]        # per file: <synthetic> placeholders


def _vector_rows(table: pa.Table, lines: np.ndarray, projects: pa.Array, files: np.ndarray,
                 drop: np.ndarray | None = None) -> _Vectorized:
    """Rows of the usage lines of parsed JSONL (one file or several: ``files[i]`` is row i's file,
    ascending; ``lines[i]`` its 1-based line in that file; ``drop`` rows are not lines at all)."""
    n_files = len(projects)
    message = table.column("message").combine_chunks()
    usage, model = pc.struct_field(message, "usage"), pc.struct_field(message, "model")
    has_usage = pc.is_valid(usage).to_numpy(zero_copy_only=False)
    synthetic = pc.fill_null(pc.equal(model, SYNTHETIC), False).to_numpy(zero_copy_only=False) & has_usage
    not_usage = ~has_usage
    if drop is not None:
        not_usage &= ~drop
        has_usage &= ~drop
        synthetic &= ~drop
    keep = has_usage & ~synthetic
    rows = np.flatnonzero(keep)
    row_files = files[rows]
    records = table.filter(keep).to_struct_array().combine_chunks()
    columns, bad = CLAUDE_CODE.arrow(records)
    columns["timestamp"] = _timestamps(columns["timestamp"], row_files)
    bad = pc.or_(pc.fill_null(bad, True), violations(columns, len(rows)))
    bad_np = bad.to_numpy(zero_copy_only=False)
    good = ~bad_np
    columns["project"] = projects.take(pa.array(row_files))
    columns["source_line"] = pa.array(lines[rows], pa.int64())
    result = pa.table(columns)
    return _Vectorized(result.filter(pa.array(good)), row_files[good], rows[bad_np],
                       _per_file(not_usage, files, n_files), _per_file(synthetic, files, n_files))


def _skip_counts(ctx: ReadContext, not_usage: int, synthetic: int) -> None:
    if not_usage:
        ctx.skip("not a usage line", not_usage)
    if synthetic:
        ctx.skip("<synthetic> placeholder (API error)", synthetic)


def _python_rows(lines: list[tuple[Any, int, bytes]], project: str | None, ctx: ReadContext) -> pa.Table | None:
    """The per-line path: the same rows as ``_vector_rows``, and a named reason for every reject."""
    rows: list[dict[str, Any]] = []
    for obj, line, raw in lines:
        if not isinstance(obj, dict):
            ctx.reject(line, f"expected a JSON object, got {type(obj).__name__}", raw)
            continue
        if get_path(obj, "message", "usage") is None:
            ctx.skip("not a usage line")
            continue
        if get_path(obj, "message", "model") == SYNTHETIC:
            ctx.skip("<synthetic> placeholder (API error)")
            continue
        try:
            produced = _normalize(obj, line, project)
            for row in produced:
                check_row(row)
        except SHAPE_ERRORS as exc:
            ctx.reject(line, shape_reason(exc), raw)
            continue
        rows += produced
    if not rows:
        return None
    return rows_to_table(rows)


def _dedup(table: pa.Table, files: np.ndarray, n_files: int) -> tuple[pa.Table, np.ndarray, list[int]]:
    """One row per (file, message.id, requestId): the line with the largest token total, the first
    on a tie (ccusage). Rows without both ids are all kept. ``files[i]`` is row i's file (rows in
    file order). Order, file by file: unkeyed rows, then keys by first sight.

    Returns the kept rows, their files, and per file the lines dropped."""
    msg, req = table.column(_MSG_ID), table.column("request_id")
    keyed = pc.and_(pc.is_valid(msg), pc.is_valid(req)).to_numpy(zero_copy_only=False)
    n = table.num_rows
    position = np.arange(n)
    if not keyed.any():
        return table, files, [0] * n_files
    key = pc.binary_join_element_wise(pc.fill_null(msg, ""), pc.fill_null(req, ""), "\x00")
    codes = np.asarray(pc.dictionary_encode(key).combine_chunks().indices.to_numpy(zero_copy_only=False))
    # The same ids in two files are two keys (across files the scan keeps the first instead).
    codes = np.unique(files * (int(codes.max()) + 1) + codes, return_inverse=True)[1].reshape(-1)
    total = (pc.add(table.column("input_tokens"), table.column("output_tokens"))).to_numpy(zero_copy_only=False)
    idx = position[keyed]
    order = np.lexsort((idx, -total[idx], codes[idx]))   # by key, then largest total, then first line
    sorted_codes = codes[idx][order]
    first_of_key = np.concatenate([[True], sorted_codes[1:] != sorted_codes[:-1]])
    winners, losers = idx[order][first_of_key], idx[order][~first_of_key]
    first_seen = np.full(codes.max() + 1, n, dtype=np.int64)
    np.minimum.at(first_seen, codes[idx], idx)
    rank = position.copy()
    rank[winners] = first_seen[codes[winners]]
    take = np.concatenate([position[~keyed], winners])
    take = take[np.lexsort((rank[take], keyed[take], files[take]))]
    return table.take(pa.array(take)), files[take], _per_file(losers, files, n_files)


def _finish(table: pa.Table, files: np.ndarray, ctxs: list[ReadContext]) -> tuple[pa.Table, np.ndarray]:
    """De-duplicate within each file, count per file, conform (``source_file`` row by row)."""
    table, files, dropped = _dedup(table, files, len(ctxs))
    kept = np.bincount(files, minlength=len(ctxs)).tolist()
    for ctx, d, k in zip(ctxs, dropped, kept, strict=True):
        # Same API message written on several lines: one request (each extra line is a duplicate).
        ctx.file.rows_read += d + k
        ctx.file.duplicates += d
    hosts = pa.array([_host(ctx.path) for ctx in ctxs], _S)
    if hosts.null_count < len(hosts):   # a per-file constant: set here for both paths
        column = hosts.take(pa.array(files))
        at = table.schema.get_field_index("host")   # present (null) when per-line rows joined in
        table = table.set_column(at, "host", column) if at >= 0 else table.append_column("host", column)
    if len(ctxs) > 1:
        paths = pa.array([ctx.path for ctx in ctxs], _S)
        column = paths.take(pa.array(files))
        at = table.schema.get_field_index("source_file")   # present when per-line rows joined in
        table = table.set_column(at, "source_file", column) if at >= 0 else table.append_column("source_file", column)
    return finish_table(table, source_format=ctxs[0].reader, source_file=ctxs[0].path), files


def read(source: Source, ctx: ReadContext) -> Iterator[pa.Table]:
    project = _project(source.path)
    if _is_json_document(source.head):
        parts = [t for t in [_python_rows(list(iter_json_values(source, ctx)), project, ctx)] if t is not None]
    else:
        parts = list(_read_lines(source, ctx, project))
    if not parts:
        return
    table = pa.concat_tables(parts, promote_options="permissive")
    table, _ = _finish(table, np.zeros(table.num_rows, dtype=np.int64), [ctx])
    if table.num_rows:
        yield table


def _redo(chunk: bytes | memoryview, rows: np.ndarray, first_line: int, project: str | None,
          ctx: ReadContext) -> pa.Table | None:
    """The per-line path for ``rows`` (0-based line indices in ``chunk``) the vectorized checks flagged."""
    lines = bytes(chunk).split(b"\n")
    again = []
    for i in rows:
        try:
            again.append((orjson.loads(lines[i]), first_line + int(i), lines[i]))
        except orjson.JSONDecodeError as exc:  # pyarrow accepted it; be safe anyway
            ctx.reject(first_line + int(i), f"not valid JSON ({exc})", lines[i])
    return _python_rows(again, project, ctx)


def _read_lines(source: Source, ctx: ReadContext, project: str | None) -> Iterator[pa.Table]:
    stream = source.open()
    projects = pa.array([project], _S)
    try:
        for view, first_line, newlines in iter_chunks(stream, CHUNK_BYTES, None if source.compressed else source.size):
            final = view[len(view) - 1] != 0x0A
            chunk = bytes(view)
            view.release()
            parsed = None
            # pyarrow skips blank lines, which would shift row → line numbers: a row count that
            # differs from the line count sends the chunk to the per-line path.
            if not final:
                try:
                    parsed = pj.read_json(pa.BufferReader(chunk), parse_options=_PARSE)
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
                    parsed = None
                if parsed is not None and (parsed.num_rows != newlines or not _valid_utf8(parsed)):
                    parsed = None
            if parsed is None:
                table = _python_rows(list(iter_json_lines(chunk, first_line, ctx, final=final)), project, ctx)
                if table is not None:
                    yield table
                continue
            n = parsed.num_rows
            vec = _vector_rows(parsed, np.arange(first_line, first_line + n), projects, np.zeros(n, dtype=np.int64))
            _skip_counts(ctx, vec.not_usage[0], vec.synthetic[0])
            if len(vec.redo):
                extra = _redo(chunk, vec.redo, first_line, project, ctx)
                if extra is not None:
                    yield extra
            if vec.rows.num_rows:
                yield vec.rows
    finally:
        stream.close()


# ------------------------------------------------------------------------- many files per call
# A transcript folder is hundreds of small files: parsed one by one, the fixed costs of a parse
# and of normalizing (about 3 ms a file) outweigh the parsing itself. ``read_many`` parses a group
# of whole files in one pyarrow call and normalizes it once; files it cannot take that way
# (compressed, stdin, JSON documents, large, no final newline) and files pyarrow refuses go
# through ``read``, in their place, so every file ends in the rows and counts ``read`` gives it.

# After each file, a line whose row must appear exactly where the file's lines end: pyarrow drops
# blank lines (and reads two objects on one line as two rows), which would shift rows between files.
_SENTINEL_ID = "\x00llmaudit:end-of-file"
_SENTINEL = b'{"requestId":"\\u0000llmaudit:end-of-file"}\n'
# Bytes per pyarrow call: a group (at most ``scan.GROUP_BYTES``, a worker's unit at most
# ``pool.UNIT_BYTES``) is parsed in one call. Each call and its normalization cost about 10 ms of
# CPU whatever its size; 8 MiB spans, parsed on the worker thread while the previous one was
# normalized, cost P1 1.14 s against 1.03 s in one span per group on 2 cores, 1.49 against 1.31 s
# on one (farm-bench, 2026-12-04); without worker processes (LLMAUDIT_WORKERS=1) it is even.
_SPAN_BYTES = 32 << 20


def _groupable(source: Source) -> bool:
    return (not source.is_stdin and not source.compressed and source.size is not None
            and source.size < CHUNK_BYTES and not _is_json_document(source.head))


def read_many(items: list[tuple[Source, ReadContext]]) -> Iterator[tuple[pa.Table, np.ndarray]]:
    # One buffer for the whole call, filled file after file: no per-file buffers to join.
    groupable = [_groupable(source) for source, _ in items]
    room = sum((source.size or 0) + len(_SENTINEL) for (source, _), ok in zip(items, groupable, strict=True) if ok)
    spare = _SPARE.pop() if _SPARE else None   # pop: a call on another thread gets its own buffer
    if spare is None:
        spare = bytearray(room)
    elif len(spare) < room:
        # Grown in place (realloc moves the pages it has; only the new ones fault in): the groups
        # of a folder differ by a few KiB, and a fresh buffer per larger group cost P1 in one
        # process two extra 33 MB buffers, 16,000 page faults.
        spare.extend(bytes(room - len(spare)))
    yield from _read_many(items, groupable, memoryview(spare)[:room])
    # Only after a read that ran to its end: an abandoned one may leave a parse running on it.
    if len(spare) <= _SPARE_MAX:
        _SPARE.append(spare)


# The buffer of the last call, kept for the next: a fresh one costs a page fault every 4 KiB
# (0.1 s of system time per 200 MB read, bench P1). Nothing read keeps a reference into it:
# pyarrow's parser copies what it keeps.
_SPARE: list[bytearray] = []
_SPARE_MAX = 64 << 20


def _read_many(items: list[tuple[Source, ReadContext]], groupable: list[bool],
               buf: memoryview) -> Iterator[tuple[pa.Table, np.ndarray]]:
    segments: list[_Group | int] = []          # in order: runs of files parsed together, single items
    run: list[tuple[int, int, int, int]] = []   # (item, start in buf, length, newlines), back to back
    at = 0
    for k, (source, _) in enumerate(items):
        if groupable[k]:
            size = source.size or 0
            try:
                got = source.read_into(buf[at: at + size])
            except VanishedError:   # deleted since it was listed: no rows, listed as not read
                items[k][1].file.not_read = VANISHED
                continue
            if isinstance(got, int) and got and buf[at + got - 1] == 0x0A:
                buf[at + got: at + got + len(_SENTINEL)] = _SENTINEL
                # Counted now, while the file is still in the CPU cache.
                run.append((k, at, got, count_newlines(buf[at: at + got])))
                at += got + len(_SENTINEL)
                continue
            # Read on its own: a final line without its newline may be a truncated one.
            source.hold(got if isinstance(got, bytes) else bytes(buf[at: at + got]))
        if run:
            segments.append(_Group(items, buf[:at], run))
            run = []
        segments.append(k)
    if run:
        segments.append(_Group(items, buf[:at], run))
    # pyarrow parses span after span on a worker thread (it releases the GIL) while this thread
    # normalizes the previous one and the caller consumes its rows: both cores stay busy.
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="claude-code-parse")
    try:
        jobs = [[(lo, hi, pool.submit(seg.parse, lo, hi)) for lo, hi in seg.spans(_SPAN_BYTES)]
                if isinstance(seg, _Group) else [] for seg in segments]
        for seg, parses in zip(segments, jobs, strict=True):
            if isinstance(seg, int):
                yield from _read_single(items, seg)
                continue
            for lo, hi, parsed in parses:
                yield from seg.span(lo, hi, parsed.result())
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _read_single(items: list[tuple[Source, ReadContext]], k: int) -> Iterator[tuple[pa.Table, np.ndarray]]:
    source, ctx = items[k]
    try:
        for table in read(source, ctx):
            yield table, np.full(table.num_rows, k, dtype=np.int64)
    except VanishedError:
        if ctx.file.rows_read:   # gone after some of it was read: not a file to list as not read
            raise
        ctx.file.not_read = VANISHED
    except OSError as exc:
        raise InputError(f"read failed: {exc}", path=source.display) from None


class _Group:
    """Consecutive whole files in one buffer, each followed by the sentinel line."""

    def __init__(self, items: list[tuple[Source, ReadContext]], buf: memoryview,
                 run: list[tuple[int, int, int, int]]) -> None:
        self.items = items
        self.buf = buf
        self.keys = [k for k, _, _, _ in run]
        self.lengths = [length for _, _, length, _ in run]
        self.starts = [start for _, start, _, _ in run] + [len(buf)]
        self.newlines = np.array([newlines for _, _, _, newlines in run], dtype=np.int64)

    def data(self, i: int) -> memoryview:
        return self.buf[self.starts[i]: self.starts[i] + self.lengths[i]]

    def spans(self, limit: int) -> Iterator[tuple[int, int]]:
        """Consecutive ranges of files of about ``limit`` bytes (at least one file each)."""
        lo = 0
        for i in range(1, len(self.keys) + 1):
            if i == len(self.keys) or self.starts[i + 1] - self.starts[lo] > limit:
                yield lo, i
                lo = i

    def parse(self, lo: int, hi: int) -> pa.Table | None:
        """Files ``lo:hi`` (and their sentinels) parsed by pyarrow, or None when it refuses them."""
        try:
            parsed = pj.read_json(pa.BufferReader(pa.py_buffer(self.buf[self.starts[lo]: self.starts[hi]])),
                                  parse_options=_PARSE)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            return None
        return parsed if _valid_utf8(parsed) else None   # bad bytes: each file on its own, line by line

    def span(self, lo: int, hi: int, parsed: pa.Table | None) -> Iterator[tuple[pa.Table, np.ndarray]]:
        """Files ``lo:hi`` of the group, in order, from their joint parse where pyarrow took them."""
        marks = None
        if parsed is not None:
            is_mark = pc.fill_null(pc.equal(parsed.column("requestId"), _SENTINEL_ID), False)
            marks = np.flatnonzero(is_mark.to_numpy(zero_copy_only=False))
        if parsed is None or marks is None or len(marks) != hi - lo or marks[-1] != parsed.num_rows - 1:
            # pyarrow refuses a line somewhere in the span: halve it until the file is found.
            if hi - lo == 1:
                yield from self.single(lo)
            else:
                mid = (lo + hi) // 2
                yield from self.span(lo, mid, self.parse(lo, mid))
                yield from self.span(mid, hi, self.parse(mid, hi))
            return
        # Rows per file, from where the sentinels landed: a file with blank lines (or two objects
        # on a line) goes through ``read`` on its own, as it would have alone.
        rows = np.diff(np.concatenate([[-1], marks])) - 1
        aligned = rows == self.newlines[lo:hi]
        i = lo
        while i < hi:
            if not aligned[i - lo]:
                yield from self.single(i)
                i += 1
                continue
            j = i + 1
            while j < hi and aligned[j - lo]:
                j += 1
            first = 0 if i == lo else int(marks[i - lo - 1]) + 1
            yield from self.normalize(i, j, parsed.slice(first, int(marks[j - lo - 1]) + 1 - first))
            i = j

    def single(self, i: int) -> Iterator[tuple[pa.Table, np.ndarray]]:
        k = self.keys[i]
        self.items[k][0].hold(bytes(self.data(i)))
        yield from _read_single(self.items, k)

    def normalize(self, lo: int, hi: int, parsed: pa.Table) -> Iterator[tuple[pa.Table, np.ndarray]]:
        """Files ``lo:hi`` whose rows (and sentinels) are ``parsed``: ``read``'s rows and counts."""
        keys = self.keys[lo:hi]
        sources = [self.items[k][0] for k in keys]
        ctxs = [self.items[k][1] for k in keys]
        n = parsed.num_rows
        per_file = self.newlines[lo:hi] + 1                      # lines and the sentinel
        files = np.repeat(np.arange(hi - lo), per_file)
        first_row = np.concatenate([[0], np.cumsum(per_file)[:-1]])
        lines = np.arange(n) - first_row[files] + 1
        sentinel = lines > self.newlines[lo:hi][files]
        projects = [_project(source.path) for source in sources]
        vec = _vector_rows(parsed, lines, pa.array(projects, _S), files, drop=sentinel)
        parts, part_files = [vec.rows], [vec.files]
        redo_files = files[vec.redo]
        for f, ctx in enumerate(ctxs):
            _skip_counts(ctx, vec.not_usage[f], vec.synthetic[f])
            redo = vec.redo[redo_files == f]
            if len(redo):
                extra = _redo(self.data(lo + f), lines[redo] - 1, 1, projects[f], ctx)
                if extra is not None:
                    parts.append(extra)
                    part_files.append(np.full(extra.num_rows, f, dtype=np.int64))
        table = pa.concat_tables(parts, promote_options="permissive") if len(parts) > 1 else vec.rows
        row_files = np.concatenate(part_files)
        if len(parts) > 1:
            # ``read`` puts a file's redone rows before its vectorized ones (then by line).
            redone = np.ones(table.num_rows, dtype=bool)
            redone[: vec.rows.num_rows] = False
            line_of = table.column("source_line").to_numpy()
            order = np.lexsort((line_of, ~redone, row_files))
            table, row_files = table.take(pa.array(order)), row_files[order]
        if not table.num_rows:
            return
        table, row_files = _finish(table, row_files, ctxs)
        if table.num_rows:
            yield table, np.asarray(keys, dtype=np.int64)[row_files]

