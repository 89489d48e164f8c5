"""Cost regression checks (``llmaudit check``): measure, keep a baseline, compare, decide.

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

import json
import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmaudit.analysis.common.latency import SLO, itl_gaps, meets_slo, tpot_ms
from llmaudit.analysis.gate.paired import PairedStat, PromptRow, build_prompt_rows, paired_stats, read_prompt_rows
from llmaudit.errors import BaselineError, UsageError
from llmaudit.units import parse_fraction, parse_usd

if TYPE_CHECKING:
    import pyarrow as pa

    from llmaudit.analysis.gate.policy import Policies

__all__ = [
    "ALL",
    "BASELINE_VERSION",
    "Band",
    "CheckReport",
    "Finding",
    "GroupMetrics",
    "Interval",
    "Measurement",
    "Thresholds",
    "compare",
    "measure",
    "order_statistic_ci",
    "read_baseline",
    "thresholds_from",
    "wilson",
    "write_baseline",
]

BASELINE_VERSION = 1
ALL = "*"  # the category key for "every prompt" (a real category can't be spelled "*" in a report)
Z95 = 1.959963984540054

# Metric keys, in display order, with their labels.
METRICS: dict[str, str] = {
    "input_tokens": "input tokens / request",
    "output_tokens": "output tokens / request",
    "cost_per_request": "cost / request",
    "monthly_cost": "cost / month",
    "p95_latency_ms": "p95 latency",
    "pass_rate": "pass rate",
    "goodput": "goodput",
}

STATUS_ORDER = {"pass": 0, "improved": 0, "n/a": 0, "new": 1, "removed": 1, "unpriced": 1, "warn": 1, "fail": 2}


# ---------------------------------------------------------------------------------------------
# Statistics


@dataclass(frozen=True)
class Interval:
    """A point estimate with a 95% interval; ``lo``/``hi`` None means unbounded on that side."""

    value: float
    lo: float | None
    hi: float | None

    @classmethod
    def exact(cls, value: float) -> Interval:
        return cls(value, value, value)

    def rounded(self) -> Interval:
        """Rounded as the baseline file stores it, so a run and its own baseline compare equal."""
        return Interval(_num(self.value) or 0.0, _num(self.lo), _num(self.hi))

    def to_dict(self) -> dict[str, Any]:
        return {"value": _num(self.value), "lo": _num(self.lo), "hi": _num(self.hi)}


def wilson(passed: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion; [0, 1] when nothing was checked."""
    from llmaudit.analysis.routing.quality import wilson as _wilson

    return _wilson(passed, n, z) or (0.0, 1.0)


def _binom_cdf(n: int, p: float) -> list[float]:
    """P(B <= k) for k = 0..n, B ~ Binomial(n, p), computed in log space (n can be large)."""
    logs = [
        math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1) + k * math.log(p) + (n - k) * math.log1p(-p)
        for k in range(n + 1)
    ]
    cdf: list[float] = []
    total = 0.0
    for value in logs:
        total += math.exp(value)
        cdf.append(min(total, 1.0))
    return cdf


def order_statistic_ci(values: list[float], q: float = 0.95, conf: float = 0.95) -> Interval:
    """The q-quantile (numpy's linear interpolation) with a distribution-free interval.

    The number of samples below the true quantile is Binomial(n, q), so [x_(l), x_(u)] covers it
    with probability ≥ conf for l, u read off the binomial CDF. When n is too small for an upper
    (lower) order statistic to exist, that bound is None: unbounded, so it can't prove a change.
    """
    import numpy as np

    xs = sorted(values)
    n = len(xs)
    if n == 0:
        raise ValueError("no values")
    point = float(np.quantile(np.asarray(xs, dtype=float), q))
    alpha = (1 - conf) / 2
    cdf = _binom_cdf(n, q)
    # lower: the largest l (1-based) with P(B <= l-1) <= alpha  → x_(l) is below the quantile w.p. ≥ 1-alpha
    lo: float | None = None
    for l_idx in range(n, 0, -1):
        if cdf[l_idx - 1] <= alpha:
            lo = xs[l_idx - 1]
            break
    # upper: the smallest u with P(B <= u-1) >= 1-alpha
    hi: float | None = None
    for u_idx in range(1, n + 1):
        if cdf[u_idx - 1] >= 1 - alpha:
            hi = xs[u_idx - 1]
            break
    return Interval(point, lo, hi)


