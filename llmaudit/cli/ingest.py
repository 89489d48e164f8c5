"""`llmaudit ingest PATH... --out FILE.parquet`: normalize and price usage logs into one parquet."""

from __future__ import annotations

from pathlib import Path

import typer

from llmaudit.cli._output import out
from llmaudit.cli.options import (
    ConfigOption,
    EngineOption,
    HistoryOption,
    HostOption,
    MapOption,
    NoStoreOption,
    SchedulerOption,
)
from llmaudit.errors import UsageError

__all__ = ["parse_map", "register"]

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


def _refuse_inputs_as_outputs(paths: list[str], *outputs: Path | None) -> None:
    """``--rejects`` or ``--out`` naming an input would truncate it before it is read."""
    import os

    for output in outputs:
        if output is None or not output.exists():
            continue
        for raw in paths:
            if raw != "-" and os.path.exists(raw) and os.path.isfile(raw) and os.path.samefile(raw, output):
                raise UsageError(f"{output} is also an input; writing to it would destroy it before it is read")


def ingest(
    paths: list[str] = typer.Argument(..., help="Log files, directories or globs ('-' for stdin)."),
    out_file: Path = typer.Option(..., "--out", "-o", help="Parquet file to write."),
    fmt: str = typer.Option("auto", "--format", help="Log format: auto (sniff each file) or a reader name."),
    mapping: MapOption = None,
    rejects: Path | None = typer.Option(None, "--rejects", help="Write every rejected row to this JSONL file."),
    config: ConfigOption = None,
    engine: EngineOption = "local",
    scheduler: SchedulerOption = None,
    host: HostOption = None,
    no_store: NoStoreOption = False,
    history: HistoryOption = False,
) -> None:
    """Normalize usage logs to the llmaudit schema, price every row, write one parquet file."""
    import json

    from llmaudit.analysis.distributed import open_records_with
    from llmaudit.analysis.records import write_parquet
    from llmaudit.config import load_config
    from llmaudit.errors import redact
    from llmaudit.pricing import load_catalog
    from llmaudit.render.ingest import ReadProgress, render_ingest_summary

    if out_file.suffix.lower() != ".parquet":
        raise UsageError(f"--out {out_file}: the output is parquet; name it FILE.parquet")
    if engine == "local":
        from llmaudit.pandas_probe import skip_pandas_probe

        skip_pandas_probe()   # nothing below uses pandas; pyarrow would import it anyway (0.2-0.3 s)
    _refuse_inputs_as_outputs(paths, out_file, rejects)
    catalog = load_catalog(load_config(config))
    try:
        reject_fh = rejects.open("w", encoding="utf-8") if rejects is not None else None
    except OSError as exc:
        raise UsageError(f"--rejects {rejects}: cannot write: {exc.strerror}") from None
    try:
        def on_reject(r: object) -> None:
            if reject_fh is not None:
                row = r.as_dict()  # type: ignore[attr-defined]
                row["raw"] = redact(str(row.get("raw", "")))
                try:
                    reject_fh.write(json.dumps(row, ensure_ascii=False) + "\n")
                except OSError as exc:   # a full disk: not an input's fault, and not a bug
                    raise UsageError(f"--rejects {rejects}: cannot write: {exc.strerror or exc}") from None

        with ReadProgress(None, "ingesting", out.stderr) as bar:
            records = open_records_with(engine, paths, scheduler=scheduler, fmt=fmt, mapping=parse_map(mapping),
                                        progress=bar.advance, on_reject=on_reject, catalog=catalog, host=host,
                                        store=not no_store, history=history)
            bar.total = records.total_bytes
            result = write_parquet(records, catalog, out_file)
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
    if records.summary is not None:
        out.stderr.print(render_ingest_summary(records.summary, unpriced=result.unpriced, out_path=str(out_file),
                                               rows_written=result.rows))
    else:
        out.info(f"wrote {result.rows:,} priced rows to {out_file}")


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest)
