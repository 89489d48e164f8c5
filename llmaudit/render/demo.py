"""What ``llmaudit demo`` writes: its six report files and the dozen lines it prints."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from llmaudit.analysis.routing.report import RoutingReport
from llmaudit.analysis.routing.runstats import RunStats
from llmaudit.analysis.spend.report import SpendReport
from llmaudit.render.formats import count, pct, usd
from llmaudit.render.spend_text import spend_json

__all__ = ["demo_files", "demo_summary"]


def demo_files(spend: SpendReport, routing: RoutingReport, stats: RunStats, manifest: dict[str, Any],
               run_dir: Path, volume: str) -> dict[str, str]:
    """File name → text: spend.html, spend.md, spend.json, routing.html, routing.md, routing.json."""
    from llmaudit.render.html import render_run_html
    from llmaudit.render.routing import routing_json, routing_markdown
    from llmaudit.render.spend import render_markdown
    from llmaudit.render.spend_html import render_spend_html

    meta = {
        "Run directory": str(run_dir),
        "Prompt set": "bundled examples/prompts.jsonl",
        "Run status": str(manifest.get("status", "unknown")),
        "Volume": volume,
    }
    return {
        "spend.html": render_spend_html(spend),
        "spend.md": render_markdown(spend),
        "spend.json": json.dumps(spend_json(spend), indent=2),
        "routing.html": render_run_html(routing, title="llmaudit demo: replay and routing", meta=meta, stats=stats),
        "routing.md": routing_markdown(routing),
        "routing.json": routing_json(routing),
    }


def demo_summary(spend: SpendReport, routing: RoutingReport, run_dir: Path, out_dir: Path) -> list[str]:
    """What the demo found, in a dozen lines, then where the reports are."""
    from llmaudit.render.routing import headline

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
    lines += [f"  {line}" for line in headline(routing) if not line.startswith("SIMULATED")]
    lines += ["", "Reports",
              f"  spend:    {out_dir / 'spend.html'}  (also spend.md, spend.json)",
              f"  routing:  {out_dir / 'routing.html'}  (also routing.md, routing.json)",
              f"  run:      {run_dir}  (try: llmaudit report {run_dir})"]
    return lines
