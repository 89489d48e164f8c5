"""Load sweeps (issue 18 #4): the prompt set at each load level against a local server that slows
with load; latency rises with the level and throughput levels off, in the table, JSON and HTML."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tokenserver import run_token_server

from llmaudit.errors import UsageError
from llmaudit.replay.sweep import SweepLevel, parse_levels


def _setup(tmp_path: Path, base_url: str, n: int = 16) -> tuple[Path, Path]:
    config = tmp_path / "llmaudit.toml"
    config.write_text(f'[providers.local]\ntype = "openai"\nbase_url = "{base_url}"\n\n'
                      '[pricing.overrides."local/tok"]\ninput = "1.00"\noutput = "2.00"\n')
    prompts = tmp_path / "p.jsonl"
    prompts.write_text("".join(json.dumps({"id": f"p{i}", "prompt": f"prompt {i}"}) + "\n" for i in range(n)))
    return config, prompts


def test_a_concurrency_sweep_shows_rising_latency_and_a_throughput_plateau(run_cli, tmp_path: Path) -> None:
    # Each request takes 1 + 0.5 × (others in flight) times as long: capacity tops out near 2×.
    with run_token_server(ttft_s=0.05, itl_s=0.01, tokens=10, slowdown=0.5) as server:
        config, prompts = _setup(tmp_path, server.base_url)
        sweep = tmp_path / "sweep"
        result = run_cli(["replay", str(prompts), "-m", "local/tok", "--out", str(sweep), "--config", str(config),
                          "--sweep", "concurrency=1,4,16", "--format", "json", "--slo", "e2e=2s"])
        assert result.exit_code == 0, result.output
        assert server.served == 48 and server.peak > 4  # the top level really had more in flight
    levels = json.loads(result.stdout)["levels"]
    assert [lv["level"] for lv in levels] == ["concurrency=1", "concurrency=4", "concurrency=16"]
    models = [lv["run"]["models"][0] for lv in levels]
    e2e = [m["e2e"]["p50"] for m in models]
    tput = [m["output_throughput"] for m in models]
    assert e2e[0] < e2e[1] < e2e[2]  # latency rises with load
    assert tput[1] > 1.3 * tput[0]  # more load, more throughput at first
    assert tput[2] < 1.35 * tput[1]  # then it levels off: 4× the load buys little
    assert all(m["cost_usd"] is not None and m["requests"] == 16 for m in models)
    for sub in ("concurrency-1", "concurrency-4", "concurrency-16"):
        assert (sweep / sub / "results.jsonl").exists()

    table = run_cli(["report", str(sweep), "--config", str(config)], env={"COLUMNS": "120"})
    assert table.exit_code == 0, table.output
    for needle in ("Load sweep", "concurrency=1", "concurrency=16", "p95 E2E", "Out tok/s", "Goodput"):
        assert needle in table.stdout, needle
    html = tmp_path / "sweep.html"
    page = run_cli(["report", str(sweep), "--html", str(html), "--config", str(config)])
    assert page.exit_code == 0, page.output
    spec = html.read_text().split('id="chart-sweep-data">', 1)[1].split("</script>", 1)[0]
    data = json.loads(spec)["data"]["datasets"][0]
    assert data["names"] == ["concurrency=1", "concurrency=4", "concurrency=16"]
    assert [p["y"] for p in data["data"]] == pytest.approx(e2e)


def test_a_rate_sweep_sends_poisson_arrivals(run_cli, tmp_path: Path) -> None:
    with run_token_server(ttft_s=0.01, itl_s=0.005, tokens=4) as server:
        config, prompts = _setup(tmp_path, server.base_url, n=12)
        result = run_cli(["replay", str(prompts), "-m", "local/tok", "--out", str(tmp_path / "s"), "--config",
                          str(config), "--rate", "5,50", "--format", "json"])
        assert result.exit_code == 0, result.output
    levels = json.loads(result.stdout)["levels"]
    assert [lv["level"] for lv in levels] == ["rate=5", "rate=50"]
    walls = [lv["run"]["wall_s"] for lv in levels]
    assert walls[0] > 1.0 and walls[1] < walls[0] / 2  # 11 gaps of ~0.2 s vs ~0.02 s
    manifest = json.loads((tmp_path / "s" / "rate-5" / "manifest.json").read_text())
    assert manifest["settings"]["arrival_rate"] == 5.0 and manifest["settings"]["cache"] is False


def test_sweep_flags_are_checked_before_any_work(run_cli, tmp_path: Path) -> None:
    assert parse_levels("concurrency=1,4", None) == [SweepLevel("concurrency", 1), SweepLevel("concurrency", 4)]
    assert parse_levels(None, "0.5,2") == [SweepLevel("rate", 0.5), SweepLevel("rate", 2)]
    for sweep, rate in (("threads=1,2", None), ("concurrency=1,x", None), ("concurrency=1.5", None),
                        (None, "0,1"), ("concurrency=1", "1"), ("concurrency=2,2", None)):
        with pytest.raises(UsageError):
            parse_levels(sweep, rate)
    prompts = tmp_path / "p.jsonl"
    prompts.write_text('{"id": "a", "prompt": "hi"}\n')
    bad = run_cli(["replay", str(prompts), "-m", "sim/gpt-4o-mini", "--out", str(tmp_path / "s"), "--rate", "fast"])
    assert bad.exit_code == 2 and "--rate" in bad.stderr and not (tmp_path / "s").exists()
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    busy = run_cli(["replay", str(prompts), "-m", "sim/gpt-4o-mini", "--out", str(tmp_path / "full"),
                    "--sweep", "concurrency=1,2"])
    assert busy.exit_code == 2 and "not an empty folder" in busy.stderr


def test_max_cost_covers_the_whole_sweep(tmp_path: Path) -> None:
    from decimal import Decimal

    from llmaudit.config import Config
    from llmaudit.replay import ReplayOptions, load_prompts
    from llmaudit.replay.sweep import read_sweep, run_sweep

    with run_token_server(ttft_s=0.005, itl_s=0.002, tokens=20) as server:
        config = Config({"providers": {"local": {"type": "openai", "base_url": server.base_url}},
                         "pricing": {"overrides": {"local/tok": {"input": "100", "output": "1000"}}}})
        _, prompts = _setup(tmp_path, server.base_url, n=10)
        options = ReplayOptions(max_cost_usd=Decimal("0.25"), config=config)
        levels = parse_levels("concurrency=1,2,4", None)
        results = run_sweep(load_prompts(prompts), ["local/tok"], tmp_path / "s", options, levels)
    spent = sum((summary.spent_usd for _, summary in results), Decimal(0))
    assert spent <= Decimal("0.25")  # ~$0.02 a request: one level of 10 fits, three do not
    assert results[-1][1].stopped == "budget" and len(results) < 3
    assert [lv.label for lv, _ in read_sweep(tmp_path / "s")] == [lv.label for lv, _ in results]
