"""P5: routing simulation on a prompts × models results matrix (default 100,000 × 10).

Builds a replay-results-shaped Arrow table (DESIGN §4.4: prompt_id, model, provider, status,
cost_usd, passed, latency_ms, category, tokens), then times
``llmaudit.analysis.routing.report.build_routing`` on it (every strategy: single models, oracle,
cross-validated category router, cascade, fallback, frontier, AIQ, failover). Baseline in the
same run: a bare pandas pivot + numpy oracle (cheapest passing model per prompt), the least any
routing simulation must do. Target: build_routing < 2 s.

    python bench/p5_routing.py --prompts 100000 --models 10
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pyarrow as pa
from _common import Report, verdict

TARGET_S = 2.0


def results_table(prompts: int, models: int, seed: int = 3) -> pa.Table:
    rng = np.random.default_rng(seed)
    names = [f"{p}/model-{j}" for j, p in zip(range(models), ["openai", "anthropic", "google", "mistral", "deepseek"]
                                                * (models // 5 + 1), strict=False)]
    skill = np.linspace(0.45, 0.95, models)
    price = np.geomspace(1e-5, 1e-2, models)
    cats = np.array(["math", "code", "extraction", "chat", "reasoning"])
    pid = np.repeat(np.arange(prompts), models)
    mid = np.tile(np.arange(models), prompts)
    difficulty = rng.random(prompts)[pid]
    ok = rng.random(prompts * models) > 0.02
    passed = (rng.random(prompts * models) * 0.3 + skill[mid] - difficulty * 0.5) > 0.4
    cost = price[mid] * rng.uniform(0.5, 1.5, prompts * models)
    return pa.table({
        "prompt_id": pa.array([f"p{i}" for i in range(prompts)]).take(pa.array(pid)),
        "model": pa.array(names).take(pa.array(mid)),
        "provider": pa.array([n.split("/")[0] for n in names]).take(pa.array(mid)),
        "status": pa.array(np.where(ok, "ok", "error")),
        "error": pa.nulls(prompts * models, pa.string()),
        "cost_usd": pa.array(np.where(ok, cost, 0.0)),
        "passed": pa.array(np.where(ok, passed, False)),
        "latency_ms": pa.array(rng.gamma(2.0, 300.0, prompts * models) * (1 + mid / models)),
        "ttft_ms": pa.array(rng.gamma(2.0, 80.0, prompts * models)),
        "category": pa.array(cats[rng.integers(0, len(cats), prompts)][pid]),
        "input_tokens": pa.array(rng.integers(50, 4000, prompts * models)),
        "output_tokens": pa.array(rng.integers(5, 800, prompts * models)),
        "usage_source": pa.array(["reported"] * (prompts * models)),
        "attempts": pa.array(np.ones(prompts * models, dtype=np.int64)),
        "cached": pa.array(np.zeros(prompts * models, dtype=bool)),
    })


def baseline_oracle(table: pa.Table) -> tuple[float, float]:
    """Pivot to prompts × models and take the cheapest passing model per prompt."""
    df = table.select(["prompt_id", "model", "cost_usd", "passed"]).to_pandas()
    cost = df.pivot(index="prompt_id", columns="model", values="cost_usd").to_numpy()
    passed = df.pivot(index="prompt_id", columns="model", values="passed").to_numpy(dtype=bool)
    masked = np.where(passed, cost, np.inf)
    best = masked.min(axis=1)
    fallback = cost.min(axis=1)
    chosen = np.where(np.isinf(best), fallback, best)
    return float(chosen.sum()), float(np.isfinite(best).mean())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--prompts", type=int, default=100_000)
    ap.add_argument("--models", type=int, default=10)
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--profile", action="store_true", help="print a pyinstrument profile of one build_routing")
    args = ap.parse_args()

    from llmaudit.analysis.routing.report import RoutingOptions, build_routing

    table = results_table(args.prompts, args.models)
    base_times, our_times = [], []
    oracle_cost = our_oracle = None
    report = None
    for _ in range(args.runs):
        t0 = time.perf_counter()
        oracle_cost, _rate = baseline_oracle(table)
        base_times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        report = build_routing(table, None, RoutingOptions())
        our_times.append(time.perf_counter() - t0)
    assert report is not None
    for s in report.strategies:
        if s.kind == "oracle":
            our_oracle = s.cost_total
    if args.profile:
        from pyinstrument import Profiler

        prof = Profiler()
        prof.start()
        build_routing(table, None, RoutingOptions())
        prof.stop()
        print(prof.output_text(unicode=True, color=False, show_all=False))

    rep = Report("p5_routing", f"build_routing on {args.prompts:,} prompts × {args.models} models")
    rep.figures = {
        "rows (prompt × model)": f"{table.num_rows:,}",
        "baseline pandas pivot + numpy oracle best s": round(min(base_times), 3),
        "build_routing best s": round(min(our_times), 3),
        "build_routing runs s": [round(t, 3) for t in our_times],
        "strategies computed": len(report.strategies),
        "oracle cost (baseline)": oracle_cost,
        "oracle cost (llmaudit)": our_oracle,
    }
    rep.ratios = {"build_routing/baseline": min(our_times) / min(base_times)}
    rep.targets = {f"build_routing < {TARGET_S} s": verdict(min(our_times) < TARGET_S)}
    rep.print()


if __name__ == "__main__":
    main()
