"""``llmaudit report --spend PATH...``: the spend audit of usage logs (or an ingested parquet).

Spend by model, provider, day…, billed vs list price, the month-end projection and the routing
what-if, with the optional insights (budgets, anomalies, forecast, explain, subscription plans)
and the FOCUS export, all from one pass over the records.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING

from llmaudit.errors import UsageError
from llmaudit.workflows.notices import TotalProgress, no_progress

if TYPE_CHECKING:
    from llmaudit.analysis.routing.measured import MeasuredQuality
    from llmaudit.analysis.spend.focus import FocusExport
    from llmaudit.analysis.spend.insights import SpendInsights
    from llmaudit.analysis.spend.report import SpendOptions, SpendReport
    from llmaudit.config import Config
    from llmaudit.ingest.answers import Answers
    from llmaudit.pricing.catalog import Catalog

__all__ = ["SpendAudit", "SpendAuditOptions", "audit_spend"]


@dataclass(frozen=True)
class SpendAuditOptions:
    """The flags of ``report --spend``, as given (the workflow parses and checks them)."""

    paths: tuple[str, ...]
    by: str | None = None
    since: str | None = None
    until: str | None = None
    timezone: str = "UTC"
    currency: str = "USD"
    fx_rate: str | None = None  # units of currency per USD
    now: str | None = None
    tolerance: float = 1.0  # percent
    top: int = 20
    whatif: bool = True
    byok: bool = False
    volume: str | None = None
    log_format: str = "auto"
    mapping: str | None = None
    config: Path | None = None
    engine: str = "local"
    scheduler: str | None = None
    quality: Path | None = None  # a replay run whose measured pass rates route the what-if
    threshold: float = 0.9
    budget: tuple[str, ...] = ()
    alert_at: str | None = None
    anomalies: bool = False
    forecast: bool = False
    explain: bool = False
    batchable: tuple[str, ...] = ()
    plans: tuple[str, ...] = ()
    focus: bool = False  # also build the FOCUS export
    host: str | None = None
    store: bool = True
    history: bool = False


@dataclass(frozen=True)
class SpendAudit:
    report: SpendReport
    insights: SpendInsights | None  # budgets, anomalies, forecast, explain, plans: None when none was asked
    focus: FocusExport | None  # with ``focus``
    warnings: tuple[str, ...] = ()  # about the reading (ingest.summary), not the figures: said on stderr

    @property
    def exit_code(self) -> int:
        """3 when a budget is projected to be passed, 4 when one was passed, else 0."""
        return self.insights.exit_code if self.insights is not None else 0


def audit_spend(options: SpendAuditOptions,
                progress: Callable[[], AbstractContextManager[TotalProgress]] | None = None) -> SpendAudit:
    """Read, price and aggregate the logs in one pass; ``progress`` makes the bar shown while reading.
    The same question of unchanged logs is answered from the store (``ingest.answers``) instead."""
    from llmaudit.config import load_config

    spend_options = _spend_options(options)
    cfg = load_config(options.config)
    answers = _answers(options, spend_options, cfg)
    known = answers.get() if answers is not None else None
    if known is not None:   # the cold run's answer, as of now
        return SpendAudit(known.as_of(spend_options.now or datetime.now(UTC)), None, None)
    if options.engine == "local":
        from llmaudit.pandas_probe import skip_pandas_probe

        skip_pandas_probe()   # nothing below uses pandas; pyarrow would import it anyway (0.2-0.3 s)
    from llmaudit.analysis.common.distributed import open_records_with
    from llmaudit.analysis.spend.insights import plan_insights
    from llmaudit.pricing import load_catalog
    from llmaudit.workflows.ingest import parse_map

    plan = plan_insights(list(options.budget), options.alert_at, cfg, anomalies=options.anomalies,
                         forecast=options.forecast)
    observer = plan.observer() if plan.wanted else None
    catalog = load_catalog(cfg) if options.engine != "local" else None   # the dask engine prices on its workers
    paths = list(options.paths)
    with (progress or no_progress)() as bar:
        records = open_records_with(options.engine, paths, scheduler=options.scheduler, fmt=options.log_format,
                                    mapping=parse_map(options.mapping), progress=bar.advance, catalog=catalog,
                                    host=options.host, store=options.store, history=options.history,
                                    listed=answers.listed if answers is not None else None)
        # The workers read while this process loads the catalog and the analysis (0.05-0.1 s).
        records.start()
        try:
            from llmaudit.analysis.spend.builder import build_spend
            from llmaudit.analysis.spend.insights import plan_observers

            catalog = catalog if catalog is not None else load_catalog(cfg)
            if options.quality is not None:
                spend_options = replace(spend_options,
                                        quality=_measured(options.quality, catalog, options.threshold))
            extra = plan_observers(catalog, cfg, explain=options.explain, batchable=list(options.batchable),
                                   plan_flags=list(options.plans), focus=options.focus,
                                   tolerance=spend_options.tolerance, timezone=options.timezone)
            bar.total = records.total_bytes
            report = build_spend(records.batches(), catalog, spend_options, config=cfg, inputs=paths,
                                 ingest_summary=records.summary,
                                 observers=(*((observer,) if observer else ()), *extra.all()))
        finally:
            records.close()
    said = tuple(getattr(records.summary, "warnings", None) or ())
    rate, currency = spend_options.fx_rate, spend_options.currency
    insights = (plan.result(observer, now=report.generated_at, timezone=options.timezone, fx_rate=rate,
                            currency=currency) if observer else None)
    insights = extra.insights(insights, fx_rate=rate, currency=currency, now=report.generated_at)
    focus = extra.focus.result(rate, currency) if extra.focus is not None else None
    if answers is not None and observer is None and not extra.all():
        answers.put(report)
    return SpendAudit(report, insights, focus, said)


def _answers(options: SpendAuditOptions, spend_options: SpendOptions, cfg: Config) -> Answers | None:
    """Where this question's answer is remembered; None when it is not (no store, another engine,
    or insights that read the logs themselves)."""
    if options.engine != "local" or not options.store or options.history or options.quality or options.focus \
            or options.budget or options.alert_at or options.anomalies or options.forecast or options.explain \
            or options.plans:
        return None
    from llmaudit.ingest.answers import open_answers

    paths = list(options.paths)
    return open_answers(paths, {"options": replace(spend_options, now=None), "paths": paths,
                                "format": options.log_format, "map": options.mapping, "host": options.host,
                                "config": (str(cfg.path), cfg.data)})


def _spend_options(options: SpendAuditOptions) -> SpendOptions:
    """The flags, parsed and checked before any file is read."""
    from llmaudit.analysis.spend.report import SpendOptions
    from llmaudit.units import parse_by, parse_volume, parse_when, resolve_timezone

    tz = options.timezone
    resolve_timezone(tz)
    try:
        rate = Decimal(options.fx_rate) if options.fx_rate is not None else Decimal(1)
    except InvalidOperation:
        raise UsageError(f"--fx-rate {options.fx_rate!r} is not a number") from None
    if options.currency.upper() != "USD" and options.fx_rate is None:
        raise UsageError(f"--currency {options.currency} needs --fx-rate (units of {options.currency} per USD)")
    if rate <= 0:
        raise UsageError("--fx-rate must be positive")
    if options.tolerance < 0:
        raise UsageError("--tolerance must be 0 or more (percent)")
    if options.top < 0:
        raise UsageError("--top must be 0 or more")
    parsed = SpendOptions(
        by=parse_by(options.by),
        since=parse_when(options.since, tz, "--since") if options.since else None,
        until=parse_when(options.until, tz, "--until") if options.until else None,
        timezone=tz, currency=options.currency.upper(), fx_rate=rate,
        now=parse_when(options.now, tz, "--now") if options.now else None,
        tolerance=Decimal(str(options.tolerance)) / 100, max_listed=max(options.top, 0), whatif=options.whatif,
        byok=options.byok, volume=parse_volume(options.volume) if options.volume else None,
    )
    if parsed.since is not None and parsed.until is not None and parsed.until <= parsed.since:
        raise UsageError(f"--until {options.until} is not after --since {options.since}: the window would be empty")
    return parsed


def _measured(run_dir: Path, catalog: Catalog, threshold: float) -> MeasuredQuality:
    """``--quality RUN_DIR``: the pass rates a replay run measured, per prompt category."""
    from llmaudit.analysis.routing.measured import measured_quality
    from llmaudit.replay import is_run_dir, read_results

    if not is_run_dir(run_dir):
        raise UsageError(f"--quality {run_dir}: not a replay run directory")
    return measured_quality(read_results(run_dir), catalog, threshold=threshold, source=str(run_dir))
