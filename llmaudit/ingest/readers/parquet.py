"""llmaudit's own Parquet (``llmaudit ingest --out FILE.parquet``), read back in record batches.

Rows keep their provenance (``source_format``, ``source_file``, ``source_line`` of the original
log); ``cost_usd`` is cleared and ``price_status`` reset to ``unpriced`` because pricing always
re-prices from the catalog. Each row is re-validated against the invariants every reader's rows
meet (``ingest.validation``); a bad row is rejected with its 1-based row number in the Parquet file.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from llmaudit.errors import InputError
from llmaudit.ingest.source import Source
from llmaudit.ingest.summary import ReadContext
from llmaudit.ingest.validation import reject_invalid
from llmaudit.schema import REQUIRED, USAGE_SCHEMA, conform

__all__ = ["DAMAGED", "read", "sniff"]

_MAGIC = b"PAR1"
_BATCH = 65_536
# How pyarrow fails on a damaged file: its own errors, and Python ones from decoding damaged
# metadata (a column name that is not UTF-8).
DAMAGED = (pa.ArrowException, OSError, ValueError, TypeError, KeyError, IndexError)


def sniff(head: bytes, path: str) -> bool:
    return head.startswith(_MAGIC)


def read(source: Source, ctx: ReadContext) -> Iterator[pa.Table]:
    import pyarrow.parquet as pq

    stream = source.open()
    try:
        data = stream.read() if (source.is_stdin or source.compressed) else None
        try:
            pf = pq.ParquetFile(io.BytesIO(data) if data is not None else source.path)
            names = pf.schema_arrow.names
        except DAMAGED as exc:
            raise InputError(f"not a readable Parquet file ({exc})", path=ctx.path) from None
        missing = [n for n in REQUIRED if n not in names and n not in ("cost_usd",)]
        if missing:
            raise InputError(f"not an llmaudit usage Parquet file: missing columns {', '.join(missing)}",
                             path=ctx.path)
        yield from _batches(pf, ctx)
        if data is None and source.size:
            source.report_read(source.size)
    finally:
        stream.close()


def _batches(pf: Any, ctx: ReadContext) -> Iterator[pa.Table]:
    """The file's rows in batches, validated; a file damaged past its footer (a row group that does
    not decode) is an input error, not a traceback."""
    offset = 0
    batches = pf.iter_batches(batch_size=_BATCH)
    while True:
        try:
            batch = next(batches, None)
            if batch is None:
                return
            table = pa.Table.from_batches([batch])
            table.validate(full=True)   # a damaged page can hold strings that are not UTF-8
            table = conform(table)
        except DAMAGED as exc:
            raise InputError(f"not a readable Parquet file ({exc})", path=ctx.path) from None
        n = table.num_rows
        index = pa.array(range(offset + 1, offset + n + 1), pa.int64())
        table = table.set_column(table.schema.get_field_index("cost_usd"), "cost_usd", pa.nulls(n, pa.float64()))
        table = table.set_column(table.schema.get_field_index("price_status"), "price_status",
                                 pa.array(["unpriced"] * n, pa.string()))
        table = table.set_column(table.schema.get_field_index("model"), "model",
                                 pc.coalesce(table.column("model_raw"), table.column("model")))
        for name, fill in (("source_format", "parquet"), ("source_file", ctx.path)):
            i = table.schema.get_field_index(name)
            table = table.set_column(i, name, pc.fill_null(table.column(name), fill))
        i = table.schema.get_field_index("source_line")
        table = table.set_column(i, "source_line", pc.coalesce(table.column("source_line"), index))
        table, _ = reject_invalid(table, [ctx], counted=False, first_row=offset + 1)
        offset += n
        ctx.file.rows_read += table.num_rows
        yield table.select(USAGE_SCHEMA.names)
