"""`llmaudit pricing audit`: each price source's timeline beside the catalog, on the shipped data
(openai/o3's documented 2025-06-10 cut, deepseek-reasoner's disagreeing sources) and, for exact
output, on a small synthetic build record (tests/pricing/fixtures/audit)."""

from __future__ import annotations

import io
import json
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from rich.console import Console

from llmaudit.pricing import sources
from llmaudit.pricing.audit import FRESH_DAYS, audit_model, audit_provider, catalog_rule, find_audited
from llmaudit.pricing.catalog import Catalog
from llmaudit.pricing.model import ModelEntry, PricePoint, Rates
from llmaudit.render.pricing_audit import audit_table, provider_table

FIXTURE = Path(__file__).parent / "fixtures" / "audit"
O3_CUT = "https://help.openai.com/en/articles/9624314-model-release-notes"
D = Decimal


def err(res) -> str:
    return " ".join(res.stderr.split())


def period_on(payload: dict, day: str) -> dict:
    return next(p for p in payload["periods"] if p["from"] <= day and (p["to"] is None or day <= p["to"]))


# --- the shipped data -------------------------------------------------------------------------


def test_o3_shows_the_documented_cut_and_each_source_timeline(run_cli) -> None:
    res = run_cli(["pricing", "audit", "o3", "--format", "json"])
    assert res.exit_code == 0, res.stderr
    data = json.loads(res.stdout)
    assert (data["id"], data["matched_by"], data["in_catalog"]) == ("openai/o3", "exact", True)
    assert {"litellm", "model-prices"} <= set(data["sources"])

    cut = [d for d in data["documented_changes"] if d["date"] == "2025-06-10" and d["source"] == O3_CUT]
    assert cut and cut[0]["old"] == {"input": "10", "output": "40"} and cut[0]["new"] == {"input": "2", "output": "8"}
    assert cut[0]["catalog_before"] == {"input": "10", "output": "40"}
    assert cut[0]["catalog_on"] == {"input": "2", "output": "8"}

    before, on, after = (period_on(data, d) for d in ("2025-06-09", "2025-06-10", "2025-06-11"))
    assert before["sources"]["litellm"]["input"] == "10" and before["catalog"]["input"] == "10"
    assert before["sources"]["model-prices"] is None  # models.dev lists o3 from 2025-06-11 only
    # The vendor's day: every snapshot still shows $10/$40, the catalog already $2/$8.
    assert on["from"] == "2025-06-10" and on["sources"]["litellm"]["output"] == "40"
    assert (on["catalog"]["input"], on["catalog"]["output"]) == ("2", "8")
    assert on["catalog"]["source"] == O3_CUT and on["catalog"]["rule"] == "documented vendor date"
    assert on["catalog_agrees"] is False
    assert after["sources"]["litellm"]["input"] == "2" and after["sources"]["model-prices"]["input"] == "2"
    assert after["sources"]["litellm"]["first"] == "litellm-1.72.4"
    assert after["sources"]["model-prices"]["url"].startswith("https://github.com/sst/models.dev/commit/")
    redated = [d for d in data["disagreements"] if d["kind"] == "redated"]
    assert redated and redated[0]["from"] == "2025-06-10" and redated[0]["source"] == O3_CUT
    assert redated[0]["rule"] == "documented vendor date beats the first snapshot"


def test_o3_table_fits_80_columns_and_cuts_no_number(run_cli) -> None:
    res = run_cli(["pricing", "audit", "o3"], env={"COLUMNS": "80"})
    assert res.exit_code == 0, res.stderr
    lines = res.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "…" not in res.stdout  # nothing truncated
    assert "openai/o3  (matched 'o3' by exact)" in res.stdout
    assert any(line.split()[:1] == ["~"] and "2025-06-10" in line for line in lines)  # catalog ahead of sources
    assert any(O3_CUT in line for line in lines)  # the URL whole, in the footnotes
    assert "Documented price changes" in res.stdout and "redated" in res.stdout


