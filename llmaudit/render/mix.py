"""Terminal table of a traffic mix (``llmaudit mix``): one row per key, largest first."""

from __future__ import annotations

import json
from typing import Any

from llmaudit.analysis.gate.mix import Mix
from llmaudit.render.formats import count, pct

__all__ = ["mix_json", "render_mix_table"]


def mix_json(mix: Mix) -> str:
    """The mix file `check --mix` reads."""
    return json.dumps(mix.to_dict(), indent=2) + "\n"


def render_mix_table(mix: Mix) -> Any:
    from llmaudit.render.table import FitTable

    per_month = f", ~{count(mix.requests_per_month)} requests/month" if mix.requests_per_month else ""
    table = FitTable(f"Traffic mix by {mix.by} ({count(mix.requests)} requests{per_month})", box=None)
    table.add_column(mix.by)
    table.add_column("requests", justify="right")
    table.add_column("share", justify="right")
    table.add_column("token share", justify="right")
    for key, share in sorted(mix.shares.items(), key=lambda kv: (-kv[1].requests, kv[0])):
        table.add_row(key, count(share.requests), pct(share.request_share), pct(share.token_share))
    return table
