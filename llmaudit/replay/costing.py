"""Pricing a replay request: exact Decimal cost from the catalog, or None with the reason.

Also the up-front estimate of a request (before it is sent) that ``--dry-run``, ``--max-cost``
and ``check --estimate`` use: its prompt tokens counted offline and its output assumed to be the
prompt's ``max_tokens``, or a default when it has none (the output source is always recorded).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from llmaudit.pricing import Catalog, Usage, cost_breakdown
from llmaudit.replay.prompts import Prompt
from llmaudit.tokens import count_messages

__all__ = ["DEFAULT_OUTPUT_TOKENS", "RequestEstimate", "estimate_request", "price_usage"]

# Output assumed for a prompt without max_tokens. Chat answers to benchmark prompts are mostly
# well under this; the report says when this default was used.
DEFAULT_OUTPUT_TOKENS = 256
# An inexact prompt count (non-OpenAI tokenizer) is padded before it is held against --max-cost.
INEXACT_MARGIN = Decimal("1.25")


def price_usage(catalog: Catalog, model: str, usage: dict[str, Any]) -> tuple[Decimal | None, str]:
    """(cost, price_status) for one request's token counts; cost None when unknown (never 0)."""
    result = cost_breakdown(
        catalog,
        model,
        Usage(
            input_tokens=int(usage.get("input_tokens") or 0),
            output_tokens=int(usage.get("output_tokens") or 0),
            cache_read_tokens=int(usage.get("cache_read_tokens") or 0),
            cache_write_tokens=int(usage.get("cache_write_tokens") or 0),
            cache_write_1h_tokens=int(usage.get("cache_write_1h_tokens") or 0),
            reasoning_tokens=int(usage.get("reasoning_tokens") or 0),
            web_search_requests=int(usage.get("web_search_requests") or 0),
        ),
    )
    return result.total, result.status


@dataclass(frozen=True)
class RequestEstimate:
    input_tokens: int
    input_exact: bool
    output_tokens: int
    output_source: str  # "max_tokens" | "default"
    cost_usd: Decimal | None
    price_status: str

    @property
    def budget_usd(self) -> Decimal | None:
        """An upper bound to hold against --max-cost: inexact prompt counts are padded."""
        if self.cost_usd is None:
            return None
        return self.cost_usd if self.input_exact else self.cost_usd * INEXACT_MARGIN


def estimate_request(
    prompt: Prompt,
    model: str,
    catalog: Catalog,
    *,
    default_output_tokens: int = DEFAULT_OUTPUT_TOKENS,
    price_id: str | None = None,
    exact_tokenizer: bool = True,
) -> RequestEstimate:
    """``price_id`` is the catalog name to price (a sim model's mirror); ``exact_tokenizer=False``
    when the server does not count with the real tokenizer (sim), so even an exact count is padded."""
    counted = count_messages(prompt.messages, price_id or model)
    if prompt.max_tokens is not None:
        out_tokens, source = prompt.max_tokens, "max_tokens"
    else:
        out_tokens, source = default_output_tokens, "default"
    usage = {"input_tokens": counted.tokens, "output_tokens": out_tokens}
    cost, status = price_usage(catalog, price_id or model, usage)
    return RequestEstimate(counted.tokens, counted.exact and exact_tokenizer, out_tokens, source, cost, status)
