"""Traffic mix: what share of production requests and tokens each prompt category carries.

A prompt set is not production: a category that is 2% of the prompts may be 60% of the requests.
``llmaudit mix LOGS --out MIX.json`` reads usage logs (any format ``ingest`` reads, or its parquet)
and counts requests and tokens per key; ``llmaudit check --mix MIX.json`` then weights each
model's all-prompts cost, tokens and cost/month by those shares instead of by prompt count.

Keys (``--by``): ``category`` (default) is the value of a ``category:X`` tag, the first such tag
on a row (a prompt set's ``category`` field names the same thing); ``project`` is the project or
workspace column. Rows without one count under ``(none)``, the name ``check`` gives prompts with
no category, so nothing read is dropped.

Weighting (``apply_mix``) uses the categories both runs measured and the mix knows; their shares
are renormalised to 1 and the traffic left out is reported. Intervals combine bound by bound (a
wider, conservative interval). Latency and pass rate stay per prompt: the mix weights money and
tokens. An unpriced category leaves the weighted cost unpriced: unknown is never zero.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmaudit.errors import UsageError

if TYPE_CHECKING:
    from llmaudit.analysis.common.records import Records
    from llmaudit.analysis.gate.measurement import GroupMetrics, Measurement
    from llmaudit.analysis.gate.statistics import Interval

__all__ = ["MIX_BY", "MIX_VERSION", "NONE", "Mix", "MixShare", "apply_mix", "build_mix", "read_mix", "write_mix"]

MIX_VERSION = 1
MIX_BY = ("category", "project")
NONE = "(none)"
DAYS_PER_MONTH = 365.25 / 12


@dataclass(frozen=True)
class MixShare:
    requests: int
    input_tokens: int
    output_tokens: int
    request_share: float
    token_share: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "request_share": round(self.request_share, 9),
            "token_share": round(self.token_share, 9),
        }


@dataclass(frozen=True)
class Mix:
    by: str
    sources: list[str]
    start: str | None  # first and last request in the logs (UTC, ISO 8601)
    end: str | None
    requests: int
    requests_per_month: int | None  # the logs' rate over their own window; None under a day
    shares: dict[str, MixShare]
    path: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "llmaudit_mix": MIX_VERSION,
            "by": self.by,
            "sources": self.sources,
            "window": {"start": self.start, "end": self.end},
            "requests": self.requests,
            "requests_per_month": self.requests_per_month,
            "shares": {k: s.to_dict() for k, s in sorted(self.shares.items(), key=lambda kv: -kv[1].requests)},
        }

    def describe(self) -> str:
        top = ", ".join(f"{k} {s.request_share:.0%}" for k, s in
                        sorted(self.shares.items(), key=lambda kv: -kv[1].requests)[:5])  # fmt: skip
        more = f" (+{len(self.shares) - 5} more)" if len(self.shares) > 5 else ""
        window = f", {self.start[:10]}…{self.end[:10]}" if self.start and self.end else ""
        return f"{self.path or 'mix'} (by {self.by}, {self.requests:,} requests{window}): {top}{more}"


# ---------------------------------------------------------------------------------------------
# Building a mix from logs


def _keys(batch: Any, by: str) -> list[str]:
    import pyarrow.compute as pc

    n = batch.num_rows
    if by == "project":
        col = batch.column("project").to_pylist() if "project" in batch.column_names else [None] * n
        return [v if v else NONE for v in col]
    keys = [NONE] * n
    if "tags" not in batch.column_names:
        return keys
    tags = batch.column("tags").combine_chunks()
    flat, parents = pc.list_flatten(tags), pc.list_parent_indices(tags)
    hit = pc.fill_null(pc.starts_with(flat, "category:"), False)
    names = pc.utf8_slice_codeunits(flat.filter(hit), len("category:")).to_pylist()
    for row, name in zip(parents.filter(hit).to_pylist(), names, strict=True):
        if keys[row] == NONE and name:
            keys[row] = name  # the first category tag wins
    return keys


def build_mix(records: Records, by: str = "category", sources: list[str] | None = None) -> Mix:
    """Count requests and tokens per key over every batch of ``records``."""
    import pyarrow.compute as pc

    if by not in MIX_BY:
        raise UsageError(f"--by: expected one of {', '.join(MIX_BY)}, got {by!r}")
    totals: dict[str, list[int]] = {}
    start = end = None
    for batch in records.batches():
        if batch.num_rows == 0:
            continue
        requests = batch.column("requests").to_pylist()
        inputs = batch.column("input_tokens").to_pylist()
        outputs = batch.column("output_tokens").to_pylist()
        for key, r, i, o in zip(_keys(batch, by), requests, inputs, outputs, strict=True):
            acc = totals.setdefault(key, [0, 0, 0])
            acc[0] += int(r or 0)
            acc[1] += int(i or 0)
            acc[2] += int(o or 0)
        lo_hi = pc.min_max(batch.column("timestamp"))
        lo, hi = lo_hi["min"].as_py(), lo_hi["max"].as_py()
        start = lo if start is None or (lo is not None and lo < start) else start
        end = hi if end is None or (hi is not None and hi > end) else end
    requests = sum(v[0] for v in totals.values())
    if requests == 0:
        raise UsageError("the logs hold no requests: a traffic mix needs production traffic")
    tokens = sum(v[1] + v[2] for v in totals.values())
    shares = {
        k: MixShare(r, i, o, r / requests, (i + o) / tokens if tokens else 0.0) for k, (r, i, o) in totals.items()
    }
    per_month = None
    if start is not None and end is not None:
        days = (end - start).total_seconds() / 86400
        if days >= 1:
            per_month = round(requests * DAYS_PER_MONTH / days)
    return Mix(by, list(sources or []), start and start.isoformat(), end and end.isoformat(), requests,
               per_month, shares)  # fmt: skip


# ---------------------------------------------------------------------------------------------
# The file


def write_mix(mix: Mix, path: str | Path) -> None:
    p = Path(path)
    try:
        p.write_text(json.dumps(mix.to_dict(), indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{p}: cannot write the mix: {exc.strerror}") from None


def read_mix(path: str | Path) -> Mix:
    """Parse a mix JSON; a problem names the file and the field (exit 2)."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{p}: mix not found; make it with `llmaudit mix LOGS --out {p}`") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{p}: cannot read the mix: {exc}") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"{p}:{exc.lineno}: not a mix: invalid JSON ({exc.msg})") from None

    def bad(where: str, what: str) -> UsageError:
        return UsageError(f"{p}: bad mix: {where}: {what}")

    if not isinstance(data, dict) or data.get("llmaudit_mix") != MIX_VERSION:
        raise bad("llmaudit_mix", f"expected version {MIX_VERSION} (write it with `llmaudit mix`)")
    shares_in = data.get("shares")
    if not isinstance(shares_in, dict) or not shares_in:
        raise bad("shares", "expected a non-empty object")
    shares: dict[str, MixShare] = {}
    for key, s in shares_in.items():
        if not isinstance(s, dict):
            raise bad(f"shares.{key}", "expected an object")
        values: list[int] = []
        for name in ("requests", "input_tokens", "output_tokens"):
            v = s.get(name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                raise bad(f"shares.{key}.{name}", f"expected a non-negative integer, got {v!r}")
            values.append(v)
        shares[str(key)] = MixShare(values[0], values[1], values[2], 0.0, 0.0)
    requests = sum(s.requests for s in shares.values())
    tokens = sum(s.input_tokens + s.output_tokens for s in shares.values())
    if requests == 0:
        raise bad("shares", "no requests")
    # shares are recomputed from the counts, so a hand-edited file can't make them disagree
    shares = {k: replace(s, request_share=s.requests / requests,
                         token_share=(s.input_tokens + s.output_tokens) / tokens if tokens else 0.0)
              for k, s in shares.items()}  # fmt: skip
    per_month = data.get("requests_per_month")
    if per_month is not None and (not isinstance(per_month, int) or isinstance(per_month, bool) or per_month < 0):
        raise bad("requests_per_month", f"expected a non-negative integer or null, got {per_month!r}")
    window: dict[str, Any] = data["window"] if isinstance(data.get("window"), dict) else {}
    by = data.get("by", "category")
    if by not in MIX_BY:
        raise bad("by", f"expected one of {', '.join(MIX_BY)}, got {by!r}")
    sources = data.get("sources", [])
    return Mix(str(by), [str(s) for s in sources] if isinstance(sources, list) else [],
               window.get("start"), window.get("end"), requests, per_month, shares, str(p))  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Weighting a check


def _categories(m: Measurement, model: str) -> set[str]:
    cats = {c for (mm, c), _ in m.groups.items() if mm == model and c != "*"}
    if not cats and model in m.prompt_rows:  # one category: measure() kept only the overall row
        cats = {r.category for r in m.prompt_rows[model].values()}
    return cats


def _weighted(parts: list[tuple[float, Interval | None]]) -> Interval | None:
    from llmaudit.analysis.gate.statistics import Interval

    if any(iv is None for _, iv in parts):
        return None

    def bound(name: str) -> float | None:
        values = [getattr(iv, name) for _, iv in parts]
        if any(v is None for v in values):
            return None
        return math.fsum(w * v for (w, _), v in zip(parts, values, strict=True))

    value = bound("value")
    assert value is not None
    return Interval(value, bound("lo"), bound("hi"))


def _group_for(m: Measurement, model: str, category: str, single: bool) -> GroupMetrics | None:
    return m.group(model, "*") if single else m.group(model, category)


def _reweigh(m: Measurement, model: str, weights: dict[str, float]) -> GroupMetrics:
    overall = m.group(model, "*")
    assert overall is not None
    single = len(_categories(m, model)) == 1
    groups = [(w, _group_for(m, model, c, single)) for c, w in weights.items()]
    return replace(
        overall,
        input_tokens=_weighted([(w, g.input_tokens if g else None) for w, g in groups]),
        output_tokens=_weighted([(w, g.output_tokens if g else None) for w, g in groups]),
        cost_per_request=_weighted([(w, g.cost_per_request if g else None) for w, g in groups]),
    )


def apply_mix(baseline: Measurement, current: Measurement, mix: Mix) -> tuple[Measurement, Measurement, list[str]]:
    """Both measurements with each model's all-prompts tokens and cost weighted by ``mix``, and
    notes saying which mix was used and what share of the traffic the prompt set covers."""
    notes = [f"traffic mix {mix.describe()}: each model's all-prompts tokens, cost/request and cost/month "
             "are weighted by its request shares, not by prompt count"]  # fmt: skip
    base_groups, cur_groups = dict(baseline.groups), dict(current.groups)
    matched = False
    for model in sorted(set(baseline.models) & set(current.models)):
        cats = _categories(baseline, model) & _categories(current, model) & set(mix.shares)
        covered = math.fsum(mix.shares[c].request_share for c in cats)
        if not cats or covered == 0:
            notes.append(f"{model}: no prompt category of the mix was measured on both sides; left unweighted")
            continue
        matched = True
        weights = {c: mix.shares[c].request_share / covered for c in sorted(cats)}
        base_groups[(model, "*")] = _reweigh(baseline, model, weights)
        cur_groups[(model, "*")] = _reweigh(current, model, weights)
        if covered < 0.999:
            left = sorted(set(mix.shares) - cats, key=lambda c: -mix.shares[c].requests)
            notes.append(f"{model}: the prompt set covers {covered:.0%} of the traffic; no prompts for "
                         f"{', '.join(left[:5])}{' …' if len(left) > 5 else ''}")  # fmt: skip
    if not matched:
        measured = sorted({c for m in current.models for c in _categories(current, m)})
        raise UsageError(
            f"{mix.path or 'the mix'}: none of its {mix.by} keys ({', '.join(sorted(mix.shares)[:8])}) is a "
            f"prompt category of this check ({', '.join(measured[:8])}); tag production requests category:NAME "
            "with the names the prompt set uses"
        )
    return replace(baseline, groups=base_groups), replace(current, groups=cur_groups), notes
