"""`llmaudit report --spend` end to end on the bundled demo logs and on bad input."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest

from tests.conftest import REPO, RunCli

LOGS = REPO / "examples" / "logs"
NOW = "2026-11-20T12:00:00Z"


@pytest.fixture(scope="module")
def expected() -> dict[str, object]:
    """Independent totals: ingest + price_table + exact Decimal sums, no llmaudit.analysis."""
    import pyarrow.compute as pc

    from llmaudit.ingest import scan
    from llmaudit.pricing import load_catalog, price_table

    table = price_table(scan([str(LOGS)]).table(), load_catalog())
    costs = [c for c in table.column("cost_usd").to_pylist() if c is not None]
    unpriced = table.filter(pc.is_null(table.column("cost_usd")))
    return {
        "requests": table.num_rows,
        "cost": sum((Decimal(repr(round(c, 12))) for c in costs), Decimal(0)),
        "unpriced": unpriced.num_rows,
        "unpriced_models": sorted(set(unpriced.column("model").to_pylist())),
    }


def test_json_totals_match_an_independent_sum(run_cli: RunCli, expected: dict[str, object]) -> None:
    r = run_cli(["report", "--spend", str(LOGS), "--format", "json", "--now", NOW])
    assert r.exit_code == 0, r.stderr
    data = json.loads(r.stdout)  # stdout is JSON and nothing else
    t = data["totals"]
    assert t["requests"] == expected["requests"] == 3400
    assert Decimal(str(t["cost"])) == Decimal(expected["cost"]).quantize(Decimal("1e-10"))  # type: ignore[arg-type]
    assert t["unpriced_requests"] == expected["unpriced"] > 0
    assert [u["model"] for u in data["unpriced"]] == expected["unpriced_models"] == ["acme/acme-chat-7b"]
    models = data["breakdowns"]["model"]["rows"]
    assert sum(Decimal(str(m["cost"])) for m in models if m["cost"] is not None) == Decimal(str(t["cost"]))
    acme = next(m for m in models if m["model"] == "acme/acme-chat-7b")
    assert acme["cost"] is None and acme["unpriced_tokens"] > 0
    rec = data["billed_vs_recomputed"]
    assert rec["compared_rows"] > 0 and 0 < rec["differing_rows"] < rec["compared_rows"]
    assert rec["listed"] and all(abs(d["relative"]) > 0.01 for d in rec["listed"])
    assert set(data["breakdowns"]) >= {"model", "provider", "day", "user", "project", "tag"}
    assert data["projection"]["month"] == "2026-11" and data["projection"]["projected_month_end"] > 0
    w = data["whatif"]
    assert w["routed"]["fee_pct"] == 5.5 and w["savings"] and w["single_provider"]
    assert w["excluded_unpriced_requests"] == expected["unpriced"]


def test_table_output_says_plus_unpriced(run_cli: RunCli) -> None:
    r = run_cli(["report", "--spend", str(LOGS), "--now", NOW, "--by", "model"], env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.stderr
    assert "plus 58 unpriced requests" in r.stdout
    assert "acme/acme-chat-7b" in r.stdout and "Billed vs recomputed" in r.stdout
    assert "Routing savings" in r.stdout
    assert "could not be priced" in r.stderr


def test_markdown_and_csv_show_unpriced(run_cli: RunCli) -> None:
    md = run_cli(["report", "--spend", str(LOGS), "--format", "markdown", "--now", NOW])
    assert md.exit_code == 0, md.stderr
    assert "## Unpriced" in md.stdout and "acme/acme-chat-7b" in md.stdout
    assert "plus 58 unpriced requests" in md.stdout
    out = run_cli(["report", "--spend", str(LOGS), "--format", "csv", "--now", NOW])
    assert out.exit_code == 0, out.stderr
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    acme = [r for r in rows if r["table"] == "breakdown" and r["dimension"] == "model"
            and r["key"] == "acme/acme-chat-7b"]
    assert acme and acme[0]["cost"] == "" and acme[0]["price_status"] == "unpriced"  # empty cost, never 0
    assert any(r["table"] == "unpriced" and r["model"] == "acme/acme-chat-7b" for r in rows)
    assert any(r["table"] == "discrepancy" for r in rows) and any(r["table"] == "savings" for r in rows)


def test_csv_is_one_tidy_table(run_cli: RunCli) -> None:
    """It printed 7 tables with different headers into one stream."""
    out = run_cli(["report", "--spend", str(LOGS), "--format", "csv", "--now", NOW])
    assert out.exit_code == 0, out.stderr
    lines = list(csv.reader(io.StringIO(out.stdout)))
    header, body = lines[0], lines[1:]
    assert header[0] == "table" and len(set(header)) == len(header)
    assert all(len(row) == len(header) for row in body)  # one header, every row the same columns
    assert not any(row[0] == "section" or row == header for row in body)
    parts = {row[0] for row in body}
    assert parts == {"total", "source", "breakdown", "unpriced", "reconciliation", "discrepancy", "projection",
                     "whatif_provider", "savings"}
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    total = next(r for r in rows if r["table"] == "savings" and r["model"] == "TOTAL")
    assert total["fee_pct"] == "5.5" and Decimal(total["monthly_fee"]) > 0
    sonnet = next(r for r in rows if r["table"] == "breakdown" and r["key"] == "anthropic/claude-sonnet-4-5-20250929")
    assert (sonnet["billed_rows"], sonnet["rows"]) == ("140", "665")


def test_currency_and_window(run_cli: RunCli) -> None:
    usd = json.loads(run_cli(["report", "--spend", str(LOGS), "--format", "json", "--no-whatif"]).stdout)
    eur = json.loads(run_cli(["report", "--spend", str(LOGS), "--format", "json", "--no-whatif",
                              "--currency", "EUR", "--fx-rate", "0.92"]).stdout)
    assert eur["currency"] == "EUR"
    # JSON amounts carry 10 decimals, so the USD figure × 0.92 may differ in the last place.
    assert abs(Decimal(str(eur["totals"]["cost"])) - Decimal(str(usd["totals"]["cost"])) * Decimal("0.92")) < Decimal(
        "1e-9")
    week = json.loads(run_cli(["report", "--spend", str(LOGS), "--format", "json", "--no-whatif",
                               "--since", "2026-11-02", "--until", "2026-11-09", "--by", "day"]).stdout)
    days = [r["day"] for r in week["breakdowns"]["day"]["rows"]]
    assert days == [f"2026-11-0{d}" for d in range(2, 9)]
    assert week["rows_outside_window"] + week["totals"]["rows"] == 3400


def test_ingested_parquet_reports_the_same(run_cli: RunCli, tmp_path: Path) -> None:
    parquet = tmp_path / "usage.parquet"
    assert run_cli(["ingest", str(LOGS), "--out", str(parquet)]).exit_code == 0
    a = json.loads(run_cli(["report", "--spend", str(LOGS), "--format", "json", "--no-whatif"]).stdout)
    b = json.loads(run_cli(["report", "--spend", str(parquet), "--format", "json", "--no-whatif"]).stdout)
    assert a["totals"] == b["totals"]
    assert a["billed_vs_recomputed"]["differing_rows"] == b["billed_vs_recomputed"]["differing_rows"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["report", "--spend", "missing.jsonl"], "missing.jsonl"),
        (["report", "--spend", "garbage.txt"], "garbage.txt"),
        (["report", "--spend", "bad.parquet"], "bad.parquet"),
        (["report", "--spend", "LOGS", "--currency", "EUR"], "--fx-rate"),
        (["report", "--spend", "LOGS", "--by", "colour"], "colour"),
        (["report", "--spend", "LOGS", "--since", "yesterday"], "--since"),
        (["report", "--spend", "LOGS", "--timezone", "Mars/Base"], "timezone"),
        (["report", "--spend", "LOGS", "--format", "yaml"], "yaml"),
        (["report", "not-a-run-dir"], "--spend"),
    ],
)
def test_bad_input_exits_2_without_traceback(run_cli: RunCli, tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "garbage.txt").write_text("this is not a log\nat all\n")
    (tmp_path / "bad.parquet").write_bytes(b"PAR1 not really")
    (tmp_path / "not-a-run-dir").mkdir()
    args = [str(LOGS) if a == "LOGS" else a for a in args]
    r = run_cli(args)
    assert r.exit_code == 2, r.output
    assert message in r.stderr
    assert "Traceback" not in r.output and r.stdout == ""


def test_run_directory_goes_to_the_run_report(run_cli: RunCli, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import llmaudit.cli.report_run as report_run

    calls: list[tuple[object, ...]] = []
    monkeypatch.setattr(report_run, "report_run", lambda *a, **kw: calls.append((*a, *kw.values())))
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "results.parquet").write_bytes(b"")
    r = run_cli(["report", str(run_dir), "--format", "markdown", "--html", str(tmp_path / "r.html"),
                 "--volume", "1M-requests/month"])
    assert r.exit_code == 0, r.output
    assert calls == [(run_dir, "markdown", tmp_path / "r.html", report_run.RoutingFlags(volume="1M-requests/month"))]


def test_progress_only_for_slow_reads_off_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from rich.console import Console

    from llmaudit.render import progress as ingest_render

    clock = [100.0]
    monkeypatch.setattr(ingest_render.time, "monotonic", lambda: clock[0])
    buf = io.StringIO()
    with ingest_render.ReadProgress(4_000_000, console=Console(file=buf, force_terminal=False)) as bar:
        bar.advance(1_000_000)
        assert buf.getvalue() == ""  # fast so far: nothing shown
        clock[0] += 2.0
        bar.advance(1_000_000)
        clock[0] += 1.0
        bar.advance(1_000_000)  # within 5 s of the last line: quiet
    assert buf.getvalue().splitlines() == ["reading: 50% (2.0 of 4.0 MB, 2 s)", "reading: done, 3.0 MB in 3.0 s"]
    quiet = io.StringIO()
    with ingest_render.ReadProgress(10, console=Console(file=quiet, force_terminal=False)) as bar:
        bar.advance(10)
    assert quiet.getvalue() == ""


def test_rejected_rows_are_accounted_in_every_format(run_cli: RunCli, tmp_path: Path) -> None:
    good = (LOGS / "openai-app.jsonl").read_text().splitlines()[:2]
    log = tmp_path / "app.jsonl"
    log.write_text("\n".join([good[0], '{"timestamp": "2026-11-01T00:00:00Z", "response": {"object": '
                              '"chat.completion", "usage": {"prompt_tokens": 5}}}', good[1]]) + "\n")
    data = json.loads(run_cli(["report", "--spend", str(log), "--format", "json"]).stdout)
    assert data["sources"] == [{"path": str(log), "reader": "openai", "rows_read": 3, "rows_kept": 2,
                                "rows_rejected": 1, "duplicates": 0, "skipped": 0, "not_read": None}]
    assert any("1 log rows were rejected" in w for w in data["warnings"])
    table = run_cli(["report", "--spend", str(log)], env={"COLUMNS": "200"})
    assert "3 rows, 2 kept, 1 rejected" in table.stdout and "rejected" in table.stderr
    csv_out = run_cli(["report", "--spend", str(log), "--format", "csv"]).stdout
    [src] = [r for r in csv.DictReader(io.StringIO(csv_out)) if r["table"] == "source"]
    assert [src[k] for k in ("path", "reader", "rows_read", "rows_kept", "rows_rejected", "duplicates",
                             "skipped")] == [str(log), "openai", "3", "2", "1", "0", "0"]


def test_config_overrides_fees_and_tiers(run_cli: RunCli, tmp_path: Path) -> None:
    (tmp_path / "llmaudit.toml").write_text(
        '[fees]\nplatform_pct = 10\n\n[tiers]\n"openai/gpt-4.1-nano" = { tier = 1, source = "our eval" }\n')
    data = json.loads(run_cli(["report", "--spend", str(LOGS), "--format", "json"]).stdout)
    assert data["whatif"]["routed"]["fee_pct"] == 10
    nano = next(s for s in data["whatif"]["savings"] if s["model"].startswith("openai/gpt-4.1-nano"))
    assert nano["tier"] == 1 and nano["tier_source"] == "our eval"
    bad = tmp_path / "bad.toml"
    bad.write_text('[tiers]\n"openai/gpt-4o" = "high"\n')
    r = run_cli(["report", "--spend", str(LOGS), "--config", str(bad)])
    assert r.exit_code == 2 and "tier" in r.stderr and "Traceback" not in r.output


def test_whatif_scales_by_the_window(run_cli: RunCli) -> None:
    data = json.loads(run_cli(["report", "--spend", str(LOGS), "--format", "json",
                               "--since", "2026-11-01", "--until", "2026-11-08"]).stdout)
    w = data["whatif"]
    assert w["days_observed"] == 7
    assert w["current_monthly"] == pytest.approx(w["current_cost"] * 30.4375 / 7)


def test_volume_scales_the_savings_table(run_cli: RunCli) -> None:
    plain = json.loads(run_cli(["report", "--spend", str(LOGS), "--format", "json"]).stdout)["whatif"]
    r = run_cli(["report", "--spend", str(LOGS), "--format", "json", "--volume", "10B-tokens/month"])
    assert r.exit_code == 0, r.stderr
    w = json.loads(r.stdout)["whatif"]
    assert w["scaled_to_volume"] == "10B-tokens/month" and plain["scaled_to_volume"] is None
    assert abs(sum(s["monthly_tokens"] for s in w["savings"]) - 10**10) < 100  # per-row rounding only
    # Scaling changes the volume, not the per-token economics.
    assert w["savings"][0]["avg_per_million"] == plain["savings"][0]["avg_per_million"]
    bad = run_cli(["report", "--spend", str(LOGS), "--volume", "lots"])
    assert bad.exit_code == 2 and "--volume" in bad.stderr


def test_gateway_price_beside_recomputed(run_cli: RunCli) -> None:
    """LiteLLM's own price (metadata.model_map_information) is shown beside the recomputed cost."""
    path = str(REPO / "tests" / "ingest" / "fixtures" / "litellm_spendlogs_1h.json")
    res = run_cli(["report", "--spend", path, "--format", "json", "--no-whatif"])
    [d] = json.loads(res.stdout)["billed_vs_recomputed"]["listed"]
    assert (d["request_id"], d["billed"], d["recomputed"]) == ("chatcmpl-h2", 0.0063, 0.00855)
    assert d["gateway_price"].startswith("claude-sonnet-4-5-20250929: input $3/M")
    md = run_cli(["report", "--spend", path, "--format", "markdown", "--no-whatif"]).stdout
    assert "| Gateway's price |" in md and "cache write $3.75/M |" in md
    csv_out = run_cli(["report", "--spend", path, "--format", "csv", "--no-whatif"]).stdout
    assert "relative,gateway_price" in csv_out