def _mean_interval(by_prompt: dict[str, list[float]]) -> tuple[Interval, bool]:
    """Mean over all requests, interval from the spread between repeats of each prompt.

    Returns (interval, noise_known). With no prompt repeated, the repeat noise can't be measured
    and the interval is the point itself.
    """
    n = sum(len(v) for v in by_prompt.values())
    total = math.fsum(x for v in by_prompt.values() for x in v)
    mean = total / n
    var_sum = 0.0
    repeated = False
    for vals in by_prompt.values():
        k = len(vals)
        if k >= 2:
            repeated = True
            m = math.fsum(vals) / k
            s2 = math.fsum((x - m) ** 2 for x in vals) / (k - 1)
            var_sum += k * s2  # Σ_r x_ir has variance k·s²; the mean divides the sum by n
    if not repeated:
        return Interval.exact(mean), False
    half = Z95 * math.sqrt(var_sum) / n
    return Interval(mean, mean - half, mean + half), True


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
            "input_tokens_per_request": _opt(self.input_tokens),
            "output_tokens_per_request": _opt(self.output_tokens),
            "cost_per_request_usd": _opt(self.cost_per_request),
            "unpriced_requests": self.unpriced,
            "price_status": self.price_status,
            "p95_latency_ms": _opt(self.p95_latency_ms),
            "latency_n": self.latency_n,
            "pass_rate": _opt(self.pass_rate),
            "passed": self.passed,
            "checked": self.checked,
            "input_tokens_exact": self.input_exact,
            "output_tokens_assumed": self.output_assumed,
            "repeat_noise_measured": self.noise_known,
            "goodput": _opt(self.goodput),
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
    input_iv, noise_in = _mean_interval(in_tok) if in_tok else (None, False)
    output_iv, noise_out = _mean_interval(out_tok) if out_tok else (None, False)

    priced = [i for i in ok if cols["cost_usd"][i] is not None]
    unpriced = len(ok) - len(priced)
    statuses = [cols["price_status"][i] for i in ok if cols["cost_usd"][i] is None]
    price_status = "priced" if not unpriced else next((s for s in statuses if s and s != "priced"), "unpriced")
    cost_iv: Interval | None = None
    noise_cost = False
    if ok and not unpriced:
        cost_iv, noise_cost = _mean_interval(by_prompt("cost_usd", ok))

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


# ---------------------------------------------------------------------------------------------
# Baseline file


def write_baseline(measurement: Measurement, path: str | Path) -> None:
    """Write (or replace) the baseline JSON atomically."""
    p = Path(path)
    tmp = p.with_name(p.name + ".tmp")
    try:
        if p.parent != Path(""):
            p.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(measurement.to_dict(), indent=2) + "\n", encoding="utf-8")
        tmp.replace(p)
    except OSError as exc:
        raise UsageError(f"{p}: cannot write baseline: {exc.strerror}") from None


