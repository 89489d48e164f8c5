"""``llmaudit demo``: the whole pipeline, offline, on the bundled data, in well under a minute.

1. the bundled month of usage logs (``examples/logs``) → the spend report;
2. the bundled prompt set (``examples/prompts.jsonl``) → replay on the ``sim`` models → OUT/run/;
3. the routing report on that run.

Everything calls the library directly (no subprocesses). The sim models are an in-process
simulator, and every report says SIMULATED, so no key and no network are needed. The reports
themselves are rendered and written by the CLI.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmaudit.errors import UsageError
from llmaudit.workflows.notices import Notices, Silent

if TYPE_CHECKING:
    from llmaudit.analysis.routing.report import RoutingReport
    from llmaudit.analysis.routing.runstats import RunStats
    from llmaudit.analysis.spend.report import SpendReport
    from llmaudit.config import Config
    from llmaudit.pricing.catalog import Catalog
    from llmaudit.replay.runner import RunSummary

__all__ = ["DEMO_MODELS", "DEMO_VOLUME", "DemoOptions", "DemoResult", "run_demo"]

# Cheap → premium across four provider families, so routing and failover have something to choose.
DEMO_MODELS = (
    "sim/gpt-4.1-nano",
    "sim/gpt-4o-mini",
    "sim/gpt-4o",
    "sim/claude-haiku-4-5",
    "sim/claude-sonnet-4-5",
    "sim/gemini-2.5-flash",
    "sim/gemini-2.5-pro",
    "sim/deepseek-chat",
)
DEMO_VOLUME = "2M-requests/month"
_MARKER = ".llmaudit-demo"


@dataclass(frozen=True)
class DemoOptions:
    out_dir: Path


@dataclass(frozen=True)
class DemoResult:
    out_dir: Path
    run_dir: Path
    spend: SpendReport
    replay: RunSummary
    routing: RoutingReport
    stats: RunStats  # the run's latency distributions, for the routing HTML
    manifest: dict[str, Any]


def run_demo(options: DemoOptions, notices: Notices | None = None) -> DemoResult:
    """Run the pipeline; the replay's run directory is ``out_dir/run``."""
    from llmaudit.config import data_path, load_config
    from llmaudit.pricing import load_catalog

    notices = notices or Silent()
    out_dir = options.out_dir
    examples = data_path("examples")
    run_dir = out_dir / "run"
    _claim(out_dir, run_dir)
    config = load_config()
    catalog = load_catalog(config)
    notices.info("1/3 spend report on the bundled month of usage logs …")
    spend = _spend(examples, catalog, config)
    notices.info(f"2/3 replaying {examples / 'prompts.jsonl'} on {len(DEMO_MODELS)} simulated models …")
    summary, table = _replay(examples, run_dir, catalog, config)
    notices.info("3/3 routing report …")
    routing, stats, manifest = _routing(table, run_dir, catalog, config)
    return DemoResult(out_dir, run_dir, spend, summary, routing, stats, manifest)


def _claim(out_dir: Path, run_dir: Path) -> None:
    """Only a folder an earlier demo made (it leaves a marker) is overwritten: a user's spend.html
    or run/ with the demo's names must survive."""
    from llmaudit.replay import is_run_dir

    marker = out_dir / _MARKER
    if out_dir.is_dir() and any(out_dir.iterdir()) and not marker.exists():
        raise UsageError(f"--out {out_dir} is not empty and was not made by llmaudit demo; choose an empty or "
                         "new folder")
    if run_dir.exists() and not is_run_dir(run_dir):
        raise UsageError(f"{run_dir} exists and is not a replay run directory; choose another --out")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        marker.write_text("made by llmaudit demo: rerunning the demo into this folder replaces its files\n")
    except OSError as exc:
        raise UsageError(f"--out {out_dir}: cannot create: {exc.strerror}") from None


def _spend(examples: Path, catalog: Catalog, config: Config) -> SpendReport:
    from llmaudit.analysis.common.records import open_records
    from llmaudit.analysis.spend.builder import build_spend
    from llmaudit.analysis.spend.report import SpendOptions
    from llmaudit.units import parse_by

    # The whole folder: every bundled format (JSONL request logs and the OpenRouter CSV export).
    logs = [str(examples / "logs")]
    if not any((examples / "logs").glob("*")):
        raise UsageError(f"{examples / 'logs'}: the bundled usage logs are missing from this installation")
    records = open_records(logs)
    return build_spend(records.batches(), catalog, SpendOptions(by=parse_by("model,provider,day")), config=config,
                       inputs=logs, ingest_summary=records.summary)


def _replay(examples: Path, run_dir: Path, catalog: Catalog, config: Config) -> tuple[RunSummary, Any]:
    from llmaudit.replay import ReplayOptions, load_prompts, read_results, run_replay

    if run_dir.exists():
        shutil.rmtree(run_dir)  # our own previous demo run (checked by _claim): start afresh
    prompts = load_prompts(str(examples / "prompts.jsonl"))
    options = ReplayOptions(concurrency=16, use_cache=False, config=config, catalog=catalog)
    summary = run_replay(prompts, list(DEMO_MODELS), run_dir, options)
    return summary, read_results(run_dir)


def _routing(table: Any, run_dir: Path, catalog: Catalog,
             config: Config) -> tuple[RoutingReport, RunStats, dict[str, Any]]:
    from llmaudit.analysis.routing.report import RoutingOptions, build_routing
    from llmaudit.analysis.routing.runstats import build_runstats
    from llmaudit.pricing import fees
    from llmaudit.replay import read_manifest
    from llmaudit.units import parse_volume

    options = RoutingOptions(volume=parse_volume(DEMO_VOLUME), fee_pct=fees(config).platform_pct)
    report = build_routing(table, catalog, options)
    manifest = read_manifest(run_dir)
    return report, build_runstats(table, manifest, str(run_dir)), manifest
