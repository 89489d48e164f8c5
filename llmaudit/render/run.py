"""Rendering of replay runs: the per-model report, the dry-run estimate, the end-of-run summary
and the live progress display. Reads typed results only; does no arithmetic beyond formatting.

Every output that contains simulated results says SIMULATED (table caption, a JSON ``notice``,
a CSV ``notice`` column, a Markdown banner).
"""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from rich import box
from rich.console import Console, Group
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.text import Text

from llmaudit.analysis.common.latency import Dist
from llmaudit.analysis.routing.runnotices import RunSimulated
from llmaudit.analysis.routing.runstats import ModelStats, RunStats
from llmaudit.render.formats import count, moment, ms, pct, usd
from llmaudit.render.run_text import run_json_data, run_warnings
from llmaudit.render.table import FitTable
from llmaudit.replay.estimate import EstimateSummary
from llmaudit.replay.runner import Progress as RunProgress
from llmaudit.replay.runner import RunSummary

if TYPE_CHECKING:
    from llmaudit.analysis.routing.report import RoutingReport

__all__ = [
    "ReplayProgress",
    "distribution_rows",
    "render_estimate",
    "render_run",
    "run_csv",
    "run_html_meta",
    "run_markdown",
    "run_report_json",
    "run_table",
    "summary_lines",
    "throughput_cells",
]

SIM_BANNER = "SIMULATED: sim/* models are the offline simulator, not real providers"
_COLUMNS = [
    ("model", "Model"),
    ("requests", "Requests"),
    ("error_rate", "Errors"),
    ("pass_rate", "Pass"),
    ("input_tokens", "Input tok"),
    ("output_tokens", "Output tok"),
    ("cost_per_request", "$/request"),
    ("cost_per_1k_requests", "$/1k requests"),
    ("latency_p50_ms", "p50 latency"),
    ("latency_p95_ms", "p95 latency"),
    ("ttft_p50_ms", "p50 TTFT"),
    ("tokens_per_s", "Output tok/s"),
]


def _money(value: Decimal | None, unpriced: int) -> str:
    if value is None:
        return f"unpriced ({unpriced})" if unpriced else "n/a"
    return usd(value, places=4)


def _cell(m: ModelStats, key: str) -> str:
    if key == "model":
        return m.model  # sim models are named sim/...; titles and notes say SIMULATED
    if key == "requests":
        return count(m.requests)
    if key == "error_rate":
        return pct(m.error_rate) if m.errors else "0"
    if key == "pass_rate":
        return pct(m.pass_rate) if m.pass_rate is not None else "no checks"
    if key in ("input_tokens", "output_tokens"):
        text = count(getattr(m, key))
        return text + "*" if m.estimated_usage else text
    if key in ("cost_per_request", "cost_per_1k_requests"):
        value = getattr(m, key)
        if value is None:
            return _money(None, m.unpriced)
        return usd(value, places=6 if key == "cost_per_request" else 2)
    if key in ("latency_p50_ms", "latency_p95_ms", "ttft_p50_ms"):
        return ms(getattr(m, key))
    if key == "tokens_per_s":
        return f"{m.tokens_per_s:,.1f}" if m.tokens_per_s is not None else "n/a"
    raise KeyError(key)


def _heading(stats: RunStats) -> str:
    parts = [("SIMULATED replay run " if stats.simulated else "Replay run ") + stats.run_dir, f"status {stats.status}"]
    if stats.prompts is not None:
        parts.append(f"{stats.prompts} prompts")
    parts.append(f"{stats.rows} results" + (f" of {stats.planned}" if stats.planned is not None else ""))
    if stats.catalog_as_of:
        parts.append(f"prices as of {stats.catalog_as_of}")
    return " · ".join(parts)


_SHORT = {"requests": "Req", "error_rate": "Err", "input_tokens": "In tok", "output_tokens": "Out tok",
          "cost_per_request": "$/req", "cost_per_1k_requests": "$/1k req", "latency_p50_ms": "p50",
          "latency_p95_ms": "p95", "ttft_p50_ms": "p50 TTFT", "tokens_per_s": "Out tok/s"}
_COST_KEYS = ("model", "requests", "error_rate", "pass_rate", "input_tokens", "output_tokens", "cost_per_request",
              "cost_per_1k_requests")
_SPEED_KEYS = ("model", "latency_p50_ms", "latency_p95_ms", "ttft_p50_ms", "tokens_per_s")