def test_deepseek_reasoner_disagreements_and_documented_prices(run_cli) -> None:
    res = run_cli(["pricing", "audit", "deepseek-reasoner", "--format", "json"])
    assert res.exit_code == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["id"] == "deepseek/deepseek-reasoner"
    # models.dev listed $0.57/$1.68 while LiteLLM still had $0.55/$2.19: a disagreeing period...
    p = period_on(data, "2025-08-30")
    assert p["disagree"] is True
    assert (p["sources"]["litellm"]["input"], p["sources"]["model-prices"]["input"]) == ("0.55", "0.57")
    # ...then DeepSeek's own $0.56/$1.68 (2025-09-05), which no source showed, set the catalog.
    p = period_on(data, "2025-09-05")
    assert (p["catalog"]["input"], p["catalog"]["output"]) == ("0.56", "1.68")
    assert p["catalog"]["rule"] == "documented price inserted (no source shows it)"
    assert p["catalog_agrees"] is False
    p = period_on(data, "2025-09-29")
    assert p["catalog"]["source"] == "https://api-docs.deepseek.com/news/news250929"
    kinds = {d["kind"] for d in data["disagreements"]}
    assert {"source disagreement", "inserted", "redated"} <= kinds
    assert all(d["rule"] for d in data["disagreements"])
    assert any(d["source"] == "https://api-docs.deepseek.com/news/news250821" for d in data["documented_changes"])

    only = json.loads(run_cli(["pricing", "audit", "deepseek-reasoner", "--disagreements", "--format", "json"]).stdout)
    assert only["disagreements_only"] is True
    assert only["periods"] and all(p["disagree"] for p in only["periods"])
    assert len(only["periods"]) < len(data["periods"])


def test_window_clips_periods_and_records(run_cli) -> None:
    res = run_cli(["pricing", "audit", "openai/o3", "--from", "2025-06-01", "--to", "2025-06-30", "--format", "json"])
    assert res.exit_code == 0, res.stderr
    data = json.loads(res.stdout)
    assert (data["from"], data["to"]) == ("2025-06-01", "2025-06-30")
    assert data["periods"][0]["from"] == "2025-06-01" and data["periods"][-1]["to"] == "2025-06-30"
    assert all("2025-06-01" <= p["from"] <= "2025-06-30" for p in data["periods"])
    assert all(d["date"].startswith("2025-06") for d in data["documented_changes"])


def test_provider_listing(run_cli) -> None:
    res = run_cli(["pricing", "audit", "--provider", "deepseek", "--format", "json"])
    assert res.exit_code == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["provider"] == "deepseek"
    models = {m["id"]: m for m in data["models"]}
    reasoner = models["deepseek/deepseek-reasoner"]
    assert set(reasoner) == {"id", "in_catalog", "periods", "sources", "disagreeing_periods", "disagreements",
                             "documented_changes"}
    assert reasoner["periods"] > 5 and reasoner["disagreeing_periods"] > 0 and reasoner["disagreements"] > 0
    assert reasoner["documented_changes"] >= 3 and "litellm" in reasoner["sources"]

    only = json.loads(run_cli(["pricing", "audit", "-p", "deepseek", "--disagreements", "--format", "json"]).stdout)
    assert 0 < len(only["models"]) < len(data["models"])
    assert all(m["disagreeing_periods"] or m["disagreements"] for m in only["models"])

    table = run_cli(["pricing", "audit", "--provider", "deepseek"], env={"COLUMNS": "80"})
    assert table.exit_code == 0 and "deepseek-reasoner" in table.stdout
    assert max(len(line) for line in table.stdout.splitlines()) <= 80


