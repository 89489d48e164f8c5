"""`llmaudit policy export RUN_DIR|LOGS --to litellm|openrouter|portkey`: the chosen routing, deployable."""

from __future__ import annotations

from pathlib import Path

import typer

from llmaudit.cli._output import out
from llmaudit.cli.options import ConfigOption, LogFormatOption, ThresholdOption
from llmaudit.errors import UsageError

__all__ = ["app"]

app = typer.Typer(help="Routing policies to deploy on a gateway.", no_args_is_help=True)


@app.command("export")
def export(
    source: list[str] = typer.Argument(..., help="A replay run directory, or usage logs (files, folders, globs)."),
    to: str = typer.Option(..., "--to", help="litellm (proxy config.yaml) | openrouter (request presets) | "
                           "portkey (gateway config)."),
    out_file: Path | None = typer.Option(None, "--out", "-o", help="Write here instead of stdout."),
    threshold: ThresholdOption = 0.9,
    log_format: LogFormatOption = "auto",
    config: ConfigOption = None,
) -> None:
    """Write the routing a replay run measured (per prompt category) or the routed what-if chose for
    your logs (per logged model) as a gateway config, with fallbacks; the notes on stderr say what
    was left out and why."""
    from llmaudit.analysis.policy import policy_from_run, policy_from_whatif
    from llmaudit.config import load_config
    from llmaudit.pricing import load_catalog
    from llmaudit.render.policy import FORMATS, export_policy
    from llmaudit.replay import is_run_dir, read_results

    if to not in FORMATS:
        raise UsageError(f"--to {to!r}: choose one of {', '.join(FORMATS)}")
    folder = out_file.parent if out_file is not None and str(out_file.parent) else Path(".")
    if out_file is not None and (out_file.is_dir() or not folder.is_dir()):
        raise UsageError(f"--out {out_file}: not a file in an existing folder")
    cfg = load_config(config)
    catalog = load_catalog(cfg)
    if len(source) == 1 and is_run_dir(source[0]):
        policy = policy_from_run(read_results(source[0]), threshold=threshold, source=f"run {source[0]}")
    else:
        from llmaudit.analysis.records import open_records
        from llmaudit.analysis.spend import SpendOptions, build_spend

        records = open_records(source, fmt=log_format, store=True)
        report = build_spend(records.batches(), catalog, SpendOptions(), config=cfg, inputs=source,
                             ingest_summary=records.summary)
        if report.whatif is None:
            raise UsageError("no priced traffic in these logs to route")
        policy = policy_from_whatif(report.whatif, source=f"logs {' '.join(source)}")
    result = export_policy(policy, to, catalog=catalog)
    for route in policy.routes:
        out.info(f"{route.name}: {' → '.join(route.models)} ({route.rule})")
    for note in result.notes:
        out.warning(note)
    if out_file is None:
        out.data(result.text)
    else:
        out_file.write_text(result.text)
        out.info(f"wrote {out_file}")
