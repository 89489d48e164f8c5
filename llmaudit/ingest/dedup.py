"""De-duplication on request ids across files: the first occurrence wins, every later one is
counted and recorded (file, line, id) so nothing disappears silently.

Memory stays bounded on huge logs: the first million distinct ids are kept exactly (a Python set,
about 110 bytes an id); past that they are kept as 64-bit SipHash digests in sorted numpy runs
(8 bytes an id: 8M ids in 64 MB instead of 900 MB). Two distinct ids then collide with
probability about n²/2⁶⁵ (below 1e-5 for ten million ids); a collision would show as a reported
duplicate, with its id, file and line, never as a silent loss.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from llmaudit.ingest.summary import MAX_STORED, Duplicate, FileSummary, IngestSummary

__all__ = ["SeenIds", "drop_seen_ids"]

_EXACT_LIMIT = 1_000_000


class SeenIds:
    """The request ids seen so far in a scan."""

    def __init__(self, exact_limit: int = _EXACT_LIMIT) -> None:
        self._exact: set[str] | None = set()
        self._limit = exact_limit
        self._runs: list[np.ndarray] = []  # sorted, unique uint64 digests

    def __len__(self) -> int:
        return len(self._exact) if self._exact is not None else sum(len(r) for r in self._runs)

    def duplicates(self, values: list[str | None], nulls: int | None = None) -> list[int]:
        """Positions of ids already seen (earlier in ``values`` or before); records the others.

        ``nulls``: how many of ``values`` are None, when the caller knows (Arrow keeps the count)."""
        if self._exact is not None:
            present = len(values) - (nulls if nulls is not None else values.count(None))
            dup_at = self._exact_duplicates(values, present)
            if len(self._exact) > self._limit:
                self._runs = [np.sort(_digests(list(self._exact)))]
                self._exact = None
            return dup_at
        return self._digest_duplicates(values)

    def _exact_duplicates(self, values: list[str | None], present: int) -> list[int]:
        assert self._exact is not None
        seen = self._exact
        if present == len(values):
            # The common case, all in C and in two passes: no null, none seen before, no repeat.
            if seen.isdisjoint(values):
                before = len(seen)
                seen.update(values)  # type: ignore[arg-type]
                if len(seen) - before == present:
                    return []
                # A repeat inside the batch. The batch was disjoint from what was seen, so
                # removing it restores the set exactly; then find the repeats one by one.
                seen.difference_update(values)
        else:
            batch = set(values)
            batch.discard(None)
            if len(batch) == present and seen.isdisjoint(batch):
                seen |= batch  # type: ignore[arg-type]
                return []
        dup_at: list[int] = []
        for i, rid in enumerate(values):
            if rid is None:
                continue
            if rid in seen:
                dup_at.append(i)
            else:
                seen.add(rid)
        return dup_at

    def _digest_duplicates(self, values: list[str | None]) -> list[int]:
        rows = np.flatnonzero(np.fromiter((v is not None for v in values), dtype=bool, count=len(values)))
        if not len(rows):
            return []
        digests = _digests([values[i] for i in rows])  # type: ignore[misc]
        # Sort-based throughout: numpy's hash-based unique is slow on 64-bit keys.
        order = np.argsort(digests, kind="stable")
        ordered = digests[order]
        repeat = np.concatenate([[False], ordered[1:] == ordered[:-1]])
        seen_sorted = repeat.copy()  # within this batch, the first occurrence is new
        for run in self._runs:
            # Sorted needles walk the run in order: several times faster than random probes.
            pos = np.minimum(np.searchsorted(run, ordered), len(run) - 1)
            seen_sorted |= run[pos] == ordered
        dup = np.zeros(len(rows), dtype=bool)
        dup[order] = seen_sorted
        fresh = ordered[~seen_sorted]
        if len(fresh):
            self._add_run(fresh)
        return [int(i) for i in rows[dup]]

    def _add_run(self, fresh: np.ndarray) -> None:
        """Keep O(log n) sorted runs: merge the newest two while they are of similar size."""
        self._runs.append(fresh)
        while len(self._runs) > 1 and len(self._runs[-2]) <= 2 * len(self._runs[-1]):
            newer, older = self._runs.pop(), self._runs.pop()
            self._runs.append(np.sort(np.concatenate([older, newer]), kind="stable"))


def _digests(values: list[str]) -> np.ndarray:
    return np.fromiter((hash(v) for v in values), dtype=np.int64, count=len(values)).view(np.uint64)


def drop_seen_ids(table: pa.Table, seen: SeenIds, fsum: FileSummary, summary: IngestSummary) -> tuple[pa.Table, int]:
    """Drop the rows whose ``request_id`` was seen before and remember the new ids.

    Returns the kept rows and how many were dropped (also added to ``fsum.duplicates``)."""
    if "request_id" not in table.column_names:
        return table, 0
    ids = table.column("request_id")
    if ids.null_count == table.num_rows:
        return table, 0
    values = ids.to_pylist()
    dup_at = seen.duplicates(values, ids.null_count)
    if not dup_at:
        return table, 0
    fsum.duplicates += len(dup_at)
    lines = table.column("source_line") if "source_line" in table.column_names else None
    for i in dup_at:
        if len(summary.duplicates) < MAX_STORED:
            summary.duplicates.append(Duplicate(fsum.path, lines[i].as_py() if lines is not None else None, values[i]))
        else:
            summary.duplicates_not_stored += 1
    keep = np.ones(table.num_rows, dtype=bool)
    keep[dup_at] = False
    return table.filter(pa.array(keep)), len(dup_at)
