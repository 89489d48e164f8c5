"""Log readers: many usage-log formats in, one normalized Arrow schema out.

    from llmaudit.ingest import scan
    s = scan(["logs/"], fmt="auto")
    for table in s.batches():        # USAGE_SCHEMA tables, cost_usd null, price_status "unpriced"
        ...
    s.summary.files                  # per file: reader, rows read/kept/rejected, duplicates, skipped
    s.summary.rejects                # Reject(path, line, reason, raw)

See ``scan`` for inputs and ``registry.READERS`` for the formats.

The names below are imported when first used: importing a submodule (``ingest.answers``, which
answers a repeated report without reading anything) does not import the readers and pyarrow.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_WHERE = {"READERS": "llmaudit.ingest.registry", "Duplicate": "llmaudit.ingest.summary",
          "FileSummary": "llmaudit.ingest.summary", "IngestSummary": "llmaudit.ingest.summary",
          "Reader": "llmaudit.ingest.reader", "Reject": "llmaudit.ingest.summary", "Scan": "llmaudit.ingest.scan",
          "UnknownFormatError": "llmaudit.errors", "scan": "llmaudit.ingest.scan", "sniff": "llmaudit.ingest.scan"}


class _Package(types.ModuleType):
    def __setattr__(self, name: str, value: Any) -> None:
        # Importing the submodule ``ingest.scan`` binds it here as ``scan``, over the function of
        # that name this package exports: the function stays.
        if name in _WHERE and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'llmaudit.ingest' has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name]), name)
    globals()[name] = value
    return value
