"""Usage records from PATHs: raw logs (through ``ingest.scan``) and llmaudit parquet, batch by batch.

``report --spend`` accepts both: a parquet file written by ``llmaudit ingest`` is read in row-group
batches (already priced), everything else goes through the ingest readers. Either way the caller
sees one stream of schema-conforming tables and one byte count for a progress bar, and every row
met the same invariants (``ingest.validation``): a parquet row that breaks one is rejected with its
row number, as a log line is.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from llmaudit.errors import InputError

__all__ = ["Records", "WriteResult", "open_records", "stamp_host", "write_parquet"]

_BATCH_ROWS = 65_536


class Records:
    def __init__(self, parquet: list[Path], scan: Any | None, progress: Callable[[int], None] | None,
                 on_reject: Callable[[Any], None] | None = None) -> None:
        from llmaudit.ingest import FileSummary, IngestSummary

        self.parquet = parquet
        self.scan = scan
        self._progress = progress
        self._on_reject = on_reject
        # Parquet inputs are accounted like raw logs (one FileSummary each), so every input shows.
        self._parquet_files = [FileSummary(str(p), "parquet") for p in parquet]
        self._parquet_books = IngestSummary(files=self._parquet_files)

    @property
    def summary(self) -> Any:
        """Per input file: reader, rows read / kept / rejected, duplicates (an ``IngestSummary``)."""
        from llmaudit.ingest import IngestSummary

        books = self._parquet_books
        if self.scan is None:
            return IngestSummary(files=list(self._parquet_files), rejects=list(books.rejects),
                                 rejects_not_stored=books.rejects_not_stored)
        raw = self.scan.summary
        if not self._parquet_files:
            return raw
        return IngestSummary(files=[*self._parquet_files, *raw.files], rejects=[*books.rejects, *raw.rejects],
                             duplicates=raw.duplicates,
                             rejects_not_stored=books.rejects_not_stored + raw.rejects_not_stored,
                             duplicates_not_stored=raw.duplicates_not_stored)

    @property
    def total_bytes(self) -> int | None:
        size = sum(p.stat().st_size for p in self.parquet)
        if self.scan is None:
            return size
        raw = self.scan.total_bytes
        return None if raw is None else raw + size

    def start(self) -> None:
        """Start reading the logs ahead on worker processes, where the read uses them (``Scan.start``)."""
        if self.scan is not None:
            self.scan.start()

    def close(self) -> None:
        """Stop a read started with ``start`` that will not be taken."""
        if self.scan is not None:
            self.scan.close()

    def batches(self) -> Iterator[pa.Table]:
        from llmaudit.ingest.summary import ReadContext

        for path, fsum in zip(self.parquet, self._parquet_files, strict=True):
            ctx = ReadContext(str(path), "parquet", fsum, self._parquet_books, on_reject=self._on_reject)
            for table in _read_parquet(path, self._progress, ctx):
                fsum.rows_kept += table.num_rows
                yield table
            fsum.done = True
        if self.scan is not None:
            yield from self.scan.batches()


def _read_parquet(path: Path, progress: Callable[[int], None] | None, ctx: Any) -> Iterator[pa.Table]:
    """An llmaudit parquet in batches; rows that break the invariants are rejected to ``ctx`` (an
    ``ingest.summary.ReadContext``) with their row numbers, the rest counted read and yielded."""
    import pyarrow.parquet as pq

    from llmaudit.ingest.readers.parquet import DAMAGED
    from llmaudit.ingest.validation import reject_invalid
    from llmaudit.schema import REQUIRED, conform

    try:
        pf = pq.ParquetFile(path)
        names = pf.schema_arrow.names
    except DAMAGED as exc:
        raise InputError(f"not a readable parquet file: {exc}", path=str(path)) from None
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        raise InputError(f"not an llmaudit usage parquet (missing columns: {', '.join(missing)}); "
                         "write one with `llmaudit ingest LOGS --out FILE.parquet`", path=str(path))
    size = path.stat().st_size
    rows = max(pf.metadata.num_rows, 1)
    offset = 0
    try:
        for batch in pf.iter_batches(batch_size=_BATCH_ROWS):
            if progress is not None:
                progress(size * batch.num_rows // rows)
            table = pa.Table.from_batches([batch])
            table.validate(full=True)   # a damaged page can hold strings that are not UTF-8
            table, _ = reject_invalid(conform(table), [ctx], counted=False, first_row=offset + 1)
            offset += batch.num_rows
            ctx.file.rows_read += table.num_rows
            yield table
    except DAMAGED as exc:
        raise InputError(f"parquet read failed: {exc}", path=str(path)) from None


def _split(paths: list[str]) -> tuple[list[Path], list[str]]:
    """Parquet files (given directly or found in a directory) apart from everything else."""
    parquet: list[Path] = []
    raw: list[str] = []
    for text in paths:
        p = Path(text)
        if p.is_file() and p.suffix.lower() == ".parquet":
            parquet.append(p)
        elif p.is_dir():
            found = sorted(q for q in p.rglob("*.parquet") if not _hidden(q, p))
            if not found:
                raw.append(text)
                continue
            parquet.extend(found)
            raw.extend(str(q) for q in sorted(p.rglob("*"))
                       if q.is_file() and q.suffix.lower() != ".parquet" and not _hidden(q, p))
        else:
            raw.append(text)
    return parquet, raw


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def open_records(paths: list[str], *, fmt: str = "auto", mapping: dict[str, str] | None = None,
                 progress: Callable[[int], None] | None = None,
                 on_reject: Callable[[Any], None] | None = None, store: bool = False,
                 history: bool = False, listed: list[Any] | None = None) -> Records:
    """Plan a read of ``paths``; missing files fail here, and inputs none of which is in a known
    format fail here too (or, where worker processes sniff them, before any row is handed on).
    ``store``: read through the local store (files unchanged since they were last read are not
    parsed again); ``history``: also files it read under these folders that are gone since."""
    from llmaudit.ingest import scan

    parquet, raw = _split(paths)
    missing = [p for p in raw if p != "-" and not any(c in p for c in "*?[") and not Path(p).exists()]
    if missing:
        raise InputError("no such file or directory", path=missing[0])
    kept = None
    if history and not store:
        from llmaudit.errors import UsageError

        raise UsageError("--history reads deleted logs from the store; it cannot be used with --no-store")
    if store and raw:
        from llmaudit.ingest.store import open_store

        kept = open_store()
    # ``listed`` (the remembered-answer check's listing of ``paths``) stands for the walk when every
    # path is a raw log; Parquet inputs are read apart, so the scan then lists its own.
    plan = scan(raw, fmt, mapping, progress=progress, on_reject=on_reject, store=kept, history=history,
                listed=listed if not parquet else None) if raw else None
    return Records(parquet, plan, progress, on_reject)


class _Stamped:
    """``records`` (local or distributed) whose every batch says it came from ``host``."""

    def __init__(self, records: Any, host: str) -> None:
        self._records = records
        self._host = host

    def __getattr__(self, name: str) -> Any:
        return getattr(self._records, name)

    def batches(self) -> Iterator[pa.Table]:
        for table in self._records.batches():
            column = pa.repeat(pa.scalar(self._host, pa.string()), table.num_rows)
            at = table.schema.get_field_index("host")
            yield table.set_column(at, "host", column) if at >= 0 else table.append_column("host", column)


def stamp_host(records: Any, host: str | None) -> Any:
    """``--host NAME``: rows read from these inputs came from machine NAME (whatever a reader could
    tell from a path), so exports merged from several machines stay apart; ``None`` changes nothing."""
    if host is None:
        return records
    host = host.strip()
    if not host:
        from llmaudit.errors import UsageError

        raise UsageError("--host: give the machine's name")
    return _Stamped(records, host)


class WriteResult:
    """What ``write_parquet`` wrote: rows, and the unpriced rows by (model, status)."""

    def __init__(self) -> None:
        self.rows = 0
        self.unpriced_rows = 0
        self.unpriced: dict[tuple[str, str], int] = {}


def write_parquet(records: Records, catalog: Any, out: Path) -> WriteResult:
    """Price every batch and stream it into ``out`` (written to a temp file, renamed when complete)."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from llmaudit.pricing import price_table
    from llmaudit.schema import USAGE_SCHEMA, conform

    result = WriteResult()
    # A name of its own per run: two runs writing the same --out must not write one temp file (the
    # later rename wins whole; neither leaves a torn file).
    tmp = out.with_name(f".{out.name}.{os.getpid()}.{secrets.token_hex(4)}.part")
    try:
        with pq.ParquetWriter(tmp, USAGE_SCHEMA) as writer:
            for batch in records.batches():
                priced = conform(price_table(batch, catalog)).select(USAGE_SCHEMA.names)
                priced = priced.cast(USAGE_SCHEMA)
                writer.write_table(priced)
                result.rows += priced.num_rows
                unpriced = pc.is_null(priced.column("cost_usd"))
                if pc.any(unpriced).as_py():
                    sub = priced.filter(unpriced)
                    result.unpriced_rows += sub.num_rows
                    grouped = sub.group_by(["model", "price_status"]).aggregate([("model", "count")])
                    for row in grouped.to_pylist():
                        key = (str(row["model"]), str(row["price_status"]))
                        result.unpriced[key] = result.unpriced.get(key, 0) + int(row["model_count"])
        tmp.replace(out)
    except OSError as exc:
        raise InputError(f"cannot write: {exc.strerror or exc}", path=str(out)) from None
    finally:
        if tmp.exists():
            tmp.unlink()
    return result
