"""De-duplication on request ids across files: the first occurrence wins, every later one is
counted and recorded (file, line, id) so nothing disappears silently.

Ids are compared as bytes, straight from the Arrow string buffers, never as Python objects:
the ids of one length are a fixed-width numpy byte-string array (``S{length}``), and the ids
seen so far are kept per length in runs sorted by a 64-bit digest of each id, with the position
of the id beside it (the ids themselves in blocks, in the order first seen). A batch is sorted by
digest (equal digests in their order, so the first occurrence of a repeat comes first) and each
run is searched with the sorted needles; an equal digest counts only when the ids are equal too,
and the rare digests that two different ids share are settled one id at a time, so the answer is
exact. Sorting 64-bit integers instead of 60-byte strings (a Claude Code request id joined with
its message id) made this 4-5 times faster (bench P1); numpy sorts and searches without holding
the GIL, so the parser threads keep both cores busy (bench P2: 0.2–0.3 s of wall time was the
Python-set version of this).

Memory stays bounded on huge logs: ids are kept exactly until they take ``exact_bytes`` (64 MiB,
about 2.3M ids of 29 bytes); past that every id is kept as a 64-bit digest in sorted runs (8 B an
id: 8M ids in 64 MB). Two distinct ids then collide with probability about n²/2⁶⁵ (below 1e-5 for
ten million ids); a collision would show as a reported duplicate, with its id, file and line,
never as a silent loss.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa

from llmaudit.ingest.summary import MAX_STORED, Duplicate, FileSummary, IngestSummary

__all__ = ["SeenIds", "dedup_key", "drop_seen_ids", "replayed_rows"]

_EXACT_BYTES = 64 << 20
_BLOCK_SHIFT = 16   # ids are kept in blocks of 65,536


Digest = Callable[[np.ndarray, int], np.ndarray]


class _Ids:
    """The ids of one length kept so far, in the order first seen, in fixed-size blocks: keeping
    more never copies what is kept, and memory is taken only as ids arrive (no reservation that
    a system with strict overcommit could refuse, no doubling copy at the exact limit: bench P3)."""

    def __init__(self, dtype: np.dtype[Any]) -> None:
        self.dtype = dtype
        self.blocks: list[np.ndarray] = []
        self.count = 0

    def add(self, values: np.ndarray) -> np.ndarray:
        """Keep ``values``; their positions."""
        at = np.arange(self.count, self.count + len(values), dtype=np.int64)
        done = 0
        while done < len(values):
            offset = self.count & ((1 << _BLOCK_SHIFT) - 1)
            if offset == 0:
                self.blocks.append(np.empty(1 << _BLOCK_SHIFT, dtype=self.dtype))
            take = min(len(values) - done, (1 << _BLOCK_SHIFT) - offset)
            self.blocks[-1][offset: offset + take] = values[done: done + take]
            done += take
            self.count += take
        return at

    def equal(self, at: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Per position: is the id kept there ``values``' id? (Called on digest matches: few.)"""
        out = np.empty(len(at), dtype=bool)
        block = at >> _BLOCK_SHIFT
        offset = at & ((1 << _BLOCK_SHIFT) - 1)
        for b in np.unique(block).tolist():
            rows = np.flatnonzero(block == b)
            out[rows] = self.blocks[b][offset[rows]] == values[rows]
        return out


