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
    from llmaudit.render.policy import FORMATS, export_policy
    from llmaudit.workflows.policy import PolicyOptions, routing_policy

    if to not in FORMATS:
        raise UsageError(f"--to {to!r}: choose one of {', '.join(FORMATS)}")
    out.check_writable(out_file, "--out")
    chosen = routing_policy(PolicyOptions(tuple(source), threshold, log_format, config))
    result = export_policy(chosen.policy, to, catalog=chosen.catalog)
    for route in chosen.policy.routes:
        out.info(f"{route.name}: {' → '.join(route.models)} ({route.rule})")
    for note in result.notes:
        out.warning(note)
    if out_file is None:
        out.data(result.text)
    else:
        out.write(out_file, result.text, "--out")
