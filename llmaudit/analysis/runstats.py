"""Per-model statistics of a replay run (``llmaudit report RUN_DIR``).

Input is the run's results table (schema-conforming rows plus the replay columns) and its
manifest; nothing here imports the replay package. Definitions, so every renderer agrees:

* ``requests`` counts result rows (prompt × repeat); ``error_rate`` = error rows / rows.
* ``pass_rate`` = rows whose checks passed / answered rows that carry a check (null when none do).
* Tokens and cost sum answered (``ok``) rows. Cost is exact (Decimal); a model with any answered
  row that has no price gets ``cost_usd = None`` and ``unpriced`` counts those rows: unknown is
  never shown as zero. ``cost_per_request`` divides by answered rows.
* Latency, TTFT and tokens/s come from answered rows that were really sent: cached answers are left
  out because fetching them from disk measures nothing.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

import pyarrow as pa

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
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready: money as decimal strings (exact), unknown as null."""
        data = asdict(self)
        for model in data["models"]:
            for key in ("cost_usd", "cost_per_request", "cost_per_1k_requests"):
                if model[key] is not None:
                    model[key] = str(model[key])
        if self.simulated:
            data = {"notice": "SIMULATED: results from the offline sim provider, not real models", **data}
        return data


def _percentile(values: list[float], q: float) -> float | None:
    """Linear-interpolated percentile (numpy's default), without numpy for a handful of values."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    low = math.floor(pos)
    high = math.ceil(pos)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def _model_stats(model: str, rows: list[dict[str, Any]]) -> ModelStats:
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
    first = rows[0]
    return ModelStats(
        model=model,
        provider=str(first.get("provider") or model.split("/", 1)[0]),
        simulated=any(bool(r.get("simulated")) for r in rows) or model.startswith("sim/"),
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
    )


def build_runstats(table: pa.Table, manifest: dict[str, Any], run_dir: str) -> RunStats:
    """Group the results table by model (in the manifest's model order) and summarise each."""
    wanted = [c for c in (
        "model", "provider", "status", "passed", "cost_usd", "cached", "latency_ms", "ttft_ms", "tokens_per_s",
        "input_tokens", "output_tokens", "usage_source", "simulated",
    ) if c in table.column_names]
    rows = table.select(wanted).to_pylist()
    by_model: dict[str, list[dict[str, Any]]] = {m: [] for m in manifest.get("models", [])}
    for row in rows:
        by_model.setdefault(str(row["model"]), []).append(row)
    models = [_model_stats(m, r) for m, r in by_model.items() if r]

    prompts = manifest.get("prompts", {}).get("count")
    repeats = manifest.get("settings", {}).get("repeats", 1)
    planned = prompts * len(manifest.get("models", [])) * repeats if prompts and manifest.get("models") else None
    not_sent = max(planned - len(rows), 0) if planned is not None else None
    status = str(manifest.get("status", "unknown"))
    if status == "complete" and not_sent:
        status = "incomplete"
    simulated = any(m.simulated for m in models) or bool(manifest.get("simulated_models"))

    warnings: list[str] = []
    if simulated:
        warnings.append("SIMULATED: sim/* models are the offline simulator, not real providers")
    if status == "running":
        warnings.append("the run did not finish (killed or still running); `llmaudit replay --resume` continues it")
    if not_sent:
        reason = {"budget": "stopped by --max-cost", "interrupted": "interrupted"}.get(status, "not run yet")
        warnings.append(f"{not_sent} of {planned} requests have no result ({reason})")
    for m in models:
        if m.unpriced:
            warnings.append(f"{m.model}: {m.unpriced} answered requests have no price; its cost is unknown, not zero")
        if m.estimated_usage:
            warnings.append(f"{m.model}: {m.estimated_usage} requests reported no usage; tokens were estimated")
        if m.cached:
            warnings.append(f"{m.model}: {m.cached} answers came from the cache and are left out of latency")
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
        warnings=warnings,
    )