class _Runs:
    """The ids seen so far as runs of 64-bit digests, each run sorted, with the position of each
    digest's id in ``ids`` beside it when ids are kept (None: digests alone, past the exact limit,
    where equal digests count as the same id). The newest two runs merge while they are of similar
    size, so there are O(log n) of them; a merge moves 16 bytes an id (8 without ids), never the
    ids themselves."""

    def __init__(self, ids: _Ids | None) -> None:
        self.ids = ids
        self.runs: list[tuple[np.ndarray, np.ndarray | None]] = []

    def __len__(self) -> int:
        return sum(len(d) for d, _ in self.runs)

    def check(self, values: np.ndarray | None, digests: np.ndarray) -> np.ndarray:
        """Per value: seen before (in a run or earlier in this batch)? Keeps the new ones as a run.
        Digests order and find; where ids are kept, the ids decide."""
        order, d = _sort_stably(digests)   # equal ids keep their order: the first occurrence wins
        v = values[order] if self.ids is not None and values is not None else None
        seen_sorted = np.zeros(len(d), dtype=bool)
        same = d[1:] == d[:-1]
        if v is None:
            seen_sorted[1:] = same
        else:
            same_id = same.copy()
            pairs = np.flatnonzero(same)   # ids are compared only where digests agree: few
            same_id[pairs] = v[pairs + 1] == v[pairs]
            seen_sorted[1:] = same_id
            if (same & ~same_id).any():
                # Two different ids of this batch share a digest: settle those digests id by id.
                for shared in np.unique(d[1:][same & ~same_id]):
                    lo, hi = np.searchsorted(d, shared, "left"), np.searchsorted(d, shared, "right")
                    first: set[bytes] = set()
                    for i in range(lo, hi):
                        key = bytes(v[i])
                        seen_sorted[i] = key in first
                        first.add(key)
        for run_d, run_at in self.runs:
            # Sorted needles walk the run in order: several times faster than random probes.
            pos = np.searchsorted(run_d, d)
            at = np.minimum(pos, len(run_d) - 1)
            found = run_d[at] == d
            if v is not None and run_at is not None and self.ids is not None:
                hits = np.flatnonzero(found)
                match = found.copy()
                match[hits] = self.ids.equal(run_at[at[hits]], v[hits])
                for j in np.flatnonzero(found & ~match):
                    # The digest is in the run under another id; the same id may sit further along it.
                    end = int(np.searchsorted(run_d, d[j], "right"))
                    span = run_at[pos[j]: end]
                    match[j] = bool(self.ids.equal(span, np.repeat(v[j: j + 1], len(span))).any())
                found = match
            seen_sorted |= found
        fresh = ~seen_sorted
        if fresh.any():
            kept = None if v is None or self.ids is None else self.ids.add(v[fresh])
            self.runs.append((d[fresh], kept))
            while len(self.runs) > 1 and len(self.runs[-2][0]) <= 2 * len(self.runs[-1][0]):
                self.runs.append(_merge(self.runs.pop(-2), self.runs.pop()))
        seen = np.empty(len(digests), dtype=bool)
        seen[order] = seen_sorted
        return seen


def _merge(old: tuple[np.ndarray, np.ndarray | None],
           new: tuple[np.ndarray, np.ndarray | None]) -> tuple[np.ndarray, np.ndarray | None]:
    """Two sorted runs as one. A stable sort finds the two sorted halves and merges them in linear
    time (a merge by ``searchsorted`` and scatter was no faster, bench P2)."""
    both = np.concatenate([old[0], new[0]])
    if old[1] is None or new[1] is None:
        return np.sort(both, kind="stable"), None
    merged = np.argsort(both, kind="stable")
    return both[merged], np.concatenate([old[1], new[1]])[merged]


