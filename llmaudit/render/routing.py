"""Rendering of the routing report (terminal tables, Markdown, JSON). No arithmetic: it formats
what :func:`llmaudit.analysis.routing.report.build_routing` computed.

Unknown is never zero: an unpriced strategy shows ``unpriced``, a saving that would compare a
worse strategy with a better baseline shows ``lower quality``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from rich.console import RenderableType
from rich.text import Text

from llmaudit.analysis.routing.report import RoutingReport
from llmaudit.analysis.routing.strategies import StrategyResult
from llmaudit.render.formats import ms, pct, usd
from llmaudit.render.table import FitTable

__all__ = [
    "SIM_NOTICE",
    "headline",
    "render_routing",
    "routing_csv",
    "routing_json",
    "routing_markdown",
    "routing_renderables",
    "savings_cell",
]

SIM_NOTICE = "SIMULATED: sim/* models are the offline simulator, not real providers"


def _money(value: float | Decimal | None, places: int = 4) -> str:
    return usd(value, places=places)


def savings_cell(value: float | None) -> str:
    return "lower quality" if value is None else pct(value)


def _ci(row: Any) -> str:
    q = row.quality
    if q.pass_rate is None:
        return "no checks"
    return f"{pct(q.pass_rate)} [{pct(q.ci_low, 0)}–{pct(q.ci_high, 0)}]"


def headline(report: RoutingReport) -> list[str]:
    """The summary sentences shared by every format."""
    lines = [f"{report.prompts} prompts × {len(report.models)} models"]
    if report.simulated:
        lines.insert(0, SIM_NOTICE)
    best = report.best_saving()
    if best:
        s, base, value = best
        lines.append(
            f"{s.name}: {pct(value)} cheaper than {base.name} at equal or better pass rate "
            f"({pct(s.pass_rate)} vs {pct(base.pass_rate)})"
        )
    orc = next((s for s in report.strategies if s.kind == "oracle"), None)
    if orc is not None:
        lines.append(f"oracle (upper bound): {_money(orc.cost_total)} for {pct(orc.pass_rate)} passing")
    if report.quality_sources:
        parts = ", ".join(f"{n:,} by {src}" for src, n in report.quality_sources.items())
        lines.append(f"verdicts: {parts}")
    if report.judge is not None:
        j = report.judge
        cost = _money(j.cost_usd) if j.cost_usd is not None else f"unpriced ({j.unpriced_calls} calls)"
        lines.append(
            f"LLM judge {j.model}: graded {j.judged:,} answers ({j.passed:,} passed, {j.failed_calls:,} ungraded); "
            f"judge cost {cost}"
        )
    if report.unchecked_prompts:
        lines.append(f"{report.unchecked_prompts} prompts have no check: they count as passing when the call succeeded")
    if report.incomplete_prompts:
        lines.append(f"{len(report.incomplete_prompts)} prompts left out: not every model has a result for them")
    estimated = sum(r.estimated_usage for r in report.models)
    if estimated:
        lines.append(
            f"{estimated:,} calls have estimated token counts (the provider reported none): their costs are estimates"
        )
    for model, why in report.excluded_models.items():
        lines.append(f"{model} excluded from routing: {why}")
    return lines


def _models_table(report: RoutingReport) -> FitTable:
    t = FitTable("Models")
    for col in ("Model", "Pass rate [95% CI]", "Errors", "Cost", "$/prompt", "p50", "p95"):
        # The pass rate's interval goes under it when the terminal is narrow (a text column wraps at spaces).
        t.add_column(col, justify="left" if col == "Model" else "right", hide=1 if col == "$/prompt" else None,
                     text=col == "Pass rate [95% CI]")
    for row in report.models:
        cost = _money(row.cost_total)
        if row.unpriced_calls:
            cost = f"unpriced ({row.unpriced_calls})"
        t.add_row(
            row.model,
            _ci(row),
            pct(row.error_rate),
            cost,
            _money(row.cost_per_prompt),
            ms(row.latency_p50),
            ms(row.latency_p95),
        )
    return t


def _strategies_table(report: RoutingReport) -> FitTable:
    best_base = report.top_baseline
    caption = "* the oracle knows every answer in advance: an upper bound, not a router you can run"
    if best_base:
        caption = f"Saving: cheaper than {best_base.name} by this much, at equal or better pass rate\n{caption}"
    t = FitTable("Routing strategies", caption=caption)
    # Left out first when the terminal is narrow (with a note saying so): the per-prompt cost, p95, attempts.
    hide = {"$/prompt": 3, "p95": 2, "Attempts": 1}
    cols = ["Strategy", "Cost", "$/prompt", "Pass rate", "p50", "p95", "Attempts"]
    if best_base:
        cols.append("Saving")
    cols.append("Frontier")
    for col in cols:
        t.add_column(col, justify="left" if col == "Strategy" else "right", text=col in ("Strategy", "Saving"),
                     hide=hide.get(col))
    for s in report.strategies:
        name = s.name + ("" if s.realizable else " *")
        cells = [
            name,
            _money(s.cost_total),
            _money(s.cost_per_prompt),
            pct(s.pass_rate),
            ms(s.latency_p50),
            ms(s.latency_p95),
            f"{s.attempts_mean:.2f}",
        ]
        if best_base:
            cells.append("—" if s.name == best_base.name else savings_cell(s.savings.get(best_base.name)))
        cells.append("yes" if s.on_frontier else "")
        t.add_row(*cells)
    return t


def _shared(values: Sequence[Any]) -> Any:
    """The value every row has in common, or None when they differ (or there are none)."""
    return values[0] if values and all(v == values[0] for v in values) else None


def _savings_tables(report: RoutingReport) -> list[RenderableType]:
    """Baselines routing saves money on, then (apart, not as negative savings) the ones it does not.

    When every baseline is routed with the same strategy, or has the same oracle bound, that figure
    is said once above the table instead of repeated in every row.
    """
    sv = report.savings
    if sv is None:
        return []
    title = (f"Savings at {sv.volume.text} (≈{int(sv.monthly_requests):,} requests/month; "
             f"platform fee {sv.fee_pct}% on routed spend)")
    routed = [r for r in sv.rows if r.routed]
    same = _shared([(r.routed, r.routed_pass_rate, r.monthly_routed) for r in routed])
    oracle = _shared([r.oracle_monthly for r in sv.rows])
    lines: list[str] = []
    if same is not None and len(routed) > 1:
        lines.append(f"Routed with {same[0]} ({pct(same[1])}): {_money(same[2], 2)}/month, fee included")
    if oracle is not None and len(sv.rows) > 1:
        lines.append(f"Oracle (upper bound): {_money(oracle, 2)}/month")
    cols = ["Baseline", "Single /month"]
    if same is None or len(routed) <= 1:
        cols += ["Routed with", "Routed /month"]
    cols += ["Saved /month", "Saved /year", "%"]
    if oracle is None or len(sv.rows) <= 1:
        cols.append("Oracle /month")
    saves, costs_more = _split_savings(sv.rows)
    out: list[RenderableType] = [Text(title, style="bold")]
    out += [Text(line) for line in lines]
    out.append(_savings_rows(saves, cols, "Baselines routing saves on"))
    if costs_more:
        more = [c.replace("Saved", "Extra") for c in cols]
        out.append(_savings_rows(costs_more, more, "Routing costs more than these cheaper, lower-pass-rate models",
                                 negate=True))
    return out


def _split_savings(rows: Sequence[Any]) -> tuple[list[Any], list[Any]]:
    """Rows routing saves on (or cannot route), and rows where routing costs more: a cheaper single
    model at a lower pass rate is not a saving to list among savings."""
    more = [r for r in rows if r.routed and r.monthly_savings is not None and r.monthly_savings < 0]
    return [r for r in rows if r not in more], more


def _savings_rows(rows: Sequence[Any], cols: Sequence[str], title: str, negate: bool = False) -> FitTable:
    t = FitTable(title)
    for col in cols:
        t.add_column(col, justify="left" if col in ("Baseline", "Routed with") else "right",
                     text=col in ("Baseline", "Routed with"))
    sign = -1 if negate else 1

    def signed(value: Any) -> Any:
        return None if value is None else sign * value

    for r in rows:
        cells = {
            "Baseline": f"{r.baseline} ({pct(r.baseline_pass_rate)})",
            "Single /month": _money(r.monthly_single, 2),
            "Routed with": f"{r.routed} ({pct(r.routed_pass_rate)})" if r.routed else r.note,
            "Routed /month": _money(r.monthly_routed, 2) if r.routed else "—",
            "Saved /month": _money(signed(r.monthly_savings), 2) if r.routed else "—",
            "Saved /year": _money(signed(r.annual_savings), 2) if r.routed else "—",
            "%": pct(signed(r.savings_pct)) if r.routed and r.savings_pct is not None else "—",
            "Oracle /month": _money(r.oracle_monthly, 2) if r.oracle_monthly is not None else "—",
        }
        t.add_row(*(cells[c.replace("Extra", "Saved")] for c in cols))
    return t


def _failover_table(report: RoutingReport) -> FitTable | None:
    fo = report.failover
    if not fo.chains:
        return None
    t = FitTable("Failover (composite availability assumes independent failures)")
    for col in ("Chain", "Providers", "Expected", "Observed", "Fell over", "Cost", "Extra cost"):
        t.add_column(col, justify="left" if col in ("Chain", "Providers") else "right",
                     text=col in ("Chain", "Extra cost"),
                     hide=1 if col == "Providers" else None)
    for c in fo.chains:
        extra = "—" if len(c.chain) == 1 else f"{_money(c.extra_cost)} ({pct(c.extra_cost_pct)})"
        t.add_row(
            " → ".join(c.chain),
            "multi" if c.multi_provider else "single",
            pct(c.availability_expected, 2),
            pct(c.availability_observed, 2),
            str(c.fell_over),
            _money(c.cost_total),
            extra,
        )
    return t


def _metrics_line(report: RoutingReport) -> str:
    m = report.metrics
    parts = []
    if m.aiq_router is not None:
        parts.append(f"AIQ category router {m.aiq_router:.3f} vs single models {m.aiq_models or 0:.3f}")
    if m.apgr is not None:
        cpt = ", ".join(f"CPT({k}) {pct(v) if v is not None else 'n/a'}" for k, v in m.cpt.items())
        parts.append(f"APGR {m.apgr:.3f} ({m.weak} → {m.strong}); {cpt}")
    if m.note:
        parts.append(m.note)
    return "; ".join(parts)


def _arena_line(report: RoutingReport) -> str:
    """RouterArena's score per strategy, with how close each lands to the oracle's choices."""
    parts = []
    ranked = [s for s in report.strategies if s.arena_score is not None and s.kind != "provider"]
    singles = [s for s in ranked if s.kind == "model"]
    shown = [s for s in ranked if s.kind != "model"] + sorted(singles, key=lambda s: -(s.arena_score or 0))[:1]
    for s in shown:
        extra = []
        if s.kind != "oracle" and s.optimal_share is not None:
            extra.append(f"oracle's choice on {pct(s.optimal_share)}")
            if s.cost_gap is not None:
                extra.append(f"cost {s.cost_gap:+.0%} vs oracle")
            if s.accuracy_gap:
                extra.append(f"pass rate {-s.accuracy_gap * 100:+.1f} pts")
        parts.append(f"{s.name} {s.arena_score:.3f}" + (f" ({', '.join(extra)})" if extra else ""))
    return "RouterArena score: " + "; ".join(parts) if parts else ""


def routing_renderables(report: RoutingReport) -> list[RenderableType]:
    """What ``llmaudit report RUN_DIR`` prints for routing, in order."""
    items: list[RenderableType] = [Text(line) for line in headline(report)]
    items += [_models_table(report), _strategies_table(report)]
    items += _savings_tables(report)
    failover = _failover_table(report)
    if failover is not None:
        items.append(failover)
    line = _metrics_line(report)
    if line:
        items.append(Text(line))
    arena = _arena_line(report)
    if arena:
        items.append(Text(arena))
    return items


def routing_payload(report: RoutingReport) -> dict[str, Any]:
    """The JSON object of the routing report (``report RUN_DIR --format json`` nests it as "routing")."""
    payload = report.as_dict()
    return {"notice": SIM_NOTICE, **payload} if report.simulated else payload


def routing_json(report: RoutingReport) -> str:
    return json.dumps(routing_payload(report), indent=2, default=str)


def _md_row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def _md_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    return [_md_row(headers), _md_row(["---"] * len(headers)), *(_md_row(r) for r in rows)]


def _strategy_md(s: StrategyResult, base: StrategyResult | None) -> list[str]:
    saving = "—" if base is None or s.name == base.name else savings_cell(s.savings.get(base.name))
    return [
        s.name + ("" if s.realizable else " (upper bound)"),
        _money(s.cost_total),
        pct(s.pass_rate),
        ms(s.latency_p50),
        ms(s.latency_p95),
        saving,
        "yes" if s.on_frontier else "",
    ]


def routing_markdown(report: RoutingReport) -> str:
    lines = ["## Routing", ""]
    lines += [f"- {h}" for h in headline(report)] + [""]
    lines += _md_table(
        ["Model", "Pass rate [95% CI]", "Errors", "Cost", "p50", "p95"],
        [
            [
                r.model,
                _ci(r),
                pct(r.error_rate),
                f"unpriced ({r.unpriced_calls})" if r.unpriced_calls else _money(r.cost_total),
                ms(r.latency_p50),
                ms(r.latency_p95),
            ]
            for r in report.models
        ],
    )
    base = report.top_baseline
    headers = ["Strategy", "Cost", "Pass rate", "p50", "p95", f"Saving vs {base.name if base else 'best'}", "Frontier"]
    lines += ["", *_md_table(headers, [_strategy_md(s, base) for s in report.strategies])]
    if report.savings:
        sv = report.savings
        saves, costs_more = _split_savings(sv.rows)
        lines += ["", f"### Savings at {sv.volume.text} (platform fee {sv.fee_pct}% on routed spend)", ""]
        lines += _md_table(
            ["Baseline", "Single /month", "Routed with", "Routed /month", "Saved /year", "%"],
            [
                [
                    r.baseline,
                    _money(r.monthly_single, 2),
                    r.routed or r.note,
                    _money(r.monthly_routed, 2) if r.routed else "—",
                    _money(r.annual_savings, 2) if r.routed else "—",
                    pct(r.savings_pct) if r.routed else "—",
                ]
                for r in saves
            ],
        )
        if costs_more:
            lines += ["", "Routing costs more than these cheaper, lower-pass-rate models: " + "; ".join(
                f"{r.baseline} ({_money(r.monthly_single, 2)}/month alone, {_money(-r.monthly_savings, 2)}/month "
                f"more routed)" for r in costs_more) + "."]
    metrics = _metrics_line(report)
    if metrics:
        lines += ["", metrics]
    arena = _arena_line(report)
    if arena:
        lines += ["", arena]
    return "\n".join(lines) + "\n"


def routing_csv(report: RoutingReport) -> str:
    """One row per strategy; unknown cost is the word ``unpriced``, never 0."""
    import csv
    import io

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    base = report.top_baseline
    header = [
        "notice",
        "strategy",
        "kind",
        "cost_usd",
        "cost_per_prompt_usd",
        "pass_rate",
        "latency_p50_ms",
        "latency_p95_ms",
        "attempts_mean",
        "error_rate",
        "on_frontier",
        "realizable",
    ]
    header.append(f"saving_vs_{base.name}" if base else "saving")
    writer.writerow(header)
    notice = SIM_NOTICE if report.simulated else ""
    for s in report.strategies:
        saving = s.savings.get(base.name) if base and s.name != base.name else None
        writer.writerow(
            [
                notice,
                s.name,
                s.kind,
                "unpriced" if s.cost_total is None else repr(s.cost_total),
                "unpriced" if s.cost_per_prompt is None else repr(s.cost_per_prompt),
                s.pass_rate,
                s.latency_p50 if s.latency_p50 is not None else "",
                s.latency_p95 if s.latency_p95 is not None else "",
                s.attempts_mean,
                s.error_rate,
                s.on_frontier,
                s.realizable,
                "" if saving is None else saving,
            ]
        )
    return buf.getvalue()


def render_routing(report: RoutingReport, fmt: str) -> str | list[RenderableType]:
    """``table`` → rich renderables (print each); ``json`` | ``csv`` | ``markdown`` → text."""
    if fmt == "json":
        return routing_json(report)
    if fmt == "csv":
        return routing_csv(report)
    if fmt == "markdown":
        return routing_markdown(report)
    return routing_renderables(report)
