"""Measurements for ``llmaudit check``: a results table summarised per model and prompt category.

A *measurement* summarises a results table (replay rows, measured or estimated) per model and per
prompt category: input and output tokens per request, cost per request, p95 latency and pass rate,
each with the number of observations and a confidence interval. A *baseline* is a measurement
written to JSON (versioned, ``"llmaudit_baseline": 1``). ``compare`` holds the current measurement
against the baseline under warn and fail thresholds and returns a typed ``CheckReport``.

Noise. A metric fails only when it is over the fail threshold *and* the change is not noise: the
current interval's lower bound must sit above the baseline interval's upper bound. Otherwise it is
at worst a warning that says "within noise". Intervals:

* tokens and cost per request: the mean over requests with a normal interval built from the
  spread between repeats of the same prompt (prompts are the fixed population; repeats are the
  random part). Without repeats, or for estimates, there is no noise and the interval is a point.
* p95 latency: a distribution-free order-statistic interval (the rank of the true 95th percentile
  in a sample is Binomial(n, 0.95)); with too few samples the upper bound is unbounded, so a p95
  from a handful of requests can never fail a build.
* pass rate: the Wilson score interval.
* goodput (with service-level objectives, ``--slo``): the share of sent requests that were
  answered and met every objective (``analysis.common.latency``), with its Wilson interval; gated by an
  absolute floor (``--min-goodput``) the way the pass rate is.

Cost is never guessed: a group with any unpriced request has no cost (``None``), and says so.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from llmaudit.analysis.common.latency import SLO, itl_gaps, meets_slo, tpot_ms
from llmaudit.analysis.gate.paired import PromptRow, build_prompt_rows
from llmaudit.analysis.gate.statistics import (
    Interval,
    interval_dict,
    mean_interval,
    order_statistic_ci,
    wilson,
)
from llmaudit.errors import UsageError

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["ALL", "BASELINE_VERSION", "GroupMetrics", "Measurement", "measure"]

BASELINE_VERSION = 1
ALL = "*"  # the category key for "every prompt" (a real category can't be spelled "*" in a report)


# ---------------------------------------------------------------------------------------------
# Measurement


@dataclass(frozen=True)
class GroupMetrics:
    """Metrics of one model over one prompt category (``ALL`` = every prompt)."""

    model: str
    category: str
    requests: int  # result rows (prompt × repeat), errors included
    prompts: int
    errors: int
    input_tokens: Interval | None
    output_tokens: Interval | None
    cost_per_request: Interval | None  # None: no successful request, or some were unpriced
    unpriced: int  # successful requests without a price
    price_status: str  # "priced" or the first non-priced status seen
    p95_latency_ms: Interval | None
    latency_n: int
    pass_rate: Interval | None
    passed: int
    checked: int
    input_exact: bool  # False: some input counts are local estimates for a non-OpenAI tokenizer
    output_assumed: bool  # True: output tokens were assumed (max_tokens / default), not observed
    noise_known: bool  # repeats were available to measure noise for tokens and cost
    goodput: Interval | None = None  # share of sent requests meeting every --slo objective
    good: int = 0
    slo_sent: int = 0  # sent requests goodput was counted over

    def to_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "prompts": self.prompts,
            "errors": self.errors,
            "input_tokens_per_request": interval_dict(self.input_tokens),
            "output_tokens_per_request": interval_dict(self.output_tokens),
            "cost_per_request_usd": interval_dict(self.cost_per_request),
            "unpriced_requests": self.unpriced,
            "price_status": self.price_status,
            "p95_latency_ms": interval_dict(self.p95_latency_ms),
            "latency_n": self.latency_n,
            "pass_rate": interval_dict(self.pass_rate),
            "passed": self.passed,
            "checked": self.checked,
            "input_tokens_exact": self.input_exact,
            "output_tokens_assumed": self.output_assumed,
            "repeat_noise_measured": self.noise_known,
            "goodput": interval_dict(self.goodput),
            "good": self.good,
            "goodput_sent": self.slo_sent,
        }


@dataclass(frozen=True)
class Measurement:
    mode: str  # "estimate" (counted locally, nothing sent) | "measured" (a replay run)
    source: str
    catalog_as_of: str | None
    volume: int | None  # declared requests per month
    groups: dict[tuple[str, str], GroupMetrics]
    created_at: str = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0).isoformat())
    llmaudit_version: str = ""
    # model → prompt id → per-prompt means, so the next run can be paired with this one
    prompt_rows: dict[str, dict[str, PromptRow]] = field(default_factory=dict)

    @property
    def models(self) -> list[str]:
        return sorted({m for m, _ in self.groups})

    def group(self, model: str, category: str = ALL) -> GroupMetrics | None:
        return self.groups.get((model, category))

    def to_dict(self) -> dict[str, Any]:
        models: dict[str, Any] = {}
        for model in self.models:
            overall = self.groups[(model, ALL)]
            cats = {c: g.to_dict() for (m, c), g in sorted(self.groups.items()) if m == model and c != ALL}
            models[model] = {"all": overall.to_dict(), "categories": cats}
            if model in self.prompt_rows:
                models[model]["prompts"] = {p: r.to_dict() for p, r in sorted(self.prompt_rows[model].items())}
        return {
            "llmaudit_baseline": BASELINE_VERSION,
            "created_at": self.created_at,
            "llmaudit_version": self.llmaudit_version,
            "mode": self.mode,
            "source": self.source,
            "catalog_as_of": self.catalog_as_of,
            "volume": {"requests_per_month": self.volume},
            "models": models,
        }


def _column(table: pa.Table, name: str) -> list[Any]:
    if name in table.column_names:
        return table.column(name).to_pylist()  # type: ignore[no-any-return]
    return [None] * table.num_rows


def measure(
    table: pa.Table,
    *,
    mode: str,
    source: str,
    catalog_as_of: str | None = None,
    volume: int | None = None,
    llmaudit_version: str = "",
    slo: SLO | None = None,
) -> Measurement:
    """Summarise a results-shaped table per model and per (model, category); with ``slo``, the
    goodput of each against those objectives too."""
    if table.num_rows == 0:
        raise UsageError(f"{source}: no results to check")
    cols = {
        name: _column(table, name)
        for name in (
            "model", "prompt_id", "category", "status", "input_tokens", "output_tokens", "cost_usd",
            "price_status", "latency_ms", "cached", "passed", "usage_estimated", "input_exact",
            "output_estimate", "usage_source", "ttft_ms", "chunk_us", "attempts",
        )
    }  # fmt: skip
    rows_by_group: dict[tuple[str, str], list[int]] = defaultdict(list)
    row_categories: list[str] = []
    for i, model in enumerate(cols["model"]):
        if model is None:
            raise UsageError(f"{source}: result row {i + 1} has no model")
        category = cols["category"][i] or "(none)"
        if category == ALL:  # a category literally named "*" must not merge into the overall row
            category = "'*'"
        row_categories.append(category)
        rows_by_group[(model, ALL)].append(i)
        rows_by_group[(model, category)].append(i)
    if not any(status in (None, "ok") for status in cols["status"]):
        # A gate that measured nothing must not pass quietly.
        raise UsageError(f"{source}: none of the {table.num_rows} requests succeeded; nothing to measure")
    groups = {key: _rounded(_group(key, idx, cols, slo)) for key, idx in rows_by_group.items()}
    # A category breakdown with a single category repeats the overall row; drop it.
    for model in {m for m, _ in groups}:
        cats = [k for k in groups if k[0] == model and k[1] != ALL]
        if len(cats) == 1:
            del groups[cats[0]]
    return Measurement(mode, source, catalog_as_of, volume, groups, llmaudit_version=llmaudit_version,
                       prompt_rows=build_prompt_rows(cols, row_categories))  # fmt: skip


def _rounded(g: GroupMetrics) -> GroupMetrics:
    def r(iv: Interval | None) -> Interval | None:
        return None if iv is None else iv.rounded()

    return replace(
        g,
        input_tokens=r(g.input_tokens),
        output_tokens=r(g.output_tokens),
        cost_per_request=r(g.cost_per_request),
        p95_latency_ms=r(g.p95_latency_ms),
        pass_rate=r(g.pass_rate),
        goodput=r(g.goodput),
    )


def _goodput(idx: list[int], cols: dict[str, list[Any]], slo: SLO | None) -> tuple[Interval | None, int, int]:
    """(goodput with its Wilson interval, good, sent) over the rows that reached a provider."""
    if slo is None:
        return None, 0, 0
    good = sent = 0
    for i in idx:
        ok = cols["status"][i] in (None, "ok")
        if cols["cached"][i] or not cols["attempts"][i]:
            continue  # a cached answer, an estimate or a request never sent measured nothing
        sent += 1
        if ok and cols["latency_ms"][i] is not None:
            chunks = cols["chunk_us"][i]
            good += meets_slo(slo, ttft=cols["ttft_ms"][i], e2e=cols["latency_ms"][i],
                              tpot=tpot_ms(cols["latency_ms"][i], cols["ttft_ms"][i], cols["output_tokens"][i]),
                              gaps=itl_gaps(chunks) if chunks is not None else None)
    if not sent:
        return None, 0, 0
    lo, hi = wilson(good, sent)
    return Interval(good / sent, lo, hi), good, sent


def _group(key: tuple[str, str], idx: list[int], cols: dict[str, list[Any]], slo: SLO | None = None) -> GroupMetrics:
    model, category = key
    ok = [i for i in idx if cols["status"][i] in (None, "ok")]
    errors = len(idx) - len(ok)
    pid = cols["prompt_id"]

    def by_prompt(name: str, rows: list[int]) -> dict[str, list[float]]:
        out: dict[str, list[float]] = defaultdict(list)
        for i in rows:
            value = cols[name][i]
            if value is not None:
                out[str(pid[i]) if pid[i] is not None else f"row{i}"].append(float(value))
        return out

    in_tok = by_prompt("input_tokens", ok)
    out_tok = by_prompt("output_tokens", ok)
    input_iv, noise_in = mean_interval(in_tok) if in_tok else (None, False)
    output_iv, noise_out = mean_interval(out_tok) if out_tok else (None, False)

    priced = [i for i in ok if cols["cost_usd"][i] is not None]
    unpriced = len(ok) - len(priced)
    statuses = [cols["price_status"][i] for i in ok if cols["cost_usd"][i] is None]
    price_status = "priced" if not unpriced else next((s for s in statuses if s and s != "priced"), "unpriced")
    cost_iv: Interval | None = None
    noise_cost = False
    if ok and not unpriced:
        cost_iv, noise_cost = mean_interval(by_prompt("cost_usd", ok))

    lat = [float(cols["latency_ms"][i]) for i in ok if cols["latency_ms"][i] is not None and not cols["cached"][i]]
    p95 = order_statistic_ci(lat) if lat else None

    checked = [i for i in idx if cols["passed"][i] is not None]
    passed = sum(1 for i in checked if cols["passed"][i])
    pass_iv: Interval | None = None
    if checked:
        lo, hi = wilson(passed, len(checked))
        pass_iv = Interval(passed / len(checked), lo, hi)

    input_exact = all(
        cols["input_exact"][i] is not False and (cols["input_exact"][i] is True or not cols["usage_estimated"][i])
        for i in ok
    )
    output_assumed = any(cols["output_estimate"][i] is not None for i in ok)
    goodput, good, slo_sent = _goodput(idx, cols, slo)
    return GroupMetrics(
        model=model,
        category=category,
        requests=len(idx),
        prompts=len({pid[i] for i in idx}),
        errors=errors,
        input_tokens=input_iv,
        output_tokens=output_iv,
        cost_per_request=cost_iv,
        unpriced=unpriced,
        price_status=price_status,
        p95_latency_ms=p95,
        latency_n=len(lat),
        pass_rate=pass_iv,
        passed=passed,
        checked=len(checked),
        input_exact=input_exact,
        output_assumed=output_assumed,
        noise_known=noise_in or noise_out or noise_cost,
        goodput=goodput,
        good=good,
        slo_sent=slo_sent,
    )
