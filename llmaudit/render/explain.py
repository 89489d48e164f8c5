"""Render ``analysis.spend.explanation.Explain`` (why the bill is what it is): rich tables, Markdown and CSV
rows. Only formatting: every figure is in the result; each section lists the parts that add up to a
total of the spend report, so a reader can check the arithmetic."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from llmaudit.analysis.spend.explanation import BatchRule, Explain
from llmaudit.render.formats import count, pct, usd
from llmaudit.render.spend import currency_symbol

__all__ = ["USER_HEAD", "batch_rule_text", "explain_csv", "explain_json", "explain_markdown", "explain_sections",
           "explain_table", "scope_note", "user_rows"]


def explain_json(e: Explain) -> dict[str, Any]:
    """``e.to_dict()`` with the scope and the batch rule worded, where ``--format json`` has always had them."""
    data = e.to_dict()
    currency = data.pop("currency")
    data["batch"] = {"rule": batch_rule_text(e.batch.rule), **data["batch"]}
    return {"currency": currency, "scope": scope_note(e), **data}


def scope_note(e: Explain) -> str:
    """What a session (and a cache scope) is in these logs."""
    if e.logged_sessions:
        return "a session is the logged session id"
    return "no session ids in these logs: a session is one user's requests to one project on one day"


def batch_rule_text(rule: BatchRule) -> str:
    parts = [f"tag {t}" for t in rule.tags] + [f"a tag starting {p}" for p in rule.tag_prefixes]
    if rule.min_latency_ms is not None:
        parts.append(f"latency ≥ {rule.min_latency_ms / 1000:g} s")
    return " or ".join(parts)

# A section: title, (item, figure, note) rows, caption.
Section = tuple[str, list[tuple[str, str, str]], str]


def _money(value: Decimal | None, currency: str, places: int = 2) -> str:
    return usd(value, places=places, symbol=currency_symbol(currency)) if value is not None else "n/a"


def _tokens(n: int) -> str:
    return f"{count(n)} tokens"


def explain_sections(e: Explain) -> list[Section]:
    m = lambda v, p=2: _money(v, e.currency, p)  # noqa: E731 - a short local formatter
    c, b = e.cache, e.batch
    cache_rows = [
        ("Prompt tokens", _tokens(c.input_tokens), "= uncached + cache reads + cache writes"),
        ("  uncached", _tokens(c.uncached_tokens), ""),
        ("  cache reads", _tokens(c.cache_read_tokens), f"hit rate {pct(c.hit_rate)} of prompt tokens"),
        ("  cache writes, 5 minutes", _tokens(c.write_5m_tokens), f"premium over plain input {m(c.write_5m_cost, 4)}"),
        ("  cache writes, 1 hour", _tokens(c.write_1h_tokens), f"premium over plain input {m(c.write_1h_cost, 4)}"),
        ("Cost (priced requests)", m(c.cost), "the report's total"),
        ("Same requests without caching", m(c.cost_without_cache), f"caching saved {m(c.saved)}"),
        ("Writes never read again", f"{count(c.unread_writes)} writes, {_tokens(c.unread_tokens)}",
         f"their premium {m(c.unread_premium, 4)}"
         + (f"; {count(c.unread_unpriced)} of unpriced requests not in it" if c.unread_unpriced else "")),
    ]
    if c.write_5m_tokens:
        cache_rows.append(("5-minute writes as 1-hour", m(c.write_5m_as_1h, 4),
                           f"premium instead of {m(c.write_5m_cost, 4)}"))
    if c.write_1h_tokens:
        cache_rows.append(("1-hour writes as 5-minute", m(c.write_1h_as_5m, 4),
                           f"premium instead of {m(c.write_1h_cost, 4)}; {_tokens(c.needed_1h_tokens)} of them were "
                           "first read more than 5 minutes after the write (a 5-minute write would have expired)"))
    cache_caption = ("a write is read again when a later request of the same session and model reads the cache "
                     f"before the write's TTL (restarted by each read) runs out; {scope_note(e)}")
    if not b.requests:
        saving = "no request matched the rule"
    elif b.saving is None:
        saving = "no batchable request has a batch rate in the catalog"
    else:
        saving = f"saving {m(b.saving)} at batch rates ({m(b.at_batch_rates)} instead of {m(b.cost_with_rate)})"
    notes = []
    if b.no_batch_rate_requests:
        notes.append(f"{count(b.no_batch_rate_requests)} requests of models without a batch rate")
    if b.unpriced_requests:
        notes.append(f"{count(b.unpriced_requests)} unpriced")
    batch_rows = [
        ("Batchable", f"{count(b.requests)} requests, {m(b.cost)}", "; ".join([saving, *notes])),
        ("Already at batch rates", f"{count(b.already_batch_requests)} requests, {m(b.already_batch_cost)}", ""),
        ("Other", f"{count(b.other_requests)} requests, {m(b.other_cost)}", ""),
        ("Total", f"{count(b.requests + b.already_batch_requests + b.other_requests)} requests, "
         f"{m(b.cost + b.already_batch_cost + b.other_cost)}", "the report's totals"),
    ]
    rule = batch_rule_text(b.rule)
    batch_caption = (f"batchable: {rule}" + ("" if b.latency_logged or "latency" not in rule
                                             else "; no latency in these logs"))
    growth = "n/a" if e.median_growth is None else f"×{e.median_growth:.2f}"
    session_rows = [
        ("Sessions", count(e.sessions),
         f"{count(e.session_requests)} requests, {m(e.session_cost)}: the report's totals"),
        ("With 2+ requests", count(e.multi_request_sessions), f"median prompt growth first → last request {growth}"),
        ("Prompt grew 2× or more", count(e.growing_sessions), "last request's prompt at least twice the first's"),
    ]
    gap_rows = [(g.cause, f"{count(g.rows)} rows", f"billed {m(g.billed, 4)} vs recomputed {m(g.recomputed, 4)}: "
                 f"{m(g.difference, 4)}") for g in e.gaps]
    if gap_rows:
        total = sum((g.difference for g in e.gaps), Decimal(0))
        gap_rows.append(("Total", f"{count(sum(g.rows for g in e.gaps))} rows",
                         f"{m(total, 4)}: the billed-vs-recomputed difference above"))
    gap_caption = ("a cause explains a row when repricing it that way reproduces the billed figure within the "
                   "tolerance; cached tokens counted twice = cache reads billed again as plain input")
    return [
        ("Cache economics", cache_rows, cache_caption),
        ("Batch API candidates", batch_rows, batch_caption),
        ("Sessions and prompt growth", session_rows, scope_note(e)),
        ("Billed vs recomputed gaps by cause", gap_rows or [("No differing rows", "", "")], gap_caption),
    ]


def _session_rows(e: Explain) -> list[tuple[str, str, str, str, str, str]]:
    return [(s.key, count(s.requests), _money(s.cost, e.currency) + (f" + {count(s.unpriced_requests)} unpriced"
                                                                     if s.unpriced_requests else ""),
             f"{count(s.first_prompt)} → {count(s.last_prompt)}", count(s.max_prompt),
             "-" if s.growth is None else f"×{s.growth:.2f}") for s in e.top_sessions]


USER_HEAD = ("User", "Requests", "Days", "Mean prompt, first 7 days", "Mean prompt, last 7 days", "Growth")
_USER_NOTE = "users with traffic at least 14 days apart; prompt = all prompt tokens, cached or not"


def user_rows(e: Explain) -> list[tuple[str, str, str, str, str, str]]:
    return [(u.user, count(u.requests), f"{u.first_day} … {u.last_day}", count(round(u.early_mean)),
             count(round(u.late_mean)), "-" if u.growth is None else f"×{u.growth:.2f}") for u in e.users]


_SESSION_HEAD = ("Session", "Requests", "Cost", "Prompt first → last", "Max prompt", "Growth")


def explain_table(e: Explain) -> RenderableType:
    parts: list[RenderableType] = [Text("Why the bill is what it is (--explain)", style="bold")]
    for title, rows, caption in explain_sections(e):
        table = Table(title=title, title_justify="left", caption=caption, caption_justify="left")
        table.add_column("Item")
        table.add_column("Figure", justify="right")
        table.add_column("Note", overflow="fold")
        for row in rows:
            table.add_row(*row)
        parts += [Text(""), table]
    if e.users:
        table = Table(title="Prompt size per user over time", title_justify="left", caption=_USER_NOTE)
        for i, name in enumerate(USER_HEAD):
            table.add_column(name, justify="left" if i == 0 else "right")
        for urow in user_rows(e):
            table.add_row(*urow)
        parts += [Text(""), table]
    if e.top_sessions:
        table = Table(title=f"Costliest sessions (top {len(e.top_sessions)})", title_justify="left")
        for i, name in enumerate(_SESSION_HEAD):
            table.add_column(name, justify="left" if i == 0 else "right", overflow="fold" if i == 0 else "ellipsis")
        for srow in _session_rows(e):
            table.add_row(*srow)
        parts += [Text(""), table]
    return Group(*parts)


def explain_markdown(e: Explain) -> str:
    lines = ["## Why the bill is what it is"]
    for title, rows, caption in explain_sections(e):
        lines += ["", f"### {title}", "", "| Item | Figure | Note |", "|---|---:|---|"]
        lines += [f"| {item.strip()} | {fig} | {note} |" for item, fig, note in rows]
        lines += ["", f"_{caption}_"]
    if e.users:
        lines += ["", "### Prompt size per user over time", "", "| " + " | ".join(USER_HEAD) + " |",
                  "|---|---:|---:|---:|---:|---:|"]
        lines += ["| " + " | ".join(r) + " |" for r in user_rows(e)] + ["", f"_{_USER_NOTE}_"]
    if e.top_sessions:
        lines += ["", "### Costliest sessions", "", "| " + " | ".join(_SESSION_HEAD) + " |",
                  "|---|---:|---:|---:|---:|---:|"]
        lines += ["| " + " | ".join(r) + " |" for r in _session_rows(e)]
    return "\n".join(lines) + "\n"


def explain_csv(e: Explain) -> str:
    """Tidy rows: ``section, item, value, unit``; numbers unformatted (the JSON has every field too)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["section", "item", "value", "unit"])
    cur = e.currency
    c, b = e.cache, e.batch
    rows: list[tuple[str, str, object, str]] = [
        ("cache", "input_tokens", c.input_tokens, "tokens"), ("cache", "uncached_tokens", c.uncached_tokens, "tokens"),
        ("cache", "cache_read_tokens", c.cache_read_tokens, "tokens"),
        ("cache", "cache_write_5m_tokens", c.write_5m_tokens, "tokens"),
        ("cache", "cache_write_1h_tokens", c.write_1h_tokens, "tokens"),
        ("cache", "hit_rate", c.hit_rate, "share"), ("cache", "cost", c.cost, cur),
        ("cache", "cost_without_cache", c.cost_without_cache, cur), ("cache", "saved", c.saved, cur),
        ("cache", "unread_writes", c.unread_writes, "writes"), ("cache", "unread_tokens", c.unread_tokens, "tokens"),
        ("cache", "unread_premium", c.unread_premium, cur), ("cache", "write_5m_premium", c.write_5m_cost, cur),
        ("cache", "write_5m_as_1h_premium", c.write_5m_as_1h, cur), ("cache", "write_1h_premium", c.write_1h_cost, cur),
        ("cache", "write_1h_as_5m_premium", c.write_1h_as_5m, cur),
        ("batch", "batchable_requests", b.requests, "requests"), ("batch", "batchable_cost", b.cost, cur),
        ("batch", "at_batch_rates", b.at_batch_rates, cur), ("batch", "saving", b.saving, cur),
        ("batch", "already_batch_cost", b.already_batch_cost, cur), ("batch", "other_cost", b.other_cost, cur),
        ("sessions", "count", e.sessions, "sessions"), ("sessions", "cost", e.session_cost, cur),
        *[("gap", g.cause, g.difference, cur) for g in e.gaps],
        *[("session", s.key, s.cost, cur) for s in e.top_sessions],
        *[("user_prompt_growth", u.user, u.growth, "ratio") for u in e.users],
    ]
    for section, item, value, unit in rows:
        w.writerow([section, item, _num(value), unit])
    return buf.getvalue()


def _num(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value.quantize(Decimal("1e-10")).normalize(), "f")
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)
