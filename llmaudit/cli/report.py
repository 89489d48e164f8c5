"""`llmaudit report`: the spend audit (`--spend PATH...`) or a replay run's report (`RUN_DIR`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from llmaudit.cli._output import WIDE_HELP, out
from llmaudit.cli.ingest import HistoryOption, HostOption, NoStoreOption
from llmaudit.errors import UsageError

if TYPE_CHECKING:
    from llmaudit.analysis.spend.focus import FocusExport
    from llmaudit.analysis.spend.insights import SpendInsights
    from llmaudit.cli.report_run import RoutingFlags

__all__ = ["register"]

_FORMATS = ("table", "json", "csv", "markdown", "focus")


def report(
    paths: list[str] = typer.Argument(..., help="Usage logs / llmaudit parquet (with --spend), or a RUN_DIR."),
    spend: bool = typer.Option(False, "--spend", help="Audit spend from usage logs or an ingested parquet."),
    by: str | None = typer.Option(None, "--by", help="Breakdowns, comma-separated: model, provider, vendor, "
                                  "day, week, month, tag, user, session, project, host, key, source; join two with + "
                                  "to cross them (model+day)."),
    since: str | None = typer.Option(None, "--since", help="From this date/time (inclusive; --timezone)."),
    until: str | None = typer.Option(None, "--until", help="Up to this date/time (exclusive; --timezone)."),
    timezone: str = typer.Option("UTC", "--timezone", help="IANA timezone for day boundaries."),
    currency: str = typer.Option("USD", "--currency", help="Report currency (needs --fx-rate unless USD)."),
    fx_rate: str | None = typer.Option(None, "--fx-rate", help="Units of --currency per USD, e.g. 0.92."),
    fmt: str = typer.Option("table", "--format", help="table | json | csv | markdown | focus. csv is one tidy table: "
                            "one header, and a 'table' column naming each part (breakdown, savings, …)."),
    html: Path | None = typer.Option(None, "--html", help="Also write a self-contained HTML report."),
    whatif: bool = typer.Option(True, "--whatif/--no-whatif", help="Include the provider / routing what-if."),
    byok: bool = typer.Option(False, "--byok", help="Routed what-if with the BYOK fee instead of the platform fee."),
    top: int = typer.Option(20, "--top", help="Billed-vs-recomputed differences to list (all are counted)."),
    tolerance: float = typer.Option(1.0, "--tolerance", help="Percent difference that counts as a mismatch."),
    log_format: str = typer.Option("auto", "--log-format", help="Reader for raw logs: auto or a reader name."),
    mapping: str | None = typer.Option(None, "--map", help="Column mapping for --log-format generic."),
    now: str | None = typer.Option(None, "--now", help="Treat this ISO time as now (projection; reproducible)."),
    config: Path | None = typer.Option(None, "--config", help="Config file.",
                                         show_default="./llmaudit.toml"),
    engine: str = typer.Option("local", "--engine", help="local | dask: read and price the input files on dask "
                               "workers (same numbers)."),
    scheduler: str | None = typer.Option(None, "--scheduler", help="dask scheduler address, e.g. "
                                         "tcp://10.0.0.5:8786.", show_default="a LocalCluster on this machine"),
    volume: str | None = typer.Option(None, "--volume", help="Scale the savings table to a monthly volume, "
                                      "e.g. 10B-tokens/month or 2M-requests/month (logs and RUN_DIR)."),
    reference: str | None = typer.Option(None, "--reference", help="RUN_DIR: unchecked prompts pass when they "
                                         "agree with this model's answer."),
    judge: str | None = typer.Option(None, "--judge", help="RUN_DIR: an LLM judge (provider/model) grades "
                                     "unchecked answers; its calls are priced."),
    rubric: str | None = typer.Option(None, "--rubric", help="RUN_DIR: judge rubric text, or @FILE."),
    prompts: str | None = typer.Option(None, "--prompts", help="RUN_DIR: the prompt set (for --judge)."),
    threshold: float = typer.Option(0.9, "--threshold", min=0.0, max=1.0,
                                    help="RUN_DIR, --quality: the pass rate a model needs in a category."),
    quality: Path | None = typer.Option(None, "--quality", help="Logs: route each request among the models "
                                        "this replay run measured passing its category (tag category:NAME; "
                                        "else all prompts), instead of the capability tiers.",
                                        metavar="RUN_DIR"),
    slo: str | None = typer.Option(None, "--slo", metavar="METRIC=TIME,...", help="RUN_DIR: count goodput "
                                   "against these objectives, e.g. ttft=500ms,tpot=50ms,e2e=10s (metrics: ttft, "
                                   "tpot, itl, e2e; without it: the ones the run was made with)."),
    budget: list[str] | None = typer.Option(None, "--budget", help="Repeatable: "
                                            "'anthropic/*=5000/month', 'user:alice=200/week', '*=50/day'; "
                                            "exit 3 if one is projected to be passed, 4 if one was passed.",
                                            metavar="SCOPE=AMOUNT/PERIOD"),
    alert_at: str | None = typer.Option(None, "--alert-at", help="Budget share that shows 'alert'.",
                                          show_default="80%"),
    anomalies: bool = typer.Option(False, "--anomalies", help="List days of unusual spend per model, provider, "
                                   "user, tag and key (weekday-aware median/MAD) with the requests behind them."),
    forecast: bool = typer.Option(False, "--forecast", help="Month-end and next-30-day spend with an 80% "
                                  "prediction interval (backtested on the logs' own history)."),
    explain: bool = typer.Option(False, "--explain", help="Why the bill is what it is: cache economics, Batch "
                                 "API candidates, prompt growth and costliest sessions, billed-vs-recomputed gaps "
                                 "by cause."),
    batchable: list[str] | None = typer.Option(None, "--batchable", help="Repeatable, with --explain: requests "
                                               "that could wait for a Batch API, 'tag:NAME' or 'latency:30s' "
                                               "(without it: the tag batchable, or a tag starting batch-).",
                                               metavar="RULE"),
    plan_flags: list[str] | None = typer.Option(None, "--plan", help="Repeatable: a subscription price, e.g. "
                                          "'claude-max=200/month', to compare with the coding-agent logs' "
                                          "API-equivalent cost per 5-hour window, week and month ([plan] in "
                                          "llmaudit.toml too).", metavar="NAME=AMOUNT/PERIOD"),
    host: HostOption = None,
    no_store: NoStoreOption = False,
    history: HistoryOption = False,
    wide: bool = typer.Option(False, "--wide", help=WIDE_HELP),
) -> None:
    """Spend by model, provider, day…, billed vs list price, month-end projection and routing what-if."""
    out.set_wide(wide)
    if slo is not None and spend:
        raise UsageError("--slo applies to a replay run directory (report RUN_DIR), not to --spend")
    if fmt not in _FORMATS:
        raise UsageError(f"--format {fmt!r}: choose one of {', '.join(_FORMATS)}")
    if fmt == "focus" and not spend:
        raise UsageError("--format focus writes the spend of usage logs: add --spend")
    if not spend:
        if budget or alert_at or anomalies or forecast or explain or batchable or plan_flags or quality:
            raise UsageError("--budget, --alert-at, --anomalies, --forecast, --explain, --plan and --quality "
                             "need --spend (they read usage logs)")
        from llmaudit.cli.report_run import RoutingFlags

        flags = RoutingFlags(volume=volume, reference=reference, judge=judge, rubric=rubric, prompts=prompts,
                             threshold=threshold, config=config, slo=slo)
        _check_writable(html)
        _run_report(paths, fmt, html, flags)
        return
    if engine == "local":
        from llmaudit.pandas_probe import skip_pandas_probe

        skip_pandas_probe()   # nothing below uses pandas; pyarrow would import it anyway (0.2-0.3 s)
    from decimal import Decimal, InvalidOperation

    from llmaudit.analysis.common.distributed import open_records_with
    from llmaudit.analysis.spend.builder import build_spend
    from llmaudit.analysis.spend.insights import plan_insights, plan_observers
    from llmaudit.analysis.spend.report import SpendOptions
    from llmaudit.cli.ingest import parse_map
    from llmaudit.config import load_config
    from llmaudit.pricing import load_catalog
    from llmaudit.render.ingest import ReadProgress
    from llmaudit.units import parse_by, parse_volume, parse_when, resolve_timezone

    resolve_timezone(timezone)
    try:
        rate = Decimal(fx_rate) if fx_rate is not None else Decimal(1)
    except InvalidOperation:
        raise UsageError(f"--fx-rate {fx_rate!r} is not a number") from None
    if currency.upper() != "USD" and fx_rate is None:
        raise UsageError(f"--currency {currency} needs --fx-rate (units of {currency} per USD)")
    if rate <= 0:
        raise UsageError("--fx-rate must be positive")
    if tolerance < 0:
        raise UsageError("--tolerance must be 0 or more (percent)")
    if top < 0:
        raise UsageError("--top must be 0 or more")
    _check_writable(html)
    options = SpendOptions(
        by=parse_by(by),
        since=parse_when(since, timezone, "--since") if since else None,
        until=parse_when(until, timezone, "--until") if until else None,
        timezone=timezone, currency=currency.upper(), fx_rate=rate,
        now=parse_when(now, timezone, "--now") if now else None,
        tolerance=Decimal(str(tolerance)) / 100, max_listed=max(top, 0), whatif=whatif, byok=byok,
        volume=parse_volume(volume) if volume else None,
    )
    if options.since is not None and options.until is not None and options.until <= options.since:
        raise UsageError(f"--until {until} is not after --since {since}: the window would be empty")
    cfg = load_config(config)
    plan = plan_insights(budget, alert_at, cfg, anomalies=anomalies, forecast=forecast)
    observer = plan.observer() if plan.wanted else None
    catalog = load_catalog(cfg)
    if quality is not None:
        from dataclasses import replace

        from llmaudit.analysis.routing.measured import measured_quality
        from llmaudit.replay import is_run_dir, read_results

        if not is_run_dir(quality):
            raise UsageError(f"--quality {quality}: not a replay run directory")
        options = replace(options, quality=measured_quality(read_results(quality), catalog, threshold=threshold,
                                                            source=str(quality)))
    extra = plan_observers(catalog, cfg, explain=explain, batchable=batchable, plan_flags=plan_flags,
                           focus=fmt == "focus", tolerance=options.tolerance, timezone=timezone)
    with ReadProgress(None, "reading", out.stderr) as bar:
        records = open_records_with(engine, paths, scheduler=scheduler, fmt=log_format, mapping=parse_map(mapping),
                                    progress=bar.advance, catalog=catalog, host=host,
                                    store=not no_store, history=history)
        bar.total = records.total_bytes
        result = build_spend(records.batches(), catalog, options, config=cfg, inputs=paths,
                             ingest_summary=records.summary,
                             observers=(*((observer,) if observer else ()), *extra.all()))
    insights = (plan.result(observer, now=result.generated_at, timezone=timezone, fx_rate=rate,
                            currency=options.currency) if observer else None)
    insights = extra.insights(insights, fx_rate=rate, currency=options.currency, now=result.generated_at)
    if extra.focus is not None:
        _emit_focus(extra.focus.result(rate, options.currency), result)
        _write_html(html, result, insights)
    else:
        _emit(result, fmt, whatif, html, insights)
    if insights is not None and insights.exit_code:
        from llmaudit.render.budget import exit_lines

        for line in exit_lines(insights.budgets or (), insights.currency):
            out.warning(line)
        raise typer.Exit(insights.exit_code)


def _emit_focus(export: FocusExport, result: Any) -> None:
    """FOCUS CSV on stdout; what could not be a FOCUS row (no ListCost) said on stderr."""
    from llmaudit.analysis.spend.notices import UnpricedRequests
    from llmaudit.render.focus import render_focus
    from llmaudit.render.spend_text import spend_warnings

    out.data(render_focus(export))
    if export.left_out_requests:
        billed = f" (billed {export.currency} {export.left_out_billed:.4f} by their source)" \
            if export.left_out_billed else ""
        out.warning(f"{export.left_out_requests:,} requests have no recomputed cost (unknown model or rate) and are "
                    f"not in the FOCUS rows{billed}: FOCUS needs a ListCost, and unknown is not written as 0")
    for warning in spend_warnings(result, leave_out=(UnpricedRequests,)):  # said just above, for FOCUS
        out.warning(warning)


def _check_writable(path: Path | None) -> None:
    """An output path that cannot be written fails before the work, not after it."""
    if path is None:
        return
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise UsageError(f"--html {path} is a directory; name the file to write")
    if not parent.is_dir():
        raise UsageError(f"--html {path}: the folder {parent} does not exist")
    import os

    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise UsageError(f"--html {path}: cannot write there")


def _emit(result: object, fmt: str, whatif: bool, html: Path | None, insights: SpendInsights | None = None) -> None:
    from llmaudit.analysis.spend.report import SpendReport
    from llmaudit.render import spend as render
    from llmaudit.render.insights import insights_csv, insights_json, insights_markdown, insights_table
    from llmaudit.render.spend_text import spend_json, spend_warnings

    assert isinstance(result, SpendReport)
    if fmt == "json":
        import json

        out.data(json.dumps({**spend_json(result), **insights_json(insights)}, indent=2))
    elif fmt == "csv":
        out.data(render.render_csv(result, whatif=whatif) + insights_csv(insights))
    elif fmt == "markdown":
        out.data(render.render_markdown(result, whatif=whatif) + insights_markdown(insights))
    else:
        out.table(render.render_table(result, whatif=whatif))
        for part in insights_table(insights):
            out.table(part)
    if fmt != "json":
        for warning in spend_warnings(result):
            out.warning(warning)
    _write_html(html, result, insights)


def _write_html(html: Path | None, result: Any, insights: SpendInsights | None) -> None:
    if html is None:
        return
    from llmaudit.render.spend_html import render_spend_html

    try:
        html.write_text(render_spend_html(result, insights), encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"--html {html}: cannot write: {exc.strerror}") from None
    out.info(f"wrote {html}")


def _run_report(paths: list[str], fmt: str, html: Path | None, flags: RoutingFlags) -> None:
    from llmaudit.replay import is_run_dir
    from llmaudit.replay.sweep import is_sweep_dir

    if len(paths) != 1 or not (is_run_dir(Path(paths[0])) or is_sweep_dir(paths[0])):
        raise UsageError(f"{paths[0] if paths else 'PATH'} is not a replay run directory (no results). "
                         "To audit usage logs, use `llmaudit report --spend PATH...`")
    from llmaudit.cli.report_run import report_run

    report_run(Path(paths[0]), fmt=fmt, html=html, flags=flags)


def register(app: typer.Typer) -> None:
    app.command("report")(report)
