"""The check in English: headlines (one sentence per model or category that warns or fails) and the
notes that follow from the figures (price catalog changed, estimates, simulator, no repeats).

The analysis (``analysis.gate``) grades; these sentences are said in the table, the Markdown comment
and the JSON (``headlines``, ``notes``), so every output words a check the same way.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from llmaudit.analysis.gate.findings import CheckReport, Finding
from llmaudit.analysis.gate.measurement import ALL

__all__ = ["check_headlines", "check_json", "check_notes"]


def check_json(report: CheckReport) -> dict[str, Any]:
    """``report.to_dict()`` with the headlines and notes where ``--format json`` has always put them."""
    data = report.to_dict()
    head = {"status": data.pop("status"), "exit_code": data.pop("exit_code"), "headlines": check_headlines(report)}
    data.pop("notes")
    return {**head, "notes": check_notes(report), **data}


def check_notes(report: CheckReport) -> list[str]:
    """The report's own notes (the traffic mix, the policies), then what the figures imply."""
    baseline, current, findings = report.baseline, report.current, report.findings
    notes = list(report.notes)
    if baseline.catalog_as_of and current.catalog_as_of and baseline.catalog_as_of != current.catalog_as_of:
        notes.append(
            f"price catalog changed ({baseline.catalog_as_of} → {current.catalog_as_of}): "
            "cost deltas include price changes"
        )
    if any(not f.exact for f in findings if f.metric in ("input_tokens", "cost_per_request", "monthly_cost")):
        notes.append("~ marks figures that rest on estimated token counts (no offline tokenizer for that model)")
    simulated = sorted({m for m, _ in current.groups if m.startswith("sim/")})
    if simulated:
        notes.append(f"SIMULATED: {', '.join(simulated)} are the offline simulator, not real providers")
    if current.mode == "measured" and not any(g.noise_known for g in current.groups.values()):
        notes.append(
            "no repeated prompts: token and cost changes are taken at face value; replay with --repeats 3 "
            "to measure sampling noise"
        )
    if current.mode == "estimate":
        notes.append(
            "estimate mode: input tokens counted locally, output tokens assumed (max_tokens or the default); "
            "nothing was sent"
        )
    return notes


def check_headlines(report: CheckReport) -> list[str]:
    """One sentence per model whose cost or tokens warn or fail, with the money at volume, and
    one per prompt category that fails (a category can regress while the model's mean holds)."""
    findings, volume = report.findings, report.volume
    lines: list[str] = []
    groups: dict[tuple[str, str], dict[str, Finding]] = defaultdict(dict)
    for f in findings:
        if not f.derived or f.metric == "monthly_cost":
            groups[(f.model, f.category)][f.metric] = f
    for (model, category), fs in groups.items():
        for kind in ("model", "category"):
            if kind in fs and fs[kind].status in ("new", "removed") and category == ALL:
                lines.append(f"{model}: {fs[kind].status} — {fs[kind].note}")
        bad = ("warn", "fail") if category == ALL else ("fail",)
        drivers = [fs[m] for m in ("input_tokens", "output_tokens", "cost_per_request", "p95_latency_ms", "pass_rate",
                                   "goodput") if m in fs and fs[m].status in bad]  # fmt: skip
        monthly = fs.get("monthly_cost")
        if monthly is not None and monthly.status in bad and not monthly.derived and monthly not in drivers:
            drivers.append(monthly)
        if not drivers:
            continue
        where = model if category == ALL else f"{model} [{category}]"
        line = f"{where}: " + ", ".join(_change_text(f) for f in drivers if f.metric != "monthly_cost")
        if monthly is not None and monthly.delta is not None and volume is not None:
            sign = "+" if monthly.delta >= 0 else "-"
            line += f" → {sign}{_money(abs(monthly.delta))}/month at {_volume_text(volume)} requests/month"
        worst = "FAIL" if any(f.status == "fail" for f in drivers) else "warn"
        # only the month moved past its limit: "model: cost/month → +$X/month", not "model:  → …"
        lines.append(f"{worst}: {line.replace(':  →', ': cost/month →')}")
    return lines


def _change_text(f: Finding) -> str:
    short = {
        "input_tokens": "input tokens",
        "output_tokens": "output tokens",
        "cost_per_request": "cost per request",
        "p95_latency_ms": "p95 latency",
        "pass_rate": "pass rate",
        "goodput": "goodput",
    }[f.metric]
    prefix = "" if f.exact else "~"
    if f.metric in ("pass_rate", "goodput"):
        if f.delta is None:
            return f"{short} {f.current:.0%}" if f.current is not None else short
        return f"{short} {f.delta * 100:+.1f} points"
    if f.delta_pct is None:
        if f.delta is not None and f.baseline == 0:
            return f"{prefix}{short} up from 0"
        return f"{short} {f.note}".strip()
    return f"{prefix}{f.delta_pct * 100:+.1f}% {short}"




def _money(x: float) -> str:
    if x >= 100:
        return f"${x:,.0f}"
    if x >= 1:
        return f"${x:,.2f}"
    return f"${x:.4g}"


def _volume_text(volume: int) -> str:
    for div, suffix in ((10**9, "B"), (10**6, "M"), (10**3, "k")):
        if volume >= div and volume % (div // 100 or 1) == 0:
            return f"{volume / div:g}{suffix}"
    return f"{volume:,}"
