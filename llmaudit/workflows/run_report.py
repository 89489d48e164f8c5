"""``llmaudit report RUN_DIR``: a replay run's per-model figures and, when two or more models
answered, the routing analysis (with an optional LLM judge); or a load sweep's levels side by side.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmaudit.errors import InputError, UsageError
from llmaudit.workflows.notices import Notices, Silent

if TYPE_CHECKING:
    from llmaudit.analysis.common.latency import SLO
    from llmaudit.analysis.routing.judge import JudgeSummary
    from llmaudit.analysis.routing.report import RoutingReport
    from llmaudit.analysis.routing.runstats import RunStats
    from llmaudit.analysis.routing.sweepstats import SweepStats
    from llmaudit.config import Config

__all__ = ["RoutingFlags", "RunReport", "RunReportOptions", "build_run_report", "run_dir_argument"]


@dataclass(frozen=True)
class RoutingFlags:
    """The routing-report flags of `llmaudit report RUN_DIR`."""

    volume: str | None = None  # "10B-tokens/month" | "2M-requests/month": scale the savings table
    reference: str | None = None  # judge unchecked prompts by agreement with this model's answers
    judge: str | None = None  # provider/model of an LLM judge for unchecked prompts
    rubric: str | None = None  # judge rubric (text, or @FILE)
    prompts: str | None = None  # prompt set, for the judge (default: the one the manifest names)
    threshold: float = 0.9  # category router: pass rate a model needs in a category
    config: Path | None = None
    slo: str | None = None  # "ttft=500ms,tpot=50ms": count goodput against these (default: the run's own)


@dataclass(frozen=True)
class RunReportOptions:
    run_dir: Path
    flags: RoutingFlags = field(default_factory=RoutingFlags)
    html: bool = False  # the HTML report shows the routing analysis even when one model answered


@dataclass(frozen=True)
class RunReport:
    run_dir: str
    manifest: dict[str, Any]
    stats: RunStats
    routing: RoutingReport | None  # None unless two or more models answered
    html_routing: RoutingReport | None = None  # with ``html``: what the HTML report shows (None: no results)


def run_dir_argument(paths: Sequence[str]) -> Path:
    """``report PATH...`` without --spend: the one run (or sweep) directory it names."""
    from llmaudit.replay import is_run_dir
    from llmaudit.replay.sweep import is_sweep_dir

    if len(paths) != 1 or not (is_run_dir(Path(paths[0])) or is_sweep_dir(paths[0])):
        raise UsageError(f"{paths[0] if paths else 'PATH'} is not a replay run directory (no results). "
                         "To audit usage logs, use `llmaudit report --spend PATH...`")
    return Path(paths[0])


def build_run_report(options: RunReportOptions, notices: Notices | None = None) -> RunReport | SweepStats:
    """The report of a run directory, or of a load sweep's folder (every finished level)."""
    from llmaudit.analysis.common.latency import parse_slo
    from llmaudit.analysis.routing.runstats import build_runstats
    from llmaudit.replay import is_run_dir, read_manifest, read_results
    from llmaudit.replay.sweep import is_sweep_dir

    flags, notices = options.flags, notices or Silent()
    slo = parse_slo(flags.slo) if flags.slo is not None else None
    if not 0 < flags.threshold <= 1:
        raise UsageError("--threshold is a pass rate between 0 and 1, e.g. 0.9")
    run_dir = str(options.run_dir)
    if is_sweep_dir(run_dir):
        return _sweep(run_dir, slo)
    if not is_run_dir(run_dir):
        raise InputError("not a replay run directory (no manifest.json or results)", path=run_dir)
    table = read_results(run_dir)
    manifest = read_manifest(run_dir)
    stats = _with_cut_offs(build_runstats(table, manifest, run_dir, slo), manifest)
    # Routing compares models prompt by prompt: it needs at least two models with answers.
    answered = sum(1 for m in stats.models if m.ok) >= 2
    routing = _routing(table, manifest, flags, run_dir, notices) if answered else None
    html_routing = None
    if options.html and table.num_rows:
        html_routing = routing or _routing(table, manifest, RoutingFlags(), run_dir, notices)
    return RunReport(run_dir, manifest, stats, routing, html_routing)


