"""What an ingest read (per file: reader, rows read / kept / rejected, duplicates, skipped), on
stderr: stdout stays data. The progress bar for long reads is ``render.progress.ReadProgress``.
"""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text

from llmaudit.render.formats import count
from llmaudit.render.progress import ReadProgress
from llmaudit.render.table import FitTable

__all__ = ["ReadProgress", "render_ingest_summary"]


def render_ingest_summary(summary: Any, *, unpriced: dict[tuple[str, str], int] | None = None,
                          out_path: str | None = None, rows_written: int | None = None) -> RenderableType:
    """The per-file table and the totals line (and, for ``ingest``, unpriced models and the output)."""
    table = FitTable("Ingest")
    table.add_column("File", fold=True)
    for name, just in (("Reader", "left"), ("Read", "right"), ("Kept", "right"),
                       ("Rejected", "right"), ("Duplicates", "right")):
        table.add_column(name, justify=just)  # type: ignore[arg-type]
    table.add_column("Skipped", justify="right", text=True)
    read = kept = rejected = dups = skipped = 0
    for f in summary.files:
        skipped_n = sum(f.skipped.values()) if getattr(f, "skipped", None) else 0
        why = ", ".join(f"{k} {v}" for k, v in sorted(f.skipped.items())) if skipped_n else ""
        reader = f"{f.reader} (stored; deleted since)" if getattr(f, "archived", False) else f.reader
        table.add_row(f.path, reader, count(f.rows_read), count(f.rows_kept), count(f.rows_rejected),
                      count(f.duplicates), f"{count(skipped_n)}" + (f"\n({why})" if why else ""))
        read += f.rows_read
        kept += f.rows_kept
        rejected += f.rows_rejected
        dups += f.duplicates
        skipped += skipped_n
    if len(summary.files) > 1:
        table.add_row("total", "", count(read), count(kept), count(rejected), count(dups), count(skipped),
                      style="bold")
    parts: list[RenderableType] = [table]
    for f in summary.files:
        if getattr(f, "not_read", None):
            parts.append(Text(f"not read {f.path}: {f.not_read} (name its format to read it as one)",
                              style="yellow"))
    for r in list(getattr(summary, "rejects", []))[:5]:
        where = f"{r.path}:{r.line}" if r.line is not None else r.path
        parts.append(Text(f"rejected {where}: {r.reason}", style="yellow"))
    if rejected > 5:
        parts.append(Text(f"… {count(rejected - 5)} more rejects (write them all with --rejects FILE.jsonl)",
                          style="dim"))
    if unpriced:
        total = sum(unpriced.values())
        models = ", ".join(f"{m} ({s.replace('_', ' ')}, {count(n)})" for (m, s), n in
                           sorted(unpriced.items(), key=lambda kv: -kv[1]))
        parts.append(Text(f"{count(total)} rows unpriced: {models}", style="yellow"))
    if out_path is not None:
        parts.append(Text(f"wrote {count(rows_written or 0)} priced rows to {out_path}", style="green"))
    return Group(*parts)
