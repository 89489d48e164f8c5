"""`llmaudit replay PROMPTS.jsonl --models P/M[,P/M...]`: run a prompt set against many models."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from llmaudit.cli._output import out
from llmaudit.cli.options import (
    RUN_FORMATS,
    ConfigOption,
    ModelsOption,
    NoCacheOption,
    OfflineOption,
    RunFormatOption,
    SloOption,
)

if TYPE_CHECKING:
    from llmaudit.workflows.replay import DryRun


def replay(
    prompts: Annotated[Path, typer.Argument(
        metavar="PROMPTS.jsonl", help="Prompt set (JSONL; our shape or OpenAI Batch input lines).")],
    models: ModelsOption,
    out_dir: Path | None = typer.Option(
        None, "--out", "-o", metavar="RUN_DIR", help="Run directory.",
        show_default="runs/replay-<time>"
    ),
    resume: bool = typer.Option(False, "--resume", help="Continue a run in --out; finished requests are not resent."),
    retry_errors: bool = typer.Option(False, "--retry-errors", help="With --resume: send failed requests again."),
    max_cost: str | None = typer.Option(
        None, "--max-cost", metavar="USD", help="Stop sending before spend would pass USD."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print tokens and estimated cost per model; send nothing."),
    concurrency: int | None = typer.Option(
        None, "--concurrency", "-j", metavar="N", help="Requests in flight at once.", show_default="8"
    ),
    provider_concurrency: list[str] = typer.Option(
        [], "--provider-concurrency", metavar="P=N", help="PROVIDER=N in-flight cap."
    ),
    rpm: float | None = typer.Option(None, "--rpm", metavar="N", help="Requests per minute, all providers together."),
    provider_rpm: list[str] = typer.Option([], "--provider-rpm", metavar="P=N", help="PROVIDER=N requests per minute."),
    repeats: int = typer.Option(
        1, "--repeats", metavar="N", help="Send every prompt N times per model (noise measurement)."
    ),
    timeout: float | None = typer.Option(
        None, "--timeout", metavar="SECONDS", help="Seconds allowed per request attempt.", show_default="180"
    ),
    max_attempts: int | None = typer.Option(
        None, "--max-attempts", metavar="N", help="Attempts per request incl. retries.", show_default="5"
    ),
    default_output: int = typer.Option(
        256, "--default-output-tokens", metavar="N", help="Output assumed without max_tokens."
    ),
    no_cache: NoCacheOption = False,
    offline: OfflineOption = False,
    slo: SloOption = None,
    sweep: str | None = typer.Option(None, "--sweep", metavar="LEVELS", help="Run the prompt set "
                                     "once per load level (concurrency=1,4,16 or rate=1,5,20) into --out/LEVEL/."),
    rate: str | None = typer.Option(None, "--rate", metavar="R,R,...", help="A sweep over request rates per "
                                    "second with Poisson arrivals, e.g. 1,5,20 (same as --sweep rate=...)."),
    fmt: RunFormatOption = "table",
    config_path: ConfigOption = None,
) -> None:
    """Replay a prompt set against many models: cost, latency, tokens/s and pass rate per model."""
    from llmaudit.cli.report_run import show_run_report
    from llmaudit.render.run import ReplayProgress, summary_lines
    from llmaudit.workflows.replay import DryRun, ReplayCommandOptions
    from llmaudit.workflows.replay import replay as run_replay

    out.check_format(fmt, RUN_FORMATS)
    assert models is not None  # required: click refuses a command line without --models
    options = ReplayCommandOptions(
        prompts, tuple(models), out_dir=out_dir, resume=resume, retry_errors=retry_errors, max_cost=max_cost,
        dry_run=dry_run, concurrency=concurrency, provider_concurrency=tuple(provider_concurrency), rpm=rpm,
        provider_rpm=tuple(provider_rpm), repeats=repeats, timeout=timeout, max_attempts=max_attempts,
        default_output_tokens=default_output, no_cache=no_cache, offline=offline, slo=slo, sweep=sweep, rate=rate,
        config=config_path)
    result = run_replay(options, out, lambda simulated: ReplayProgress(out.stderr, simulated=simulated),
                        lambda level, summary: out.info(f"{level.label}: " + "; ".join(summary_lines(summary)[-1:])))
    if isinstance(result, DryRun):
        _show_dry_run(result, fmt)
        return
    if result.summary is not None:
        for line in summary_lines(result.summary):
            out.info(line)
        if result.summary.overran:
            out.warning(f"{', '.join(result.summary.overran)}: an answer cost more than its --max-cost reservation "
                        "(the server ignored max_tokens?); nothing more was sent to it, so the budget holds")
    show_run_report(result.report, fmt)
    failure = result.failure()
    if failure is not None:
        raise failure


def _show_dry_run(result: DryRun, fmt: str) -> None:
    from llmaudit.render.formats import usd
    from llmaudit.render.run import render_estimate

    summary, max_cost = result.estimate, result.max_cost
    out.emit(render_estimate(summary, fmt))
    if max_cost is None:
        return
    if summary.total_usd is None:
        out.warning(f"--max-cost cannot be enforced: no price for {', '.join(summary.unpriced_models)}")
    elif summary.total_usd > max_cost:
        out.warning(f"the estimate {usd(summary.total_usd, places=4)} is above --max-cost {usd(max_cost)}: "
                    "the run would stop before sending everything")
    else:
        out.info(f"the estimate fits within --max-cost {usd(max_cost)}")


def register(app: typer.Typer) -> None:
    app.command("replay")(replay)
