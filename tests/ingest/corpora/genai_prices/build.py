"""Rebuild this folder from genai-prices' ``tests/dataset/usages.json`` (run from the repo root):

    git -C <genai-prices checkout> show HEAD:tests/dataset/usages.json > /tmp/usages.json
    python tests/ingest/corpora/genai_prices/build.py /tmp/usages.json

Each dataset entry's ``body`` (a real provider response body, reduced by genai-prices to the keys
its extractors read, plus ``file``: the pydantic-ai VCR cassette it came from) is written unchanged,
one a line, inside a request-log wrapper that adds the timestamp the body lacks::

    {"timestamp": "2026-08-21T12:00:00Z", "response": <body>}

Bodies are filed by API shape (``shape`` below), in dataset order.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TIMESTAMP = "2026-08-21T12:00:00Z"  # the genai-prices commit's date (ATTRIBUTION.md)


def shape(body: dict[str, Any]) -> str:
    if "usageMetadata" in body:
        return "gemini"
    usage = body.get("usage")
    if "meta" in body or (isinstance(usage, dict) and ("billed_units" in usage or "tokens" in usage)):
        return "cohere"
    assert isinstance(usage, dict), body
    if "inputTokens" in usage:
        return "bedrock_converse"
    if "cache_creation_input_tokens" in usage or "cache_read_input_tokens" in usage:
        return "anthropic_messages"
    if "prompt_tokens" in usage:
        return "openai_chat"
    if "input_tokens" in usage:
        return "openai_responses"
    raise AssertionError(f"unclassified body: {body}")


def main(usages: str) -> None:
    files: dict[str, list[str]] = {}
    for entry in json.loads(Path(usages).read_text()):
        body = entry["body"]
        line = json.dumps({"timestamp": TIMESTAMP, "response": body}, sort_keys=True, separators=(",", ":"))
        files.setdefault(shape(body), []).append(line)
    for name, lines in sorted(files.items()):
        (HERE / f"{name}.jsonl").write_text("\n".join(lines) + "\n")
        print(f"{name}.jsonl: {len(lines)} bodies")


if __name__ == "__main__":
    main(sys.argv[1])
