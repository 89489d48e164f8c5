"""Anthropic's Messages ``usage`` object (formats.md A3), shared by every reader of Anthropic usage.

Anthropic's ``input_tokens`` is the UNCACHED input only: "total input tokens in a request is the
summation of ``input_tokens``, ``cache_creation_input_tokens``, and ``cache_read_input_tokens``".
The schema counts all prompt tokens in ``input_tokens``, so reads and writes are added in.
``cache_creation_input_tokens`` is all writes; where a source gives only the TTL split
(``cache_creation.ephemeral_5m_input_tokens`` / ``ephemeral_1h_input_tokens``) their sum is. The
1-hour writes are a subset of the writes; ``output_tokens`` already includes thinking
(``output_tokens_details.thinking_tokens``). Each ``server_tool_use.web_search_requests`` is a
billed search.
"""

from __future__ import annotations

from llmaudit.ingest.layout import Count, First, Spelling, Total, UsageLayout

__all__ = ["ANTHROPIC_USAGE"]

_UNCACHED = Count("input_tokens")
_READ = Count("cache_read_input_tokens")
_WRITE_5M = Count("cache_creation", "ephemeral_5m_input_tokens")
_WRITE_1H = Count("cache_creation", "ephemeral_1h_input_tokens")
_WRITE = First(Count("cache_creation_input_tokens"), Total(_WRITE_5M, _WRITE_1H))

ANTHROPIC_USAGE = UsageLayout(
    spellings=(
        Spelling(
            "messages",
            when=("input_tokens", "output_tokens"),
            columns={
                "input_tokens": Total(_UNCACHED, _READ, _WRITE),
                "cache_read_tokens": _READ,
                "cache_write_tokens": _WRITE,
                "cache_write_1h_tokens": _WRITE_1H,
                "output_tokens": Count("output_tokens"),
                "reasoning_tokens": Count("output_tokens_details", "thinking_tokens"),
                "web_search_requests": Count("server_tool_use", "web_search_requests"),
            },
        ),
    ),
    missing="no {where} object",
    neither="{where} has no input_tokens or output_tokens",
)
