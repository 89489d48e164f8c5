"""`llmaudit check`: fail a build when cost, tokens, latency or pass rate regress against a baseline.

Three ways to measure (the comparison is the same): ``--estimate`` counts a prompt set's tokens
locally and prices them (no key, no network); ``--offline`` replays the prompt set from the
response cache; a replay run directory is measured as it is. Without either flag a prompt set is
replayed live (keys needed, or ``sim/*`` models).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from llmaudit.cli._output import out
from llmaudit.cli.options import (
    CheckFormat,
    CheckFormatOption,
    ConfigOption,
    ModelsOption,
    NoCacheOption,
    OfflineOption,
    SloOption,
)
from llmaudit.errors import UsageError

if TYPE_CHECKING:
    from llmaudit.workflows.check import CheckResult


def register(app: typer.Typer) -> None:
    app.command(
        "check",
        help="Compare cost, tokens, p95 latency and pass rate with a committed baseline; exit 1 on a regression.",
        no_args_is_help=True,
    )(check)


def check(
    target: str = typer.Argument(
        ..., help="A prompt set (JSONL) or a replay run directory.", show_default=False, metavar="PROMPTS.jsonl|RUN_DIR"
    ),
    models: ModelsOption = None,
    estimate: bool = typer.Option(False, "--estimate", help="Count tokens locally and price them: no API call."),
    offline: OfflineOption = False,
    no_cache: NoCacheOption = False,
    baseline: str = typer.Option(
        None, "--baseline", "-b", metavar="FILE", help="Baseline JSON [default: llmaudit-baseline.json]."
    ),
    write_baseline: bool = typer.Option(False, "--write-baseline", help="Create or update the baseline and exit 0."),
    volume: str = typer.Option(
        None, "--volume", metavar="N", help="Requests per month for the cost/month line, e.g. 10M."
    ),
    max_cost_increase: str = typer.Option(None, metavar="PCT", help="Fail above this cost/request increase, e.g. 5%."),
    warn_cost_increase: str = typer.Option(None, metavar="PCT", help="Warn above this cost/request increase."),
    max_token_increase: str = typer.Option(None, metavar="PCT", help="Fail above this input/output tokens increase."),
    warn_token_increase: str = typer.Option(None, metavar="PCT", help="Warn above this tokens increase."),
    max_p95_increase: str = typer.Option(None, metavar="PCT", help="Fail above this p95 latency increase."),
    warn_p95_increase: str = typer.Option(None, metavar="PCT", help="Warn above this p95 latency increase."),
    min_pass_rate: str = typer.Option(
        None, metavar="PCT", help="Fail when the pass rate is surely below this, e.g. 90%."
    ),
    warn_pass_rate: str = typer.Option(None, metavar="PCT", help="Warn when the pass rate is below this."),
    slo: SloOption = None,
    min_goodput: str = typer.Option(None, metavar="PCT", help="Fail when goodput is surely below this, e.g. 95%."),
    warn_goodput: str = typer.Option(None, metavar="PCT", help="Warn when goodput is below this."),
    max_pass_rate_drop: str = typer.Option(
        None, metavar="PCT", help="Fail when the pass rate drops more than this (points)."
    ),
    max_monthly_increase: str = typer.Option(
        None, metavar="USD", help="Fail when cost/month grows by more than this, e.g. $500."
    ),
    warn_monthly_increase: str = typer.Option(
        None, metavar="USD", help="Warn when cost/month grows by more than this."
    ),
    mix: Path = typer.Option(
        None, "--mix", metavar="MIX.json",
        help="Weight cost, tokens and cost/month by production traffic (from `llmaudit mix`).",
    ),
    allowed_max_increase: str = typer.Option(
        None, metavar="PCT|USD", help="Fail when all models' summed cost/request grows more than this (8%, $500)."
    ),
    repeats: int = typer.Option(
        1, "--repeats", metavar="N", help="Replay each prompt N times (noise bands for latency, tokens)."
    ),
    run_dir: Path = typer.Option(
        None, "--run-dir", metavar="DIR", help="Keep the replay run here.",
        show_default="a temporary folder"
    ),
    fmt: CheckFormatOption = CheckFormat.table,
    comment_mode: str = typer.Option(
        None, "--comment-mode", metavar="MODE",
        help="With --format markdown: always, on-change or on-increase (print nothing when quiet).",
    ),
    junit: Path = typer.Option(None, "--junit", metavar="FILE", help="Also write JUnit XML to this file."),
    config_path: ConfigOption = None,
) -> None:
    from llmaudit.render import check as view
    from llmaudit.render.run import ReplayProgress
    from llmaudit.workflows.check import CheckOptions, run_check

    if comment_mode is not None and fmt is not CheckFormat.markdown:
        raise UsageError("--comment-mode shapes the Markdown comment; add --format markdown")
    thresholds = {
        "max_cost_increase": max_cost_increase, "warn_cost_increase": warn_cost_increase,
        "max_token_increase": max_token_increase, "warn_token_increase": warn_token_increase,
        "max_p95_increase": max_p95_increase, "warn_p95_increase": warn_p95_increase,
        "min_pass_rate": min_pass_rate, "warn_pass_rate": warn_pass_rate, "max_pass_rate_drop": max_pass_rate_drop,
        "max_monthly_increase": max_monthly_increase, "warn_monthly_increase": warn_monthly_increase,
        "min_goodput": min_goodput, "warn_goodput": warn_goodput,
        "allowed_max_increase": allowed_max_increase,
    }  # fmt: skip
    options = CheckOptions(target, tuple(models or ()), estimate=estimate, offline=offline, no_cache=no_cache,
                           baseline=baseline, write_baseline=write_baseline, volume=volume, thresholds=thresholds,
                           slo=slo, mix=mix, repeats=repeats, run_dir=run_dir, comment_mode=comment_mode,
                           config=config_path)
    result = run_check(options, out, lambda simulated: ReplayProgress(out.stderr, simulated=simulated))
    if not result.wrote_baseline:
        _emit(result.report, fmt, junit, view, result.comment_mode)
    else:
        _baseline_written(result, fmt, junit, view)
    failure = result.failure()
    if failure is not None:
        raise failure


def _baseline_written(result: CheckResult, fmt: CheckFormat, junit: Path | None, view: Any) -> None:
    """People see what changes they accept; JSON gets the new baseline."""
    path, current = result.baseline_path, result.current
    if fmt is CheckFormat.json:
        out.json(current.to_dict())
    elif result.report is not None:
        out.info(f"changes against the previous {path}, accepted into the new baseline:")
        _emit(result.report, fmt, junit, view)
    else:
        out.emit(view.render_measurement_markdown(current) if fmt is CheckFormat.markdown
                 else view.render_measurement_table(current))
    out.info(f"wrote baseline {path}: {len(current.models)} model(s), mode {current.mode}; commit it")


def _emit(report: Any, fmt: CheckFormat, junit: Path | None, view: Any, mode: str = "always") -> None:
    if fmt is CheckFormat.json:
        from llmaudit.render.check_text import check_json

        out.json(check_json(report))
    elif fmt is CheckFormat.markdown:
        body = view.render_comment(report, mode)
        if body is None:  # stdout stays empty: the workflow posts nothing new
            moved = "moved for the worse" if mode == "on-increase" else "changed"
            out.info(f"comment mode {mode}: nothing {moved} against the baseline; no comment")
        else:
            out.data(body)
    else:
        out.table(view.render_table(report))
    out.step_summary(view.render_markdown(report))
    if junit is not None:
        out.write(junit, view.render_junit(report), "--junit", wrote=None)
