"""Per-chunk timing, ITL/TPOT distributions, throughput and goodput (issue 18 #1, #2, #3, #6).

The interval tests run the real CLI against a real HTTP server on 127.0.0.1 that emits one token
every 20 ms after a 100 ms first token: what replay measures must be what the server did.
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tokenserver import run_token_server

from llmaudit.analysis.common.latency import SLO, distribution, itl_gaps, meets_slo, parse_slo, tpot_ms
from llmaudit.analysis.routing.runstats import build_runstats
from llmaudit.errors import UsageError
from llmaudit.render.run import render_run
from llmaudit.render.run_text import run_warnings
from llmaudit.replay.rundir import results_table


def _config(path: Path, base_url: str) -> Path:
    path.write_text(
        f'[providers.local]\ntype = "openai"\nbase_url = "{base_url}"\n\n'
        '[pricing.overrides."local/tok"]\ninput = "1.00"\noutput = "2.00"\n'
    )
    return path


def _prompts(path: Path, n: int) -> Path:
    path.write_text("".join(json.dumps({"id": f"p{i}", "prompt": f"prompt {i}"}) + "\n" for i in range(n)))
    return path


def test_measured_itl_and_tpot_equal_the_servers_within_2ms(run_cli, tmp_path: Path) -> None:
    with run_token_server(ttft_s=0.1, itl_s=0.02, tokens=12) as server:
        config = _config(tmp_path / "llmaudit.toml", server.base_url)
        run = tmp_path / "run"
        result = run_cli(["replay", str(_prompts(tmp_path / "p.jsonl", 6)), "-m", "local/tok", "--out", str(run),
                          "--config", str(config), "--no-cache", "--concurrency", "2", "--format", "json",
                          "--slo", "ttft=1s,tpot=50ms,e2e=10s"])
    assert result.exit_code == 0, result.output
    model = json.loads(result.stdout)["models"][0]
    assert model["itl"]["n"] == 6 * 11  # 12 one-token chunks: 11 gaps a request
    assert abs(model["itl"]["p50"] - 20.0) <= 2.0
    assert abs(model["tpot"]["p50"] - 20.0) <= 2.0
    assert abs(model["ttft"]["p50"] - 100.0) <= 25.0  # a loaded machine; ITL and TPOT are the 2 ms claims
    assert model["e2e"]["p50"] >= model["ttft"]["p50"] + 11 * 18
    for key in ("mean", "std", "p90", "p95", "p99"):
        assert model["itl"][key] is not None
    # Each row keeps its chunk arrivals: 12 offsets in µs, rising, the first being the TTFT.
    rows = [json.loads(line) for line in (run / "results.jsonl").read_text().splitlines()]
    assert all(len(r["chunk_us"]) == 12 and r["chunk_us"] == sorted(r["chunk_us"]) for r in rows)
    assert all(abs(r["chunk_us"][0] / 1000 - r["ttft_ms"]) < 0.01 for r in rows)
    # Throughput over the run's wall time: 6 requests of 12 tokens, two at a time, ~0.32 s each.
    manifest = json.loads((run / "manifest.json").read_text())
    assert 0.6 < manifest["wall_s"] < 10.0
    assert model["request_throughput"] == pytest.approx(6 / manifest["wall_s"])
    assert model["output_throughput"] == pytest.approx(72 / manifest["wall_s"])
    # Goodput under the SLO the run was made with: every request met it.
    assert (model["good"], model["sent"], model["goodput"]) == (6, 6, 1.0)
    assert json.loads(result.stdout)["slo"] == {"ttft_ms": 1000.0, "tpot_ms": 50.0, "e2e_ms": 10000.0}
    assert model["cost_per_good_request"] == str(sum((Decimal(str(r["cost_usd"])) for r in rows), Decimal(0)) / 6)

    # report RUN_DIR --slo re-counts against other objectives: no request meets a 10 ms TPOT.
    tight = run_cli(["report", str(run), "--slo", "tpot=10ms", "--format", "json", "--config", str(config)])
    assert tight.exit_code == 0, tight.output
    model = json.loads(tight.stdout)["models"][0]
    assert (model["good"], model["goodput"], model["cost_per_good_request"]) == (0, 0.0, None)

    table = run_cli(["report", str(run), "--config", str(config)], env={"COLUMNS": "120"})
    assert table.exit_code == 0, table.output
    for needle in ("Latency distribution", "ITL", "TPOT", "p99", "Req/s", "Goodput", "$/good req", "6 of 6"):
        assert needle in table.stdout, needle


def test_timing_across_formats_and_html(run_cli, tmp_path: Path) -> None:
    with run_token_server(ttft_s=0.05, itl_s=0.01, tokens=5) as server:
        config = _config(tmp_path / "llmaudit.toml", server.base_url)
        run = tmp_path / "run"
        ok = run_cli(["replay", str(_prompts(tmp_path / "p.jsonl", 3)), "-m", "local/tok", "--out", str(run),
                      "--config", str(config), "--no-cache", "--slo", "e2e=5s"])
        assert ok.exit_code == 0, ok.output
    csv_out = run_cli(["report", str(run), "--format", "csv", "--config", str(config)])
    header, line = csv_out.stdout.splitlines()[:2]
    fields = dict(zip(header.split(","), line.split(","), strict=True))
    assert float(fields["itl_p50_ms"]) == pytest.approx(10.0, abs=5)
    assert fields["good"] == "3" and fields["goodput"] == "1.0"
    md = run_cli(["report", str(run), "--format", "markdown", "--config", str(config)])
    assert "| local/tok | ITL | 12 |" in md.stdout and "Good req/s" in md.stdout
    html = tmp_path / "r.html"
    page = run_cli(["report", str(run), "--html", str(html), "--config", str(config)])
    assert page.exit_code == 0, page.output
    text = html.read_text()
    for needle in ("id=\"latency-distribution\"", "TPOT", "ITL", "p99", "Goodput", "Output tok/s"):
        assert needle in text, needle


def test_an_old_run_without_chunk_times_reports_itl_unknown_never_zero() -> None:
    rows = [{"model": "openai/a", "provider": "openai", "prompt_id": f"p{i}", "status": "ok", "repeat": 0,
             "input_tokens": 10, "output_tokens": 11, "cost_usd": 0.001, "latency_ms": 300.0, "ttft_ms": 100.0,
             "cached": False, "usage_source": "reported", "attempts": 1} for i in range(3)]
    stats = build_runstats(results_table(rows), {"models": ["openai/a"]}, "run")
    m = stats.models[0]
    assert m.itl is None and m.chunk_timed == 0
    assert m.tpot is not None and m.tpot.p50 == pytest.approx(20.0)  # (300 − 100) / (11 − 1)
    assert (m.request_throughput, m.output_throughput) == (None, None)  # no wall time recorded
    assert any("ITL is unknown" in w for w in run_warnings(stats))
    data = json.loads(str(render_run(stats, "json")))
    assert data["models"][0]["itl"] is None and data["wall_s"] is None
    from rich.console import Console

    console = Console(width=120, record=True)
    console.print(render_run(stats, "table"))
    text = console.export_text()
    assert "ITL       0  unknown" in " ".join(text.split("\n")) or "unknown" in text
    assert "Throughput over the run's wall time (unknown" in text


def test_definitions_of_the_pieces() -> None:
    assert itl_gaps([100_000, 120_000, 145_000]) == [20.0, 25.0]
    assert itl_gaps([100_000]) == [] and itl_gaps(None) == []
    assert tpot_ms(300.0, 100.0, 11) == 20.0
    assert tpot_ms(300.0, 100.0, 1) is None and tpot_ms(300.0, None, 5) is None
    d = distribution([10.0, 20.0, 30.0, 40.0])
    assert d is not None and (d.n, d.mean, d.p50) == (4, 25.0, 25.0)
    assert d.std == pytest.approx(11.1803, rel=1e-4) and d.p99 == pytest.approx(39.7)
    assert distribution([]) is None
    slo = parse_slo("ttft=500ms, tpot=50, e2e=10s")
    assert slo == SLO(ttft_ms=500.0, tpot_ms=50.0, e2e_ms=10_000.0)
    assert slo.text() == "ttft=500ms,tpot=50ms,e2e=10s"
    assert meets_slo(slo, ttft=400.0, tpot=40.0, gaps=None, e2e=9000.0)
    assert not meets_slo(slo, ttft=600.0, tpot=40.0, gaps=None, e2e=9000.0)
    assert not meets_slo(slo, ttft=None, tpot=40.0, gaps=None, e2e=9000.0)  # unknown never meets
    assert not meets_slo(SLO(itl_ms=30.0), ttft=1.0, tpot=1.0, gaps=None, e2e=1.0)
    assert meets_slo(SLO(itl_ms=30.0), ttft=1.0, tpot=1.0, gaps=[10.0, 29.0], e2e=1.0)
    for bad in ("ttft=fast", "speed=5ms", "ttft=0ms", "ttft=1ms,ttft=2ms", ""):
        with pytest.raises(UsageError):
            parse_slo(bad)


def test_a_bad_slo_is_a_usage_error_before_any_work(run_cli, tmp_path: Path) -> None:
    result = run_cli(["replay", str(_prompts(tmp_path / "p.jsonl", 1)), "-m", "sim/gpt-4o-mini", "--out",
                      str(tmp_path / "run"), "--slo", "ttft=soon"])
    assert result.exit_code == 2 and "--slo" in result.stderr
    assert not (tmp_path / "run").exists()


def test_check_gates_on_goodput(run_cli, tmp_path: Path) -> None:
    with run_token_server(ttft_s=0.02, itl_s=0.02, tokens=6) as server:
        config = _config(tmp_path / "llmaudit.toml", server.base_url)
        run = tmp_path / "run"
        made = run_cli(["replay", str(_prompts(tmp_path / "p.jsonl", 8)), "-m", "local/tok", "--out", str(run),
                        "--config", str(config), "--no-cache", "--slo", "tpot=60ms,e2e=5s"])
        assert made.exit_code == 0, made.output
    base = tmp_path / "base.json"
    wrote = run_cli(["check", str(run), "-b", str(base), "--write-baseline", "--config", str(config)])
    assert wrote.exit_code == 0, wrote.output
    saved = json.loads(base.read_text())["models"]["local/tok"]["all"]
    assert (saved["good"], saved["goodput_sent"], saved["goodput"]["value"]) == (8, 8, 1.0)
    # The run's own objectives: every request met them, the floor holds.
    ok = run_cli(["check", str(run), "-b", str(base), "--min-goodput", "90%", "--format", "json",
                  "--config", str(config)])
    assert ok.exit_code == 0, ok.output
    finding = next(f for f in json.loads(ok.stdout)["findings"] if f["metric"] == "goodput")
    assert finding["status"] == "pass" and finding["current"] == 1.0
    # A 10 ms TPOT objective nobody meets: goodput 0 of 8, surely below 90%: the build fails.
    bad = run_cli(["check", str(run), "-b", str(base), "--slo", "tpot=10ms", "--min-goodput", "90%",
                   "--config", str(config)])
    assert bad.exit_code == 1, bad.output
    assert "goodput" in bad.output and "below the 90% floor (0/8 met the SLO)" in bad.output
    # A baseline written before goodput existed still reads (its goodput is unknown, not zero).
    old = json.loads(base.read_text())
    for key in ("goodput", "good", "goodput_sent"):
        del old["models"]["local/tok"]["all"][key]
    base.write_text(json.dumps(old))
    again = run_cli(["check", str(run), "-b", str(base), "--config", str(config), "--format", "json"])
    assert again.exit_code == 0, again.output
    finding = next(f for f in json.loads(again.stdout)["findings"] if f["metric"] == "goodput")
    assert finding["baseline"] is None and finding["current"] == 1.0


def test_goodput_is_not_measured_on_estimates(run_cli, tmp_path: Path) -> None:
    prompts = _prompts(tmp_path / "p.jsonl", 3)
    result = run_cli(["check", str(prompts), "-m", "openai/gpt-4o-mini", "--estimate", "--write-baseline",
                      "-b", str(tmp_path / "b.json"), "--slo", "e2e=1s", "--format", "json"])
    assert result.exit_code == 0, result.output
    group = json.loads(result.stdout)["models"]["openai/gpt-4o-mini"]["all"]
    assert group["goodput"] is None and group["goodput_sent"] == 0  # nothing was sent: unknown, not 0%
