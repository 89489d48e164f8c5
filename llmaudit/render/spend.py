"""Render a ``SpendReport``: rich tables for the terminal, Markdown, and one tidy CSV.

Renderers only format what ``analysis.spend.report`` computed; no arithmetic happens here. Unknown is
never zero: a group with no priced request shows ``unpriced`` and its token volume, and totals say
"plus N unpriced requests" in every format; likewise rows whose long-context tier is not
determinable (priced at base rates), when there are any. JSON is ``SpendReport.to_dict()`` with
the worded warnings (``render.spend_text.spend_json``), not produced here.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.text import Text

from llmaudit.analysis.routing.scenarios import WhatIf
from llmaudit.analysis.spend.report import Breakdown, GroupRow, SpendReport
from llmaudit.render.formats import count, pct, usd
from llmaudit.render.spend_text import spend_warnings
from llmaudit.render.table import FitTable

__all__ = ["billed_cell", "currency_symbol", "render_csv", "render_markdown", "render_table", "sources_line",
           "totals_line"]

MAX_TABLE_ROWS = 40
_EMPTY = "No usage records in the input (or in the --since/--until window)."
_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹"}
_HEADERS = {"model": "Model", "provider": "Provider", "day": "Day", "week": "Week", "month": "Month",
            "tag": "Tag", "user": "User", "project": "Project", "key": "API key", "source": "Source format",
            "vendor": "Vendor", "session": "Session", "host": "Host"}


def currency_symbol(code: str) -> str:
    return _SYMBOLS.get(code.upper(), f"{code.upper()} ")


class _Fmt:
    def __init__(self, report: SpendReport) -> None:
        self.symbol = currency_symbol(report.currency)

    def money(self, value: Decimal | None, places: int = 2) -> str:
        return usd(value, places, symbol=self.symbol)


def totals_line(report: SpendReport) -> str:
    f = _Fmt(report)
    t = report.totals
    priced = t.requests - t.unpriced_requests
    text = f"{f.money(t.cost)} over {count(priced)} priced requests"
    if t.unpriced_requests:
        text += f", plus {count(t.unpriced_requests)} unpriced requests ({count(t.unpriced_tokens)} tokens)"
    if t.tier_undetermined_rows:
        rows = count(t.tier_undetermined_rows)
        text += (f"; {rows} aggregated row{'s' if t.tier_undetermined_rows != 1 else ''} at base rates "
                 "(long-context tier not determinable)")
    return text


def sources_line(report: SpendReport) -> str | None:
    """``Read 4 files (anthropic, openai, openrouter): 3,400 rows, 3,400 kept, 0 rejected, 0 duplicates``."""
    if not report.sources:
        return None
    s = [f for f in report.sources if not f.not_read]
    left_out = len(report.sources) - len(s)
    readers = ", ".join(sorted({f.reader for f in s}))
    text = (f"Read {len(s)} file{'s' if len(s) != 1 else ''} ({readers}): {count(sum(f.rows_read for f in s))} rows, "
            f"{count(sum(f.rows_kept for f in s))} kept, {count(sum(f.rows_rejected for f in s))} rejected, "
            f"{count(sum(f.duplicates for f in s))} duplicates")
    if left_out:
        text += f"; {count(left_out)} file{'s' if left_out != 1 else ''} not read (see warnings)"
    return text


def _cost_cell(f: _Fmt, row: GroupRow) -> str:
    text = f.money(row.cost)
    if row.unpriced_requests and row.cost is not None:
        text += f" + {count(row.unpriced_requests)} unpriced"
    return text


def billed_cell(f: Any, row: GroupRow) -> str:
    """What the source billed, and how many of the group's rows that covers when not all of them
    (``$8.61`` beside a $70.33 cost read as an 8x overbill when only 12 of 340 rows carried a cost)."""
    if row.billed is None:
        return "-"
    text = f.money(row.billed)
    if row.billed_rows < row.rows:
        text += f" ({count(row.billed_rows)} of {count(row.rows)} rows)"
    return text


def _window(report: SpendReport) -> str:
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(report.timezone)
    first = report.first_seen.astimezone(zone).date().isoformat() if report.first_seen else "-"
    last = report.last_seen.astimezone(zone).date().isoformat() if report.last_seen else "-"
    return f"{first} … {last}"


# --------------------------------------------------------------------------------------- table
def render_table(report: SpendReport, *, whatif: bool = True) -> RenderableType:
    f = _Fmt(report)
    parts: list[RenderableType] = []
    phrases = [f"{_window(report)} ({report.timezone})", f"{count(report.totals.requests)} requests",
               f"catalog as of {report.catalog_as_of or 'n/a'}"]
    if report.currency != "USD":
        phrases.append(f"{report.currency} at {report.fx_rate} per USD")
    parts.append(_Heading("Spend audit", phrases))
    total = Text("Total: ", style="bold").append(totals_line(report), style="bold green")
    if (read := sources_line(report)) is not None:
        total.append("\n" + read, style="dim")
    parts.append(total)
    if report.totals.rows == 0:
        parts.append(Text(_EMPTY, style="yellow"))
        return Group(*_spaced(parts))
    for b in report.breakdowns:
        parts.append(_breakdown_table(f, b))
    if report.unpriced:
        parts.append(_unpriced_table(report, f))
    parts.append(_reconciliation(report, f))
    if report.projection is not None:
        parts.append(_projection(report, f))
    if whatif and report.whatif is not None and report.whatif.requests:
        parts.extend(_whatif_tables(report.whatif, f))
    return Group(*_spaced(parts))


class _Heading:
    """``Title  phrase  ·  phrase  ·  …`` on one line where it fits; on a narrow terminal it breaks
    between phrases, never inside one ("catalog as of" and its date stay together)."""

    def __init__(self, title: str, phrases: list[str]) -> None:
        self.title = title
        self.phrases = phrases

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        line = Text(self.title, style="bold")
        for k, phrase in enumerate(self.phrases):
            sep = "  " if k == 0 else "  ·  "
            if line.cell_len + cell_len(sep + phrase) > options.max_width and line.cell_len:
                yield line
                line, sep = Text("  "), ""
            line.append(sep + phrase)
        yield line


def _spaced(parts: list[RenderableType]) -> Iterable[RenderableType]:
    for i, p in enumerate(parts):
        if i > 1:
            yield Text("")
        yield p


def _breakdown_table(f: _Fmt, b: Breakdown) -> FitTable:
    table = FitTable(f"Spend by {' × '.join(b.dimensions)}", caption=b.note, keys=len(b.dimensions),
                     group=tuple(b.dimensions) == ("model",))
    for d in b.dimensions:
        table.add_column(_HEADERS.get(d, d))
    billed = any(r.billed is not None for r in b.rows)
    unpriced = any(r.unpriced_requests for r in b.rows)
    for name in ("Requests", "Input tok", "Output tok", "Cost"):
        table.add_column(name, justify="right")
    table.add_column("Share", justify="right", hide=1)
    if unpriced:
        table.add_column("Unpriced", justify="right")
    if billed:  # its coverage ("of m rows") wraps under the figure when the terminal is narrow
        table.add_column("Billed", justify="right", text=True)
    for row in b.rows[:MAX_TABLE_ROWS]:
        cells = [*row.key, count(row.requests), count(row.input_tokens), count(row.output_tokens),
                 f.money(row.cost), pct(row.share)]
        if unpriced:
            cells.append(count(row.unpriced_requests) if row.unpriced_requests else "-")
        if billed:
            cells.append(billed_cell(f, row))
        table.add_row(*cells)
    notes = [b.note]
    if billed and any(r.billed is not None and r.billed_rows < r.rows for r in b.rows):
        notes.append("Billed: what the source reported, for the rows that carried a cost (n of m rows)")
    if len(b.rows) > MAX_TABLE_ROWS:
        notes.append(f"{len(b.rows) - MAX_TABLE_ROWS} more rows in --format csv/json")
    table.caption = "; ".join(filter(None, notes)) or None
    return table


def _unpriced_table(report: SpendReport, f: _Fmt) -> FitTable:
    table = FitTable("Unpriced (no list price: not counted in the totals, never as $0)", group=True)
    table.add_column("Model")
    table.add_column("Provider")
    table.add_column("Why", text=True)
    for name in ("Requests", "Input tok", "Output tok", "Billed by source"):
        table.add_column(name, justify="right")
    for u in report.unpriced:
        table.add_row(u.model, u.provider, u.status.replace("_", " "), count(u.requests), count(u.input_tokens),
                      count(u.output_tokens), f.money(u.billed) if u.billed is not None else "-")
    return table


def _reconciliation(report: SpendReport, f: _Fmt) -> RenderableType:
    rec = report.reconciliation
    title = Text("Billed vs recomputed", style="bold")
    if not rec.compared_rows and not rec.billed_unpriced_rows:
        return Group(title, Text("The source reports no cost of its own: nothing to reconcile."))
    lines: list[RenderableType] = [title, Text(
        f"{count(rec.compared_rows)} requests carry a billed cost: billed {f.money(rec.billed)} vs list price "
        f"{f.money(rec.recomputed)}. {count(rec.differing_rows)} differ by more than {pct(float(rec.tolerance), 0)}: "
        f"billed {f.money(rec.differing_billed)} vs {f.money(rec.differing_recomputed)} "
        f"(difference {f.money(rec.differing_difference)})."
    )]
    if rec.billed_unpriced_rows:
        lines.append(Text(f"{count(rec.billed_unpriced_rows)} billed rows have nothing to compare with (no list "
                          f"price, cost-only or BYOK-fee rows; billed {f.money(rec.billed_unpriced)})."))
    if rec.by_model:
        t = FitTable("Differences by model", group=True)
        for name in ("Model", "Rows", "Billed", "Recomputed", "Difference"):
            t.add_column(name, justify="left" if name == "Model" else "right")
        for m in rec.by_model:
            t.add_row(m.model, count(m.rows), f.money(m.billed, 4), f.money(m.recomputed, 4), f.money(m.difference, 4))
        lines.append(t)
    if rec.listed:
        t = FitTable(f"Largest differences (top {len(rec.listed)} of {count(rec.differing_rows)})", keys=2)
        t.add_column("Time (UTC)")
        t.add_column("Model")
        t.add_column("Where (file:line)")
        for name in ("Billed", "Recomputed", "Diff", "Diff %"):
            t.add_column(name, justify="right")
        gateway = any(d.gateway_price for d in rec.listed)
        if gateway:  # the price the gateway itself used (LiteLLM), beside ours
            t.add_column("Gateway's price", text=True)
        for d in rec.listed:
            # The file name is enough on a terminal; JSON/CSV carry the full path and the request id.
            where = d.source.replace("\\", "/").rsplit("/", 1)[-1] if d.source else "-"
            t.add_row(d.timestamp.strftime("%Y-%m-%d %H:%M"), d.model, where,
                      f.money(d.billed, 6), f.money(d.recomputed, 6), f.money(d.difference, 6), pct(d.relative),
                      *([d.gateway_price or "-"] if gateway else []))
        lines.append(t)
    return Group(*lines)


def _projection(report: SpendReport, f: _Fmt) -> RenderableType:
    p = report.projection
    assert p is not None
    text = Text()
    text.append(_projection_title(p), style="bold")
    text.append(f": {f.money(p.to_date)} to date")
    if p.projected is not None and p.run_rate is not None:
        text.append(f"; at {f.money(p.run_rate)}/day (mean of the last {p.basis_days} complete days) "
                    f"the month ends near {f.money(p.projected)}")
    else:
        text.append("; no complete day yet to project from")
    if p.unpriced_requests:
        text.append(f"; plus {count(p.unpriced_requests)} unpriced requests")
    return text


def _whatif_tables(w: WhatIf, f: _Fmt) -> list[RenderableType]:
    out: list[RenderableType] = []
    t = FitTable(f"What-if: the same traffic on one provider (today's list prices, {w.days_observed} days)")
    for name in ("Provider", "Cost", "Per month", "vs now", "Covered"):
        t.add_column(name, justify="left" if name == "Provider" else "right")
    t.add_column("Main moves", text=True)
    t.add_row("(current)", f.money(w.current_cost), f.money(w.current_monthly), "-", count(w.requests), "")
    for p in w.providers:
        moves = ", ".join(f"{a.split('/', 1)[-1]} → {b.split('/', 1)[-1]}" for a, b, _ in p.mapping[:3])
        covered = count(p.covered_requests) + (f"\n{count(p.uncovered_requests)} stay" if p.uncovered_requests else "")
        t.add_row(p.provider, f.money(p.cost), f.money(p.monthly_spend), f.money(p.delta), covered, moves)
    out.append(t)
    r = w.routed
    s = FitTable(f"Routing savings: cheapest model of equal-or-better tier that fits, "
                 f"+{r.fee_pct}% {'BYOK' if r.byok else 'platform'} fee{_floor(f, r)}{_scaled(w)}",
                 caption="range of annual savings: tier-equal routing − 1 s.e. … tier-or-better + 1 s.e. "
                         "of daily savings", group=True)
    s.add_column("Model")
    s.add_column("Tier")
    for name in ("Tokens /month", "$/M tok", "Spend /month", "Routed /month", "Annual savings"):
        s.add_column(name, justify="right")
    s.add_column("Routes to", text=True)
    s.add_column("Failover", text=True, hide=1)
    for row in w.savings:
        # The full id: across providers the model's name alone does not say who serves it
        # (meta-llama/llama-4-maverick… is Groq's here, and OpenRouter's elsewhere).
        dest = ", ".join(f"{m} ({count(n)})" for m, n in row.routes_to[:2])
        s.add_row(row.model, row.tier_label, count(row.monthly_tokens), f.money(row.avg_per_million),
                  f.money(row.monthly_spend), f.money(row.routed_monthly_spend),
                  f"{f.money(row.annual_savings)}\n"
                  f"{f.money(row.annual_savings_low)} … {f.money(row.annual_savings_high)}",
                  dest, ", ".join(row.failover) or "-")
    s.add_row("Total", "", "", "", f.money(w.current_monthly), f.money(r.monthly_spend),
              f"{f.money(r.annual_savings)}\n{f.money(r.annual_savings_low)} … {f.money(r.annual_savings_high)}",
              "", "", style="bold")
    out.append(s)
    out.append(Text(_fee_line(f, r), style="dim"))
    out.append(Text(_range_line(w), style="dim"))
    notes = []
    if w.excluded_unpriced_requests:
        notes.append(f"{count(w.excluded_unpriced_requests)} unpriced requests are left out of the what-if")
    if w.untiered_requests:
        notes.append(f"{count(w.untiered_requests)} requests of models without a capability tier stay where "
                     f"they are ({', '.join(w.untiered_models)}); add them under [tiers] in llmaudit.toml")
    if notes:
        out.append(Text("; ".join(notes) + ".", style="dim"))
    return out


# --------------------------------------------------------------------------------------- markdown
def _md_table(headers: list[str], rows: Iterable[Iterable[Any]]) -> str:
    def cell(v: Any) -> str:
        return str(v).replace("|", "\\|")

    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def render_markdown(report: SpendReport, *, whatif: bool = True) -> str:
    f = _Fmt(report)
    out = [f"# Spend audit ({_window(report)}, {report.timezone})", "",
           f"**Total:** {totals_line(report)}", "", f"Catalog as of {report.catalog_as_of or 'n/a'}; "
           f"currency {report.currency}" + (f" at {report.fx_rate} per USD" if report.currency != "USD" else ""), ""]
    if report.sources:
        out += ["## Inputs", "", _md_table(
            ["File", "Reader", "Rows read", "Kept", "Rejected", "Duplicates", "Skipped"],
            ([f.path, f.reader, count(f.rows_read), count(f.rows_kept), count(f.rows_rejected), count(f.duplicates),
              count(f.skipped)] for f in report.sources)), ""]
    if report.totals.rows == 0:
        return "\n".join([*out, _EMPTY]) + "\n"
    for b in report.breakdowns:
        out += [f"## Spend by {' × '.join(b.dimensions)}", ""]
        out.append(_md_table(
            [_HEADERS.get(d, d) for d in b.dimensions] + ["Requests", "Input tok", "Output tok", "Cost", "Share",
                                                           "Billed"],
            ([*r.key, count(r.requests), count(r.input_tokens), count(r.output_tokens), _cost_cell(f, r),
              pct(r.share), billed_cell(f, r)] for r in b.rows)))
        out += (["", f"_{b.note}_"] if b.note else []) + [""]
    if report.unpriced:
        out += ["## Unpriced", "", "No list price: not counted in the totals, never as $0.", ""]
        out.append(_md_table(["Model", "Provider", "Why", "Requests", "Input tok", "Output tok", "Billed by source"],
                             ([u.model, u.provider, u.status, count(u.requests), count(u.input_tokens),
                               count(u.output_tokens), f.money(u.billed) if u.billed is not None else "-"]
                              for u in report.unpriced)))
        out.append("")
    rec = report.reconciliation
    out += ["## Billed vs recomputed", ""]
    if rec.compared_rows or rec.billed_unpriced_rows:
        out.append(f"{count(rec.compared_rows)} requests carry a billed cost: billed {f.money(rec.billed)} vs list "
                   f"price {f.money(rec.recomputed)}. **{count(rec.differing_rows)} differ by more than "
                   f"{pct(float(rec.tolerance), 0)}**: billed {f.money(rec.differing_billed)} vs "
                   f"{f.money(rec.differing_recomputed)} (difference {f.money(rec.differing_difference)}).")
        if rec.billed_unpriced_rows:
            out.append(f"{count(rec.billed_unpriced_rows)} billed rows have nothing to compare with (no list price, "
                       f"cost-only or BYOK-fee rows; billed {f.money(rec.billed_unpriced)}).")
        if rec.listed:
            gateway = any(d.gateway_price for d in rec.listed)
            out += ["", _md_table(["Time (UTC)", "Model", "Request", "Where", "Billed", "Recomputed", "Diff", "Diff %"]
                                  + (["Gateway's price"] if gateway else []),
                                  ([d.timestamp.strftime("%Y-%m-%d %H:%M"), d.model, d.request_id or "-",
                                    d.source or "-", f.money(d.billed, 6), f.money(d.recomputed, 6),
                                    f.money(d.difference, 6), pct(d.relative)]
                                   + ([d.gateway_price or "-"] if gateway else []) for d in rec.listed))]
    else:
        out.append("The source reports no cost of its own: nothing to reconcile.")
    out.append("")
    p = report.projection
    if p is not None:
        line = f"## {_projection_title(p)}\n\n{f.money(p.to_date)} to date"
        if p.projected is not None and p.run_rate is not None:
            line += (f"; at {f.money(p.run_rate)}/day (last {p.basis_days} complete days) the month ends near "
                     f"**{f.money(p.projected)}**")
        if p.unpriced_requests:
            line += f"; plus {count(p.unpriced_requests)} unpriced requests"
        out += [line + ".", ""]
    if whatif and report.whatif is not None and report.whatif.requests:
        w = report.whatif
        r = w.routed
        out += [f"## What-if: one provider ({w.days_observed} days, today's list prices)", ""]
        out.append(_md_table(["Provider", "Cost", "Per month", "vs now", "Covered requests", "Not covered",
                              "Main moves"],
                             [["(current)", f.money(w.current_cost), f.money(w.current_monthly), "-",
                               count(w.requests), "0", ""]] +
                             [[p.provider, f.money(p.cost), f.money(p.monthly_spend), f.money(p.delta),
                               count(p.covered_requests), count(p.uncovered_requests),
                               "; ".join(f"{a} → {b} ({count(n)})" for a, b, n in p.mapping[:3])]
                              for p in w.providers]))
        fee = f"+{r.fee_pct}% {'BYOK' if r.byok else 'platform'} fee{_floor(f, r)}{_scaled(w)}"
        out += ["", f"## Routing savings ({fee})", ""]
        out.append(_md_table(
            ["Model", "Tier", "Tokens/month", "$/M tok", "Spend/month", "Routed/month", "Annual savings",
             "Range", "Routes to", "Failover"],
            [[s.model, s.tier_label, count(s.monthly_tokens), f.money(s.avg_per_million), f.money(s.monthly_spend),
              f.money(s.routed_monthly_spend), f.money(s.annual_savings),
              f"{f.money(s.annual_savings_low)} … {f.money(s.annual_savings_high)}",
              ", ".join(m for m, _ in s.routes_to[:2]), ", ".join(s.failover) or "-"] for s in w.savings]
            + [["**Total**", "", "", "", f.money(w.current_monthly), f.money(r.monthly_spend),
                f.money(r.annual_savings), f"{f.money(r.annual_savings_low)} … {f.money(r.annual_savings_high)}",
                "", ""]]))
        out += ["", f"_{_fee_line(f, r)}_"]
        out += ["", f"_{_range_line(w)}_"]
        if w.excluded_unpriced_requests:
            out.append(f"_{count(w.excluded_unpriced_requests)} unpriced requests are left out of the what-if._")
        if w.untiered_requests:
            out.append(f"_{count(w.untiered_requests)} requests of models without a tier stay where they are "
                       f"({', '.join(w.untiered_models)})._")
        out.append("")
    for warning in spend_warnings(report):
        out.append(f"> warning: {warning}")
    return "\n".join(out).rstrip() + "\n"


# --------------------------------------------------------------------------------------- csv
def _num(value: Decimal | float | int | None) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value.quantize(Decimal("1e-10")).normalize(), "f")
    return str(value)


# The group columns lead, in this order, so a row of a breakdown reads the same as before; every
# other part's columns follow in the order they first appear.
_GROUP_COLUMNS = ("table", "dimension", "key", "requests", "input_tokens", "output_tokens", "cache_read_tokens",
                  "cost", "currency", "price_status", "unpriced_requests", "unpriced_tokens", "billed", "share",
                  "tier_undetermined_rows", "rows", "billed_rows")


def render_csv(report: SpendReport, *, whatif: bool = True) -> str:
    """One tidy CSV: a single header, and a ``table`` column naming the part of the report each row
    belongs to (total, source, breakdown, unpriced, reconciliation, discrepancy, projection,
    whatif_provider, savings). A column a part does not have is empty in its rows.

    Cost cells of unpriced groups are empty and ``price_status`` says ``unpriced`` (never 0).
    """
    rows: list[dict[str, Any]] = []

    def group(table: str, dim: str, key: str, r: GroupRow) -> None:
        status = "priced" if not r.unpriced_requests else ("unpriced" if r.cost is None else "partly_priced")
        rows.append({"table": table, "dimension": dim, "key": key, "requests": r.requests,
                     "input_tokens": r.input_tokens, "output_tokens": r.output_tokens,
                     "cache_read_tokens": r.cache_read_tokens, "cost": _num(r.cost), "currency": report.currency,
                     "price_status": status, "unpriced_requests": r.unpriced_requests,
                     "unpriced_tokens": r.unpriced_tokens, "billed": _num(r.billed),
                     "share": "" if r.share is None else round(r.share, 6),
                     "tier_undetermined_rows": r.tier_undetermined_rows, "rows": r.rows,
                     "billed_rows": r.billed_rows})

    group("total", "", "", report.totals)
    for src in report.sources:
        rows.append({"table": "source", "path": src.path, "reader": src.reader, "rows_read": src.rows_read,
                     "rows_kept": src.rows_kept, "rows_rejected": src.rows_rejected, "duplicates": src.duplicates,
                     "skipped": src.skipped, "not_read": src.not_read or ""})
    for b in report.breakdowns:
        for r in b.rows:
            group("breakdown", b.name, "|".join(r.key), r)
    for u in report.unpriced:
        rows.append({"table": "unpriced", "model": u.model, "provider": u.provider, "status": u.status,
                     "requests": u.requests, "input_tokens": u.input_tokens, "output_tokens": u.output_tokens,
                     "billed": _num(u.billed), "currency": report.currency})
    rec = report.reconciliation
    rows.append({"table": "reconciliation", "compared_rows": rec.compared_rows, "billed": _num(rec.billed),
                 "recomputed": _num(rec.recomputed), "differing_rows": rec.differing_rows,
                 "differing_billed": _num(rec.differing_billed),
                 "differing_recomputed": _num(rec.differing_recomputed),
                 "differing_difference": _num(rec.differing_difference),
                 "billed_unpriced_rows": rec.billed_unpriced_rows, "billed_unpriced": _num(rec.billed_unpriced),
                 "tolerance": _num(rec.tolerance), "currency": report.currency})
    for d in rec.listed:
        rows.append({"table": "discrepancy", "timestamp": d.timestamp.isoformat(), "model": d.model,
                     "request_id": d.request_id or "", "source": d.source or "", "billed": _num(d.billed),
                     "recomputed": _num(d.recomputed), "difference": _num(d.difference),
                     "relative": "" if d.relative is None else round(d.relative, 6),
                     "gateway_price": d.gateway_price or "", "currency": report.currency})
    p = report.projection
    if p is not None:
        rows.append({"table": "projection", "month": p.month, "to_date": _num(p.to_date),
                     "run_rate_per_day": _num(p.run_rate), "basis_days": p.basis_days,
                     "projected_month_end": _num(p.projected), "unpriced_requests": p.unpriced_requests,
                     "log_ends": p.log_ends.isoformat() if p.log_ends else "", "currency": report.currency})
    if whatif and report.whatif is not None:
        rows += _whatif_csv_rows(report.whatif, report.currency)
    columns = list(_GROUP_COLUMNS)
    for row in rows:
        columns += [c for c in row if c not in columns]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def _whatif_csv_rows(wi: WhatIf, currency: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = [{"table": "whatif_provider", "provider": "(current)", "cost": _num(wi.current_cost),
                                   "monthly_spend": _num(wi.current_monthly), "covered_requests": wi.requests,
                                   "uncovered_requests": 0, "currency": currency}]
    for pr in wi.providers:
        rows.append({"table": "whatif_provider", "provider": pr.provider, "cost": _num(pr.cost),
                     "monthly_spend": _num(pr.monthly_spend), "delta": _num(pr.delta),
                     "covered_requests": pr.covered_requests, "uncovered_requests": pr.uncovered_requests,
                     "currency": currency})
    for s in wi.savings:
        rows.append({"table": "savings", "model": s.model, "tier": s.tier_label, "requests": s.requests,
                     "monthly_tokens": s.monthly_tokens, "avg_per_million": _num(s.avg_per_million),
                     "monthly_spend": _num(s.monthly_spend), "routed_monthly_spend": _num(s.routed_monthly_spend),
                     "annual_savings": _num(s.annual_savings), "annual_savings_low": _num(s.annual_savings_low),
                     "annual_savings_high": _num(s.annual_savings_high),
                     "routes_to": ";".join(m for m, _ in s.routes_to), "failover": ";".join(s.failover),
                     "currency": currency})
    r = wi.routed
    rows.append({"table": "savings", "model": "TOTAL", "requests": wi.requests,
                 "monthly_spend": _num(wi.current_monthly), "routed_monthly_spend": _num(r.monthly_spend),
                 "annual_savings": _num(r.annual_savings), "annual_savings_low": _num(r.annual_savings_low),
                 "annual_savings_high": _num(r.annual_savings_high), "fee_pct": _num(r.fee_pct),
                 "monthly_fee": _num(r.monthly_fee), "currency": currency})
    rows.append({"table": "savings", "model": "TOTAL (direct, no aggregator)", "requests": wi.requests,
                 "monthly_spend": _num(wi.current_monthly), "routed_monthly_spend": _num(r.monthly_spend_direct),
                 "annual_savings": _num(r.annual_savings_direct), "currency": currency})
    return rows


def _projection_title(p: Any) -> str:
    """``This month (2026-11)``, or, when the log ends before now, the log's last month as of then."""
    if p.log_ends is None:
        return f"This month ({p.month})"
    return f"Month {p.month}, as of the log's last record ({p.log_ends:%Y-%m-%d %H:%M} UTC; the log ends before now)"


