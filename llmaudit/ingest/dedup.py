"""De-duplication on request ids across files: the first occurrence wins, every later one is
counted and recorded (file, line, id) so nothing disappears silently."""

from __future__ import annotations

import pyarrow as pa

from llmaudit.ingest.summary import MAX_STORED, Duplicate, FileSummary, IngestSummary

__all__ = ["drop_seen_ids"]


def drop_seen_ids(table: pa.Table, seen: set[str], fsum: FileSummary, summary: IngestSummary) -> tuple[pa.Table, int]:
    """Drop the rows whose ``request_id`` is already in ``seen`` and add the new ids to it.

    Returns the kept rows and how many were dropped (also added to ``fsum.duplicates``)."""
    if "request_id" not in table.column_names:
        return table, 0
    ids = table.column("request_id")
    if ids.null_count == table.num_rows:
        return table, 0
    values = ids.to_pylist()
    batch_ids = set(values)
    batch_ids.discard(None)
    if len(batch_ids) == len(values) - ids.null_count and seen.isdisjoint(batch_ids):
        seen |= batch_ids  # the common case, all in C: no duplicate in this batch
        return table, 0
    keep: list[bool] = []
    dup_at: list[int] = []
    for i, rid in enumerate(values):
        if rid is None:
            keep.append(True)
        elif rid in seen:
            keep.append(False)
            dup_at.append(i)
        else:
            seen.add(rid)
            keep.append(True)
    if not dup_at:
        return table, 0
    fsum.duplicates += len(dup_at)
    lines = table.column("source_line") if "source_line" in table.column_names else None
    for i in dup_at:
        if len(summary.duplicates) < MAX_STORED:
            summary.duplicates.append(Duplicate(fsum.path, lines[i].as_py() if lines is not None else None, values[i]))
        else:
            summary.duplicates_not_stored += 1
    return table.filter(pa.array(keep, pa.bool_())), len(dup_at)
