"""``scan()``: expand inputs, pick a reader per file, stream normalized batches, keep the books.

Reading is lazy: ``Scan.batches()`` reads file after file and yields Arrow tables (cost still
null, ``price_status = "unpriced"``); ``Scan.summary`` fills in as batches are consumed. Formats
are sniffed eagerly, in ``scan()``, so an unknown file fails before anything is read.

Duplicates: a request id seen earlier in the same scan (any file) is dropped and counted; the
first occurrence wins. Rows without a request id are never treated as duplicates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pyarrow as pa

from llmaudit.errors import InputError, UnknownFormatError, UsageError
from llmaudit.ingest.dedup import SeenIds, drop_seen_ids
from llmaudit.ingest.reader import Reader
from llmaudit.ingest.readers.generic import check_mapping
from llmaudit.ingest.registry import READERS, SNIFF_ORDER
from llmaudit.ingest.source import Source, expand_inputs
from llmaudit.ingest.summary import FileSummary, IngestSummary, ReadContext, Reject

__all__ = ["Scan", "scan", "sniff"]


def sniff(head: bytes, path: str, *, mapping: bool = False) -> Reader | None:
    """The reader that recognises ``head`` (first bytes) / ``path``, or None."""
    if mapping:
        return READERS["generic"]
    for name in SNIFF_ORDER:
        reader = READERS[name]
        if reader.sniff(head, path):
            return reader
    return None


def _unknown(source: Source) -> UnknownFormatError:
    known = ", ".join(n for n in READERS)
    return UnknownFormatError(
        f"unrecognised log format. Known formats: {known}. Pass --format NAME to choose one, "
        "or --format generic with --map input_tokens=COLUMN,... for any CSV/JSONL",
        path=source.display,
    )


@dataclass
class _Planned:
    source: Source
    reader: Reader | None     # None = empty file


class Scan:
    """A lazy read of many inputs. Iterate ``batches()`` once; read ``summary`` any time."""

    def __init__(self, planned: list[_Planned], mapping: dict[str, str] | None,
                 on_reject: Callable[[Reject], None] | None) -> None:
        self._planned = planned
        self._mapping = mapping
        self._on_reject = on_reject
        self._seen_ids = SeenIds()
        self._consumed = False
        self.summary = IngestSummary(
            files=[FileSummary(p.source.display, p.reader.name if p.reader else "empty") for p in planned]
        )

    @property
    def total_bytes(self) -> int | None:
        """Sum of input sizes on disk (for a progress bar); None when stdin is among the inputs."""
        sizes = [p.source.size for p in self._planned]
        return None if any(s is None for s in sizes) else sum(s for s in sizes if s is not None)

    def batches(self) -> Iterator[pa.Table]:
        if self._consumed:
            raise RuntimeError("Scan.batches() can be iterated only once")
        self._consumed = True
        for planned, fsum in zip(self._planned, self.summary.files, strict=True):
            source = planned.source
            try:
                if planned.reader is None:
                    continue
                ctx = ReadContext(source.display, planned.reader.name, fsum, self.summary,
                                  mapping=self._mapping, on_reject=self._on_reject)
                for table in planned.reader.read(source, ctx):
                    table = self._dedup(table, fsum)
                    fsum.rows_kept += table.num_rows
                    if table.num_rows:
                        yield table
            except OSError as exc:
                raise InputError(f"read failed: {exc}", path=source.display) from None
            finally:
                fsum.bytes_read = source.bytes_read
                fsum.done = True
                source.close()

    def table(self) -> pa.Table:
        """Everything in one table (small inputs and tests)."""
        from llmaudit.schema import empty_table

        tables = list(self.batches())
        return pa.concat_tables(tables) if tables else empty_table()

    def _dedup(self, table: pa.Table, fsum: FileSummary) -> pa.Table:
        return drop_seen_ids(table, self._seen_ids, fsum, self.summary)[0]


def scan(paths: list[str], fmt: str = "auto", mapping: dict[str, str] | None = None,
         progress: Callable[[int], None] | None = None,
         on_reject: Callable[[Reject], None] | None = None) -> Scan:
    """Plan a read of ``paths`` (files, directories, globs, ``.gz``, ``-`` for stdin).

    ``fmt`` is ``"auto"`` (sniff each file) or a reader name (``READERS``). ``mapping`` maps schema
    columns to source columns for the ``generic`` reader (``{"input_tokens": "prompt_toks"}``).
    ``progress`` is called with the number of bytes just read (a delta; total in
    ``Scan.total_bytes``). ``on_reject`` receives every reject as it happens (to stream them to a
    file); ``summary.rejects`` keeps the first 100,000.
    """
    if fmt != "auto" and fmt not in READERS:
        raise UsageError(f"unknown format {fmt!r}; known formats: auto, {', '.join(READERS)}")
    if fmt == "generic" and not mapping:
        raise UsageError("--format generic needs a column mapping, e.g. --map input_tokens=prompt_toks,...")
    if mapping:
        if fmt not in ("auto", "generic"):
            raise UsageError(f"--map applies to --format generic, not {fmt}")
        check_mapping(mapping)
    sources = expand_inputs(paths)
    planned: list[_Planned] = []
    for source in sources:
        source.prepare(progress)
        if not source.head.strip():
            planned.append(_Planned(source, None))
            continue
        if fmt != "auto":
            planned.append(_Planned(source, READERS[fmt]))
            continue
        reader = sniff(source.head, source.path, mapping=bool(mapping))
        if reader is None:
            for other in sources:
                other.close()
            raise _unknown(source)
        planned.append(_Planned(source, reader))
    return Scan(planned, mapping, on_reject)