def _fee_line(f: _Fmt, r: Any) -> str:
    kind = "BYOK" if r.byok else "platform"
    floor = f", at least {f.money(r.fee_minimum)} a month" if r.fee_minimum else ""
    free = (f" on requests beyond the first {r.fee_free_requests:,} a month, {float(r.fee_pct_charged):.2f}% of this "
            "spend" if getattr(r, "fee_free_requests", 0) else "")
    direct = (f" Direct to each provider (no aggregator, no fee): {f.money(r.monthly_spend_direct)}/month, "
              f"{f.money(r.annual_savings_direct)}/year saved." if hasattr(r, "monthly_spend_direct") else "")
    return f"Routed/month includes the {kind} fee: {f.money(r.monthly_fee)}/month ({r.fee_pct}%{free}{floor}).{direct}"


def _range_line(w: Any) -> str:
    """What chose the routes, and what the range under each saving carries."""
    rule = getattr(w, "route_rule", "capability tiers")
    profile = getattr(w, "text_profile", "english")
    return (f"Routes chosen by {rule}. Headline: the logged tokens and cache hits. Range: the lowest and highest "
            "of tier-equal routing minus one standard error of daily savings, tier-or-better plus one, and the "
            f"same routes retokenized for each target ({profile} text; caches kept … cache reads billed as input "
            "across providers).")


def _floor(f: _Fmt, r: Any) -> str:
    """The platform fee's minimum, when there is one (one credit purchase a month assumed)."""
    return f" (at least {f.money(r.fee_minimum)} a month)" if r.fee_minimum else ""


def _scaled(w: Any) -> str:
    """Say when monthly figures are scaled to ``--volume`` rather than to the log's own span."""
    return f", scaled to {w.volume}" if getattr(w, "volume", None) else ""
