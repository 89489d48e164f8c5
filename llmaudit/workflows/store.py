"""``llmaudit store status|clear``: the local store of logs already read ($LLMAUDIT_HOME/store)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from llmaudit.ingest.store import StoreStatus

__all__ = ["Cleared", "clear_store", "store_status"]


def store_status() -> StoreStatus:
    """Where the store is, how many files and rows it holds, and how many of those files are gone."""
    from llmaudit.ingest.store import open_store

    return open_store().status()


@dataclass(frozen=True)
class Cleared:
    root: str
    files: int  # files the store held


def clear_store() -> Cleared:
    """Remove everything the store holds; the next read parses every file again."""
    from llmaudit.ingest.store import open_store

    store = open_store()
    files = store.clear()
    return Cleared(str(store.root), files)