def _sort_stably(digests: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The order that sorts ``digests``, equal digests in their original order, and the sorted
    digests. numpy's stable sort of 64-bit keys is a merge sort, five times slower than its
    default (vectorized) one; equal digests are rare (a repeated id), so the default sort is
    used and only the runs of equal digests are put back in their original order."""
    order = np.argsort(digests)
    d = digests[order]
    tie = np.flatnonzero(d[1:] == d[:-1])
    if len(tie):
        at = np.unique(np.concatenate([tie, tie + 1]))
        sub = order[at]
        order[at] = sub[np.lexsort((sub, d[at]))]   # d[at] is sorted: each run of equals stays in place
    return order, d


class SeenIds:
    """The request ids seen so far in a scan. ``digest`` is for tests (one that collides a lot)."""

    def __init__(self, exact_bytes: int = _EXACT_BYTES, digest: Digest | None = None) -> None:
        self._exact: dict[int, _Runs] | None = {}   # id length -> its ids
        self._exact_bytes = 0
        self._limit = exact_bytes
        self._digests = _Runs(None)   # every id as a digest alone (after the limit)
        self._digest = digest or _digest

    def __len__(self) -> int:
        if self._exact is not None:
            return sum(len(runs) for runs in self._exact.values())
        return len(self._digests)

    def duplicates(self, values: list[str | None]) -> list[int]:
        """Positions of ids already seen (earlier in ``values`` or before); records the others."""
        return self.duplicate_rows(pa.array(values, pa.string())).tolist()

    def duplicate_rows(self, ids: pa.Array | pa.ChunkedArray) -> np.ndarray:
        """Row positions (ascending) of the ids in ``ids`` already seen, earlier in ``ids`` or in an
        earlier call; the other ids are remembered. Null ids are never duplicates."""
        dup: list[np.ndarray] = []
        for size, rows, values in _by_length(ids):
            digests = self._digest(values, size)
            if self._exact is not None:
                known = self._exact.get(size)
                if known is None:
                    known = self._exact[size] = _Runs(_Ids(values.dtype))
                seen = known.check(values, digests)
                self._exact_bytes += int((~seen).sum()) * values.dtype.itemsize
            else:
                seen = self._digests.check(None, digests)
            dup.append(rows[seen])
            if self._exact is not None and self._exact_bytes > self._limit:
                self._to_digests()
        return np.sort(np.concatenate(dup)) if dup else np.zeros(0, dtype=np.int64)

    def _to_digests(self) -> None:
        assert self._exact is not None
        digests = [d for runs in self._exact.values() for d, _ in runs.runs]
        self._exact = None
        if digests:
            self._digests.runs = [(_sorted_unique(np.concatenate(digests)), None)]


def _sorted_unique(values: np.ndarray) -> np.ndarray:
    """``np.unique`` by sorting: numpy 2.3+ finds distinct values with a hash table first, which
    took 1.5 s on the 2.3M digests of P2's switch to digest mode (5M requests) against 0.02 s."""
    ordered = np.sort(values)
    if len(ordered) < 2:
        return ordered
    return ordered[np.concatenate([[True], ordered[1:] != ordered[:-1]])]


def _by_length(ids: pa.Array | pa.ChunkedArray) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """The non-null ids grouped by byte length: (length, row positions, ``S{length}`` values).

    Only ids of one length are ever compared with each other: numpy pads byte strings with NULs,
    so ``b"a"`` and ``b"a\x00"`` would compare equal across lengths."""
    arr = ids.combine_chunks() if isinstance(ids, pa.ChunkedArray) else ids
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        arr = arr.cast(pa.string())
    n = len(arr)
    if n == arr.null_count:
        return []
    large = pa.types.is_large_string(arr.type)
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64 if large else np.int32)[arr.offset: arr.offset + n + 1]
    buffer = arr.buffers()[2]
    data = np.frombuffer(buffer, dtype=np.uint8) if buffer is not None else np.zeros(0, dtype=np.uint8)
    lengths = np.diff(offsets)
    valid = arr.is_valid().to_numpy(zero_copy_only=False) if arr.null_count else None
    present = lengths if valid is None else lengths[valid]
    distinct = np.unique(present)
    if len(distinct) == 1 and valid is None:
        # One length, no nulls (the usual log): the ids are already a fixed-width array, in place.
        size = int(distinct[0])
        start = int(offsets[0])
        return [(size, np.arange(n), _fixed(data[start: start + size * n], size, n))]
    groups = []
    for size in distinct.tolist():
        rows = np.flatnonzero(lengths == size) if valid is None else np.flatnonzero(valid & (lengths == size))
        # Arrow's take packs the chosen values back to back: ids of one length are then a
        # fixed-width array as they stand (a numpy gather through a rows x size index matrix took
        # 3-4 times as long on P1's ids, which come in ten lengths).
        part = arr.take(pa.array(rows))
        first = int(np.frombuffer(part.buffers()[1], dtype=offsets.dtype)[part.offset])
        packed = part.buffers()[2]
        gathered = (np.frombuffer(packed, dtype=np.uint8)[first: first + size * len(rows)]
                    if size and packed is not None else data[:0])
        groups.append((size, rows, _fixed(gathered, size, count=len(rows))))
    return groups


