"""Per-model statistics of a replay run (``llmaudit report RUN_DIR``).

Input is the run's results table (schema-conforming rows plus the replay columns) and its
manifest; nothing here imports the replay package. Definitions, so every renderer agrees:

* ``requests`` counts result rows (prompt × repeat); ``error_rate`` = error rows / rows.
* ``pass_rate`` = rows whose checks passed / answered rows that carry a check (null when none do).
* Tokens and cost sum answered (``ok``) rows. Cost is exact (Decimal); a model with any answered
  row that has no price gets ``cost_usd = None`` and ``unpriced`` counts those rows: unknown is
  never shown as zero. ``cost_per_request`` divides by answered rows.
* Latency, TTFT and tokens/s come from answered rows that were really sent: cached answers are left
  out because fetching them from disk measures nothing. ``ttft``, ``itl``, ``tpot`` and ``e2e`` are
  full distributions (``analysis.common.latency`` defines each); a run made before chunk times were
  recorded has ``itl = None`` (unknown), never 0.
* Throughput divides by the run's wall time (``manifest.wall_s``: every session's time from the
  first request sent to the last result, summed over resumes): answered, sent requests per second
  and their output tokens per second, per model. Unknown (null) when the manifest has no wall time,
  and for ``sim/*`` models, whose latencies are simulated while the run's clock is real (scaled).
* Goodput, under service-level objectives (``--slo``, or the ones the run was made with): a sent
  request is *good* when it was answered and met every objective. ``goodput`` = good / sent
  (answered + failed), ``goodput_rps`` = good / wall time, ``cost_per_good_request`` = what the
  answered, sent requests cost / good ones (the misses are paid for too).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

import pyarrow as pa

from llmaudit.analysis.common.latency import SLO, Dist, distribution, itl_gaps, meets_slo, percentile, tpot_ms
from llmaudit.analysis.routing.runnotices import (
    MaxTokensLowered,
    ModelCached,
    ModelNoChunkTimes,
    ModelUnpriced,
    ModelUsageEstimated,
    RequestsMissing,
    RunNotice,
    RunSimulated,
    RunUnfinished,
)

__all__ = ["ModelStats", "RunStats", "build_runstats"]


@dataclass(frozen=True)
class ModelStats:
    model: str
    provider: str
    simulated: bool
    requests: int
    ok: int
    errors: int
    error_rate: float | None
    checked: int
    passed: int
    pass_rate: float | None
    input_tokens: int
    output_tokens: int
    cost_usd: Decimal | None
    unpriced: int
    cost_per_request: Decimal | None
    cost_per_1k_requests: Decimal | None
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    ttft_p50_ms: float | None
    tokens_per_s: float | None
    timed: int  # rows the latency figures come from
    cached: int
    estimated_usage: int
    ttft: Dist | None = None
    itl: Dist | None = None
    tpot: Dist | None = None
    e2e: Dist | None = None
    chunk_timed: int = 0  # timed rows with chunk arrival times (the ITL comes from these)
    request_throughput: float | None = None  # answered, sent requests per second of run wall time
    output_throughput: float | None = None  # their output tokens per second of run wall time
    sent: int = 0  # answered + failed requests that reached the provider (goodput's denominator)
    good: int | None = None  # sent requests that met every objective (None: no --slo)
    goodput: float | None = None
    goodput_rps: float | None = None
    cost_per_good_request: Decimal | None = None


@dataclass(frozen=True)
class RunStats:
    run_dir: str
    status: str  # complete | running | budget | interrupted | incomplete
    simulated: bool
    catalog_as_of: str | None
    prompts: int | None
    planned: int | None
    rows: int
    not_sent: int | None
    models: list[ModelStats]
    notices: list[RunNotice] = field(default_factory=list)  # worded by render.run_text
    wall_s: float | None = None  # the run's wall time (throughput's denominator); None: unknown
    slo: SLO | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready: money as decimal strings (exact), unknown as null."""
        data = asdict(self)
        del data["notices"]  # render.run_text.run_json_data says them as "warnings"
        data["slo"] = self.slo.to_json() if self.slo is not None else None
        for model in data["models"]:
            for key in ("cost_usd", "cost_per_request", "cost_per_1k_requests", "cost_per_good_request"):
                if model[key] is not None:
                    model[key] = str(model[key])
        return data


_percentile = percentile


def _per_s(amount: float, wall_s: float | None) -> float | None:
    return amount / wall_s if wall_s else None


