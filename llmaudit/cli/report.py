"""`llmaudit report`: the spend audit (`--spend PATH...`) or a replay run's report (`RUN_DIR`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from llmaudit.cli._output import out
from llmaudit.cli.options import (
    REPORT_FORMATS,
    ByOption,
    ConfigOption,
    EngineOption,
    HistoryOption,
    HostOption,
    LogFormatOption,
    MapOption,
    NoStoreOption,
    NowOption,
    ReportFormatOption,
    SchedulerOption,
    SinceOption,
    SloOption,
    ThresholdOption,
    TimezoneOption,
    UntilOption,
    VolumeOption,
    WideOption,
)
from llmaudit.errors import UsageError

if TYPE_CHECKING:
    from llmaudit.cli.report_run import RoutingFlags
    from llmaudit.workflows.spend import SpendAudit

__all__ = ["register"]


def report(
    paths: list[str] = typer.Argument(..., help="Usage logs / llmaudit parquet (with --spend), or a RUN_DIR."),
    spend: bool = typer.Option(False, "--spend", help="Audit spend from usage logs or an ingested parquet."),
    by: ByOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    timezone: TimezoneOption = "UTC",
    currency: str = typer.Option("USD", "--currency", help="Report currency (needs --fx-rate unless USD)."),
    fx_rate: str | None = typer.Option(None, "--fx-rate", help="Units of --currency per USD, e.g. 0.92."),
    fmt: ReportFormatOption = "table",
    html: Path | None = typer.Option(None, "--html", help="Also write a self-contained HTML report."),
    whatif: bool = typer.Option(True, "--whatif/--no-whatif", help="Include the provider / routing what-if."),
    byok: bool = typer.Option(False, "--byok", help="Routed what-if with the BYOK fee instead of the platform fee."),
    top: int = typer.Option(20, "--top", help="Billed-vs-recomputed differences to list (all are counted)."),
    tolerance: float = typer.Option(1.0, "--tolerance", help="Percent difference that counts as a mismatch."),
    log_format: LogFormatOption = "auto",
    mapping: MapOption = None,
    now: NowOption = None,
    config: ConfigOption = None,
    engine: EngineOption = "local",
    scheduler: SchedulerOption = None,
    volume: VolumeOption = None,
    reference: str | None = typer.Option(None, "--reference", help="RUN_DIR: unchecked prompts pass when they "
                                         "agree with this model's answer."),
    judge: str | None = typer.Option(None, "--judge", help="RUN_DIR: an LLM judge (provider/model) grades "
                                     "unchecked answers; its calls are priced."),
    rubric: str | None = typer.Option(None, "--rubric", help="RUN_DIR: judge rubric text, or @FILE."),
    prompts: str | None = typer.Option(None, "--prompts", help="RUN_DIR: the prompt set (for --judge)."),
    threshold: ThresholdOption = 0.9,
    quality: Path | None = typer.Option(None, "--quality", help="Logs: route each request among the models "
                                        "this replay run measured passing its category (tag category:NAME; "
                                        "else all prompts), instead of the capability tiers.",
                                        metavar="RUN_DIR"),
    slo: SloOption = None,
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
    wide: WideOption = False,
) -> None:
    """Spend by model, provider, day…, billed vs list price, month-end projection and routing what-if."""
    out.set_wide(wide)
    if slo is not None and spend:
        raise UsageError("--slo applies to a replay run directory (report RUN_DIR), not to --spend")
    out.check_format(fmt, REPORT_FORMATS)
    if fmt == "focus" and not spend:
        raise UsageError("--format focus writes the spend of usage logs: add --spend")
    if not spend:
        if budget or alert_at or anomalies or forecast or explain or batchable or plan_flags or quality:
            raise UsageError("--budget, --alert-at, --anomalies, --forecast, --explain, --plan and --quality "
                             "need --spend (they read usage logs)")
        from llmaudit.cli.report_run import RoutingFlags

        flags = RoutingFlags(volume=volume, reference=reference, judge=judge, rubric=rubric, prompts=prompts,
                             threshold=threshold, config=config, slo=slo)
        out.check_writable(html, "--html")
        _run_report(paths, fmt, html, flags)
        return
    from llmaudit.render.progress import ReadProgress
    from llmaudit.workflows.spend import SpendAuditOptions, audit_spend

    out.check_writable(html, "--html")
    options = SpendAuditOptions(
        tuple(paths), by=by, since=since, until=until, timezone=timezone, currency=currency, fx_rate=fx_rate,
        now=now, tolerance=tolerance, top=top, whatif=whatif, byok=byok, volume=volume, log_format=log_format,
        mapping=mapping, config=config, engine=engine, scheduler=scheduler, quality=quality, threshold=threshold,
        budget=tuple(budget or ()), alert_at=alert_at, anomalies=anomalies, forecast=forecast, explain=explain,
        batchable=tuple(batchable or ()), plans=tuple(plan_flags or ()), focus=fmt == "focus", host=host,
        store=not no_store, history=history)
    audit = audit_spend(options, lambda: ReadProgress(None, "reading", lambda: out.stderr))
    _emit(audit, fmt, whatif, html)
    for warning in audit.warnings:   # about the reading, not the figures: stderr only, in every format
        out.warning(warning)
    if audit.exit_code:
        from llmaudit.render.budget import exit_lines

        assert audit.insights is not None
        for line in exit_lines(audit.insights.budgets or (), audit.insights.currency):
            out.warning(line)
        raise typer.Exit(audit.exit_code)


def _emit(audit: SpendAudit, fmt: str, whatif: bool, html: Path | None) -> None:
    from llmaudit.render.spend_text import spend_json, spend_warnings

    result, insights, focus = audit.report, audit.insights, audit.focus
    if fmt in ("csv", "markdown", "table"):   # they import rich, which JSON does not need (0.05 s)
        from llmaudit.render import spend as render
    if focus is not None:   # the FOCUS export's modules need pyarrow, which a remembered answer does not
        from llmaudit.render.focus import focus_warnings, render_focus
    if insights is not None:   # their renderers import the analyses behind them (0.1-0.2 s)
        from llmaudit.render.insights import insights_csv, insights_json, insights_markdown, insights_table
    out.show(fmt, focus=lambda: render_focus(focus) if focus else "",
             json=lambda: {**spend_json(result), **(insights_json(insights) if insights else {})},
             csv=lambda: render.render_csv(result, whatif=whatif) + (insights_csv(insights) if insights else ""),
             markdown=lambda: render.render_markdown(result, whatif=whatif)
             + (insights_markdown(insights) if insights else ""),
             table=lambda: [render.render_table(result, whatif=whatif),
                            *(insights_table(insights) if insights else [])])
    if focus is not None:
        warnings = focus_warnings(focus, result)
    else:
        warnings = [] if fmt == "json" else spend_warnings(result)  # the JSON carries its warnings inside
    for warning in warnings:
        out.warning(warning)
    if html is not None:
        from llmaudit.render.spend_html import render_spend_html

        out.write(html, render_spend_html(result, insights), "--html")

def _run_report(paths: list[str], fmt: str, html: Path | None, flags: RoutingFlags) -> None:
    from llmaudit.cli.report_run import report_run
    from llmaudit.workflows.run_report import run_dir_argument

    report_run(run_dir_argument(paths), fmt=fmt, html=html, flags=flags)


def register(app: typer.Typer) -> None:
    app.command("report")(report)