def read_baseline(path: str | Path) -> Measurement:
    """Parse a baseline JSON; every problem is a ``BaselineError`` naming the file and the field."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BaselineError(
            f"{p}: baseline not found; create it with the same command plus --write-baseline and commit it"
        ) from None
    except IsADirectoryError:
        raise BaselineError(f"{p}: is a directory, expected a baseline JSON file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BaselineError(f"{p}: cannot read baseline: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BaselineError(
            f"{p}:{exc.lineno}: corrupt baseline: invalid JSON ({exc.msg}, column {exc.colno})"
        ) from None
    reader = _BaselineReader(str(p))
    return reader.measurement(data)


class _BaselineReader:
    def __init__(self, path: str) -> None:
        self.path = path

    def fail(self, where: str, what: str) -> BaselineError:
        return BaselineError(f"{self.path}: corrupt baseline: {where}: {what}")

    def measurement(self, data: Any) -> Measurement:
        if not isinstance(data, dict):
            raise self.fail("top level", "expected a JSON object")
        version = data.get("llmaudit_baseline")
        if version is None:
            raise BaselineError(f"{self.path}: not an llmaudit baseline (no \"llmaudit_baseline\" version key)")
        if version != BASELINE_VERSION:
            raise BaselineError(
                f"{self.path}: baseline format version {version!r} is not supported "
                f"(this llmaudit reads version {BASELINE_VERSION}); rewrite it with --write-baseline"
            )
        mode = data.get("mode")
        if mode not in ("estimate", "measured"):
            raise self.fail("mode", f"expected 'estimate' or 'measured', got {mode!r}")
        volume = data.get("volume", {})
        if not isinstance(volume, dict):
            raise self.fail("volume", "expected an object")
        requests = volume.get("requests_per_month")
        if requests is not None and (not isinstance(requests, int) or isinstance(requests, bool) or requests < 0):
            raise self.fail("volume.requests_per_month", "expected a non-negative integer")
        models = data.get("models")
        if not isinstance(models, dict) or not models:
            raise self.fail("models", "expected a non-empty object")
        groups: dict[tuple[str, str], GroupMetrics] = {}
        prompt_rows: dict[str, dict[str, PromptRow]] = {}
        for model, entry in models.items():
            where = f"models.{model}"
            if not isinstance(entry, dict) or not isinstance(entry.get("all"), dict):
                raise self.fail(where, "expected an object with 'all'")
            groups[(model, ALL)] = self.group(model, ALL, entry["all"], f"{where}.all")
            cats = entry.get("categories", {})
            if not isinstance(cats, dict):
                raise self.fail(f"{where}.categories", "expected an object")
            for cat, g in cats.items():
                groups[(model, cat)] = self.group(model, cat, g, f"{where}.categories.{cat}")
            if "prompts" in entry:  # optional: baselines written before paired tests lack it
                prompt_rows[model] = read_prompt_rows(entry["prompts"], lambda f, w, m=where: self.fail(f"{m}.{f}", w))
        catalog = data.get("catalog_as_of")
        return Measurement(
            mode=mode,
            source=str(data.get("source", "")),
            catalog_as_of=str(catalog) if catalog is not None else None,
            volume=requests,
            groups=groups,
            created_at=str(data.get("created_at", "")),
            llmaudit_version=str(data.get("llmaudit_version", "")),
            prompt_rows=prompt_rows,
        )

    def group(self, model: str, category: str, g: Any, where: str) -> GroupMetrics:
        if not isinstance(g, dict):
            raise self.fail(where, "expected an object")
        return GroupMetrics(
            model=model,
            category=category,
            requests=self.int(g, "requests", where),
            prompts=self.int(g, "prompts", where),
            errors=self.int(g, "errors", where),
            input_tokens=self.interval(g, "input_tokens_per_request", where),
            output_tokens=self.interval(g, "output_tokens_per_request", where),
            cost_per_request=self.interval(g, "cost_per_request_usd", where),
            unpriced=self.int(g, "unpriced_requests", where),
            price_status=str(g.get("price_status", "priced")),
            p95_latency_ms=self.interval(g, "p95_latency_ms", where),
            latency_n=self.int(g, "latency_n", where),
            pass_rate=self.interval(g, "pass_rate", where),
            passed=self.int(g, "passed", where),
            checked=self.int(g, "checked", where),
            input_exact=bool(g.get("input_tokens_exact", True)),
            output_assumed=bool(g.get("output_tokens_assumed", False)),
            noise_known=bool(g.get("repeat_noise_measured", False)),
            # Baselines written before goodput existed have none: unknown, not zero.
            goodput=self.interval(g, "goodput", where) if "goodput" in g else None,
            good=self.int(g, "good", where),
            slo_sent=self.int(g, "goodput_sent", where),
        )

    def int(self, g: dict[str, Any], key: str, where: str) -> int:
        value = g.get(key, 0)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise self.fail(f"{where}.{key}", f"expected a non-negative integer, got {value!r}")
        return value

    def interval(self, g: dict[str, Any], key: str, where: str) -> Interval | None:
        if key not in g:
            raise self.fail(f"{where}.{key}", "missing")
        value = g[key]
        if value is None:
            return None
        if not isinstance(value, dict):
            raise self.fail(f"{where}.{key}", "expected an object {value, lo, hi} or null")
        parts: dict[str, float | None] = {}
        for part in ("value", "lo", "hi"):
            v = value.get(part)
            if v is None and part != "value":
                parts[part] = None
                continue
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v):
                raise self.fail(f"{where}.{key}.{part}", f"expected a number, got {v!r}")
            parts[part] = float(v)
        return Interval(parts["value"] or 0.0, parts["lo"], parts["hi"])


# ---------------------------------------------------------------------------------------------
# Thresholds


@dataclass(frozen=True)
class Band:
    """Warn above ``warn``, fail above ``fail`` (fractions: 0.05 = 5%)."""

    warn: float
    fail: float


@dataclass(frozen=True)
class Thresholds:
    cost: Band = Band(0.05, 0.10)  # relative increase of cost per request
    tokens: Band = Band(0.05, 0.10)  # relative increase of input or output tokens per request
    p95: Band = Band(0.10, 0.25)  # relative increase of p95 latency
    pass_drop: Band = Band(0.02, 0.05)  # absolute drop of pass rate (0.05 = five points)
    min_pass_rate: Band | None = None  # absolute floor: warn below .warn, fail below .fail
    monthly: Band | None = None  # absolute USD increase of cost per month at the declared volume
    min_goodput: Band | None = None  # absolute floor on goodput, like min_pass_rate

    def to_dict(self) -> dict[str, Any]:
        def band(b: Band | None) -> dict[str, float] | None:
            return None if b is None else {"warn": b.warn, "fail": b.fail}

        return {
            "cost_increase": band(self.cost),
            "token_increase": band(self.tokens),
            "p95_increase": band(self.p95),
            "pass_rate_drop": band(self.pass_drop),
            "min_pass_rate": band(self.min_pass_rate),
            "monthly_increase_usd": band(self.monthly),
            "min_goodput": band(self.min_goodput),
        }


_CONFIG_KEYS = {
    "baseline", "volume", "models", "comment_mode", "mix", "policy", "allowed_max_increase",
    "max_cost_increase", "warn_cost_increase", "max_token_increase", "warn_token_increase",
    "max_p95_increase", "warn_p95_increase", "max_pass_rate_drop", "warn_pass_rate_drop",
    "min_pass_rate", "warn_pass_rate", "max_monthly_increase", "warn_monthly_increase",
    "slo", "min_goodput", "warn_goodput",
}  # fmt: skip


def _band(fail: Any, warn: Any, default: Band, parse: Callable[[Any], float], *, floor: bool = False) -> Band:
    """Combine a fail and a warn value; an unset warn sits at half the fail threshold (or, for a
    floor, five points above it), an unset fail stays at the default but never below warn."""
    f = parse(fail) if fail is not None else None
    w = parse(warn) if warn is not None else None
    if f is None and w is None:
        return default
    if floor:
        f_val = f if f is not None else w
        assert f_val is not None
        w_val = w if w is not None else min(1.0, f_val + 0.05)
        return Band(max(w_val, f_val), f_val)
    f_val = f if f is not None else max(default.fail, w if w is not None else 0.0)
    w_val = w if w is not None else f_val / 2
    return Band(min(w_val, f_val), f_val)


def thresholds_from(config: dict[str, Any], flags: dict[str, Any], config_name: str = "[check]") -> Thresholds:
    """Thresholds from the ``[check]`` config section overridden by command-line flags.

    Keys (config) / flags: ``max_cost_increase`` / ``--max-cost-increase`` (and ``warn_…``),
    ``max_token_increase``, ``max_p95_increase``, ``max_pass_rate_drop``, ``min_pass_rate`` (and
    ``warn_pass_rate``), ``max_monthly_increase`` (dollars). Flags win over config.
    """
    unknown = sorted(set(config) - _CONFIG_KEYS)
    if unknown:
        allowed = ", ".join(sorted(_CONFIG_KEYS))
        raise UsageError(f"{config_name}: unknown key(s) {', '.join(unknown)}; allowed: {allowed}")
    merged = {**config, **{k: v for k, v in flags.items() if v is not None}}

    def pct(key: str) -> Any:
        return lambda v: parse_fraction(v, key.replace("_", "-"))

    def rate(key: str) -> Any:
        return lambda v: parse_fraction(v, key.replace("_", "-"), rate=True)

    base = Thresholds()
    monthly = None
    if merged.get("max_monthly_increase") is not None or merged.get("warn_monthly_increase") is not None:
        monthly = _band(
            merged.get("max_monthly_increase"),
            merged.get("warn_monthly_increase"),
            Band(math.inf, math.inf),
            lambda v: parse_usd(v, "max-monthly-increase"),
        )
    floor = None
    if merged.get("min_pass_rate") is not None or merged.get("warn_pass_rate") is not None:
        floor = _band(merged.get("min_pass_rate"), merged.get("warn_pass_rate"), Band(0.0, 0.0),
                      rate("min_pass_rate"), floor=True)  # fmt: skip
    goodput_floor = None
    if merged.get("min_goodput") is not None or merged.get("warn_goodput") is not None:
        goodput_floor = _band(merged.get("min_goodput"), merged.get("warn_goodput"), Band(0.0, 0.0),
                              rate("min_goodput"), floor=True)
    return Thresholds(
        cost=_band(merged.get("max_cost_increase"), merged.get("warn_cost_increase"), base.cost,
                   pct("max_cost_increase")),
        tokens=_band(merged.get("max_token_increase"), merged.get("warn_token_increase"), base.tokens,
                     pct("max_token_increase")),
        p95=_band(merged.get("max_p95_increase"), merged.get("warn_p95_increase"), base.p95,
                  pct("max_p95_increase")),
        pass_drop=_band(merged.get("max_pass_rate_drop"), merged.get("warn_pass_rate_drop"), base.pass_drop,
                        rate("max_pass_rate_drop")),
        min_pass_rate=floor,
        monthly=monthly,
        min_goodput=goodput_floor,
    )  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Comparison


@dataclass(frozen=True)
class Finding:
    """One metric of one (model, category), compared with the baseline."""

    model: str
    category: str
    metric: str
    baseline: float | None
    current: float | None
    delta: float | None  # current - baseline (points for pass rate)
    delta_pct: float | None  # relative change; None when the baseline is 0 or a side is missing
    status: str  # pass | improved | warn | fail | new | removed | unpriced | n/a
    note: str = ""
    exact: bool = True  # False: the figure rests on estimated or assumed token counts
    current_ci: Interval | None = None
    baseline_ci: Interval | None = None
    derived: bool = False  # restates another finding (cost/month mirrors cost/request): not counted twice
    paired: PairedStat | None = None  # the paired test over the prompts both runs share

    @property
    def label(self) -> str:
        return METRICS.get(self.metric, self.metric)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "category": None if self.category == ALL else self.category,
            "metric": self.metric,
            "baseline": _num(self.baseline),
            "current": _num(self.current),
            "delta": _num(self.delta),
            "delta_pct": _num(self.delta_pct),
            "status": self.status,
            "note": self.note,
            "exact": self.exact,
            "baseline_ci": _opt(self.baseline_ci),
            "current_ci": _opt(self.current_ci),
            **({"paired": self.paired.to_dict()} if self.paired is not None else {}),
        }


@dataclass(frozen=True)
class CheckReport:
    status: str  # pass | warn | fail
    findings: list[Finding]
    headlines: list[str]
    notes: list[str]
    volume: int | None
    thresholds: Thresholds
    baseline: Measurement
    current: Measurement
    baseline_path: str = ""

    @property
    def failures(self) -> list[Finding]:
        return [f for f in self.findings if f.status == "fail" and not f.derived]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if STATUS_ORDER.get(f.status, 0) == 1 and not f.derived]

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "exit_code": 1 if self.status == "fail" else 0,
            "headlines": self.headlines,
            "notes": self.notes,
            "volume_requests_per_month": self.volume,
            "thresholds": self.thresholds.to_dict(),
            "baseline": {
                "path": self.baseline_path,
                "mode": self.baseline.mode,
                "created_at": self.baseline.created_at,
                "catalog_as_of": self.baseline.catalog_as_of,
                "source": self.baseline.source,
            },
            "current": {
                "mode": self.current.mode,
                "catalog_as_of": self.current.catalog_as_of,
                "source": self.current.source,
            },
            "counts": {
                "fail": len(self.failures),
                "warn": len(self.warnings),
                "checked": len(self.findings),
            },
            "findings": [f.to_dict() for f in self.findings],
        }


def _rel(cur: float, base: float) -> float | None:
    return None if base == 0 else (cur - base) / base


def _significant_increase(cur: Interval | None, base: Interval | None) -> bool:
    """True when the current interval lies wholly above the baseline interval."""
    if cur is None or base is None or cur.lo is None or base.hi is None:
        return False
    return cur.lo > base.hi


def _significant_decrease(cur: Interval | None, base: Interval | None) -> bool:
    if cur is None or base is None or cur.hi is None or base.lo is None:
        return False
    return cur.hi < base.lo


def _grade_increase(
    cur: Interval, base: Interval, band: Band, *, noisy_hint: str
) -> tuple[str, str, float | None]:
    """Status for a metric where up is bad, using relative change against ``band``."""
    rel = _rel(cur.value, base.value)
    if rel is None:
        rel = math.inf if cur.value > 0 else 0.0
    significant = _significant_increase(cur, base)
    if rel > band.fail:
        if significant:
            return "fail", "", rel
        return "warn", f"over the fail threshold but within noise ({noisy_hint})", rel
    if rel > band.warn:
        return "warn", "" if significant else "within noise", rel
    if rel < -band.warn and _significant_decrease(cur, base):
        return "improved", "", rel
    return "pass", "", rel


def compare(
    baseline: Measurement,
    current: Measurement,
    thresholds: Thresholds,
    *,
    volume: int | None = None,
    baseline_path: str = "",
    notes: list[str] | None = None,
    policies: Policies | None = None,
) -> CheckReport:
    """Hold ``current`` against ``baseline``; never raises for a regression (the CLI decides).
    ``notes``: said first in every output (e.g. which traffic mix weighted the figures);
    ``policies``: thresholds per model and category and a cap on the whole change
    (``analysis.gate.policy``), over ``thresholds`` as the global ones."""
    if baseline.mode != current.mode:
        hint = "--estimate" if baseline.mode == "estimate" else "a replay run directory"
        raise BaselineError(
            f"{baseline_path or 'baseline'}: the baseline was written from a {baseline.mode} run and this check is "
            f"{current.mode}; compare like with like (use {hint}) or rewrite the baseline with --write-baseline"
        )
    volume = volume if volume is not None else current.volume if current.volume is not None else baseline.volume
    findings: list[Finding] = []
    notes = list(notes or [])
    keys = sorted(set(baseline.groups) | set(current.groups), key=lambda k: (k[0], k[1] != ALL, k[1]))
    for key in keys:
        b, c = baseline.groups.get(key), current.groups.get(key)
        if key[1] != ALL and ((key[0], ALL) not in current.groups or (key[0], ALL) not in baseline.groups):
            continue  # the whole model is new or removed: one finding says so
        if c is None and b is not None:
            what = "model" if key[1] == ALL else "category"
            findings.append(
                Finding(key[0], key[1], "model" if key[1] == ALL else "category", None, None, None, None, "removed",
                        f"{what} is in the baseline but not in this run; rewrite the baseline to accept")
            )  # fmt: skip
            continue
        if b is None and c is not None:
            what = "model" if key[1] == ALL else "category"
            if c.cost_per_request is not None:
                now = f"now ${c.cost_per_request.value:.6g}/request"
            elif c.unpriced:
                now = f"unpriced: {c.price_status}"
            else:
                now = "no successful request"
            findings.append(
                Finding(key[0], key[1], "model" if key[1] == ALL else "category", None, None, None, None, "new",
                        f"{what} is not in the baseline; {now}; rewrite the baseline to start tracking it")
            )  # fmt: skip
            continue
        assert b is not None and c is not None
        paired: dict[str, PairedStat] = {}
        # Estimates are deterministic (nothing to test); a measured run is paired prompt by prompt.
        if current.mode == "measured" and key[0] in baseline.prompt_rows and key[0] in current.prompt_rows:
            paired = paired_stats(baseline.prompt_rows[key[0]], current.prompt_rows[key[0]],
                                  None if key[1] == ALL else key[1])  # fmt: skip
        t = policies.for_group(*key) if policies is not None else thresholds
        findings.extend(_compare_group(b, c, t, volume if key[1] == ALL else None, paired))
    if policies is not None:
        notes.extend(policies.describe())
        total = policies.overall(baseline, current, volume)
        if total is not None:
            findings.append(total)

    if baseline.catalog_as_of and current.catalog_as_of and baseline.catalog_as_of != current.catalog_as_of:
        notes.append(
            f"price catalog changed ({baseline.catalog_as_of} → {current.catalog_as_of}): "
            "cost deltas include price changes"
        )
    if any(not f.exact for f in findings if f.metric in ("input_tokens", "cost_per_request", "monthly_cost")):
        notes.append("~ marks figures that rest on estimated token counts (no offline tokenizer for that model)")
    simulated = sorted({m for m, _ in current.groups if m.startswith("sim/")})
    if simulated:
        notes.append(f"SIMULATED: {', '.join(simulated)} are the offline simulator, not real providers")
    if current.mode == "measured" and not any(g.noise_known for g in current.groups.values()):
        notes.append(
            "no repeated prompts: token and cost changes are taken at face value; replay with --repeats 3 "
            "to measure sampling noise"
        )
    if current.mode == "estimate":
        notes.append(
            "estimate mode: input tokens counted locally, output tokens assumed (max_tokens or the default); "
            "nothing was sent"
        )
    status = "pass"
    worst = max((STATUS_ORDER.get(f.status, 0) for f in findings), default=0)
    if worst == 2:
        status = "fail"
    elif worst == 1:
        status = "warn"
    return CheckReport(
        status=status,
        findings=findings,
        headlines=_headlines(findings, volume),
        notes=notes,
        volume=volume,
        thresholds=thresholds,
        baseline=baseline,
        current=current,
        baseline_path=baseline_path,
    )


def _compare_group(
    b: GroupMetrics, c: GroupMetrics, t: Thresholds, volume: int | None, paired: dict[str, PairedStat]
) -> list[Finding]:
    out: list[Finding] = []
    model, cat = c.model, c.category
    noisy = "add repeats to narrow the interval"

    def numeric(metric: str, bi: Interval | None, ci: Interval | None, band: Band, exact: bool) -> Finding:
        if bi is None and ci is None:
            return Finding(model, cat, metric, None, None, None, None, "n/a", "not measured on either side", exact)
        if ci is None or bi is None:
            side = "this run" if ci is None else "the baseline"
            return Finding(model, cat, metric, _v(bi), _v(ci), None, None, "warn", f"not measured in {side}", exact,
                           ci, bi)  # fmt: skip
        # The paired bootstrap is reported, not decisive: prompts are the fixed population and
        # the repeat spread (the interval) is the noise; resampling prompts would hide a change
        # confined to a few of them. Pass rate is different: McNemar decides it (``_pass_rate``).
        status, note, rel = _grade_increase(ci, bi, band, noisy_hint=noisy)
        return Finding(model, cat, metric, bi.value, ci.value, ci.value - bi.value,
                       None if math.isinf(rel or 0) else rel, status, note, exact, ci, bi,
                       paired=paired.get(metric))  # fmt: skip

    out.append(numeric("input_tokens", b.input_tokens, c.input_tokens, t.tokens, c.input_exact and b.input_exact))
    out.append(numeric("output_tokens", b.output_tokens, c.output_tokens, t.tokens, True))

    exact_cost = c.input_exact and b.input_exact
    # An unpriced model is one fact: counted once, on its all-prompts row.
    per_category = cat != ALL
    if c.cost_per_request is None and c.unpriced:
        out.append(Finding(model, cat, "cost_per_request", _v(b.cost_per_request), None, None, None, "unpriced",
                           f"{c.unpriced} unpriced request(s) ({c.price_status})", exact_cost,
                           derived=per_category))
    elif b.cost_per_request is None and b.unpriced:
        out.append(Finding(model, cat, "cost_per_request", None, _v(c.cost_per_request), None, None, "unpriced",
                           f"unpriced in the baseline ({b.price_status})", exact_cost, derived=per_category))
    else:
        out.append(numeric("cost_per_request", b.cost_per_request, c.cost_per_request, t.cost, exact_cost))
    cost = out[-1]

    if volume is not None and cost.baseline is not None and cost.current is not None:
        bm, cm = cost.baseline * volume, cost.current * volume
        status, note, derived = cost.status, "", True
        delta = cm - bm
        if t.monthly is not None and cost.status not in ("improved",):
            significant = cost.status == "fail" or _significant_increase(cost.current_ci, cost.baseline_ci)
            if delta > t.monthly.fail and significant:
                status, note, derived = "fail", f"over the ${t.monthly.fail:,.0f}/month limit", cost.status == "fail"
            elif delta > t.monthly.warn and STATUS_ORDER.get(status, 0) < 1:
                status, note, derived = "warn", f"over the ${t.monthly.warn:,.0f}/month warning level", False
        out.append(Finding(model, cat, "monthly_cost", bm, cm, delta, _rel(cm, bm), status, note, exact_cost,
                           cost.current_ci, cost.baseline_ci, derived=derived))  # fmt: skip

    if c.p95_latency_ms is None and b.p95_latency_ms is not None:
        # Cached replays (--offline) and estimates have no latency: nothing to hold against the
        # baseline, which is not a regression; the row stays visible as n/a.
        out.append(Finding(model, cat, "p95_latency_ms", b.p95_latency_ms.value, None, None, None, "n/a",
                           "no latency in this run (cached or estimated responses)", True, None, b.p95_latency_ms))
    else:
        out.append(numeric("p95_latency_ms", b.p95_latency_ms, c.p95_latency_ms, t.p95, True))
    p95 = out[-1]
    if p95.status in ("warn", "fail") and c.p95_latency_ms is not None and c.p95_latency_ms.hi is None:
        out[-1] = replace(p95, note=_join(p95.note, f"n={c.latency_n} is too few for a bounded p95"))
    out.append(_pass_rate(b, c, t, paired.get("pass_rate")))
    if c.goodput is not None or b.goodput is not None:
        out.append(_goodput_finding(b, c, t))
    # Metrics neither side measured (latency and pass rate in estimate mode) are not checks.
    return [f for f in out if not (f.status == "n/a" and f.baseline is None and f.current is None)]


def _pass_rate(b: GroupMetrics, c: GroupMetrics, t: Thresholds, paired: PairedStat | None = None) -> Finding:
    model, cat = c.model, c.category
    bi, ci = b.pass_rate, c.pass_rate
    if ci is None:
        status = "n/a" if bi is None else "warn"
        return Finding(model, cat, "pass_rate", _v(bi), None, None, None, status,
                       "no checks in this run" if bi is not None else "no checks", True, None, bi)  # fmt: skip
    status, notes = "pass", []
    floor = t.min_pass_rate
    if floor is not None:
        assert ci.hi is not None and ci.lo is not None
        if ci.hi < floor.fail:
            status = "fail"
            notes.append(f"below the {floor.fail:.0%} floor ({c.passed}/{c.checked})")
        elif ci.value < floor.fail:
            status = "warn"
            notes.append(f"below the {floor.fail:.0%} floor but within noise (n={c.checked})")
        elif ci.value < floor.warn:
            status = "warn"
            notes.append(f"below the {floor.warn:.0%} warning level")
    delta = None
    if bi is not None:
        delta = ci.value - bi.value
        drop = -delta
        # McNemar over the shared prompts sees a drop the two Wilson intervals, taken as
        # independent samples, would still call noise
        significant = _significant_decrease(ci, bi) or (paired is not None and paired.worse)
        if drop > t.pass_drop.fail and significant:
            status = "fail"
            notes.append(f"dropped {drop * 100:.1f} points")
        elif drop > t.pass_drop.warn and STATUS_ORDER[status] < 1:
            status = "warn"
            notes.append(f"dropped {drop * 100:.1f} points" + ("" if significant else ", within noise"))
        elif -drop > t.pass_drop.warn and _significant_increase(ci, bi) and status == "pass":
            status = "improved"
    return Finding(model, cat, "pass_rate", _v(bi), ci.value, delta, None, status, "; ".join(notes), True, ci, bi,
                   paired=paired)


def _goodput_finding(b: GroupMetrics, c: GroupMetrics, t: Thresholds) -> Finding:
    """Goodput against its floor (``--min-goodput``): fails only when the Wilson interval's top is
    below it, so a handful of requests cannot fail a build on noise."""
    model, cat = c.model, c.category
    bi, ci = b.goodput, c.goodput
    if ci is None:
        return Finding(model, cat, "goodput", _v(bi), None, None, None, "warn",
                       "no goodput in this run (pass --slo, and send requests rather than read the cache)", True,
                       None, bi)
    status, note = "pass", ""
    floor = t.min_goodput
    if floor is not None:
        assert ci.hi is not None
        if ci.hi < floor.fail:
            status, note = "fail", f"below the {floor.fail:.0%} floor ({c.good}/{c.slo_sent} met the SLO)"
        elif ci.value < floor.fail:
            status, note = "warn", f"below the {floor.fail:.0%} floor but within noise (n={c.slo_sent})"
        elif ci.value < floor.warn:
            status, note = "warn", f"below the {floor.warn:.0%} warning level"
    delta = ci.value - bi.value if bi is not None else None
    return Finding(model, cat, "goodput", _v(bi), ci.value, delta, None, status, note, True, ci, bi)


def _headlines(findings: list[Finding], volume: int | None) -> list[str]:
    """One sentence per model whose cost or tokens warn or fail, with the money at volume, and
    one per prompt category that fails (a category can regress while the model's mean holds)."""
    lines: list[str] = []
    groups: dict[tuple[str, str], dict[str, Finding]] = defaultdict(dict)
    for f in findings:
        if not f.derived or f.metric == "monthly_cost":
            groups[(f.model, f.category)][f.metric] = f
    for (model, category), fs in groups.items():
        for kind in ("model", "category"):
            if kind in fs and fs[kind].status in ("new", "removed") and category == ALL:
                lines.append(f"{model}: {fs[kind].status} — {fs[kind].note}")
        bad = ("warn", "fail") if category == ALL else ("fail",)
        drivers = [fs[m] for m in ("input_tokens", "output_tokens", "cost_per_request", "p95_latency_ms", "pass_rate",
                                   "goodput") if m in fs and fs[m].status in bad]  # fmt: skip
        monthly = fs.get("monthly_cost")
        if monthly is not None and monthly.status in bad and not monthly.derived and monthly not in drivers:
            drivers.append(monthly)
        if not drivers:
            continue
        where = model if category == ALL else f"{model} [{category}]"
        line = f"{where}: " + ", ".join(_change_text(f) for f in drivers if f.metric != "monthly_cost")
        if monthly is not None and monthly.delta is not None and volume is not None:
            sign = "+" if monthly.delta >= 0 else "-"
            line += f" → {sign}{_money(abs(monthly.delta))}/month at {_volume_text(volume)} requests/month"
        worst = "FAIL" if any(f.status == "fail" for f in drivers) else "warn"
        # only the month moved past its limit: "model: cost/month → +$X/month", not "model:  → …"
        lines.append(f"{worst}: {line.replace(':  →', ': cost/month →')}")
    return lines


def _change_text(f: Finding) -> str:
    short = {
        "input_tokens": "input tokens",
        "output_tokens": "output tokens",
        "cost_per_request": "cost per request",
        "p95_latency_ms": "p95 latency",
        "pass_rate": "pass rate",
        "goodput": "goodput",
    }[f.metric]
    prefix = "" if f.exact else "~"
    if f.metric in ("pass_rate", "goodput"):
        if f.delta is None:
            return f"{short} {f.current:.0%}" if f.current is not None else short
        return f"{short} {f.delta * 100:+.1f} points"
    if f.delta_pct is None:
        if f.delta is not None and f.baseline == 0:
            return f"{prefix}{short} up from 0"
        return f"{short} {f.note}".strip()
    return f"{prefix}{f.delta_pct * 100:+.1f}% {short}"


# ---------------------------------------------------------------------------------------------
# helpers


def _v(iv: Interval | None) -> float | None:
    return None if iv is None else iv.value


def _opt(iv: Interval | None) -> dict[str, Any] | None:
    return None if iv is None else iv.to_dict()


def _num(x: float | None) -> float | None:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return None
    return float(f"{x:.12g}")


def _join(*parts: str) -> str:
    return "; ".join(p for p in parts if p)


def _money(x: float) -> str:
    if x >= 100:
        return f"${x:,.0f}"
    if x >= 1:
        return f"${x:,.2f}"
    return f"${x:.4g}"


def _volume_text(volume: int) -> str:
    for div, suffix in ((10**9, "B"), (10**6, "M"), (10**3, "k")):
        if volume >= div and volume % (div // 100 or 1) == 0:
            return f"{volume / div:g}{suffix}"
    return f"{volume:,}"
