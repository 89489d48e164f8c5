"""``llmaudit ingest PATH... --out FILE.parquet``: normalize and price usage logs into one parquet.

Every row read is kept, rejected (and, with ``rejects``, written to a JSONL file with its reason)
or counted as a duplicate; the result says how many of each.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from llmaudit.errors import UsageError
from llmaudit.workflows.notices import TotalProgress, no_progress

if TYPE_CHECKING:
    from llmaudit.analysis.common.records import WriteResult

__all__ = ["IngestOptions", "IngestResult", "ingest", "parse_map"]


def parse_map(text: str | None) -> dict[str, str] | None:
    """``input_tokens=prompt_toks,output_tokens=completion_toks`` → dict (schema column → source column)."""
    if not text:
        return None
    mapping: dict[str, str] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        column, sep, source = part.partition("=")
        if not sep or not column.strip() or not source.strip():
            raise UsageError(f"--map: {part!r} is not COLUMN=SOURCE_FIELD")
        mapping[column.strip()] = source.strip()
    return mapping


@dataclass(frozen=True)
class IngestOptions:
    paths: tuple[str, ...]
    out_file: Path
    fmt: str = "auto"  # a reader name, or auto: sniff each file
    mapping: str | None = None  # --map, for the generic reader
    rejects: Path | None = None  # every rejected row, as JSONL
    config: Path | None = None
    engine: str = "local"  # local | dask
    scheduler: str | None = None
    host: str | None = None
    store: bool = True  # read through the local store of logs already read
    history: bool = False


@dataclass(frozen=True)
class IngestResult:
    summary: Any  # ingest.reader summary: per file read / kept / rejected / duplicates (None on dask)
    written: WriteResult


def ingest(options: IngestOptions,
           progress: Callable[[], AbstractContextManager[TotalProgress]] | None = None) -> IngestResult:
    """Read, normalize and price ``options.paths`` into ``options.out_file``."""
    from llmaudit.analysis.common.distributed import open_records_with
    from llmaudit.analysis.common.records import write_parquet
    from llmaudit.config import load_config
    from llmaudit.pricing import load_catalog

    out_file, rejects = options.out_file, options.rejects
    if out_file.suffix.lower() != ".parquet":
        raise UsageError(f"--out {out_file}: the output is parquet; name it FILE.parquet")
    if options.engine == "local":
        from llmaudit.pandas_probe import skip_pandas_probe

        skip_pandas_probe()   # nothing below uses pandas; pyarrow would import it anyway (0.2-0.3 s)
    _refuse_inputs_as_outputs(options.paths, out_file, rejects)
    catalog = load_catalog(load_config(options.config))
    try:
        reject_fh = rejects.open("w", encoding="utf-8") if rejects is not None else None
    except OSError as exc:
        raise UsageError(f"--rejects {rejects}: cannot write: {exc.strerror}") from None
    try:
        with (progress or no_progress)() as bar:
            records = open_records_with(options.engine, list(options.paths), scheduler=options.scheduler,
                                        fmt=options.fmt, mapping=parse_map(options.mapping), progress=bar.advance,
                                        on_reject=_reject_writer(reject_fh, rejects), catalog=catalog,
                                        host=options.host, store=options.store, history=options.history)
            bar.total = records.total_bytes
            written = write_parquet(records, catalog, out_file)
        if reject_fh is not None:
            try:
                reject_fh.flush()
            except OSError as exc:
                raise UsageError(f"--rejects {rejects}: cannot write: {exc.strerror or exc}") from None
    finally:
        if reject_fh is not None:
            try:
                reject_fh.close()
            except OSError:
                pass   # the write or flush that failed said so already
    return IngestResult(records.summary, written)


def _reject_writer(fh: IO[str] | None, path: Path | None) -> Callable[[Any], None]:
    from llmaudit.errors import redact

    def on_reject(r: Any) -> None:
        if fh is not None:
            row = r.as_dict()
            row["raw"] = redact(str(row.get("raw", "")))
            try:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            except OSError as exc:   # a full disk: not an input's fault, and not a bug
                raise UsageError(f"--rejects {path}: cannot write: {exc.strerror or exc}") from None

    return on_reject


def _refuse_inputs_as_outputs(paths: tuple[str, ...], *outputs: Path | None) -> None:
    """``--rejects`` or ``--out`` naming an input would truncate it before it is read."""
    import os

    for output in outputs:
        if output is None or not output.exists():
            continue
        for raw in paths:
            if raw != "-" and os.path.exists(raw) and os.path.isfile(raw) and os.path.samefile(raw, output):
                raise UsageError(f"{output} is also an input; writing to it would destroy it before it is read")
