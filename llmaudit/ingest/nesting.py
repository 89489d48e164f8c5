"""Records nested too deep for a JSON parser, cut out of a document so the rest of it can be read.

orjson refuses nesting past 1024 levels and Python's parser stops at its recursion limit, so one
record nested 10,000 deep made a whole export unreadable. ``cut_deep_records`` finds such records
with a flat scan (strings skipped, brackets counted, no recursion) and takes them out of the text:
each becomes one reject, and the document, now shallow enough, is parsed as usual.

The records of a document are the elements of a top-level array (``[rec, rec, ...]``) or of an
array that is a member of a top-level object (``{"data": [rec, ...]}``, API pages). Nesting too
deep anywhere else leaves nothing to cut: the caller rejects the document as a whole.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["MAX_DEPTH", "DeepRecord", "cut_deep_records"]

# Deeper than this (counted from the document's top) is cut, when the document cannot be read
# otherwise: well within what Python's parser (the fallback for NaN and the like) can read.
MAX_DEPTH = 512

# A string (escapes included) is skipped whole; brackets and commas are the structure.
_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{},]')


@dataclass(frozen=True)
class DeepRecord:
    """A record cut out: ``index`` is its 1-based position in a top-level array, or None for a
    record of a page (its page is the document); ``raw`` is its first bytes."""

    index: int | None
    member: int
    raw: bytes

    @property
    def reason(self) -> str:
        where = "" if self.index is not None else f"data[{self.member}]: "
        return f"{where}nested deeper than {MAX_DEPTH} levels; not read"


def cut_deep_records(data: bytes) -> tuple[bytes, list[DeepRecord]] | None:
    """``(data without its too-deep records, the records cut)``; None when the too-deep nesting is
    not inside a record (or nothing is too deep: the document fails for another reason)."""
    body = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if body[:1] not in (b"[", b"{"):
        return None
    stack: list[int] = []           # ord("[") / ord("{") of each open container
    members: list[int] = []         # elements seen so far in each open container
    start = -1                      # where the record being scanned began
    deep = False
    spans: list[tuple[int, int, DeepRecord]] = []
    for m in _TOKENS.finditer(body):
        ch = body[m.start()]
        if ch == 0x22:   # '"'
            continue
        if ch == 0x2C:   # ','
            if members:
                members[-1] += 1
            continue
        if ch in (0x5B, 0x7B):   # '[' '{'
            stack.append(ch)
            members.append(0)
            if _record_level(stack):
                start, deep = m.start(), False
            if len(stack) > MAX_DEPTH:
                if start < 0:
                    return None
                deep = True
            continue
        if not stack:  # a closer with nothing open: malformed, and not a nesting problem to cut
            return None
        if _record_level(stack) and start >= 0:
            if deep:
                index = members[-2] + 1 if stack[0] == 0x5B else None
                spans.append((start, m.end(), DeepRecord(index, members[-2], body[start:start + 200])))
            start = -1
        stack.pop()
        members.pop()
    if not spans:
        return None
    return _without(body, spans), [record for _, _, record in spans]


def _record_level(stack: list[int]) -> bool:
    """The container just opened (top of ``stack``) is a record: an element of the top-level array,
    or of an array member of the top-level object."""
    if stack[0] == 0x5B:
        return len(stack) == 2
    return len(stack) == 3 and stack[1] == 0x5B


def _without(body: bytes, spans: list[tuple[int, int, DeepRecord]]) -> bytes:
    """``body`` with each span replaced by ``null`` for an array's records (their positions are their
    line numbers) or removed with its comma for a page's records."""
    parts: list[bytes] = []
    at = 0
    for start, end, record in spans:
        if record.index is not None:
            parts += [body[at:start], b"null"]
            at = end
            continue
        after = end
        while after < len(body) and body[after] in b" \t\r\n":
            after += 1
        if after < len(body) and body[after] == 0x2C:
            parts.append(body[at:start])
            at = after + 1
            continue
        before = start
        while before > at and body[before - 1] in b" \t\r\n":
            before -= 1
        if before > at and body[before - 1] == 0x2C:
            before -= 1
        parts.append(body[at:before])
        at = end
    parts.append(body[at:])
    return b"".join(parts)
