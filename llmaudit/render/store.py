"""`store status` as plain lines (stdout)."""

from __future__ import annotations

from llmaudit.ingest.store import StoreStatus
from llmaudit.render.formats import count

__all__ = ["render_status"]


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:,} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


def render_status(status: StoreStatus) -> str:
    lines = [
        f"store        {status.root}",
        f"files        {count(status.files)}"
        + (f" ({count(status.missing)} no longer on disk, kept)" if status.missing else ""),
        f"rows         {count(status.rows)}",
        *([f"stale        {count(status.stale)} files stored by another version of llmaudit (read again on "
           "next use)"] if status.stale else []),
        f"answers      {count(status.answers)} report{'' if status.answers == 1 else 's'} remembered (the same "
        "question of unchanged logs is answered without reading them)",
        f"on disk      {_size(status.bytes_on_disk)}",
        *([f"problem      {status.problem}"] if status.problem else []),
    ]
    for reader, n in status.readers.items():
        lines.append(f"  {reader:<11} {count(n)} file{'' if n == 1 else 's'}")
    return "\n".join(lines)