def _fixed(raw: np.ndarray, size: int, count: int) -> np.ndarray:
    """``raw`` bytes as ``count`` ``S{size}`` values (empty ids as ``S1`` zeros: all equal, as
    "" == "")."""
    if size == 0:
        return np.zeros(count, dtype="S1")
    return np.ascontiguousarray(raw).view(f"S{size}")


_M1, _M2, _M3 = np.uint64(0x9E3779B97F4A7C15), np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)


def _digest(values: np.ndarray, size: int) -> np.ndarray:
    """A 64-bit digest per id of ``size`` bytes (``values``: ``S{size}``, ``S1`` zeros for empty
    ids): its 8-byte words folded with splitmix64's mixer, the length folded in first (the same
    bytes at another length are another id)."""
    words = max(1, -(-size // 8))
    padded = np.zeros((len(values), words * 8), dtype=np.uint8)
    if size:
        padded[:, :size] = values.view(np.uint8).reshape(len(values), size)
    with np.errstate(over="ignore"):
        h = np.full(len(values), np.uint64(size) * _M1, dtype=np.uint64)
        for w in padded.view(np.uint64).T:
            h ^= w
            h *= _M2
            h ^= h >> np.uint64(31)
        h *= _M3
        h ^= h >> np.uint64(29)
    return h


def dedup_key(table: pa.Table) -> Any:
    """What identifies one request: ``request_id``, joined with ``message_id`` where a source logs one
    (Claude Code: the same request id can carry several API messages, each billed)."""
    ids = table.column("request_id")
    if "message_id" not in table.column_names or table.column("message_id").null_count == table.num_rows:
        return ids
    import pyarrow.compute as pc

    msg = table.column("message_id")
    joined = pc.binary_join_element_wise(ids, msg, "\x1f")
    return pc.if_else(pc.is_valid(msg), joined, ids)


def drop_seen_ids(table: pa.Table, seen: SeenIds, fsum: FileSummary, summary: IngestSummary) -> tuple[pa.Table, int]:
    """Drop the rows whose request (``dedup_key``) was seen before and remember the new ones.

    Returns the kept rows and how many were dropped (also added to ``fsum.duplicates``)."""
    if "request_id" not in table.column_names:
        return table, 0
    ids = dedup_key(table)
    if ids.null_count == table.num_rows:
        return table, 0
    dup_at = seen.duplicate_rows(ids)
    if not len(dup_at):
        return table, 0
    fsum.duplicates += len(dup_at)
    room = max(0, MAX_STORED - len(summary.duplicates))
    summary.duplicates_not_stored += max(0, len(dup_at) - room)
    stored = pa.array(dup_at[:room])
    values = table.column("request_id").take(stored).to_pylist()
    lines = (table.column("source_line").take(stored).to_pylist() if "source_line" in table.column_names
             else [None] * len(values))
    summary.duplicates.extend(Duplicate(fsum.path, line, rid) for line, rid in zip(lines, values, strict=True))
    keep = np.ones(table.num_rows, dtype=bool)
    keep[dup_at] = False
    return table.filter(pa.array(keep)), len(dup_at)


def replayed_rows(table: pa.Table, seen_messages: SeenIds) -> np.ndarray:
    """Rows of a sub-agent's transcript (tag ``sidechain``) that replay an API message already seen
    under another request id (ccusage #913): the same billed message, not a new request. Every
    row's message id is remembered. Returns the positions of the replays."""
    if "message_id" not in table.column_names or table.column("message_id").null_count == table.num_rows:
        return np.zeros(0, dtype=np.int64)
    import pyarrow.compute as pc

    seen_before = seen_messages.duplicate_rows(table.column("message_id"))
    if not len(seen_before) or "tags" not in table.column_names:
        return np.zeros(0, dtype=np.int64)
    tags = table.column("tags").combine_chunks()
    flat = pc.list_flatten(tags)
    parents = np.asarray(pc.list_parent_indices(tags).to_numpy(zero_copy_only=False))
    sidechain = np.zeros(table.num_rows, dtype=bool)
    marked = np.asarray(pc.fill_null(pc.equal(flat, "sidechain"), False).to_numpy(zero_copy_only=False), dtype=bool)
    sidechain[parents[marked]] = True
    return np.asarray(seen_before, dtype=np.int64)[sidechain[seen_before]]
