"""Property: on any model and day of the shipped catalog, cost never falls when a token count rises.

Raising one billable quantity (uncached input, cache reads, cache writes, output, reasoning, web
searches) keeps or raises the cost; raising a prompt past a long-context threshold reprices the
whole request at the tier, which must not be cheaper. Unknown stays unknown."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from llmaudit.pricing import Usage, cost_breakdown, load_catalog

CATALOG = load_catalog(overlay=False)
IDS = sorted(e.id for e in CATALOG.entries)
KINDS = ("input", "cache_read", "cache_write", "output", "reasoning", "web_search")


def _grow(u: Usage, kind: str, k: int) -> Usage:
    fields = dict(vars(u))
    if kind in ("input", "cache_read", "cache_write"):
        fields["input_tokens"] += k  # cached tokens are part of the prompt
        if kind != "input":
            fields[f"{kind}_tokens"] += k
    elif kind in ("output", "reasoning"):
        fields["output_tokens"] += k
        if kind == "reasoning":
            fields["reasoning_tokens"] += k
    else:
        fields["web_search_requests"] += k
    return Usage(**fields)


@settings(max_examples=400, deadline=None)
@given(model=st.sampled_from(IDS), day=st.integers(0, 1100), batch=st.booleans(),
       base=st.tuples(*(st.integers(0, 400_000) for _ in range(3)), st.integers(0, 50_000), st.integers(0, 3)),
       kind=st.sampled_from(KINDS), k=st.integers(1, 300_000))
def test_cost_never_falls_when_a_token_count_rises(model: str, day: int, batch: bool, base: tuple[int, ...],
                                                   kind: str, k: int) -> None:
    uncached, cache_read, cache_write, output, searches = base
    usage = Usage(input_tokens=uncached + cache_read + cache_write, output_tokens=output,
                  cache_read_tokens=cache_read, cache_write_tokens=cache_write, reasoning_tokens=output // 2,
                  web_search_requests=searches)
    at = date(2024, 1, 1) + timedelta(days=day)
    before = cost_breakdown(CATALOG, model, usage, at=at, batch=batch)
    after = cost_breakdown(CATALOG, model, _grow(usage, kind, k), at=at, batch=batch)
    if before.total is None or after.total is None:
        return  # unknown is never a number; nothing to compare
    assert after.total >= before.total - Decimal("1e-18"), (model, at, kind, before.total, after.total)
