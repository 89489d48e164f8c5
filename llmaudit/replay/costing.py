"""Pricing a replay request: exact Decimal cost from the catalog, or None with the reason.

Also the up-front estimate of a request (before it is sent) that ``--dry-run``, ``--max-cost``
and ``check --estimate`` use: its prompt tokens counted offline and its output assumed to be the
prompt's ``max_tokens``, or a default when it has none (the output source is always recorded).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from llmaudit.pricing import Catalog, cost_breakdown
from llmaudit.replay.prompts import Prompt
from llmaudit.tokens import count_messages
from llmaudit.usage import Usage

__all__ = ["DEFAULT_OUTPUT_TOKENS", "RequestEstimate", "estimate_request", "price_usage"]

# Output assumed for a prompt without max_tokens. Chat answers to benchmark prompts are mostly
# well under this; the report says when this default was used.
DEFAULT_OUTPUT_TOKENS = 256
# An inexact prompt count (non-OpenAI tokenizer) is padded before it is held against --max-cost.
INEXACT_MARGIN = Decimal("1.25")


def price_usage(catalog: Catalog, model: str, usage: Usage) -> tuple[Decimal | None, str]:
    """(cost, price_status) for one request's token counts; cost None when unknown (never 0)."""
    result = cost_breakdown(catalog, model, usage)
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
    cost, status = price_usage(catalog, price_id or model, Usage(counted.tokens, out_tokens))
    return RequestEstimate(counted.tokens, counted.exact and exact_tokenizer, out_tokens, source, cost, status)
