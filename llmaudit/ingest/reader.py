"""The reader interface: a name, a sniff test on the first bytes, and a read function."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pyarrow as pa

from llmaudit.ingest.source import Source
from llmaudit.ingest.summary import ReadContext

__all__ = ["Reader"]


@dataclass(frozen=True)
class Reader:
    """One log format.

    ``sniff(head, path)`` looks at the first 64 KiB (decompressed) and the path; ``read(source,
    ctx)`` yields Arrow tables conforming to ``USAGE_SCHEMA`` and reports rejects and skips to
    ``ctx``. ``needs_mapping`` readers are only chosen when a column mapping is given.
    """

    name: str
    description: str
    sniff: Callable[[bytes, str], bool]
    read: Callable[[Source, ReadContext], Iterator[pa.Table]]
    needs_mapping: bool = False
