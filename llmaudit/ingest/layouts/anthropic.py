"""Anthropic's Messages response and its ``usage`` object (formats.md A3); the usage object is
shared by every reader of Anthropic usage (Messages logs, Claude Code, the usage report).

Anthropic's ``input_tokens`` is the UNCACHED input only: "total input tokens in a request is the
summation of ``input_tokens``, ``cache_creation_input_tokens``, and ``cache_read_input_tokens``".
The schema counts all prompt tokens in ``input_tokens``, so reads and writes are added in.
``cache_creation_input_tokens`` is all writes; where a source gives only the TTL split
(``cache_creation.ephemeral_5m_input_tokens`` / ``ephemeral_1h_input_tokens``) their sum is. The
1-hour writes are a subset of the writes; ``output_tokens`` already includes thinking
(``output_tokens_details.thinking_tokens``). Each ``server_tool_use.web_search_requests`` is a
billed search.

``usage.iterations``: one usage object per sampling step of the request, each with a ``type``.

* ``compaction`` (server-side compaction, beta ``compact-2026-01-12``): "The top-level
  ``input_tokens`` and ``output_tokens`` do not include compaction iteration usage—they reflect the
  sum of all non-compaction iterations. To calculate total tokens consumed and billed for a
  request, sum across all entries in the ``usage.iterations`` array." The summary is written by
  the request's own model ("The model specified in your request is used for summarization").
  Source: https://platform.claude.com/docs/en/build-with-claude/compaction ("Understanding usage"),
  read from a stored copy of the page.
* ``advisor_message`` (the advisor tool, beta ``advisor-tool-2026-03-01``): "Advisor calls run as
  a separate sub-inference billed at the advisor model's rates. Usage is reported in
  ``usage.iterations[]``"; "Top-level ``usage`` reflects executor tokens only"; the iteration
  names the advisor ``model``. Source:
  https://platform.claude.com/docs/en/agents-and-tools/tool-use/advisor-tool ("Cost control"),
  read from stored copies.
* ``message``: the executor's own steps, already summed in the top-level counts: not added again.

So each compaction and each advisor iteration is a row of its own (``layout.Split``), tagged
``compaction`` / ``advisor``, for the request's model / the advisor's, with ``requests`` 0 (it ran
inside the record's request): added to the record's tokens instead, a compaction step's prompt
(often near the context limit) would push the record's row past a long-context threshold that no
single sampling step crossed. Real bodies of both shapes (pydantic-ai cassettes in genai-prices'
dataset, tests/ingest/corpora) agree: the top level equals the sum of the ``message`` iterations.
"""

from __future__ import annotations

import pyarrow as pa

from llmaudit.ingest.layout import Const, Count, First, Record, Spelling, Split, Text, Total, Usage, UsageLayout

__all__ = ["ANTHROPIC_MESSAGE", "ANTHROPIC_USAGE"]

_READ = Count("cache_read_input_tokens")
_WRITE_1H = Count("cache_creation", "ephemeral_1h_input_tokens")
_WRITE = First(Count("cache_creation_input_tokens"),
               Total(Count("cache_creation", "ephemeral_5m_input_tokens"), _WRITE_1H))
_ITERATIONS = ("iterations",)


def _layout(splits: tuple[Split, ...] = ()) -> UsageLayout:
    return UsageLayout(
        spellings=(
            Spelling(
                "messages",
                when=("input_tokens", "output_tokens"),
                columns={
                    "input_tokens": Total(Count("input_tokens"), _READ, _WRITE),
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
        splits=splits,
    )


_ITERATION = _layout()   # an iteration is a usage object itself (without iterations)
ANTHROPIC_USAGE = _layout((
    Split(_ITERATIONS, "type", "compaction", _ITERATION, "compaction", model=None),
    Split(_ITERATIONS, "type", "advisor_message", _ITERATION, "advisor"),
))

# A Messages API response object (a request log wraps it: ``envelope``; its time comes from there).
ANTHROPIC_MESSAGE = Record({
    "model_raw": Text("model", required="model is missing"),
    "usage": Usage(("usage",), ANTHROPIC_USAGE),
    "request_id": Text("id"),
    # As written; rows.finish_table spells them (and sets batch) for every reader.
    "service_tier": Text("usage", "service_tier"),
    "speed": Text("usage", "speed"),
    "inference_geo": Text("usage", "inference_geo"),
    "requests": Const(1, pa.int64()),
})
