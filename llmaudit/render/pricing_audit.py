"""Views of ``llmaudit pricing audit``: the per-source timeline tables, and the JSON of the result.

Tables show input / output per source (USD per 1M tokens), exactly, never cut: a cell folds rather
than truncate, and URLs and rule texts go to a numbered list under the tables, so the tables stay
readable at 80 columns. JSON is the result's own ``to_json`` and carries every rate.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from rich import box
from rich.console import RenderableType
from rich.text import Text

from llmaudit.pricing.audit import CatalogAnswer, ModelAudit, Period, ProviderAudit, SourcePrice
from llmaudit.pricing.model import dec_str
from llmaudit.pricing.sources import DocumentedChange, Recorded
from llmaudit.render.table import FitTable

__all__ = ["audit_json", "audit_table", "provider_json", "provider_table"]

NONE = "—"
SHORT = {"litellm": "L", "tokencostauto": "A", "tokencost": "T", "model-prices": "M"}
HEADERS = {"litellm": "lite-\nllm", "tokencostauto": "token-\ncost-\nauto", "tokencost": "token-\ncost",
           "model-prices": "model-\nprices"}
DISAGREE_STYLE = "bold yellow"


class _Notes:
    """Numbered footnotes (URLs, rule texts) shared by the tables of one view."""

    def __init__(self) -> None:
        self.items: dict[str, int] = {}

    def ref(self, text: str) -> str:
        return f"[{self.items.setdefault(text, len(self.items) + 1)}]"

    def label(self, text: str | None) -> str:
        """A snapshot label as it is; a URL as its footnote number."""
        if not text:
            return ""
        return self.ref(text) if text.startswith(("http://", "https://")) else text

    def render(self) -> Text:
        return Text("\n".join(f"[{n}] {text}" for text, n in self.items.items()))


def audit_json(result: ModelAudit) -> dict[str, Any]:
    return result.to_json()


def provider_json(result: ProviderAudit) -> dict[str, Any]:
    return result.to_json()


def _money(value: Decimal | None) -> str:
    return "n/a" if value is None else dec_str(value)


def _pair(base: tuple[Decimal | None, Decimal | None]) -> str:
    return f"{_money(base[0])} / {_money(base[1])}"


def _span(start: date, end: date | None, *, open_end: str = "(open)") -> str:
    return f"{start}\n{end or open_end}"


def _cell(price: SourcePrice | CatalogAnswer | None, before: SourcePrice | CatalogAnswer | None) -> str:
    """Input over output; ``*`` when they are the row above's but another rate differs."""
    if price is None:
        return NONE
    text = f"{_money(price.base[0])}\n{_money(price.base[1])}"
    if before is not None and before.base == price.base and _full(before) != _full(price):
        text += " *"
    return text


def _full(price: SourcePrice | CatalogAnswer) -> tuple[Any, ...]:
    if isinstance(price, CatalogAnswer):
        return price.point.rates, price.point.long_context
    return price.rates, price.long_context


def _marker(period: Period) -> str:
    return ("!" if period.disagree else "") + ("~" if period.catalog_agrees is False else "")


def audit_table(result: ModelAudit) -> list[RenderableType]:
    """The timeline, then the documented changes and the recorded decisions, then the footnotes."""
    notes = _Notes()
    views: list[RenderableType] = [_timeline(result, notes)]
    if result.documented:
        views.append(_documented(result.documented, notes))
    recorded = (*result.disagreements, *result.hygiene)
    if recorded:
        views.append(_recorded(recorded, notes))
    if notes.items:
        views.append(notes.render())
    return views


def _timeline(result: ModelAudit, notes: _Notes) -> FitTable:
    summary = result.summary
    shown = f"{len(result.periods)} of {summary.periods}" if result.disagreements_only else str(summary.periods)
    window = f", {result.start or '…'} to {result.end or '…'}" if result.start or result.end else ""
    table = FitTable(f"{result.model_id}  (matched {result.query!r} by {result.matched_by})\n"
                     f"each source's price: input over output, USD per 1M tokens{window}",
                     box=box.SIMPLE_HEAD, pad_edge=False, keys=2)
    table.add_column("")
    table.add_column("from\nto")
    for family in result.families:
        table.add_column(HEADERS.get(family, family), justify="right")
    table.add_column("catalog", justify="right")
    table.add_column("set\nby", text=True)
    previous: Period | None = None
    for period in result.periods:
        cells = [_marker(period), _span(period.start, period.end)]
        for family in result.families:
            cells.append(_cell(period.price(family), previous.price(family) if previous else None))
        cells.append(_cell(period.catalog, previous.catalog if previous else None))
        cells.append(_set_by(period, previous, notes))
        table.add_row(*cells, style=DISAGREE_STYLE if period.disagree else None)
        previous = period
    lines = [f"{shown} periods, {summary.disagreeing_periods} with disagreeing sources (!)"
             + (" shown" if result.disagreements_only else "")]
    if not result.in_catalog:
        lines.append("not in the catalog: the build dropped every price it observed (see the decisions below)")
    elif not result.families:
        lines.append("no source observations recorded for this model (a config override or an imported overlay)")
    lines.append("~ the catalog differs from every source (a documented date); * input and output as above, "
                 "another rate changed (--format json has every rate); — not listed; (open): still in force; "
                 "″ set as above")
    table.caption = "\n".join(lines)
    return table


