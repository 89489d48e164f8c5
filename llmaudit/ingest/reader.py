"""The reader interface: a name, a sniff test on the first bytes, and a read function.

A reader may also read several files in one call (``read_many``): a corpus of hundreds of small
files then pays a parser call's fixed costs once per group instead of once per file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from llmaudit.ingest.source import Source
from llmaudit.ingest.summary import ReadContext

__all__ = ["ReadMany", "Reader"]

Read = Callable[[Source, ReadContext], Iterator[pa.Table]]
# items → (table, item index of each row): rows ascending by item, in the order (and with the
# accounting in each item's context) that ``read`` on each item in turn would give.
ReadMany = Callable[[list[tuple[Source, ReadContext]]], Iterator[tuple[pa.Table, np.ndarray]]]


@dataclass(frozen=True)
class Reader:
    """One log format.

    ``sniff(head, path)`` looks at the first 64 KiB (decompressed) and the path; ``read(source,
    ctx)`` yields Arrow tables conforming to ``USAGE_SCHEMA`` and reports rejects and skips to
    ``ctx``. ``needs_mapping`` readers are only chosen when a column mapping is given.
    ``read_many``, when set, reads a run of consecutive files of this format in one call.
    ``appendable`` readers read each line on its own (no state carried from line to line), so the
    store can read only what was appended to a JSONL file since it last read it.
    """

    name: str
    description: str
    sniff: Callable[[bytes, str], bool]
    read: Read
    needs_mapping: bool = False
    read_many: ReadMany | None = None
    appendable: bool = False