def test_json_shape(run_cli) -> None:
    data = json.loads(run_cli(["pricing", "audit", "o3", "--format", "json"]).stdout)
    assert list(data) == ["query", "id", "provider", "matched_by", "in_catalog", "units", "from", "to",
                          "disagreements_only", "sources", "periods", "documented_changes", "disagreements", "hygiene"]
    for period in data["periods"]:
        assert list(period) == ["from", "to", "disagree", "catalog_agrees", "sources", "catalog"]
        assert list(period["sources"]) == data["sources"]  # every source, null where not listed
        for price in [*filter(None, period["sources"].values()), period["catalog"]]:
            assert isinstance(price["input"], str) and Decimal(price["input"]) >= 0
    assert data["periods"][-1]["to"] is None  # still in force
    change = data["documented_changes"][0]
    assert list(change) == ["date", "kind", "old", "new", "catalog_before", "catalog_on", "tiers_reproduced",
                            "source", "via"]


def test_usage_errors_exit_2(run_cli) -> None:
    res = run_cli(["pricing", "audit", "o3x"])
    assert res.exit_code == 2
    assert "unknown model 'o3x'" in err(res) and "did you mean openai/o3" in err(res)
    assert "Traceback" not in res.output and res.stdout == ""
    res = run_cli(["pricing", "audit", "definitely-not-a-model-zz9"])
    assert res.exit_code == 2 and "pricing list" in err(res)
    assert run_cli(["pricing", "audit"]).exit_code == 2
    res = run_cli(["pricing", "audit", "--provider", "nosuch"])
    assert res.exit_code == 2 and "no such provider" in err(res)
    res = run_cli(["pricing", "audit", "o3", "--from", "2025-07-01", "--to", "2025-06-01"])
    assert res.exit_code == 2 and "after --to" in err(res)
    res = run_cli(["pricing", "audit", "o3", "--from", "June"])
    assert res.exit_code == 2 and "--from 'June'" in err(res)


def test_observed_files_are_read_lazily(run_cli) -> None:
    sources.load_observed.cache_clear()
    assert run_cli(["pricing", "show", "o3"]).exit_code == 0
    assert sources.load_observed.cache_info().currsize == 0
    assert run_cli(["pricing", "audit", "o3", "--format", "json"]).exit_code == 0
    loaded = sources.load_observed.cache_info().currsize
    assert loaded == 1  # only observed/openai.json


def test_fresh_days_is_the_builders() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
    from catalog_build.timeline import FRESH_DAYS as BUILD_FRESH_DAYS

    assert FRESH_DAYS == BUILD_FRESH_DAYS


# --- a synthetic build record, exact output ---------------------------------------------------


def acme_catalog() -> Catalog:
    points = (
        PricePoint(date(2025, 1, 1), "litellm-1.0.0", date(2025, 3, 9), Rates(D(1), D(2)),
                   note="first shown by litellm-1.0.0"),
        PricePoint(date(2025, 3, 10), "litellm-1.3.0", date(2025, 6, 14), Rates(D(1), D(2), D("0.1")),
                   note="first shown by litellm-1.3.0"),
        PricePoint(date(2025, 6, 15), "https://vendor.example/pricing", date(2025, 12, 31),
                   Rates(D("0.5"), D(1), D("0.05")),
                   note="documented: https://vendor.example/pricing (via curated); first shown by litellm-1.10.0"),
    )
    return Catalog([ModelEntry("acme/widget", "acme", "widget", points)], date(2025, 12, 31))


def render(*parts: object) -> str:
    console = Console(file=io.StringIO(), width=80, color_system=None, legacy_windows=False)
    for part in parts:
        console.print(part)
    return "\n".join(line.rstrip() for line in console.file.getvalue().splitlines())  # type: ignore[attr-defined]


