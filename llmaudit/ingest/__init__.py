"""Log readers: many usage-log formats in, one normalized Arrow schema out.

    from llmaudit.ingest import scan
    s = scan(["logs/"], fmt="auto")
    for table in s.batches():        # USAGE_SCHEMA tables, cost_usd null, price_status "unpriced"
        ...
    s.summary.files                  # per file: reader, rows read/kept/rejected, duplicates, skipped
    s.summary.rejects                # Reject(path, line, reason, raw)

See ``scan`` for inputs and ``registry.READERS`` for the formats.
"""

from __future__ import annotations

from llmaudit.errors import UnknownFormatError
from llmaudit.ingest.reader import Reader
from llmaudit.ingest.registry import READERS
from llmaudit.ingest.scan import Scan, scan, sniff
from llmaudit.ingest.summary import Duplicate, FileSummary, IngestSummary, Reject

__all__ = [
    "READERS",
    "Duplicate",
    "FileSummary",
    "IngestSummary",
    "Reader",
    "Reject",
    "Scan",
    "UnknownFormatError",
    "scan",
    "sniff",
]
