"""``llmaudit replay PROMPTS.jsonl --models P/M[,P/M...]``: run a prompt set against many models.

Three shapes: a dry run (tokens and estimated cost per model; nothing is sent), a run into a run
directory (then its report), or a load sweep (one run per concurrency or rate level). A model that
ended a run with no successful request fails the command (``failure``): a script must not read a
run where nothing worked as a success. That includes a model whose provider was cut off by the
runner's circuit breaker (connections refused, model not found) before any of its requests had a row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmaudit.errors import CheckFailed, UsageError
from llmaudit.units import parse_max_cost
from llmaudit.workflows.notices import Notices, ReplayProgressFactory, Silent, no_replay_progress
from llmaudit.workflows.run_report import RunReport, RunReportOptions, build_run_report

if TYPE_CHECKING:
    from llmaudit.analysis.routing.sweepstats import SweepStats
    from llmaudit.config import Config
    from llmaudit.replay.estimate import EstimateSummary
    from llmaudit.replay.prompts import Prompt
    from llmaudit.replay.runner import ReplayOptions, RunSummary
    from llmaudit.replay.sweep import SweepLevel

__all__ = ["DryRun", "ReplayCommandOptions", "ReplayRun", "replay"]


@dataclass(frozen=True)
class ReplayCommandOptions:
    """The flags of ``replay``, as given (None: not given, so the [replay] config section decides)."""

    prompts: Path
    models: tuple[str, ...]
    out_dir: Path | None = None  # runs/replay-<time> when not given
    resume: bool = False
    retry_errors: bool = False
    max_cost: str | None = None  # USD
    dry_run: bool = False
    concurrency: int | None = None
    provider_concurrency: tuple[str, ...] = ()  # PROVIDER=N
    rpm: float | None = None
    provider_rpm: tuple[str, ...] = ()  # PROVIDER=N
    repeats: int = 1
    timeout: float | None = None
    max_attempts: int | None = None
    default_output_tokens: int = 256
    no_cache: bool = False
    offline: bool = False
    slo: str | None = None
    sweep: str | None = None  # concurrency=1,4,16 | rate=1,5,20
    rate: str | None = None
    config: Path | None = None


@dataclass(frozen=True)
class DryRun:
    estimate: EstimateSummary
    max_cost: Decimal | None


@dataclass(frozen=True)
class ReplayRun:
    out_dir: Path
    summary: RunSummary | None  # None for a sweep
    report: RunReport | SweepStats  # the run's report (a sweep: every level side by side)
    dead_models: dict[Path, list[str]]  # run folder -> models with no successful request
    # run folder -> the providers or models the circuit breaker cut off there
    cut_off: dict[Path, list[str]] = field(default_factory=dict)

    def failure(self) -> CheckFailed | None:
        """Exit 1 when a model ended a run with no successful request (no server, a misspelt model)."""
        for folder, dead in self.dead_models.items():
            if dead:
                cut = self.cut_off.get(folder)
                where = (f"{', '.join(cut)} cut off; `llmaudit replay --resume --out {folder}` sends the rest once it "
                         "answers" if cut else f"see the error column in {folder}")
                return CheckFailed(f"no successful request for {', '.join(dead)} ({where})")
        return None


LevelDone = Callable[["SweepLevel", "RunSummary"], None]


def replay(options: ReplayCommandOptions, notices: Notices | None = None,
           progress: ReplayProgressFactory | None = None, level_done: LevelDone | None = None) -> DryRun | ReplayRun:
    """Check the flags and the prompt set, then estimate (dry run), replay, or sweep."""
    from llmaudit.analysis.common.latency import parse_slo
    from llmaudit.config import load_config
    from llmaudit.replay import load_prompts
    from llmaudit.replay.prompts import ignored_parameters
    from llmaudit.replay.sweep import parse_levels

    notices = notices or Silent()
    o = options
    if o.no_cache and o.offline:
        raise UsageError("--offline answers from the cache; it cannot be combined with --no-cache")
    if o.retry_errors and not o.resume:
        raise UsageError("--retry-errors only makes sense with --resume")
    objectives = parse_slo(o.slo) if o.slo is not None else None  # a typo fails before any work
    levels = parse_levels(o.sweep, o.rate)
    if levels and (o.dry_run or o.resume):
        raise UsageError("--sweep/--rate run the prompt set live; they take neither --dry-run nor --resume")
    config = load_config(o.config)
    prompts = load_prompts(o.prompts)
    ignored = ignored_parameters(prompts)
    if ignored:
        listed = ", ".join(f"{k} ({n} prompts)" for k, n in sorted(ignored.items()))
        notices.warning(f"OpenAI Batch parameters not replayed (they are vendor-specific): {listed}")
    if o.dry_run:
        return _dry_run(prompts, o, config)
    out_dir = o.out_dir
    if out_dir is None:
        if o.resume:
            raise UsageError("--resume needs --out RUN_DIR (the run to continue)")
        out_dir = Path("runs") / datetime.now(UTC).strftime("replay-%Y%m%d-%H%M%S")
    run_options = _run_options(o, config)
    run_options.slo = objectives.to_json() if objectives is not None else None
    from llmaudit.pricing import load_catalog
    from llmaudit.replay.models import check_models, parse_models

    for warning in check_models(parse_models(list(o.models)), config, load_catalog(config), strict=False):
        notices.warning(warning)
    if levels:
        return _sweep(prompts, list(o.models), out_dir, run_options, levels, notices, level_done)
    summary = _run(prompts, list(o.models), out_dir, run_options, notices, progress)
    report = build_run_report(RunReportOptions(out_dir), notices)
    assert isinstance(report, RunReport)   # a run folder (not a sweep) reports as one run
    # The report has just read the results and the manifest: its per-model counts say who never answered.
    dead = _dead({m.model: m.ok for m in report.stats.models}, report.manifest)
    return ReplayRun(out_dir, summary, report, {out_dir: dead}, {out_dir: _cut_off_in(report.manifest)})


def _run_options(o: ReplayCommandOptions, config: Config) -> ReplayOptions:
    from llmaudit.replay.settings import options_from_config

    return options_from_config(
        config,
        concurrency=o.concurrency,
        provider_concurrency=_pairs(o.provider_concurrency, "--provider-concurrency"),
        rpm=o.rpm,
        provider_rpm=_pairs(o.provider_rpm, "--provider-rpm"),
        timeout_s=o.timeout,
        max_attempts=o.max_attempts,
        repeats=o.repeats,
        max_cost_usd=parse_max_cost(o.max_cost),
        use_cache=not o.no_cache,
        offline=o.offline,
        resume=o.resume,
        retry_errors=o.retry_errors,
        default_output_tokens=o.default_output_tokens,
        prompts_path=str(o.prompts),
    )


def _run(prompts: list[Prompt], models: list[str], out_dir: Path, options: ReplayOptions, notices: Notices,
         progress: ReplayProgressFactory | None) -> RunSummary:
    from llmaudit.replay import parse_models, run_replay

    simulated = any(s.simulated for s in parse_models(models))
    notices.info(f"replaying {len(prompts)} prompts against {', '.join(models)} into {out_dir}")
    try:
        with (progress or no_replay_progress)(simulated) as watch:
            options.progress = watch.update
            return run_replay(prompts, models, out_dir, options)
    except KeyboardInterrupt:
        notices.warning(f"finished results are kept in {out_dir}; add --resume --out {out_dir} to continue the run")
        raise


def _sweep(prompts: list[Prompt], models: list[str], out_dir: Path, options: ReplayOptions,
           levels: list[SweepLevel], notices: Notices, level_done: LevelDone | None) -> ReplayRun:
    from llmaudit.replay.sweep import run_sweep

    notices.info(f"sweeping {len(prompts)} prompts × {', '.join(models)} over "
                 f"{', '.join(lv.label for lv in levels)} into {out_dir} (the response cache is not read: a cached "
                 "answer measures no load)")
    for level, summary in run_sweep(prompts, models, out_dir, options, levels):
        if level_done is not None:
            level_done(level, summary)
    report = build_run_report(RunReportOptions(out_dir), notices)
    folders = [out_dir / lv.folder for lv in levels]
    return ReplayRun(out_dir, None, report, {f: _dead_models(f) for f in folders}, {f: _cut_off(f) for f in folders})


def _dead_models(run_dir: Path) -> list[str]:
    """``_dead`` for a run folder read from disk (a sweep's levels)."""
    from llmaudit.replay import read_manifest, read_results

    ok: dict[str, int] = {}
    for row in read_results(run_dir).select(["model", "status"]).to_pylist():
        ok[str(row["model"])] = ok.get(str(row["model"]), 0) + (row["status"] == "ok")
    return _dead(ok, read_manifest(run_dir))


def _dead(ok: dict[str, int], manifest: dict[str, Any]) -> list[str]:
    """The models of a run with no successful request (``ok``: successful requests per model with
    rows), and those a circuit breaker cut off (they may have no row at all)."""
    from llmaudit.replay.breaker import cut_off_covers

    ok = dict(ok)
    for cut in manifest.get("cut_off") or []:
        for model in manifest.get("models") or []:
            if cut_off_covers(cut, str(model)):
                ok.setdefault(str(model), 0)
    return sorted(m for m, n in ok.items() if not n)


def _cut_off(run_dir: Path) -> list[str]:
    from llmaudit.replay import read_manifest

    return _cut_off_in(read_manifest(run_dir))


def _cut_off_in(manifest: dict[str, Any]) -> list[str]:
    return [str(cut.get("name")) for cut in manifest.get("cut_off") or []]


def _dry_run(prompts: list[Prompt], o: ReplayCommandOptions, config: Config) -> DryRun:
    from llmaudit.pricing import load_catalog
    from llmaudit.replay.estimate import estimate, summarize_estimate
    from llmaudit.replay.models import check_models, parse_models

    max_cost = parse_max_cost(o.max_cost)
    catalog = load_catalog(config)
    check_models(parse_models(list(o.models)), config, catalog, strict=True)
    table = estimate(prompts, list(o.models), catalog, repeats=o.repeats,
                     default_output_tokens=o.default_output_tokens)
    return DryRun(summarize_estimate(table, o.default_output_tokens), max_cost)


def _pairs(values: tuple[str, ...], flag: str) -> dict[str, float]:
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


