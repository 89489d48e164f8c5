"""The raw text of rejected lines, fetched back from their file for the vectorized read paths.

The per-line readers reject a record with the line they were holding. The vectorized paths (the
OpenAI fast path, Claude Code transcripts read many files per parse) only learn that a row is
invalid from the table they built (``validation.reject_invalid``), when the line's bytes are gone;
a rejects file that showed the normalized row instead of the line would not let a user find and
fix it. So the lines are read again from the file, forward from where the previous lookup for the
same file stopped (batches arrive in line order, so a large file is read about once in all).

Only what can be re-read is: a regular file (plain or gzip), not stdin. A line that does not read
back as a JSON object (a CSV record, a file changed since) is not trusted: the caller keeps the
row it has.
"""

from __future__ import annotations

import gzip
import os
from typing import IO, cast

import orjson

__all__ = ["LineCursor"]


class LineCursor:
    """Physical lines of one file by number (1-based), read forward across calls."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._line = 0      # lines consumed so far
        self._offset = 0    # byte offset after them (plain files: where to seek to resume)

    def fetch(self, numbers: list[int]) -> dict[int, bytes]:
        """The JSON-object lines among ``numbers`` (any order), by number; missing ones are left out."""
        wanted = sorted({n for n in numbers if n > 0})
        if not wanted or self.path == "-" or not os.path.isfile(self.path):
            return {}
        try:
            return self._read(wanted)
        except (OSError, EOFError, gzip.BadGzipFile):
            return {}

    def _open(self) -> tuple[IO[bytes], bool]:
        fh = open(self.path, "rb")   # closed by the caller
        if fh.read(2) == b"\x1f\x8b":
            fh.close()
            return cast(IO[bytes], gzip.open(self.path, "rb")), True
        fh.seek(0)
        return fh, False

    def _read(self, wanted: list[int]) -> dict[int, bytes]:
        fh, compressed = self._open()
        with fh:
            if compressed or wanted[0] <= self._line:
                self._line, self._offset = 0, 0   # behind us (or no seeking in gzip): from the start
            else:
                fh.seek(self._offset)
            found: dict[int, bytes] = {}
            targets = iter(wanted)
            target = next(targets)
            for raw in fh:
                self._line += 1
                self._offset += len(raw)
                if self._line == target:
                    if _is_object(raw):
                        found[target] = raw
                    nxt = next(targets, None)
                    if nxt is None:
                        break
                    target = nxt
            if compressed:
                self._line, self._offset = 0, 0
            return found


def _is_object(raw: bytes) -> bool:
    try:
        return isinstance(orjson.loads(raw), dict)
    except orjson.JSONDecodeError:
        return False
