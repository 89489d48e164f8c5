"""Cost of a replay before anything is sent (``replay --dry-run``, ``check --estimate``)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pyarrow as pa

from llmaudit.pricing import Catalog
from llmaudit.replay.costing import DEFAULT_OUTPUT_TOKENS, estimate_request
from llmaudit.replay.models import parse_models
from llmaudit.replay.prompts import Prompt
from llmaudit.replay.rundir import results_table

__all__ = ["EstimateSummary", "ModelEstimate", "estimate", "summarize_estimate"]


def estimate(
    prompts: list[Prompt],
    models: list[str],
    catalog: Catalog,
    *,
    repeats: int = 1,
    default_output_tokens: int = DEFAULT_OUTPUT_TOKENS,
) -> pa.Table:
    """Results-shaped rows (one per prompt × model × repeat) with ``usage_source="estimated"``.

    ``input_tokens`` are counted offline (``usage_estimated`` is True whenever a count is not
    exact for that model's tokenizer); ``output_tokens`` are the prompt's ``max_tokens`` or
    ``default_output_tokens`` (column ``output_estimate`` says which). ``status`` is null: nothing
    was sent. ``cost_usd`` is null for an unpriced model, with ``price_status`` saying why.
    """
    rows: list[dict[str, Any]] = []
    specs = parse_models(models)
    extra: dict[str, list[Any]] = {"output_estimate": [], "input_exact": []}
    for spec in specs:
        for prompt in prompts:
            est = estimate_request(prompt, spec.id, catalog, default_output_tokens=default_output_tokens,
                                   price_id=spec.price_id, exact_tokenizer=not spec.simulated)
            for repeat in range(repeats):
                rows.append({
                    "provider": spec.provider,
                    "model": spec.id,
                    "model_raw": spec.native,
                    "input_tokens": est.input_tokens,
                    "cache_read_tokens": 0,
                    "cache_write_tokens": 0,
                    "cache_write_1h_tokens": 0,
                    "output_tokens": est.output_tokens,
                    "reasoning_tokens": 0,
                    "requests": 1,
                    "cost_usd": float(est.cost_usd) if est.cost_usd is not None else None,
                    "price_status": est.price_status,
                    "source_format": "replay-estimate",
                    "batch": False,
                    "tags": list(prompt.tags),
                    "usage_estimated": True,
                    "source_file": prompt.path,
                    "source_line": prompt.line,
                    "prompt_id": prompt.id,
                    "category": prompt.category,
                    "repeat": repeat,
                    "usage_source": "estimated",
                    "simulated": spec.simulated,
                })
                extra["output_estimate"].append(est.output_source)
                extra["input_exact"].append(est.input_exact)
    table = results_table(rows)
    table = table.append_column("output_estimate", pa.array(extra["output_estimate"], pa.string()))
    return table.append_column("input_exact", pa.array(extra["input_exact"], pa.bool_()))


@dataclass(frozen=True)
class ModelEstimate:
    model: str
    simulated: bool
    requests: int
    input_tokens: int
    input_exact: bool  # every prompt counted with the model's own tokenizer
    output_tokens: int
    output_from_default: int  # requests whose output was assumed (no max_tokens)
    cost_usd: Decimal | None  # None when the model (or a needed rate) has no price
    price_status: str


@dataclass(frozen=True)
class EstimateSummary:
    models: list[ModelEstimate]
    default_output_tokens: int

    @property
    def total_usd(self) -> Decimal | None:
        costs = [m.cost_usd for m in self.models]
        return None if any(c is None for c in costs) else sum((c for c in costs if c is not None), Decimal(0))

    @property
    def priced_total_usd(self) -> Decimal:
        return sum((m.cost_usd for m in self.models if m.cost_usd is not None), Decimal(0))

    @property
    def unpriced_models(self) -> list[str]:
        return [m.model for m in self.models if m.cost_usd is None]

    @property
    def simulated(self) -> bool:
        return any(m.simulated for m in self.models)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "default_output_tokens": self.default_output_tokens,
            "total_usd": str(self.total_usd) if self.total_usd is not None else None,
            "priced_total_usd": str(self.priced_total_usd),
            "unpriced_models": self.unpriced_models,
            "models": [
                {**m.__dict__, "cost_usd": str(m.cost_usd) if m.cost_usd is not None else None} for m in self.models
            ],
        }
        if self.simulated:
            data = {"notice": "SIMULATED: sim/* models are the offline simulator, not real providers", **data}
        return data


def summarize_estimate(table: pa.Table, default_output_tokens: int = DEFAULT_OUTPUT_TOKENS) -> EstimateSummary:
    """Per-model totals of an ``estimate`` table, exact in Decimal."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in table.select(
        ["model", "input_tokens", "output_tokens", "cost_usd", "price_status", "simulated", "output_estimate",
         "input_exact"]
    ).to_pylist():
        groups.setdefault(row["model"], []).append(row)
    models = []
    for model, rows in groups.items():
        costs = [r["cost_usd"] for r in rows]
        statuses = sorted({r["price_status"] for r in rows if r["price_status"] != "priced"})
        models.append(ModelEstimate(
            model=model,
            simulated=bool(rows[0]["simulated"]),
            requests=len(rows),
            input_tokens=sum(r["input_tokens"] for r in rows),
            input_exact=all(r["input_exact"] for r in rows),
            output_tokens=sum(r["output_tokens"] for r in rows),
            output_from_default=sum(1 for r in rows if r["output_estimate"] == "default"),
            cost_usd=None if any(c is None for c in costs) else sum((Decimal(str(c)) for c in costs), Decimal(0)),
            price_status=statuses[0] if statuses else "priced",
        ))
    return EstimateSummary(models, default_output_tokens)
