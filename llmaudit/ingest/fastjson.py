"""Vectorized JSONL reading for the high-volume request logs (placeholder: per-line path)."""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa

from llmaudit.ingest.lines import Normalize, read_json_records
from llmaudit.ingest.source import Source
from llmaudit.ingest.summary import ReadContext

__all__ = ["read_openai"]


def read_openai(source: Source, ctx: ReadContext, normalize: Normalize) -> Iterator[pa.Table]:
    yield from read_json_records(source, ctx, normalize)