def _model_stats(model: str, rows: list[dict[str, Any]], wall_s: float | None = None,
                 slo: SLO | None = None) -> ModelStats:
    ok = [r for r in rows if r.get("status") == "ok"]
    errors = sum(1 for r in rows if r.get("status") == "error")
    checked = [r for r in ok if r.get("passed") is not None]
    passed = sum(1 for r in checked if r["passed"])
    costs = [r.get("cost_usd") for r in ok]
    unpriced = sum(1 for c in costs if c is None)
    cost: Decimal | None = None
    if ok and unpriced == 0:
        cost = sum((Decimal(str(c)) for c in costs), Decimal(0))
    per_request = cost / len(ok) if cost is not None and ok else None
    timed = [r for r in ok if not r.get("cached") and r.get("latency_ms") is not None]
    latencies = [float(r["latency_ms"]) for r in timed]
    ttfts = [float(r["ttft_ms"]) for r in timed if r.get("ttft_ms") is not None]
    speeds = [float(r["tokens_per_s"]) for r in timed if r.get("tokens_per_s") is not None]
    tpots = {id(r): tpot_ms(r.get("latency_ms"), r.get("ttft_ms"), r.get("output_tokens")) for r in timed}
    gaps = {id(r): itl_gaps(r.get("chunk_us")) if r.get("chunk_us") is not None else None for r in timed}
    chunked = [r for r in timed if r.get("chunk_us") is not None]
    # A request that failed after reaching the provider counts against goodput; one never sent does not.
    sent = len(timed) + sum(1 for r in rows if r.get("status") == "error" and (r.get("attempts") or 0) > 0)
    good: int | None = None
    cost_per_good: Decimal | None = None
    if slo is not None:
        good = sum(1 for r in timed if meets_slo(slo, ttft=r.get("ttft_ms"), tpot=tpots[id(r)], gaps=gaps[id(r)],
                                                 e2e=r.get("latency_ms")))
        timed_costs = [r.get("cost_usd") for r in timed]
        if good and all(c is not None for c in timed_costs):
            cost_per_good = sum((Decimal(str(c)) for c in timed_costs), Decimal(0)) / good
    first = rows[0]
    simulated = any(bool(r.get("simulated")) for r in rows) or model.startswith("sim/")
    if simulated:
        wall_s = None  # the sim's latencies are simulated; the wall clock it ran on is not their clock
    return ModelStats(
        model=model,
        provider=str(first.get("provider") or model.split("/", 1)[0]),
        simulated=simulated,
        requests=len(rows),
        ok=len(ok),
        errors=errors,
        error_rate=errors / len(rows) if rows else None,
        checked=len(checked),
        passed=passed,
        pass_rate=passed / len(checked) if checked else None,
        input_tokens=sum(int(r.get("input_tokens") or 0) for r in ok),
        output_tokens=sum(int(r.get("output_tokens") or 0) for r in ok),
        cost_usd=cost,
        unpriced=unpriced,
        cost_per_request=per_request,
        cost_per_1k_requests=per_request * 1000 if per_request is not None else None,
        latency_p50_ms=_percentile(latencies, 0.5),
        latency_p95_ms=_percentile(latencies, 0.95),
        ttft_p50_ms=_percentile(ttfts, 0.5),
        tokens_per_s=_percentile(speeds, 0.5),
        timed=len(timed),
        cached=sum(1 for r in ok if r.get("cached")),
        estimated_usage=sum(1 for r in ok if r.get("usage_source") == "estimated"),
        ttft=distribution(ttfts),
        itl=distribution(g for r in chunked for g in gaps[id(r)] or []) if chunked else None,
        tpot=distribution(t for t in tpots.values() if t is not None),
        e2e=distribution(latencies),
        chunk_timed=len(chunked),
        request_throughput=_per_s(len(timed), wall_s),
        output_throughput=_per_s(sum(int(r.get("output_tokens") or 0) for r in timed), wall_s),
        sent=sent,
        good=good,
        goodput=good / sent if good is not None and sent else None,
        goodput_rps=_per_s(good, wall_s) if good is not None else None,
        cost_per_good_request=cost_per_good,
    )


def build_runstats(table: pa.Table, manifest: dict[str, Any], run_dir: str, slo: SLO | None = None) -> RunStats:
    """Group the results table by model (in the manifest's model order) and summarise each.

    ``slo``: the objectives goodput is counted against; by default the ones the run was made with.
    """
    wanted = [c for c in (
        "model", "provider", "status", "passed", "cost_usd", "cached", "latency_ms", "ttft_ms", "tokens_per_s",
        "input_tokens", "output_tokens", "usage_source", "simulated", "chunk_us", "attempts", "budget_max_tokens",
    ) if c in table.column_names]
    if slo is None:
        slo = SLO.from_json((manifest.get("settings") or {}).get("slo"))
    wall = manifest.get("wall_s")
    wall_s = float(wall) if isinstance(wall, int | float) and wall > 0 else None
    rows = table.select(wanted).to_pylist()
    by_model: dict[str, list[dict[str, Any]]] = {m: [] for m in manifest.get("models", [])}
    for row in rows:
        by_model.setdefault(str(row["model"]), []).append(row)
    models = [_model_stats(m, r, wall_s, slo) for m, r in by_model.items() if r]

    prompts = manifest.get("prompts", {}).get("count")
    repeats = manifest.get("settings", {}).get("repeats", 1)
    planned = prompts * len(manifest.get("models", [])) * repeats if prompts and manifest.get("models") else None
    not_sent = max(planned - len(rows), 0) if planned is not None else None
    status = str(manifest.get("status", "unknown"))
    if status == "complete" and not_sent:
        status = "incomplete"
    simulated = any(m.simulated for m in models) or bool(manifest.get("simulated_models"))

    notices: list[RunNotice] = []
    if simulated:
        notices.append(RunSimulated())
    if status == "running":
        notices.append(RunUnfinished())
    if not_sent:
        notices.append(RequestsMissing(not_sent, planned, status))
    lowered = sum(1 for r in rows if r.get("budget_max_tokens") is not None)
    if lowered:
        notices.append(MaxTokensLowered(lowered))
    for m in models:
        if m.unpriced:
            notices.append(ModelUnpriced(m.model, m.unpriced))
        if m.estimated_usage:
            notices.append(ModelUsageEstimated(m.model, m.estimated_usage))
        if m.timed and not m.chunk_timed:
            notices.append(ModelNoChunkTimes(m.model))
        if m.cached:
            notices.append(ModelCached(m.model, m.cached))
    return RunStats(
        run_dir=run_dir,
        status=status,
        simulated=simulated,
        catalog_as_of=manifest.get("catalog_as_of"),
        prompts=prompts,
        planned=planned,
        rows=len(rows),
        not_sent=not_sent,
        models=models,
        notices=notices,
        wall_s=wall_s,
        slo=slo,
    )