ACME_TABLE = """\
acme/widget  (matched 'widget' by exact)
each source's price: input over output, USD per 1M tokens

     from         lite-   token-   model-             set
     to             llm     cost   prices   catalog   by
 ────────────────────────────────────────────────────────
     2025-01-01       1        —        —         1   [1]
     2025-01-31       2                           2
 !   2025-02-01       1        1        —         1   ″
     2025-03-09       2        3                  2
 !   2025-03-10       1        1        —         1   [2]
     2025-04-30     2 *        3                2 *
     2025-05-01       1        —        —         1   ″
     2025-06-14       2                           2
 !   2025-06-15       1        —      0.5       0.5   [3]
     2025-06-30       2                 1         1
     2025-07-01     0.5        —      0.5       0.5   ″
     (open)           1                 1         1

6 periods, 3 with disagreeing sources (!)
~ the catalog differs from every source (a documented date); * input and output
as above, another rate changed (--format json has every rate); — not listed;
(open): still in force; ″ set as above
Documented price changes (vendor dates the build applied)

                          catalog
 date         old → new   before → on   source   kind (via)
 ──────────────────────────────────────────────────────────
 2025-06-15   1 / 2       1 / 2         [4]      change
              → 0.5 / 1   → 0.5 / 1              (curated)

catalog before → on: what the catalog says the day before and on the day (input
/ output)
Decisions recorded by the build (pricing_data/sources/discrepancies.json)

 when         kind                  what each side said (input/output)    rule
 ─────────────────────────────────────────────────────────────────────────────
 2025-02-01   source disagreement   litellm 1/2 (litellm-1.0.0)           [5]
 2025-02-28                         tokencost 1/3 (tokencost-0.1.0)
 2025-06-15   redated               documented 0.5/1 [4] via curated      [6]
                                    snapshots showed it from 2025-07-01

[1] catalog: litellm-1.0.0 — best-ranked fresh source
[2] catalog: litellm-1.3.0 — best-ranked fresh source
[3] catalog: https://vendor.example/pricing — documented vendor date
[4] https://vendor.example/pricing
[5] rule: the best-ranked fresh source speaks (litellm > tokencostauto >
tokencost > model-prices); documented dates win
[6] rule: documented vendor date beats the first snapshot"""


def test_synthetic_timeline_exact() -> None:
    result = audit_model(acme_catalog(), "acme/widget", query="widget", folder=FIXTURE)
    assert render(*audit_table(result)) == ACME_TABLE


def test_synthetic_periods_json() -> None:
    data = audit_model(acme_catalog(), "acme/widget", query="widget", folder=FIXTURE).to_json()
    spans = [(p["from"], p["to"], p["disagree"]) for p in data["periods"]]
    assert spans == [("2025-01-01", "2025-01-31", False), ("2025-02-01", "2025-03-09", True),
                     ("2025-03-10", "2025-04-30", True), ("2025-05-01", "2025-06-14", False),
                     ("2025-06-15", "2025-06-30", True), ("2025-07-01", None, False)]
    # A 10-day gap between two LiteLLM snapshots is no delisting; its last one (the newest day in
    # the data) still lists the model; tokencost's last snapshot ends its word.
    assert data["periods"][1]["sources"]["litellm"] == {"first": "litellm-1.0.0", "last": "litellm-1.2.0",
                                                       "url": None, "input": "1", "output": "2"}
    assert data["periods"][3]["sources"]["tokencost"] is None
    last = data["periods"][-1]
    assert last["sources"]["litellm"] == {"first": "litellm-1.10.0", "last": "litellm-2.0.0", "url": None,
                                          "input": "0.5", "output": "1", "cache_read": "0.05"}
    assert last["sources"]["model-prices"]["url"] == "https://example.com/mp/1"
    assert last["catalog"] == {
        "effective_from": "2025-06-15", "source": "https://vendor.example/pricing", "rule": "documented vendor date",
        "before_first_price": False,
        "note": "documented: https://vendor.example/pricing (via curated); first shown by litellm-1.10.0",
        "sources": [], "input": "0.5", "output": "1", "cache_read": "0.05"}
    assert data["disagreements"][0] == {
        "kind": "source disagreement", "from": "2025-02-01", "to": "2025-02-28",
        "rule": "the best-ranked fresh source speaks (litellm > tokencostauto > tokencost > model-prices); "
                "documented dates win", "source": None, "via": None,
        "litellm": {"input": "1", "label": "litellm-1.0.0", "output": "2"},
        "tokencost": {"input": "1", "label": "tokencost-0.1.0", "output": "3"}}
    assert data["documented_changes"] == [{
        "date": "2025-06-15", "kind": "change", "old": {"input": "1", "output": "2"},
        "new": {"input": "0.5", "output": "1"}, "catalog_before": {"input": "1", "output": "2"},
        "catalog_on": {"input": "0.5", "output": "1"}, "tiers_reproduced": False,
        "source": "https://vendor.example/pricing", "via": "curated"}]


