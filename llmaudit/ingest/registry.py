"""All readers by name, and the order in which ``--format auto`` tries them.

Order matters where formats overlap: specific shapes (Claude Code lines, OpenAI Batch lines, API
report pages, gateway exports) are tried before the generic response-object readers.
"""

from __future__ import annotations

from collections.abc import Callable

from llmaudit.ingest.reader import Reader
from llmaudit.ingest.readers import (
    anthropic,
    claude_code,
    codex,
    gateways,
    gemini,
    gemini_cli,
    generic,
    openai,
    openai_api,
    opencode,
    parquet,
)
from llmaudit.ingest.source import VANISHED, Source, VanishedError

__all__ = ["READERS", "SNIFF_ORDER", "UNKNOWN_FORMAT", "sniff", "sniff_file"]

UNKNOWN_FORMAT = "not a known log format"   # why a file no reader recognised is not read

_ALL = [
    Reader("openai", "OpenAI Chat Completions / Responses request log (JSONL, bare or wrapped)",
           openai.sniff, openai.read, appendable=True),
    Reader("openai-batch", "OpenAI Batch output / error file (JSONL; batch rates)",
           openai_api.sniff_batch, openai_api.read_batch),
    Reader("openai-usage", "OpenAI Usage API completions buckets (JSON pages)",
           openai_api.sniff_usage, openai_api.read_usage),
    Reader("openai-costs", "OpenAI Costs API buckets (JSON pages; money, no tokens)",
           openai_api.sniff_costs, openai_api.read_costs),
    Reader("anthropic", "Anthropic Messages request log (JSONL, wrapped with a timestamp)",
           anthropic.sniff_messages, anthropic.read_messages, appendable=True),
    Reader("anthropic-usage", "Anthropic Admin API usage_report/messages (JSON pages)",
           anthropic.sniff_usage, anthropic.read_usage),
    Reader("anthropic-cost", "Anthropic Admin API cost_report (JSON pages; cents; money, no tokens)",
           anthropic.sniff_cost, anthropic.read_cost),
    Reader("gemini", "Gemini generateContent response log (JSONL, usageMetadata)",
           gemini.sniff, gemini.read, appendable=True),
    Reader("claude-code", "Claude Code transcripts (~/.claude/projects/**/*.jsonl)",
           claude_code.sniff, claude_code.read, read_many=claude_code.read_many,
           appendable=True),
    Reader("codex", "OpenAI Codex CLI session logs (~/.codex/sessions/**/rollout-*.jsonl)",
           codex.sniff, codex.read),
    Reader("opencode", "OpenCode message files (~/.local/share/opencode/storage/message/**/msg_*.json)",
           opencode.sniff, opencode.read),
    Reader("gemini-cli", "Gemini CLI chat recordings (~/.gemini/tmp/*/chats/session-*.json)",
           gemini_cli.sniff, gemini_cli.read),
    Reader("openrouter", "OpenRouter activity export (CSV)",
           gateways.sniff_openrouter, gateways.read_openrouter),
    Reader("openrouter-generation", "OpenRouter GET /api/v1/generation answers (JSON or JSONL)",
           gateways.sniff_openrouter_generation, gateways.read_openrouter_generation),
    Reader("litellm", "LiteLLM proxy SpendLogs dump (CSV or JSON)",
           gateways.sniff_litellm, gateways.read_litellm),
    Reader("langfuse", "Langfuse observations / generations export (JSON or JSONL)",
           gateways.sniff_langfuse, gateways.read_langfuse),
    Reader("helicone", "Helicone request export (JSONL, JSON or CSV)",
           gateways.sniff_helicone, gateways.read_helicone),
    Reader("portkey", "Portkey logs export (JSONL, JSON or CSV)",
           gateways.sniff_portkey, gateways.read_portkey),
    Reader("generic", "any CSV or JSONL with a column mapping (--map input_tokens=COL,...)",
           generic.sniff, generic.read, needs_mapping=True),
    Reader("parquet", "llmaudit's own Parquet (ingest --out)",
           parquet.sniff, parquet.read),
]

READERS: dict[str, Reader] = {r.name: r for r in _ALL}

SNIFF_ORDER = [
    "parquet",
    "claude-code",
    "codex",
    "opencode",
    "gemini-cli",
    "openrouter",
    "openrouter-generation",
    "litellm",
    "helicone",
    "portkey",
    "langfuse",
    "openai-batch",
    "openai-usage",
    "openai-costs",
    "anthropic-cost",
    "anthropic-usage",
    "gemini",
    "anthropic",
    "openai",
]


def sniff(head: bytes, path: str, *, mapping: bool = False) -> Reader | None:
    """The reader that recognises ``head`` (first bytes) / ``path``, or None. The scan sniffs here,
    and so does a worker process for the files it was handed unsniffed (``ingest.pool``)."""
    from llmaudit.ingest.rows import SHAPE_ERRORS

    if mapping:
        return READERS["generic"]
    for name in SNIFF_ORDER:
        reader = READERS[name]
        try:
            if reader.sniff(head, path):
                return reader
        except SHAPE_ERRORS:
            continue   # a first record too odd for this reader's test: not recognised by it
    return None


def sniff_file(source: Source, *, mapping: bool = False, forced: Reader | None = None,
               progress: Callable[[int], None] | None = None) -> tuple[Reader | None, str | None]:
    """Read ``source``'s head and pick its reader (``forced``: the one the user named):
    ``(reader, None)``; ``(None, None)`` for a file with nothing but blanks in it (listed as empty);
    ``(None, why)`` for one that is not read (no reader recognised it, or it was deleted since it
    was listed). An unreadable file raises."""
    try:
        source.prepare(progress)
    except VanishedError:   # listed a moment ago, gone now: said, and the rest is read
        return None, VANISHED
    if source.blank:
        return None, None
    if forced is not None:
        return forced, None
    reader = sniff(source.head, source.path, mapping=mapping)
    if reader is None:
        # Left out and listed; the other files are still read (a folder of transcripts may hold
        # files of other shapes).
        source.close()
        return None, UNKNOWN_FORMAT
    return reader, None
