"""The prompt × model matrix a replay run produces, as dense arrays for routing simulation.

A results table (DESIGN §4.4: one row per prompt × model × repeat) becomes, per prompt and model:
the cost of the call, whether it succeeded, and its latency. Conventions, stated once here:

* ``success`` = the call returned (``status == "ok"``) and its check passed. A prompt without a
  check counts as passing when the call succeeded; ``checked`` records which cells had a check,
  so reports can say how many prompts were judged on "it answered" alone.
* An errored call is not billed: a null ``cost_usd`` on an error row is 0, not unknown. A null
  cost on a successful row is *unpriced* and stays NaN — never 0.
* Repeats are averaged: cost and latency are means, and a cell succeeds when at least half of
  its repeats did.
* Only prompts with a result for every model enter the matrix (a killed run leaves holes);
  ``incomplete`` lists the ones left out.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Matrix", "build_matrix", "provider_of"]


def provider_of(model: str) -> str:
    return model.split("/", 1)[0] if "/" in model else model


@dataclass
class Matrix:
    prompts: list[str]
    models: list[str]
    providers: dict[str, str]
    categories: list[str]
    cost: np.ndarray  # P×M float, NaN = unpriced
    success: np.ndarray  # P×M bool
    ok: np.ndarray  # P×M bool
    checked: np.ndarray  # P×M bool
    latency: np.ndarray  # P×M float ms, NaN = unknown
    incomplete: list[str] = field(default_factory=list)

    @property
    def n_prompts(self) -> int:
        return len(self.prompts)

    def model_index(self, model: str) -> int:
        return self.models.index(model)

    # Model-major copies (one contiguous row per model): training statistics take a few models'
    # values over a subset of prompts many times, and a row slice of these is one copy instead of
    # one strided gather per model. Built on first use; the matrix is not modified after that.
    @functools.cached_property
    def cost_by_model(self) -> np.ndarray:
        return np.ascontiguousarray(self.cost.T)

    @functools.cached_property
    def success_by_model(self) -> np.ndarray:
        return np.ascontiguousarray(self.success.T)

    def priced_models(self) -> list[int]:
        """Models whose every successful call has a price (routing compares only these)."""
        keep = []
        for j in range(len(self.models)):
            col = self.cost[:, j]
            if self.n_prompts and not np.isnan(col).any():
                keep.append(j)
        return keep


def _to_pandas(table: Any) -> Any:
    import pandas as pd

    if isinstance(table, pd.DataFrame):
        return table
    return table.to_pandas()


def _strings(values: Any) -> list[str]:
    return [str(x) for x in np.asarray(values, dtype=object).tolist()]


def build_matrix(table: Any, models: list[str] | None = None) -> Matrix:
    """Pivot a results table (pyarrow or pandas) into a :class:`Matrix`."""
    import pandas as pd

    df = _to_pandas(table)
    need = {"prompt_id", "model", "status"}
    missing = need - set(df.columns)
    if missing:
        raise ValueError(f"results table lacks columns: {', '.join(sorted(missing))}")
    df = df.copy()
    df["prompt_id"] = df["prompt_id"].astype(str)
    ok = df["status"].astype(str).eq("ok")
    cost = pd.to_numeric(df["cost_usd"], errors="coerce") if "cost_usd" in df else pd.Series(np.nan, index=df.index)
    # Errors are not billed; unpriced successes stay NaN.
    cost = cost.where(ok | cost.notna(), 0.0)
    passed = df["passed"] if "passed" in df else pd.Series([None] * len(df), index=df.index)
    checked = passed.notna()
    passed_bool = passed.fillna(False).astype(bool)
    df["_cost"] = cost.astype(float)
    df["_cost_missing"] = df["_cost"].isna().astype(int)
    df["_ok"] = ok.astype(float)
    df["_checked"] = checked.astype(float)
    df["_success"] = (ok & (passed_bool | ~checked)).astype(float)
    lat = df["latency_ms"] if "latency_ms" in df else pd.Series(np.nan, index=df.index)
    df["_lat"] = pd.to_numeric(lat, errors="coerce").astype(float)

    grouped = df.groupby(["prompt_id", "model"], sort=False).agg(
        _cost=("_cost", "mean"),
        _cost_missing=("_cost_missing", "sum"),
        _ok=("_ok", "mean"),
        _checked=("_checked", "max"),
        _success=("_success", "mean"),
        _lat=("_lat", "mean"),
    )
    # A cell with any unpriced repeat is unpriced as a whole (mean() would skip the NaN).
    grouped.loc[grouped["_cost_missing"] > 0, "_cost"] = np.nan
    # pd.unique keeps first-appearance order, like dict.fromkeys, without a Python loop over every row.
    # (.tolist() on a numpy object array: iterating pandas' Arrow-backed arrays costs ~1 µs an item.)
    all_models = _strings(pd.unique(df["model"].astype(str))) if models is None else list(models)
    prompt_order = _strings(pd.unique(df["prompt_id"]))
    cells = grouped.reset_index()
    cells = cells[cells["model"].isin(all_models)]
    have = cells.groupby("prompt_id")["model"].nunique()
    full = set(have.index[have == len(all_models)])
    complete = [p for p in prompt_order if p in full]
    incomplete = [p for p in prompt_order if p not in full]

    def pivot(col: str) -> np.ndarray:
        wide = grouped[col].unstack("model")
        wide = wide.reindex(index=complete, columns=all_models)
        return wide.to_numpy(dtype=float)

    categories: list[str] = []
    if "category" in df:
        cat = df.groupby("prompt_id", sort=False)["category"].first()
        categories = [str(c) if c is not None and c == c and str(c) else "(none)"
                      for c in np.asarray(cat.reindex(complete), dtype=object).tolist()]
    else:
        categories = ["(none)"] * len(complete)

    providers: dict[str, str] = {}
    if "provider" in df:
        from llmaudit.mirrors import mirror_of

        def label(model: str, value: Any) -> str:
            name = str(value) if value is not None and value == value and str(value) else provider_of(model)
            mirror = mirror_of(model) if name == "sim" else None
            # Simulated models stand in for real ones: group them by the provider they mirror.
            return f"{provider_of(mirror)} (sim)" if mirror else name

        prov = df.groupby("model", sort=False)["provider"].first()
        for m in all_models:
            providers[m] = label(m, prov.get(m))
    else:
        providers = {m: provider_of(m) for m in all_models}

    return Matrix(
        prompts=complete,
        models=all_models,
        providers=providers,
        categories=categories,
        cost=pivot("_cost"),
        success=pivot("_success") >= 0.5,
        ok=pivot("_ok") >= 0.5,
        checked=pivot("_checked") > 0,
        latency=pivot("_lat"),
        incomplete=incomplete,
    )
