"""Why the bill is what it is (issue 17 #4): cache economics, traffic that could have gone through a
Batch API, prompt growth and the costliest sessions, and billed-vs-recomputed gaps by known cause.

``ExplainAccumulator`` is a ``build_spend`` observer (see ``analysis.spend.daily``): it sees every priced,
windowed batch once. What-ifs are priced by the cost engine itself: the batch's rows are repriced
with one column changed (cache writes at the other TTL, batch service tier, cache reads billed as
plain input...), so every alternative uses the catalog's dated rates for that model and day.

Definitions (the report prints them with each section):

* **cache scope**: the logged ``session``; without one, user · project · day (the report timezone).
  A cache is per prefix, so a scope is the closest thing a log shows to "the same prompt prefix".
* **a cache write never read again**: no later request of the same scope and model read from the
  cache while the write was alive (its TTL, 5 minutes or 1 hour, restarts on every read, as the
  providers do). Writes whose TTL runs past the end of the log count as unread: the log cannot say.
  Their cost is the write premium: what the writes cost over the same tokens as plain input.
* **batchable**: a request not already served at batch rates that carries a batch tag (``batchable``
  or a tag starting ``batch-`` by default; ``--batchable tag:NAME``) or, with
  ``--batchable latency:30s``, whose logged latency was at least that long.
* **session** (prompt growth, costliest): the same scope as the cache's. Per user, prompt growth is
  the mean prompt per request of their last 7 days of traffic over that of their first 7.

Every section adds up to the spend report's totals: prompt tokens split into uncached, cache reads
and writes; priced cost into batchable, already batch and other; sessions' costs and requests into
the totals; gap causes into the billed-vs-recomputed difference.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from llmaudit.analysis.spend.columns import compared_rows, differing_rows, money_column
from llmaudit.analysis.spend.explanation import (
    BatchRule,
    BatchSection,
    CacheSection,
    Explain,
    GapCause,
    SessionRow,
    UserGrowth,
)

__all__ = ["ExplainAccumulator"]

_US = 1_000_000
_TTL_5M = 300 * _US
_TTL_1H = 3600 * _US
_ZERO = Decimal(0)
# Known causes of a billed-vs-recomputed gap, tried in this order; the first that reproduces the
# billed figure (within the report's tolerance) explains the row.
CAUSES = ("cached tokens counted twice", "cache reads billed at the full input rate", "tier mismatch",
          "platform fee", "unexplained")
_TIERS = ("standard", "batch", "flex", "priority")
GROWTH_DAYS = 7


# --------------------------------------------------------------------------------------- compute
def _sum(arr: Any) -> Decimal:
    """Exact sum of float USD costs (nulls left out), as the spend audit sums them."""
    if len(arr) == 0:
        return _ZERO
    return pc.sum(money_column(arr)).as_py() or _ZERO


def _ints(table: pa.Table, name: str) -> Any:
    return pc.fill_null(table.column(name), 0)


class ExplainAccumulator:
    """Fold ``build_spend`` batches into an ``Explain`` (see the module docstring)."""

    def __init__(self, catalog: Any, *, rule: BatchRule | None = None, tolerance: Decimal = Decimal("0.01"),
                 platform_pcts: tuple[Decimal, ...] = (Decimal("5.5"), Decimal(5)), top: int = 10) -> None:
        self.catalog = catalog
        self.rule = rule or BatchRule()
        self.tolerance = tolerance
        self.platform_pcts = platform_pcts
        self.top = top
        self.ints = dict.fromkeys(("input", "read", "w5", "w1h", "b_req", "b_norate", "b_unpriced", "ab_req",
                                   "o_req", "needed_1h"), 0)
        self.money = dict.fromkeys(("cost", "nocache", "w5", "w5_as_1h", "w1h", "w1h_as_5m", "b_cost", "b_rated",
                                    "b_at", "ab_cost", "o_cost"), _ZERO)
        self.nocache_priced = False
        self.batch_priced = False
        self.alt_priced = {"w5": False, "w1h": False}
        self.latency_logged = False
        self.has_session = False
        self.cache_rows: list[pa.Table] = []
        self.sessions: dict[str, list[Any]] = {}
        self.user_days: dict[tuple[str, str], list[int]] = {}  # (user, day) -> [prompt tokens, requests]
        self.gaps: dict[str, list[Any]] = {c: [0, _ZERO, _ZERO] for c in CAUSES}

    # one batch ------------------------------------------------------------------------------
    def add(self, table: pa.Table, work: pa.Table) -> None:
        if table.num_rows == 0:
            return
        table = table.combine_chunks()
        work = work.combine_chunks()
        priced = pc.is_valid(table.column("cost_usd"))
        self._cache(table, priced, work.column("day"))
        self._batch(table, work, priced)
        self._sessions(table, work)
        self._gaps(table, work)

    def _reprice(self, table: pa.Table, **changes: Any) -> Any:
        from llmaudit.pricing import price_table

        for name, col in changes.items():
            table = table.set_column(table.schema.get_field_index(name), name, col)
        return price_table(table, self.catalog).column("cost_usd")

    def _cache(self, table: pa.Table, priced: Any, day: Any) -> None:
        inp, read = _ints(table, "input_tokens"), _ints(table, "cache_read_tokens")
        write, w1h = _ints(table, "cache_write_tokens"), _ints(table, "cache_write_1h_tokens")
        w5 = pc.subtract(write, w1h)
        self.ints["input"] += pc.sum(inp).as_py() or 0
        self.ints["read"] += pc.sum(read).as_py() or 0
        self.ints["w5"] += pc.sum(w5).as_py() or 0
        self.ints["w1h"] += pc.sum(w1h).as_py() or 0
        cost = table.column("cost_usd")
        self.money["cost"] += _sum(cost)
        cached = pc.and_(priced, pc.greater(pc.add(read, write), 0))
        if not pc.any(cached).as_py():
            self.money["nocache"] += _sum(cost)
            self.nocache_priced = self.nocache_priced or bool(pc.any(priced).as_py())
            return
        # Without caching: the same requests, every prompt token plain input (uncached rows as they are).
        sub = table.filter(cached)
        zero = pa.array(np.zeros(sub.num_rows, dtype=np.int64))
        alt = self._reprice(sub, cache_read_tokens=zero, cache_write_tokens=zero, cache_write_1h_tokens=zero)
        self.money["nocache"] += _sum(pc.filter(cost, pc.invert(cached))) + _sum(alt)
        self.nocache_priced = True
        self._writes(sub, zero, pc.filter(day, cached))

    def _writes(self, sub: pa.Table, zero: Any, day: Any) -> None:
        """Premiums of the 5-minute and 1-hour writes, the other TTL's, and the rows the unread-write walk needs."""
        s_write, s_w1h = _ints(sub, "cache_write_tokens"), _ints(sub, "cache_write_1h_tokens")
        s_w5 = pc.subtract(s_write, s_w1h)
        cost = sub.column("cost_usd")
        # Each TTL's premium: the row's cost less the cost with that TTL's writes billed as plain input.
        plain_5m = self._reprice(sub, cache_write_tokens=s_w1h)
        plain_1h = self._reprice(sub, cache_write_tokens=s_w5, cache_write_1h_tokens=zero)
        prem_5m, prem_1h = pc.subtract(cost, plain_5m), pc.subtract(cost, plain_1h)
        swapped = self._reprice(sub, cache_write_1h_tokens=s_w5)  # 5m writes as 1h and 1h writes as 5m
        has5, has1 = pc.greater(s_w5, 0), pc.greater(s_w1h, 0)
        self.money["w5"] += _sum(pc.filter(prem_5m, has5))
        self.money["w1h"] += _sum(pc.filter(prem_1h, has1))
        # The swapped cost less the plain cost of the TTL kept: the premium the other TTL would have had.
        only5, only1 = pc.and_(has5, pc.invert(has1)), pc.and_(has1, pc.invert(has5))
        if pc.any(only5).as_py():
            self.money["w5_as_1h"] += _sum(pc.filter(pc.subtract(swapped, plain_5m), only5))
            self.alt_priced["w5"] = True
        if pc.any(only1).as_py():
            self.money["w1h_as_5m"] += _sum(pc.filter(pc.subtract(swapped, plain_1h), only1))
            self.alt_priced["w1h"] = True
        both = pc.and_(has5, has1)
        if pc.any(both).as_py():  # rare: a request that wrote with both TTLs; its swap is split by tokens
            sw = pc.filter(swapped, both)
            plain = pc.filter(self._reprice(sub, cache_write_tokens=zero, cache_write_1h_tokens=zero), both)
            delta = pc.subtract(sw, plain)
            t5, t1 = pc.filter(s_w5, both), pc.filter(s_w1h, both)
            share5 = pc.divide(pc.cast(t5, pa.float64()), pc.cast(pc.add(t5, t1), pa.float64()))
            self.money["w5_as_1h"] += _sum(pc.multiply(delta, share5))
            self.money["w1h_as_5m"] += _sum(pc.multiply(delta, pc.subtract(1.0, share5)))
        ts = pc.cast(sub.column("timestamp"), pa.int64())
        self.cache_rows.append(pa.table({
            "scope": self._scope(sub, day), "model": pc.fill_null(sub.column("model"), ""), "ts": ts,
            "read": _ints(sub, "cache_read_tokens"), "w5": s_w5, "w1h": s_w1h, "p5": prem_5m, "p1": prem_1h,
        }))

    def _scope(self, table: pa.Table, day: Any) -> Any:
        """The logged session, else user · project · day (in the report timezone)."""
        session = table.column("session")
        if session.null_count < len(session):
            self.has_session = True
        proxy = pc.binary_join_element_wise(pc.fill_null(table.column("user"), "(none)"),
                                            pc.fill_null(table.column("project"), "(none)"), day, " · ")
        return pc.coalesce(session, proxy)

    def _batch(self, table: pa.Table, work: pa.Table, priced: Any) -> None:
        requests = work.column("requests")
        cost = table.column("cost_usd")
        already = pc.or_(pc.fill_null(table.column("batch"), False),
                         pc.equal(pc.fill_null(table.column("service_tier"), ""), "batch"))
        eligible = pc.and_(pc.invert(already), self._batchable(table))
        other = pc.invert(pc.or_(already, eligible))
        self.ints["ab_req"] += pc.sum(pc.filter(requests, already)).as_py() or 0
        self.money["ab_cost"] += _sum(pc.filter(cost, already))
        self.ints["o_req"] += pc.sum(pc.filter(requests, other)).as_py() or 0
        self.money["o_cost"] += _sum(pc.filter(cost, other))
        if not pc.any(eligible).as_py():
            return
        self.ints["b_req"] += pc.sum(pc.filter(requests, eligible)).as_py() or 0
        self.money["b_cost"] += _sum(pc.filter(cost, eligible))
        self.ints["b_unpriced"] += pc.sum(pc.filter(requests, pc.and_(eligible, pc.invert(priced)))).as_py() or 0
        sub_mask = pc.and_(eligible, priced)
        if not pc.any(sub_mask).as_py():
            return
        sub = table.filter(sub_mask)
        at = self._reprice(sub, batch=pa.array([True] * sub.num_rows), service_tier=pa.array(["batch"] * sub.num_rows))
        rated = pc.is_valid(at)
        norate = pc.filter(pc.fill_null(sub.column("requests"), 1), pc.invert(rated))
        self.ints["b_norate"] += pc.sum(norate).as_py() or 0
        if pc.any(rated).as_py():
            self.batch_priced = True
            self.money["b_rated"] += _sum(pc.filter(sub.column("cost_usd"), rated))
            self.money["b_at"] += _sum(at)

    def _batchable(self, table: pa.Table) -> Any:
        rule = self.rule
        latency = table.column("latency_ms")
        if latency.null_count < len(latency):
            self.latency_logged = True
        mask = pa.array(np.zeros(table.num_rows, dtype=bool))
        tags = table.column("tags")
        if tags.null_count < len(tags) and (rule.tags or rule.tag_prefixes):
            flat = pc.fill_null(pc.list_flatten(tags), "")
            hit = pc.is_in(flat, value_set=pa.array(list(rule.tags), pa.string()))
            for prefix in rule.tag_prefixes:
                hit = pc.or_(hit, pc.starts_with(flat, prefix))
            rows = pc.filter(pc.list_parent_indices(tags), hit)
            if len(rows):
                mask = pc.is_in(pa.array(np.arange(table.num_rows)), value_set=pc.cast(rows, pa.int64()))
        if rule.min_latency_ms is not None:
            mask = pc.or_(mask, pc.fill_null(pc.greater_equal(latency, rule.min_latency_ms), False))
        return mask

    def _sessions(self, table: pa.Table, work: pa.Table) -> None:
        users = pa.table({"user": work.column("user"), "day": work.column("day"),
                          "prompt": work.column("input_tokens"), "requests": work.column("requests")})
        for u in users.group_by(["user", "day"]).aggregate([("prompt", "sum"), ("requests", "sum")]).to_pylist():
            per_day = self.user_days.setdefault((u["user"], u["day"]), [0, 0])
            per_day[0] += u["prompt_sum"]
            per_day[1] += u["requests_sum"]
        part = pa.table({
            "key": self._scope(table, work.column("day")), "ts": table.column("timestamp"),
            "requests": work.column("requests"), "unpriced": work.column("unpriced_requests"),
            "cost": work.column("cost"), "prompt": work.column("input_tokens"), "input": work.column("input_tokens"),
            "output": work.column("output_tokens"),
        }).sort_by([("ts", "ascending")])
        grouped = part.group_by(["key"], use_threads=False).aggregate([
            ("requests", "sum"), ("unpriced", "sum"), ("cost", "sum"), ("ts", "min"), ("ts", "max"),
            ("prompt", "first"), ("prompt", "last"), ("prompt", "max"), ("input", "sum"), ("output", "sum")])
        for r in grouped.to_pylist():
            acc = self.sessions.get(r["key"])
            if acc is None:
                self.sessions[r["key"]] = [r["requests_sum"], r["unpriced_sum"], r["cost_sum"], r["ts_min"],
                                           r["ts_max"], r["prompt_first"], r["prompt_last"], r["prompt_max"],
                                           r["input_sum"], r["output_sum"]]
                continue
            acc[0] += r["requests_sum"]
            acc[1] += r["unpriced_sum"]
            acc[2] = r["cost_sum"] if acc[2] is None else acc[2] + (r["cost_sum"] or _ZERO)
            if r["ts_min"] < acc[3]:
                acc[3], acc[5] = r["ts_min"], r["prompt_first"]
            if r["ts_max"] >= acc[4]:
                acc[4], acc[6] = r["ts_max"], r["prompt_last"]
            acc[7] = max(acc[7], r["prompt_max"])
            acc[8] += r["input_sum"]
            acc[9] += r["output_sum"]

    def _gaps(self, table: pa.Table, work: pa.Table) -> None:
        if table.column("billed_cost_usd").null_count == table.num_rows:
            return
        both, _ = compared_rows(table, work)
        differs = differing_rows(table, both, self.tolerance)
        if not pc.any(differs).as_py():
            return
        sub = table.filter(differs)
        billed = sub.column("billed_cost_usd").to_numpy(zero_copy_only=False)
        cost = sub.column("cost_usd").to_numpy(zero_copy_only=False)
        left = np.ones(sub.num_rows, dtype=bool)
        cause = np.full(sub.num_rows, len(CAUSES) - 1)
        tol = float(self.tolerance)

        def match(alt: np.ndarray, i: int) -> None:
            ok = left & ~np.isnan(alt) & (np.abs(billed - alt) <= np.maximum(np.abs(alt) * tol, 1e-9))
            cause[ok] = i
            left[ok] = False

        read = _ints(sub, "cache_read_tokens")
        zero = pa.array(np.zeros(sub.num_rows, dtype=np.int64))
        if pc.any(pc.greater(read, 0)).as_py():
            twice = self._reprice(sub, input_tokens=pc.add(_ints(sub, "input_tokens"), read))
            match(_floats(twice), 0)
            full = self._reprice(sub, cache_read_tokens=zero)
            match(_floats(full), 1)
        for tier in _TIERS:
            if not left.any():
                break
            n = sub.num_rows
            alt = self._reprice(sub, service_tier=pa.array([tier] * n), batch=pa.array([tier == "batch"] * n))
            same = pc.fill_null(pc.equal(pc.fill_null(sub.column("service_tier"), "standard"), tier), False)
            arr = _floats(alt)
            arr[np.asarray(same.to_numpy(zero_copy_only=False), dtype=bool)] = np.nan
            match(arr, 2)
        for pct in self.platform_pcts:
            match(cost * (1 + float(pct) / 100), 3)
        billed_d, cost_d = money_column(sub.column("billed_cost_usd")), money_column(sub.column("cost_usd"))
        for i, name in enumerate(CAUSES):
            mask = pa.array(cause == i)
            if not pc.any(mask).as_py():
                continue
            acc = self.gaps[name]
            acc[0] += int((cause == i).sum())
            acc[1] += pc.sum(pc.filter(billed_d, mask)).as_py() or _ZERO
            acc[2] += pc.sum(pc.filter(cost_d, mask)).as_py() or _ZERO

    # result ---------------------------------------------------------------------------------
    def result(self, fx: Decimal, currency: str) -> Explain:
        m, n = self.money, self.ints
        unread = self._walk()
        cache = CacheSection(
            input_tokens=n["input"], uncached_tokens=n["input"] - n["read"] - n["w5"] - n["w1h"],
            cache_read_tokens=n["read"], write_5m_tokens=n["w5"], write_1h_tokens=n["w1h"], cost=m["cost"] * fx,
            cost_without_cache=m["nocache"] * fx if self.nocache_priced else None,
            unread_writes=unread[0], unread_tokens=unread[1], unread_premium=unread[2] * fx, unread_unpriced=unread[3],
            write_5m_cost=m["w5"] * fx, write_5m_as_1h=m["w5_as_1h"] * fx if n["w5"] else None,
            write_1h_cost=m["w1h"] * fx, write_1h_as_5m=m["w1h_as_5m"] * fx if n["w1h"] else None,
            needed_1h_tokens=n["needed_1h"])
        batch = BatchSection(
            rule=self.rule, requests=n["b_req"], cost=m["b_cost"] * fx,
            at_batch_rates=m["b_at"] * fx if self.batch_priced else None, no_batch_rate_requests=n["b_norate"],
            unpriced_requests=n["b_unpriced"], already_batch_requests=n["ab_req"], already_batch_cost=m["ab_cost"] * fx,
            other_requests=n["o_req"], other_cost=m["o_cost"] * fx, latency_logged=self.latency_logged,
            cost_with_rate=m["b_rated"] * fx)
        rows = [SessionRow(key=k, requests=v[0], unpriced_requests=v[1], cost=None if v[2] is None else v[2] * fx,
                           first_seen=v[3], last_seen=v[4], first_prompt=v[5], last_prompt=v[6], max_prompt=v[7],
                           input_tokens=v[8], output_tokens=v[9]) for k, v in self.sessions.items()]
        growths = sorted(g for r in rows if (g := r.growth) is not None)
        rows.sort(key=lambda r: (-(r.cost or 0), r.key))
        gaps = tuple(GapCause(c, v[0], v[1] * fx, v[2] * fx) for c, v in self.gaps.items() if v[0])
        users = self._users()
        return Explain(
            currency=currency, logged_sessions=self.has_session, cache=cache, batch=batch, sessions=len(rows),
            session_requests=sum(r.requests for r in rows),
            session_cost=sum((r.cost for r in rows if r.cost is not None), _ZERO),
            growing_sessions=sum(1 for g in growths if g >= 2), multi_request_sessions=len(growths),
            median_growth=float(np.median(growths)) if growths else None, top_sessions=tuple(rows[:self.top]),
            gaps=gaps, users=users)

    def _users(self) -> tuple[UserGrowth, ...]:
        from datetime import date

        days: dict[str, dict[date, list[int]]] = {}
        for (user, day), v in self.user_days.items():
            days.setdefault(user, {})[date.fromisoformat(day)] = v
        out = []
        span = timedelta(days=GROWTH_DAYS)
        for user, seen in days.items():
            first, last = min(seen), max(seen)
            if last - first < 2 * span - timedelta(days=1):
                continue
            early = [v for d, v in seen.items() if d < first + span]
            late = [v for d, v in seen.items() if d > last - span]
            mean = lambda vs: sum(v[0] for v in vs) / max(sum(v[1] for v in vs), 1)  # noqa: E731
            out.append(UserGrowth(user, sum(v[1] for v in seen.values()), first.isoformat(), last.isoformat(),
                                  mean(early), mean(late)))
        out.sort(key=lambda u: (-(u.growth or 0), u.user))
        return tuple(out)

    def _walk(self) -> tuple[int, int, Decimal, int]:
        """Writes never read again: (writes, tokens, premium USD, unpriced writes); also counts the 1-hour
        writes first read more than 5 minutes after they were written (``needed_1h``)."""
        if not self.cache_rows:
            return 0, 0, _ZERO, 0
        rows = pa.concat_tables(self.cache_rows).sort_by([("scope", "ascending"), ("model", "ascending"),
                                                          ("ts", "ascending")])
        writes = wasted_tokens = unpriced = 0
        premium = _ZERO
        live: list[list[Any]] = []  # [expiry, ttl, tokens, premium, written_at, read]
        group: tuple[str, str] | None = None

        def expire(entries: list[list[Any]]) -> None:
            nonlocal writes, wasted_tokens, premium, unpriced
            for e in entries:
                if not e[5]:
                    writes += 1
                    wasted_tokens += e[2]
                    if e[3] is None:
                        unpriced += 1
                    else:
                        premium += e[3]

        for r in rows.to_pylist():
            key = (r["scope"], r["model"])
            if key != group:
                expire(live)
                live, group = [], key
            t = r["ts"]
            gone = [e for e in live if e[0] < t]
            if gone:
                expire(gone)
                live = [e for e in live if e[0] >= t]
            if r["read"]:
                for e in live:
                    if not e[5] and e[1] == _TTL_1H and t - e[4] > _TTL_5M:
                        self.ints["needed_1h"] += e[2]
                    e[5] = True
                    e[0] = t + e[1]
            for tokens, ttl, prem in ((r["w5"], _TTL_5M, r["p5"]), (r["w1h"], _TTL_1H, r["p1"])):
                if tokens:
                    live.append([t + ttl, ttl, tokens, None if prem is None else Decimal(repr(round(prem, 12))),
                                 t, False])
        expire(live)
        return writes, wasted_tokens, premium, unpriced


def _floats(arr: Any) -> np.ndarray:
    return np.array(pc.fill_null(pc.cast(arr, pa.float64()), float("nan")).to_numpy(zero_copy_only=False),
                    dtype=float)  # a writable copy