def _set_by(period: Period, previous: Period | None, notes: _Notes) -> str:
    answer = period.catalog
    if answer is None:
        return NONE
    if previous is not None and previous.catalog is not None and previous.catalog.point is answer.point:
        return "″"
    rule = answer.rule + ("; oldest price, applied before its date" if answer.before_first else "")
    return notes.ref(f"catalog: {answer.point.source} — {rule}")


def _documented(changes: tuple[DocumentedChange, ...], notes: _Notes) -> FitTable:
    table = FitTable("Documented price changes (vendor dates the build applied)", box=box.SIMPLE_HEAD,
                     pad_edge=False)
    table.add_column("date")
    table.add_column("old → new")
    table.add_column("catalog\nbefore → on")
    table.add_column("source")
    table.add_column("kind (via)", text=True)
    for change in changes:
        table.add_row(change.day.isoformat(), f"{_pair(change.old)}\n→ {_pair(change.new)}",
                      f"{_pair(change.catalog_before)}\n→ {_pair(change.catalog_on)}", notes.label(change.source),
                      f"{change.kind}\n({change.via})")
    table.caption = "catalog before → on: what the catalog says the day before and on the day (input / output)"
    return table


def _recorded(records: tuple[Recorded, ...], notes: _Notes) -> FitTable:
    table = FitTable("Decisions recorded by the build (pricing_data/sources/discrepancies.json)",
                     box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("when")
    table.add_column("kind", text=True)
    table.add_column("what each side said (input/output)", text=True)
    table.add_column("rule")
    for rec in records:
        when = _span(rec.start, rec.end) if rec.end and rec.end != rec.start else rec.start.isoformat()
        table.add_row(when, rec.kind, "\n".join(_said(rec, notes)), notes.ref(f"rule: {rec.rule}"))
    return table


def _said(rec: Recorded, notes: _Notes) -> list[str]:
    """One line per side of a recorded decision, from the record's fields."""
    details = dict(rec.details)
    doc = f"{notes.label(rec.source)}" + (f" via {rec.via}" if rec.via else "")
    lines: list[str] = []
    if "documented" in details:
        lines.append(f"documented {_said_price(details.pop('documented'))} {doc}")
        shown = details.pop("snapshots_showed", None)
        if isinstance(shown, dict):
            lines.append(f"snapshots showed {_said_price(shown)}")
        elif shown:
            lines.append(f"snapshots showed it from {shown}" if len(str(shown)) == 10 else f"snapshots: {shown}")
        else:
            lines.append("no snapshot listed a price")
    elif "snapshot" in details:
        lines.append(f"snapshot {_said_price(details.pop('snapshot'))}")
        lines.append(f"documents {doc}")
    elif "fields" in details:
        fields = details.pop("fields")
        lines.append(f"$0 {', '.join(map(str, fields))} from {notes.label(rec.source)}")
    for name, value in details.items():
        if isinstance(value, dict) and "label" in value:
            lines.append(f"{name} {_said_price(value)} ({notes.label(str(value['label']))})")
        else:
            lines.append(f"{name}: {value}")
    return lines


def _said_price(value: Any) -> str:
    if not isinstance(value, dict):
        return str(value)
    return f"{value.get('input') or 'n/a'}/{value.get('output') or 'n/a'}"


def provider_table(result: ProviderAudit) -> FitTable:
    window = f", {result.start or '…'} to {result.end or '…'}" if result.start or result.end else ""
    which = "with disagreements" if result.disagreements_only else "models"
    table = FitTable(f"{result.provider}: price sources per model ({len(result.models)} {which}{window})",
                     box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("model")
    table.add_column("sources")
    for column in ("periods", "disagree", "recorded", "docs"):
        table.add_column(column, justify="right")
    for model in result.models:
        sources = " ".join(SHORT.get(f, f) for f in model.families) or NONE
        name = model.id.partition("/")[2]
        name = name if model.in_catalog else f"{name} (not in catalog)"
        disagree = f"! {model.disagreeing_periods}" if model.disagreeing_periods else "0"
        table.add_row(name, sources, str(model.periods), disagree, str(model.disagreements), str(model.documented),
                      style=DISAGREE_STYLE if model.disagreeing_periods else None)
    table.caption = ("sources: L litellm, A tokencostauto, T tokencost, M model-prices; disagree: periods in which "
                     "sources show different input/output prices; recorded: the build's disagreements "
                     "(discrepancies.json); docs: documented price changes. `pricing audit MODEL` shows the "
                     "timelines.")
    return table
