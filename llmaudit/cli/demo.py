"""`llmaudit demo`: the whole pipeline, offline, on the bundled data, in well under a minute.

1. the bundled month of usage logs (``examples/logs``) → spend report: spend.html, spend.md, spend.json;
2. the bundled prompt set (``examples/prompts.jsonl``) → replay on the ``sim`` models → OUT/run/;
3. the routing report on that run: routing.html, routing.md, routing.json.

Everything calls the library directly (no subprocesses). The sim models are an in-process
simulator — every report says SIMULATED — so no key and no network are needed.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import typer

from llmaudit.cli._output import out
from llmaudit.errors import UsageError

__all__ = ["DEMO_MODELS", "DEMO_VOLUME", "register", "run_demo", "summary_lines"]

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


def _write(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{path}: cannot write: {exc.strerror}") from None


def _spend(examples: Path, out_dir: Path, catalog: Any, config: Any) -> Any:
    import json

    from llmaudit.analysis.common.records import open_records
    from llmaudit.analysis.spend.builder import build_spend
    from llmaudit.analysis.spend.report import SpendOptions
    from llmaudit.render.spend import render_markdown
    from llmaudit.render.spend_html import render_spend_html
    from llmaudit.render.spend_text import spend_json
    from llmaudit.units import parse_by

    # The whole folder: every bundled format (JSONL request logs and the OpenRouter CSV export).
    logs = [str(examples / "logs")]
    if not any((examples / "logs").glob("*")):
        raise UsageError(f"{examples / 'logs'}: the bundled usage logs are missing from this installation")
    records = open_records(logs)
    report = build_spend(
        records.batches(), catalog, SpendOptions(by=parse_by("model,provider,day")), config=config, inputs=logs,
        ingest_summary=records.summary,
    )
    _write(out_dir / "spend.html", render_spend_html(report))
    _write(out_dir / "spend.md", render_markdown(report))
    _write(out_dir / "spend.json", json.dumps(spend_json(report), indent=2))
    return report


def _replay(examples: Path, run_dir: Path, catalog: Any, config: Any) -> Any:
    from llmaudit.replay import ReplayOptions, load_prompts, read_results, run_replay

    if run_dir.exists():
        shutil.rmtree(run_dir)  # our own previous demo run (checked by run_demo): start afresh
    prompts = load_prompts(str(examples / "prompts.jsonl"))
    options = ReplayOptions(concurrency=16, use_cache=False, config=config, catalog=catalog)
    summary = run_replay(prompts, list(DEMO_MODELS), run_dir, options)
    return summary, read_results(run_dir)


def _routing(table: Any, out_dir: Path, run_dir: Path, catalog: Any, config: Any) -> Any:
    from llmaudit.analysis.routing.report import RoutingOptions, build_routing
    from llmaudit.pricing import fees
    from llmaudit.render.html import render_run_html
    from llmaudit.render.routing import routing_json, routing_markdown
    from llmaudit.replay import read_manifest
    from llmaudit.units import parse_volume

    options = RoutingOptions(volume=parse_volume(DEMO_VOLUME), fee_pct=fees(config).platform_pct)
    report = build_routing(table, catalog, options)
    manifest = read_manifest(run_dir)
    meta = {
        "Run directory": str(run_dir),
        "Prompt set": "bundled examples/prompts.jsonl",
        "Run status": str(manifest.get("status", "unknown")),
        "Volume": DEMO_VOLUME,
    }
    from llmaudit.analysis.routing.runstats import build_runstats

    stats = build_runstats(table, manifest, str(run_dir))  # the latency-distribution tables
    _write(out_dir / "routing.html", render_run_html(report, title="llmaudit demo: replay and routing", meta=meta,
                                                     stats=stats))
    _write(out_dir / "routing.md", routing_markdown(report))
    _write(out_dir / "routing.json", routing_json(report))
    return report


_MARKER = ".llmaudit-demo"


def run_demo(out_dir: Path) -> dict[str, Any]:
    """Run the pipeline into ``out_dir``; returns what was written and the headline figures."""
    from llmaudit.config import data_path, load_config
    from llmaudit.pricing import load_catalog
    from llmaudit.render.routing import headline
    from llmaudit.replay import is_run_dir

    examples = data_path("examples")
    run_dir = out_dir / "run"
    marker = out_dir / _MARKER
    if out_dir.is_dir() and any(out_dir.iterdir()) and not marker.exists():
        # Only a folder an earlier demo made (it leaves a marker) is overwritten: a user's
        # spend.html or run/ with the demo's names must survive.
        raise UsageError(f"--out {out_dir} is not empty and was not made by llmaudit demo; choose an empty or "
                         "new folder")
    if run_dir.exists() and not is_run_dir(run_dir):
        raise UsageError(f"{run_dir} exists and is not a replay run directory; choose another --out")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        marker.write_text("made by llmaudit demo: rerunning the demo into this folder replaces its files\n")
    except OSError as exc:
        raise UsageError(f"--out {out_dir}: cannot create: {exc.strerror}") from None
    config = load_config()
    catalog = load_catalog(config)
    out.info("1/3 spend report on the bundled month of usage logs …")
    spend = _spend(examples, out_dir, catalog, config)
    out.info(f"2/3 replaying {examples / 'prompts.jsonl'} on {len(DEMO_MODELS)} simulated models …")
    summary, table = _replay(examples, run_dir, catalog, config)
    out.info("3/3 routing report …")
    routing = _routing(table, out_dir, run_dir, catalog, config)
    return {"spend": spend, "replay": summary, "routing": routing, "headline": headline(routing), "run_dir": run_dir}


def demo(
    out_dir: Path = typer.Option(Path("llmaudit-demo"), "--out", help="Where to write the reports."),
) -> None:
    """The whole pipeline offline: spend audit of bundled logs, replay on simulated models, routing savings."""
    result = run_demo(out_dir)
    out.data("\n".join(summary_lines(result, out_dir)))


def summary_lines(result: dict[str, Any], out_dir: Path) -> list[str]:
    """What the demo found, in a dozen lines, then where the reports are."""
    from llmaudit.render.formats import count, pct, usd

    spend, routing = result["spend"], result["routing"]
    t, rec, w = spend.totals, spend.reconciliation, spend.whatif
    lines = ["llmaudit demo: everything offline; the replay uses SIMULATED models (sim/*)", "",
             f"Spend audit of the bundled month ({count(spend.rows_read)} requests, "
             f"{len(spend.sources)} log files)",
             f"  recomputed at list price   {usd(t.cost)}"]
    if t.unpriced_requests:
        lines[-1] += f"  (+{count(t.unpriced_requests)} unpriced requests, not counted as $0)"
    if rec.compared_rows:
        lines.append(f"  billed vs list price       {count(rec.differing_rows)} of {count(rec.compared_rows)} billed "
                     f"requests differ by more than {pct(float(rec.tolerance), 0)}")
    if w is not None:
        r = w.routed
        lines.append(f"  routing could save         {usd(r.annual_savings, 0)}/year "
                     f"(range {usd(r.annual_savings_low, 0)} … {usd(r.annual_savings_high, 0)}, "
                     f"{r.fee_pct}% platform fee included)")
    lines += ["", f"Replay of the bundled prompt set on {len(routing.models)} simulated models"]
    lines += [f"  {line}" for line in result["headline"] if not line.startswith("SIMULATED")]
    run_dir = result["run_dir"]
    lines += ["", "Reports",
              f"  spend:    {out_dir / 'spend.html'}  (also spend.md, spend.json)",
              f"  routing:  {out_dir / 'routing.html'}  (also routing.md, routing.json)",
              f"  run:      {run_dir}  (try: llmaudit report {run_dir})"]
    return lines


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