@pytest.mark.parametrize(("args", "says"), [
    (["--since", "2026-11-15", "--until", "2026-11-01"], "not after --since"),
    (["--html", "/nonexistent-llmaudit-dir/x.html"], "does not exist"),
    (["--top", "-1"], "--top must be 0 or more"),
])
def test_mistakes_are_caught_before_the_work(run_cli, args: list[str], says: str) -> None:
    """An inverted window gave an empty report with rc 0; --html to a missing folder failed only after
    all the work; --top -1 was accepted."""
    res = run_cli(["report", "--spend", str(REPO / "examples" / "logs"), *args])
    assert res.exit_code == 2 and says in " ".join(res.stderr.split()), res.stderr


def test_billed_says_how_many_rows_it_covers(run_cli: RunCli, tmp_path: Path) -> None:
    """``Cost $43.96 | Billed $8.61`` read as an overbill: only 140 of 665 rows carried a cost."""
    table = run_cli(["report", "--spend", str(LOGS), "--now", NOW, "--by", "model", "--no-whatif",
                     "--html", str(tmp_path / "s.html")], env={"COLUMNS": "200"})
    assert table.exit_code == 0, table.stderr
    row = next(line for line in table.stdout.splitlines() if "anthropic/claude-sonnet-4-5-20250929" in line)
    assert "$8.61 (140 of 665 rows)" in row
    assert "for the rows that carried a cost" in table.stdout
    gemini = next(line for line in table.stdout.splitlines() if "google/gemini-2.5-flash" in line)
    assert "$1.28" in gemini and " of " not in gemini  # every row billed: no coverage to state
    assert "$8.61 (140 of 665 rows)" in (tmp_path / "s.html").read_text()
    md = run_cli(["report", "--spend", str(LOGS), "--now", NOW, "--by", "model", "--format", "markdown"])
    assert "| $8.61 (140 of 665 rows) |" in md.stdout
    js = json.loads(run_cli(["report", "--spend", str(LOGS), "--now", NOW, "--by", "model", "--format",
                             "json"]).stdout)
    sonnet = next(r for r in js["breakdowns"]["model"]["rows"] if r["model"] == "anthropic/claude-sonnet-4-5-20250929")
    assert (round(sonnet["billed"], 2), sonnet["billed_rows"], sonnet["rows"]) == (8.61, 140, 665)


def test_the_fee_shown_is_the_months_fee_at_the_volume(run_cli: RunCli) -> None:
    """``fee $1.09`` sat in the Routes-to column beside a $25,286 monthly spend at --volume."""
    args = ["report", "--spend", str(LOGS), "--now", NOW, "--volume", "10B-tokens/month"]
    data = json.loads(run_cli([*args, "--format", "json"]).stdout)
    fee = Decimal(str(data["whatif"]["routed"]["monthly_fee"]))
    spend = Decimal(str(data["whatif"]["routed"]["monthly_spend"]))
    assert abs(fee / (spend - fee) - Decimal("0.055")) < Decimal("1e-6")  # 5.5% of the month at the volume
    table = run_cli(args, env={"COLUMNS": "200"}).stdout
    assert f"Routed/month includes the platform fee: ${fee:,.2f}/month (5.5%, at least $0.80 a month)." in table


def test_a_misspelt_dimension_gets_the_nearest_name(run_cli: RunCli) -> None:
    result = run_cli(["report", "--spend", str(REPO / "examples" / "logs"), "--by", "modle"])
    assert result.exit_code == 2 and "did you mean 'model'?" in result.stderr
