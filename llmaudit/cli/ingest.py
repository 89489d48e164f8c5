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

__all__ = ["register"]


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
    from llmaudit.render.ingest import ReadProgress, render_ingest_summary
    from llmaudit.workflows.ingest import IngestOptions
    from llmaudit.workflows.ingest import ingest as run_ingest

    options = IngestOptions(tuple(paths), out_file, fmt=fmt, mapping=mapping, rejects=rejects, config=config,
                            engine=engine, scheduler=scheduler, host=host, store=not no_store, history=history)
    result = run_ingest(options, lambda: ReadProgress(None, "ingesting", out.stderr))
    if result.summary is not None:
        out.stderr.print(render_ingest_summary(result.summary, unpriced=result.written.unpriced,
                                               out_path=str(out_file), rows_written=result.written.rows))
    else:
        out.info(f"wrote {result.written.rows:,} priced rows to {out_file}")
    for warning in getattr(result.summary, "warnings", None) or ():
        out.warning(warning)


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest)