def _subtable(stats: RunStats, keys: tuple[str, ...], title: str) -> FitTable:
    labels = {**dict(_COLUMNS), **_SHORT}
    table = FitTable(title, box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    for key in keys:
        table.add_column(labels[key], justify="left" if key == "model" else "right")
    for m in stats.models:
        table.add_row(*(_cell(m, key) for key in keys))
    return table


_METRICS = (("ttft", "TTFT"), ("itl", "ITL"), ("tpot", "TPOT"), ("e2e", "E2E"))
_STATS = ("mean", "std", "p50", "p90", "p95", "p99")
TIMING_NOTE = ("TTFT first token · ITL gap between streamed chunks (a chunk may hold several tokens) · "
               "TPOT (E2E − TTFT)/(output tokens − 1) · E2E whole request; monotonic clock at the transport")


def _ms1(value: float) -> str:
    return f"{value:,.1f}"


def distribution_rows(m: ModelStats) -> list[tuple[str, ...]]:
    """(metric, n, mean, std, p50, p90, p95, p99) per latency metric; unknown ones say so."""
    rows = []
    for key, label in _METRICS:
        dist: Dist | None = getattr(m, key)
        if dist is None:
            rows.append((label, "0", *("unknown",) * len(_STATS)))
        else:
            rows.append((label, count(dist.n), *(_ms1(getattr(dist, s)) for s in _STATS)))
    return rows


def _distribution_table(stats: RunStats) -> FitTable:
    table = FitTable("Latency distribution, ms (answered requests that were sent; cached ones left out)",
                     caption=TIMING_NOTE, keys=2, box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    table.add_column("Model")
    table.add_column("Metric")
    # At 80 columns p90 and then std give way (named under the table); mean, p50, p95, p99 stay.
    for label in ("n", *_STATS):
        table.add_column(label, justify="right", hide={"p90": 2, "std": 1}.get(label))
    for m in stats.models:
        for row in distribution_rows(m):
            table.add_row(m.model, *row)
    return table


def _rate(value: float | None, places: int, simulated: bool) -> str:
    if value is None:
        return "n/a (sim)" if simulated else "unknown"
    return f"{value:,.{places}f}"


def throughput_cells(m: ModelStats, slo: bool) -> list[str]:
    cells = [_rate(m.request_throughput, 3, m.simulated), _rate(m.output_throughput, 1, m.simulated)]
    if slo:
        good = "unknown" if m.good is None else f"{count(m.good)} of {count(m.sent)}"
        per_good = usd(m.cost_per_good_request, places=6) if m.cost_per_good_request is not None else (
            "no good requests" if m.good == 0 else "unpriced" if m.unpriced else "n/a")
        share = pct(m.goodput) if m.goodput is not None else "n/a"
        cells += [good, share, _rate(m.goodput_rps, 3, m.simulated), per_good]
    return cells


def _throughput_table(stats: RunStats) -> FitTable:
    if stats.models and all(m.simulated for m in stats.models):
        wall = "not measured for sim/* models: their clock is simulated"
    elif stats.wall_s is not None:
        wall = f"{stats.wall_s:,.2f} s"
    else:
        wall = "unknown: the run has no recorded wall time"
    title = f"Throughput over the run's wall time ({wall})"
    caption = None
    if stats.slo is not None:
        title += f" and goodput under SLO {stats.slo.text()}"
        caption = "good = answered and met every objective; goodput = good / sent; $/good req = cost of the " \
                  "sent, answered requests / good ones"
    table = FitTable(title, caption=caption, box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    table.add_column("Model")
    headers = ["Req/s", "Out tok/s"] + (["Good", "Goodput", "Good req/s", "$/good req"] if stats.slo else [])
    for header in headers:
        table.add_column(header, justify="right")
    for m in stats.models:
        table.add_row(m.model, *throughput_cells(m, stats.slo is not None))
    return table


def run_table(stats: RunStats) -> Group:
    """Narrow tables (cost & quality, speed, distributions, throughput) that fit an 80-column terminal."""
    cost = _subtable(stats, _COST_KEYS, _heading(stats))
    speed = _subtable(stats, _SPEED_KEYS, "Latency (answered requests that were sent; cached ones left out)")
    notes = run_warnings(stats)
    if any(m.estimated_usage for m in stats.models):
        notes.append("* includes locally estimated token counts")
    parts: list[Any] = [cost, speed, _distribution_table(stats), _throughput_table(stats)]
    if notes:
        parts.append(Text("\n".join(notes)))
    return Group(*parts)


def run_json(stats: RunStats) -> str:
    return json.dumps(run_json_data(stats), indent=2, default=str)


def run_csv(stats: RunStats) -> str:
    buf = io.StringIO()
    fields = [
        "model", "provider", "notice", "requests", "ok", "errors", "error_rate", "checked", "passed", "pass_rate",
        "input_tokens", "output_tokens", "cost_usd", "unpriced", "cost_per_request", "cost_per_1k_requests",
        "latency_p50_ms", "latency_p95_ms", "ttft_p50_ms", "tokens_per_s", "timed", "cached", "estimated_usage",
        "request_throughput", "output_throughput", "sent", "good", "goodput", "goodput_rps", "cost_per_good_request",
    ]
    timing = [f"{k}_{s}_ms" for k, _ in _METRICS for s in _STATS]
    writer = csv.DictWriter(buf, fieldnames=[*fields, *timing], lineterminator="\n")
    writer.writeheader()
    for m in stats.models:
        row: dict[str, Any] = {k: getattr(m, k) for k in fields if k != "notice"}
        for key, _ in _METRICS:
            dist = getattr(m, key)
            for stat in _STATS:
                row[f"{key}_{stat}_ms"] = getattr(dist, stat) if dist is not None else None
        notes = []
        if m.simulated:
            notes.append("SIMULATED")
        if m.unpriced:
            notes.append(f"unpriced: {m.unpriced} requests")
        if m.estimated_usage:
            notes.append(f"estimated tokens: {m.estimated_usage} requests")
        row["notice"] = "; ".join(notes)
        for key in ("cost_usd", "cost_per_request", "cost_per_1k_requests", "cost_per_good_request"):
            if row[key] is None:
                row[key] = "unpriced" if m.unpriced else ""
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return buf.getvalue()


def run_markdown(stats: RunStats) -> str:
    lines = [f"## {_heading(stats)}", ""]
    if stats.simulated:
        lines += [f"> **{SIM_BANNER}**", ""]
    lines.append("| " + " | ".join(label for _, label in _COLUMNS) + " |")
    lines.append("|" + "|".join(":--" if key == "model" else "--:" for key, _ in _COLUMNS) + "|")
    for m in stats.models:
        lines.append("| " + " | ".join(_cell(m, key).replace("|", "\\|") for key, _ in _COLUMNS) + " |")
    lines += ["", "| Model | Metric | n | " + " | ".join(_STATS) + " |", "|:--|:--|" + "--:|" * (1 + len(_STATS))]
    for m in stats.models:
        lines.extend(f"| {m.model} | " + " | ".join(row) + " |" for row in distribution_rows(m))
    lines += ["", f"Latency in ms. {TIMING_NOTE}."]
    slo = stats.slo is not None
    heads = ["Req/s", "Out tok/s"] + (["Good", "Goodput", "Good req/s", "$/good req"] if slo else [])
    lines += ["", "| Model | " + " | ".join(heads) + " |", "|:--|" + "--:|" * len(heads)]
    lines.extend(f"| {m.model} | " + " | ".join(throughput_cells(m, slo)) + " |" for m in stats.models)
    notes = run_warnings(stats, leave_out=(RunSimulated,))
    if stats.slo is not None:
        notes.append(f"SLO {stats.slo.text()}: good = answered and met every objective")
    if any(m.estimated_usage for m in stats.models):
        notes.append("\\* includes locally estimated token counts")
    if notes:
        lines.append("")
        lines.extend(f"- {note}" for note in notes)
    return "\n".join(lines) + "\n"


def run_html_meta(run_dir: str, manifest: dict[str, Any]) -> dict[str, str]:
    """The facts above the run's HTML report."""
    return {
        "Run directory": run_dir,
        "Status": manifest.get("status", "unknown"),
        "Created": moment(manifest.get("created_at")),
        "Prices as of": manifest.get("catalog_as_of", ""),
        "Prompt set": manifest.get("prompts", {}).get("path", ""),
    }


def run_report_json(stats: RunStats, routing: RoutingReport | None) -> str:
    """``report RUN_DIR --format json``: the per-model figures, and the routing report under "routing"."""
    from llmaudit.render.routing import routing_payload  # routing (pandas) only when a run has one

    payload = run_json_data(stats)
    if routing is not None:
        payload = {**payload, "routing": routing_payload(routing)}
    return json.dumps(payload, indent=2, sort_keys=False, default=str)


def render_run(stats: RunStats, fmt: str) -> str | Group:
    """The report in ``fmt`` (table → a rich Table, the others → text for stdout)."""
    if fmt == "table":
        return run_table(stats)
    if fmt == "json":
        return run_json(stats)
    if fmt == "csv":
        return run_csv(stats)
    if fmt == "markdown":
        return run_markdown(stats)
    raise ValueError(fmt)


def render_estimate(summary: EstimateSummary, fmt: str) -> str | FitTable:
    """``replay --dry-run``: tokens and estimated cost per model, with the output assumption."""
    if fmt == "json":
        return json.dumps(summary.to_json(), indent=2)
    assumption = (
        f"output = each prompt's max_tokens, or {summary.default_output_tokens} tokens when it has none "
        "(an upper bound for most chat answers); nothing was sent"
    )
    rows = []
    for m in summary.models:
        rows.append({
            "model": m.model,
            "requests": count(m.requests),
            "input": count(m.input_tokens) + ("" if m.input_exact else " (est.)"),
            "output": count(m.output_tokens) + (f" ({m.output_from_default} assumed)" if m.output_from_default else ""),
            "cost": usd(m.cost_usd, places=4) if m.cost_usd is not None else f"unpriced ({m.price_status})",
        })
    if summary.total_usd is not None:
        total = usd(summary.total_usd, places=4)
    else:
        total = (f"{usd(summary.priced_total_usd, places=4)} for the priced models, plus "
                 f"{', '.join(summary.unpriced_models)} unpriced (unknown, not zero)")
    labels = {"model": "Model", "requests": "Requests", "input": "Input tokens", "output": "Output tokens",
              "cost": "Estimated cost"}
    if fmt in ("markdown", "csv"):
        if fmt == "csv":
            buf = io.StringIO()
            writer = csv.DictWriter(buf, fieldnames=[*labels, "notice"], lineterminator="\n")
            writer.writeheader()
            for m, row in zip(summary.models, rows, strict=True):
                writer.writerow({**row, "model": m.model, "notice": "SIMULATED" if m.simulated else ""})
            return buf.getvalue()
        lines = ["## Replay estimate (dry run)", ""]
        if summary.simulated:
            lines += [f"> **{SIM_BANNER}**", ""]
        lines.append("| " + " | ".join(labels.values()) + " |")
        lines.append("|:--|--:|--:|--:|--:|")
        lines.extend("| " + " | ".join(r.values()) + " |" for r in rows)
        lines += ["", f"Total: {total}. Assumption: {assumption}."]
        return "\n".join(lines) + "\n"
    caption = [f"Total: {total}", f"Assumption: {assumption}"]
    if summary.simulated:
        caption.insert(0, SIM_BANNER)
    table = FitTable("Replay estimate (dry run)", caption="\n".join(caption), box=box.SIMPLE_HEAD, pad_edge=False)
    for key, label in labels.items():
        table.add_column(label, justify="left" if key == "model" else "right")
    for row in rows:
        table.add_row(*row.values())
    return table


def summary_lines(summary: RunSummary) -> list[str]:
    """End-of-run lines for stderr."""
    lines = []
    if summary.simulated:
        lines.append(SIM_BANNER)
    lines.append(
        f"{summary.ok + summary.errors} results written to {summary.run_dir} "
        f"({summary.ok} ok, {summary.errors} errors, {summary.cached} from cache"
        + (f", {summary.already_done} done earlier" if summary.already_done else "")
        + f") in {summary.elapsed_s:.1f} s; spent {usd(summary.spent_usd, places=4)}"
    )
    if summary.unpriced_ok:
        lines.append(f"{summary.unpriced_ok} answered requests have no price: their cost is unknown, not zero")
    if summary.stopped == "budget":
        lines.append(
            f"stopped by --max-cost: {summary.not_sent} requests not sent "
            "(raise the budget and pass --resume to send them)"
        )
    elif summary.not_sent > sum(cut.not_sent for cut in summary.cut_off):
        lines.append(f"{summary.not_sent} requests not sent; --resume sends them")
    # Each cut-off line counts the requests it left unsent (the line above would repeat them).
    for cut in summary.cut_off:
        lines.append(cut.describe())
    for sample in summary.error_samples:
        lines.append(f"error: {sample}")
    return lines


class ReplayProgress:
    """A rich progress bar on stderr: done/total, errors, spend so far, ETA."""

    def __init__(self, console: Console, simulated: bool = False) -> None:
        label = "replay (SIMULATED)" if simulated else "replay"
        self._progress = Progress(
            TextColumn(label),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[errors]} errors · {task.fields[cached]} cached · spent {task.fields[spent]}"),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self._task: Any = None

    def __enter__(self) -> ReplayProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def update(self, p: RunProgress) -> None:
        spent = usd(p.spent_usd, places=4)
        if self._task is None:
            self._task = self._progress.add_task(
                "replay", total=p.total, completed=p.done, errors=p.errors, cached=p.cached, spent=spent
            )
        else:
            self._progress.update(
                self._task, total=p.total, completed=p.done, errors=p.errors, cached=p.cached, spent=spent
            )
