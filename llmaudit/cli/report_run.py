"""`llmaudit report RUN_DIR`: the per-model report of a replay run (called from cli/report.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmaudit.cli._output import out
from llmaudit.errors import InputError, UsageError

_FORMATS = ("table", "json", "csv", "markdown")


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


def report_run(run_dir: str | Path, fmt: str = "table", html: str | Path | None = None,
               flags: RoutingFlags | None = None) -> None:
    """Print the run report in ``fmt`` (per-model figures, then the routing analysis when two or
    more models answered; CSV carries the per-model table only); with ``html``, also write the
    HTML report there.
    """
    from llmaudit.analysis.common.latency import parse_slo
    from llmaudit.analysis.routing.runstats import build_runstats
    from llmaudit.render.run import render_run
    from llmaudit.replay import is_run_dir, read_manifest, read_results

    flags = flags or RoutingFlags()
    slo = parse_slo(flags.slo) if flags.slo is not None else None
    if not 0 < flags.threshold <= 1:
        raise UsageError("--threshold is a pass rate between 0 and 1, e.g. 0.9")
    run_dir = str(run_dir)
    if fmt not in _FORMATS:
        raise UsageError(f"--format must be one of {', '.join(_FORMATS)}")
    from llmaudit.replay.sweep import is_sweep_dir

    if is_sweep_dir(run_dir):
        _report_sweep(run_dir, fmt, html, slo)
        return
    if not is_run_dir(run_dir):
        raise InputError("not a replay run directory (no manifest.json or results)", path=run_dir)
    table = read_results(run_dir)
    manifest = read_manifest(run_dir)
    stats = build_runstats(table, manifest, run_dir, slo)
    # Routing compares models prompt by prompt: it needs at least two models with answers.
    routing = _routing(table, manifest, flags, run_dir) if sum(1 for m in stats.models if m.ok) >= 2 else None
    rendered = render_run(stats, fmt)
    if fmt == "json":
        import json

        data = json.loads(str(rendered))
        if routing is not None:
            from llmaudit.render.routing import routing_json

            data["routing"] = json.loads(routing_json(routing))
        out.json(data)
    elif isinstance(rendered, str):
        out.data(rendered)
        if routing is not None and fmt == "markdown":
            from llmaudit.render.routing import routing_markdown

            out.data(routing_markdown(routing))
    else:
        out.table(rendered)
        if routing is not None:
            from llmaudit.render.routing import routing_renderables

            for part in routing_renderables(routing):
                out.table(part)
    if html is not None:
        _write_html(table, routing, manifest, run_dir, Path(html), stats)


def _report_sweep(sweep_dir: str, fmt: str, html: str | Path | None, slo: Any) -> None:
    """A load sweep: every level's per-model figures side by side (and the HTML chart)."""
    from llmaudit.analysis.routing.runstats import build_runstats
    from llmaudit.analysis.routing.sweepstats import SweepPoint, SweepStats
    from llmaudit.render.sweep import render_sweep, sweep_html
    from llmaudit.replay import read_manifest, read_results
    from llmaudit.replay.sweep import read_sweep

    points = [SweepPoint(level.kind, level.value,
                         build_runstats(read_results(folder), read_manifest(folder), str(folder), slo))
              for level, folder in read_sweep(sweep_dir)]
    if not points:
        raise InputError("the sweep has no finished level yet", path=sweep_dir)
    sweep = SweepStats(sweep_dir, points)
    rendered = render_sweep(sweep, fmt)
    if fmt == "json":
        import json

        out.json(json.loads(str(rendered)))
    elif isinstance(rendered, str):
        out.data(rendered)
    else:
        out.table(rendered)
    if html is not None:
        try:
            Path(html).write_text(sweep_html(sweep), encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"--html: cannot write {html}: {exc.strerror}") from None
        out.info(f"wrote {html}")


def _routing(table: Any, manifest: dict[str, Any], flags: RoutingFlags, run_dir: str) -> Any:
    from types import SimpleNamespace

    from llmaudit.analysis.routing.report import RoutingOptions, build_routing
    from llmaudit.config import load_config
    from llmaudit.pricing import fees
    from llmaudit.units import parse_volume

    config = load_config(flags.config)
    # The rows were priced when the run was made; the report names that catalog date, not today's.
    priced_with = SimpleNamespace(as_of=manifest.get("catalog_as_of"))
    options = RoutingOptions(
        threshold=flags.threshold,
        reference=flags.reference,
        volume=parse_volume(flags.volume) if flags.volume else None,
        fee_pct=fees(config).platform_pct,
    )
    judge = None
    if flags.judge:
        table, judge = _judge(table, manifest, flags, config, run_dir)
    return build_routing(table, priced_with, options, judge=judge)


def _judge(table: Any, manifest: dict[str, Any], flags: RoutingFlags, config: Any, run_dir: str) -> tuple[Any, Any]:
    """Grade unchecked answers with an LLM judge (its own calls are priced and reported)."""
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
                out.info(f"prompt set: {prompts_path} ({found[1]}; the manifest names "
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
    out.info(f"judging unchecked answers with {flags.judge} …")
    return judge_results(table, JudgeOptions(flags.judge, rubric), JudgeModel(flags.judge, config),
                         prompts=texts or None, catalog=load_catalog(config))


def _write_html(table: Any, routing: Any, manifest: dict[str, Any], run_dir: str, path: Path,
                stats: Any = None) -> None:
    from llmaudit.render.formats import moment

    try:
        from llmaudit.render.html import render_run_html
    except ImportError:
        raise UsageError("HTML for run reports arrives with the routing report") from None

    if table.num_rows == 0:
        raise InputError("the run has no results yet; nothing to put in an HTML report", path=run_dir)
    report = routing if routing is not None else _routing(table, manifest, RoutingFlags(), run_dir)
    meta = {
        "Run directory": run_dir,
        "Status": manifest.get("status", "unknown"),
        "Created": moment(manifest.get("created_at")),
        "Prices as of": manifest.get("catalog_as_of", ""),
        "Prompt set": manifest.get("prompts", {}).get("path", ""),
    }
    try:
        path.write_text(render_run_html(report, meta=meta, stats=stats), encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"--html: cannot write {path}: {exc.strerror}") from None
    out.info(f"wrote {path}")