def _sweep(sweep_dir: str, slo: SLO | None) -> SweepStats:
    """A load sweep: every level's per-model figures, side by side."""
    from llmaudit.analysis.routing.runstats import build_runstats
    from llmaudit.analysis.routing.sweepstats import SweepPoint, SweepStats
    from llmaudit.replay import read_manifest, read_results
    from llmaudit.replay.sweep import read_sweep

    points = [SweepPoint(level.kind, level.value, _with_cut_offs(
                  build_runstats(read_results(folder), read_manifest(folder), str(folder), slo), read_manifest(folder)))
              for level, folder in read_sweep(sweep_dir)]
    if not points:
        raise InputError("the sweep has no finished level yet", path=sweep_dir)
    return SweepStats(sweep_dir, points)


def _with_cut_offs(stats: RunStats, manifest: dict[str, Any]) -> RunStats:
    """The run's warnings, led by the providers and models the replay's circuit breaker cut off
    (connections refused, model not found), and why: a model cut off before any answer has no row
    in the per-model table."""
    from llmaudit.analysis.routing.runnotices import ProviderCutOff

    cuts = [ProviderCutOff(tuple(c.items())) for c in manifest.get("cut_off") or [] if isinstance(c, dict)]
    return replace(stats, notices=[*cuts, *stats.notices]) if cuts else stats


def _routing(table: Any, manifest: dict[str, Any], flags: RoutingFlags, run_dir: str,
             notices: Notices) -> RoutingReport:
    from llmaudit.analysis.routing.report import RoutingOptions, build_routing
    from llmaudit.config import load_config
    from llmaudit.pricing import fees
    from llmaudit.units import parse_volume

    config = load_config(flags.config)
    options = RoutingOptions(
        threshold=flags.threshold,
        reference=flags.reference,
        volume=parse_volume(flags.volume) if flags.volume else None,
        fee_pct=fees(config).platform_pct,
    )
    judge = None
    if flags.judge:
        table, judge = _judge(table, manifest, flags, config, run_dir, notices)
    report = build_routing(table, None, options, judge=judge)
    # The rows were priced when the run was made; the report names that catalog date, not today's.
    as_of = manifest.get("catalog_as_of")
    return replace(report, catalog_as_of=str(as_of) if as_of is not None else None)


def _judge(table: Any, manifest: dict[str, Any], flags: RoutingFlags, config: Config, run_dir: str,
           notices: Notices) -> tuple[Any, JudgeSummary]:
    """Grade unchecked answers with an LLM judge (its own calls are priced and reported); the graded
    rows come back as a DataFrame."""
    from llmaudit.analysis.routing.judge import DEFAULT_RUBRIC, JudgeOptions, judge_results
    from llmaudit.pricing import load_catalog
    from llmaudit.replay import load_prompts
    from llmaudit.replay.judge import JudgeModel
    from llmaudit.replay.rundir import locate_prompts

    assert flags.judge is not None
    prompts_path = flags.prompts
    if prompts_path is None:
        found = locate_prompts(run_dir, manifest)
        if found is not None:
            prompts_path = str(found[0])
            if found[1] != "as recorded":
                notices.info(f"prompt set: {prompts_path} ({found[1]}; the manifest names "
                             f"{manifest['prompts']['path']!r})")
    texts: dict[str, str] = {}
    if prompts_path:
        for prompt in load_prompts(prompts_path):
            texts[prompt.id] = "\n\n".join(str(m.get("content", "")) for m in prompt.messages)
    rubric = flags.rubric or DEFAULT_RUBRIC
    if rubric.startswith("@"):
        try:
            rubric = Path(rubric[1:]).read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"--rubric {rubric}: cannot read: {exc.strerror}") from None
    notices.info(f"judging unchecked answers with {flags.judge} …")
    return judge_results(table, JudgeOptions(flags.judge, rubric), JudgeModel(flags.judge, config),
                         prompts=texts or None, catalog=load_catalog(config))