def test_synthetic_disagreements_only_and_window() -> None:
    result = audit_model(acme_catalog(), "acme/widget", folder=FIXTURE, disagreements_only=True,
                         start=date(2025, 3, 1), end=date(2025, 6, 20))
    assert [(p.start, p.end) for p in result.periods] == [
        (date(2025, 3, 1), date(2025, 3, 9)), (date(2025, 3, 10), date(2025, 4, 30)),
        (date(2025, 6, 15), date(2025, 6, 20))]
    assert (result.summary.periods, result.summary.disagreeing_periods) == (4, 3)
    assert [r.kind for r in result.disagreements] == ["redated"]  # the February one is outside


def test_synthetic_provider_and_observed_only_model() -> None:
    summary = audit_provider(acme_catalog(), "acme", folder=FIXTURE)
    assert [(m.id, m.in_catalog, m.periods, m.families, m.disagreeing_periods, m.disagreements, m.documented)
            for m in summary.models] == [
        ("acme/gadget", False, 1, ("model-prices",), 0, 0, 0),
        ("acme/widget", True, 6, ("litellm", "tokencost", "model-prices"), 3, 2, 1)]
    assert "widget                    L T M           6        ! 3          2      1" in render(
        provider_table(summary))
    only = audit_provider(acme_catalog(), "acme", folder=FIXTURE, disagreements_only=True)
    assert [m.id for m in only.models] == ["acme/widget"]
    # A model the build observed but left out of the catalog is audited too, to show why.
    assert find_audited(acme_catalog(), "acme/gadget", folder=FIXTURE) == (
        "acme/gadget", "observed only (not in the catalog)")
    assert find_audited(acme_catalog(), "acme/nothing", folder=FIXTURE) is None
    gadget = audit_model(acme_catalog(), "acme/gadget", folder=FIXTURE)
    assert [h.kind for h in gadget.hygiene] == ["zero price dropped"]
    assert gadget.periods[0].catalog is None
    assert "$0 input, output from [1]" in render(*audit_table(gadget))


@pytest.mark.parametrize(("note", "source", "rule"), [
    ("first shown by litellm-1.0.0", "litellm-1.0.0", "best-ranked fresh source"),
    ("first shown by litellm-1.103.0; dated 2026-09-24 by tokencostauto-0.1.686 (first shown there; "
     "2026-09-27 by the best-ranked source)", "litellm-1.103.0", "earliest source to show it (tokencostauto-0.1.686)"),
    ("documented: https://x.example (via curated); no snapshot shows this price", "https://x.example",
     "documented price inserted (no source shows it)"),
    ("documented price before 2025-01-01: https://x.example (via curated)", "https://x.example",
     "documented old price, before the vendor's date"),
    ("model-prices: https://github.com/sst/models.dev/commit/1", "https://github.com/sst/models.dev/commit/1",
     "model-prices (no fresh snapshot)"),
    ("imported from litellm-2026-01-01", "litellm-2026-01-01", "your imported overlay"),
    (None, "config override (llmaudit.toml)", "your config override"),
    ("first shown by litellm-1.0.0; 15% discount from config (openai/*)", "litellm-1.0.0",
     "best-ranked fresh source; adjusted by your config"),
])
def test_catalog_rule(note: str | None, source: str, rule: str) -> None:
    point = PricePoint(date(2025, 1, 1), source, date(2025, 1, 1), Rates(D(1), D(2)), note=note)
    assert catalog_rule(point) == rule
