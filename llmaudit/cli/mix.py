"""`llmaudit mix`: the traffic mix of production logs, for `llmaudit check --mix`.

    llmaudit mix logs/ --out mix.json                 # share of requests and tokens per category:X tag
    llmaudit mix usage.parquet --by project --out mix.json
    llmaudit mix logs/                                # the mix as JSON on stdout
"""

from __future__ import annotations

from pathlib import Path

import typer

from llmaudit.cli._output import out
from llmaudit.cli.options import LogFormatOption


def register(app: typer.Typer) -> None:
    app.command(
        "mix",
        help="Share of requests and tokens per prompt category in production logs, for `check --mix`.",
        no_args_is_help=True,
    )(mix)


def mix(
    paths: list[str] = typer.Argument(..., metavar="LOGS...", help="Usage logs (files, folders) or ingested parquet."),
    by: str = typer.Option(
        "category", "--by", metavar="KEY",
        help="category: the value of each request's category:NAME tag; project: its project column.",
    ),
    out_file: Path = typer.Option(None, "--out", metavar="FILE", help="Write the mix here (without it: stdout)."),
    log_format: LogFormatOption = "auto",
) -> None:
    from llmaudit.render.mix import mix_json, render_mix_table
    from llmaudit.workflows.mix import MixOptions, traffic_mix

    result = traffic_mix(MixOptions(tuple(paths), by, log_format))
    s = result.summary
    out.info(f"read {s.rows_read:,} rows: {s.rows_kept:,} kept, {s.rows_rejected:,} rejected, "
             f"{s.duplicate_count:,} duplicates")  # fmt: skip
    if out_file is None:
        out.json(result.mix.to_dict())
        return
    out.write(out_file, mix_json(result.mix), "--out", wrote=None)
    out.table(render_mix_table(result.mix))
    out.info(f"wrote {out_file}: {len(result.mix.shares)} {by} key(s); use it with `llmaudit check --mix {out_file}`")
