"""`llmaudit replay PROMPTS.jsonl --models P/M[,P/M...]`: run a prompt set against many models."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any

import typer

from llmaudit.cli._output import out
from llmaudit.cli.options import ConfigOption, ModelsOption, NoCacheOption, OfflineOption, RunFormatOption, SloOption
from llmaudit.errors import UsageError

_FORMATS = ("table", "json", "csv", "markdown")


def _pairs(values: list[str], flag: str) -> dict[str, float]:
    """``--provider-rpm openai=500`` (repeatable, or comma-separated) → {"openai": 500.0}."""
    result: dict[str, float] = {}
    for value in values:
        for item in value.split(","):
            name, sep, number = item.partition("=")
            try:
                parsed = float(number)
            except ValueError:
                parsed = -1
            if not sep or not name.strip() or parsed <= 0:
                raise UsageError(f"{flag}: expected PROVIDER=NUMBER (e.g. openai=4), got {item!r}")
            result[name.strip().lower()] = parsed
    return result


def _money(value: str | None) -> Decimal | None:
    if value is None:
        return None
    try:
        amount = Decimal(value.strip().lstrip("$"))
    except InvalidOperation:
        raise UsageError(f"--max-cost: {value!r} is not an amount in USD") from None
    if not amount.is_finite() or amount <= 0:
        raise UsageError("--max-cost must be a positive amount in USD")
    return amount


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
    assert models is not None  # required: click refuses a command line without --models
    from llmaudit.analysis.latency import parse_slo
    from llmaudit.config import load_config
    from llmaudit.replay import load_prompts
    from llmaudit.replay.prompts import ignored_parameters
    from llmaudit.replay.settings import options_from_config

    if fmt not in _FORMATS:
        raise UsageError(f"--format must be one of {', '.join(_FORMATS)}")
    if no_cache and offline:
        raise UsageError("--offline answers from the cache; it cannot be combined with --no-cache")
    if retry_errors and not resume:
        raise UsageError("--retry-errors only makes sense with --resume")
    objectives = parse_slo(slo) if slo is not None else None  # a typo fails before any work
    from llmaudit.replay.sweep import parse_levels

    levels = parse_levels(sweep, rate)
    if levels and (dry_run or resume):
        raise UsageError("--sweep/--rate run the prompt set live; they take neither --dry-run nor --resume")
    config = load_config(config_path)
    loaded = load_prompts(prompts)
    ignored = ignored_parameters(loaded)
    if ignored:
        listed = ", ".join(f"{k} ({n} prompts)" for k, n in sorted(ignored.items()))
        out.warning(f"OpenAI Batch parameters not replayed (they are vendor-specific): {listed}")
    if dry_run:
        _dry_run(loaded, models, config, repeats, default_output, fmt, _money(max_cost))
        return
    if out_dir is None:
        if resume:
            raise UsageError("--resume needs --out RUN_DIR (the run to continue)")
        out_dir = Path("runs") / datetime.now(UTC).strftime("replay-%Y%m%d-%H%M%S")
    options = options_from_config(
        config,
        concurrency=concurrency,
        provider_concurrency=_pairs(provider_concurrency, "--provider-concurrency"),
        rpm=rpm,
        provider_rpm=_pairs(provider_rpm, "--provider-rpm"),
        timeout_s=timeout,
        max_attempts=max_attempts,
        repeats=repeats,
        max_cost_usd=_money(max_cost),
        use_cache=not no_cache,
        offline=offline,
        resume=resume,
        retry_errors=retry_errors,
        default_output_tokens=default_output,
        prompts_path=str(prompts),
    )
    options.slo = objectives.to_json() if objectives is not None else None
    from llmaudit.pricing import load_catalog
    from llmaudit.replay.models import check_models, parse_models

    for warning in check_models(parse_models(models), config, load_catalog(config), strict=False):
        out.warning(warning)
    if levels:
        _sweep(loaded, models, out_dir, options, levels, fmt)
        return
    summary = _run(loaded, models, out_dir, options)
    for line in _summary_lines(summary):
        out.info(line)
    if summary.overran:
        out.warning(f"{', '.join(summary.overran)}: an answer cost more than its --max-cost reservation (the "
                    "server ignored max_tokens?); nothing more was sent to it, so the budget holds")
    from llmaudit.cli.report_run import report_run

    report_run(str(out_dir), fmt, None)
    _fail_if_a_model_never_answered(out_dir)


def _sweep(prompts: list[Any], models: list[str], out_dir: Path, options: Any, levels: list[Any], fmt: str) -> None:
    from llmaudit.cli.report_run import report_run
    from llmaudit.replay.sweep import run_sweep

    out.info(f"sweeping {len(prompts)} prompts × {', '.join(models)} over {', '.join(lv.label for lv in levels)} "
             f"into {out_dir} (the response cache is not read: a cached answer measures no load)")
    for level, summary in run_sweep(prompts, models, out_dir, options, levels):
        out.info(f"{level.label}: " + "; ".join(_summary_lines(summary)[-1:]))
    report_run(str(out_dir), fmt, None)
    for level in levels:
        _fail_if_a_model_never_answered(out_dir / level.folder)


def _fail_if_a_model_never_answered(out_dir: Path) -> None:
    """Exit 1 when a model ended the run with no successful request (no server, a misspelt model):
    a script must not read a run where nothing worked as a success."""
    from llmaudit.errors import CheckFailed
    from llmaudit.replay import read_results

    rows = read_results(out_dir).select(["model", "status"]).to_pylist()
    by_model: dict[str, list[str]] = {}
    for row in rows:
        by_model.setdefault(str(row["model"]), []).append(str(row["status"]))
    dead = sorted(m for m, statuses in by_model.items() if "ok" not in statuses)
    if dead:
        raise CheckFailed(f"no successful request for {', '.join(dead)} (see the error column in {out_dir})")


def _run(prompts: list[Any], models: list[str], out_dir: Path, options: Any) -> Any:
    from llmaudit.render.run import ReplayProgress
    from llmaudit.replay import parse_models, run_replay

    simulated = any(s.simulated for s in parse_models(models))
    out.info(f"replaying {len(prompts)} prompts against {', '.join(models)} into {out_dir}")
    try:
        with ReplayProgress(out.stderr, simulated=simulated) as progress:
            options.progress = progress.update
            return run_replay(prompts, models, out_dir, options)
    except KeyboardInterrupt:
        out.warning(f"finished results are kept in {out_dir}; add --resume --out {out_dir} to continue the run")
        raise


def _summary_lines(summary: Any) -> list[str]:
    from llmaudit.render.run import summary_lines

    return summary_lines(summary)


def _dry_run(
    prompts: list[Any],
    models: list[str],
    config: Any,
    repeats: int,
    default_output: int,
    fmt: str,
    max_cost: Decimal | None,
) -> None:
    from llmaudit.pricing import load_catalog
    from llmaudit.render.formats import usd
    from llmaudit.render.run import render_estimate
    from llmaudit.replay.estimate import estimate, summarize_estimate
    from llmaudit.replay.models import check_models, parse_models

    catalog = load_catalog(config)
    check_models(parse_models(models), config, catalog, strict=True)
    table = estimate(prompts, models, catalog, repeats=repeats, default_output_tokens=default_output)
    summary = summarize_estimate(table, default_output)
    rendered = render_estimate(summary, fmt)
    if isinstance(rendered, str):
        out.data(rendered)
    else:
        out.table(rendered)
    if max_cost is not None:
        if summary.total_usd is None:
            out.warning(f"--max-cost cannot be enforced: no price for {', '.join(summary.unpriced_models)}")
        elif summary.total_usd > max_cost:
            out.warning(
                f"the estimate {usd(summary.total_usd, places=4)} is above --max-cost {usd(max_cost)}: "
                "the run would stop before sending everything"
            )
        else:
            out.info(f"the estimate fits within --max-cost {usd(max_cost)}")


def register(app: typer.Typer) -> None:
    app.command("replay")(replay)
