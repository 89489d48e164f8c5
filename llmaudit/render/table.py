"""Terminal tables that fit: numbers and names are never cut, whatever the terminal's width.

A :class:`FitTable` is declared like a rich ``Table`` (columns, then rows of strings) but decides
its layout when it is printed, from the console's width:

1. **table** — every column gets at least the width its cells need whole (a number column the
   width of its longest number, a name column the width of its longest name; free-text columns
   the width of their longest word) and headers wrap at spaces. Spare room is handed out so that
   headers and text cells sit on one line where they can.
2. **table without optional columns** — columns declared with ``hide=N`` are dropped, highest
   ``N`` first, until the rest fits; a note under the table names them and how to see them
   (``--wide``, or a machine format). Nothing is ever dropped silently.
3. **stacked** — when even that does not fit: one block per row, its name on a line of its own,
   then ``label  value`` lines. Every column is shown.

Rich's own table squeezes columns that do not fit and ends them with ``…``; this class never hands
rich a width it would have to squeeze. Rows whose cells hold several lines (a figure and, under
it, its range) keep them as separate lines in every layout.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from rich import box as boxes
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table
from rich.text import Text

__all__ = ["HIDDEN_HINT", "FitTable"]

Justify = Literal["left", "right", "center"]
Cell = str | Text

HIDDEN_HINT = "--wide or --format json|csv shows them"
# In a column that allows it (file paths), a word longer than this folds rather than widening the
# column past reason; elsewhere a word (a model name) is never broken.
_FOLD_AFTER = 32


@dataclass
class _Column:
    header: str
    justify: Justify
    text: bool  # free text that may wrap at spaces; otherwise every line of a cell stays whole
    fold: bool  # a very long word may break across lines (paths)
    hide: int | None
    min_width: int
    cells: list[Cell] = field(default_factory=list)

    def lines(self) -> Iterator[str]:
        for cell in self.cells:
            yield from _plain(cell).split("\n")

    def narrowest(self) -> int:
        header = max((cell_len(w) for w in self.header.split()), default=0)
        if self.text:
            words = (cell_len(w) for line in self.lines() for w in line.split())
            longest = max(words, default=0)
            body = min(longest, _FOLD_AFTER) if self.fold else longest
        else:
            body = max((cell_len(line) for line in self.lines()), default=0)
        return max(header, body, self.min_width, 1)

    def widest(self) -> int:
        header = max((cell_len(line) for line in self.header.split("\n")), default=0)
        return max(header, max((cell_len(line) for line in self.lines()), default=0), self.narrowest())


def _plain(cell: Cell) -> str:
    return cell.plain if isinstance(cell, Text) else cell


class FitTable:
    """A table that fits the console it is printed on, or says what it left out, or stacks.

    ``keys`` is how many leading columns name a row (they head each block when stacked). ``group``:
    when the names in the first column (``provider/model``) are too wide, each provider may be said
    once, on a row of its own, with its models under it (rows of one provider then sit together).
    """

    def __init__(self, title: str | Text | None = None, *, caption: str | None = None, keys: int = 1,
                 group: bool = False, box: boxes.Box | None = boxes.HEAVY_HEAD, pad_edge: bool = True,
                 collapse_padding: bool = False, show_header: bool = True, header_style: str = "table.header",
                 title_style: str = "bold") -> None:
        self.title = title
        self.caption = caption
        self.keys = keys
        self.group = group
        self._box = box
        self._pad_edge = pad_edge
        self._collapse_padding = collapse_padding
        self._show_header = show_header
        self._header_style = header_style
        self._title_style = title_style
        self.columns: list[_Column] = []
        self._styles: list[str | None] = []
        self.hidden: list[str] = []  # headers of the columns the last rendering left out (and named)
        self._shown: list[_Column] = self.columns  # what the last rendering showed (grouped names)

    def add_column(self, header: str, *, justify: Justify = "left", text: bool = False, fold: bool = False,
                   hide: int | None = None, min_width: int = 0) -> None:
        """``text``: free text that may wrap between words; ``fold``: text whose very long words (file
        paths) may break; ``hide``: may be left out when space is short (highest first), always with a
        note saying so."""
        self.columns.append(_Column(header, justify, text or fold, fold, hide, min_width))

    def add_row(self, *cells: Cell, style: str | None = None) -> None:
        if len(cells) != len(self.columns):
            raise ValueError(f"row has {len(cells)} cells for {len(self.columns)} columns")
        for column, cell in zip(self.columns, cells, strict=True):
            column.cells.append(cell)
        self._styles.append(style)

    @property
    def row_count(self) -> int:
        return len(self._styles)

    def cell_texts(self) -> Iterator[str]:
        """The text of every cell the last rendering showed (tests check each appears whole)."""
        for column in self._shown:
            yield from (_plain(c) for c in column.cells)

    # ------------------------------------------------------------------------------- layout
    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        if self.title is not None:
            yield Text(self.title, style=self._title_style) if isinstance(self.title, str) else self.title
        grouped = self._grouped() if self.group else None
        optional = sorted((c for c in self.columns if c.hide is not None), key=lambda c: -(c.hide or 0))
        hidden: list[_Column] = []
        while True:
            # Every column with whole names; else with each provider said once; else one column fewer.
            for columns, styles in ((self.columns, self._styles), *([grouped] if grouped else [])):
                shown = [c for c in columns if c.header not in {h.header for h in hidden}]
                widths = self._fit(shown, width)
                if widths is not None:
                    self.hidden, self._shown = [c.header for c in hidden], shown
                    yield self._table(shown, widths, styles)
                    if hidden:
                        names = ", ".join(c.header.replace("\n", " ") for c in self.columns if c in hidden)
                        yield Text(f"Not shown at {width} columns: {names} ({HIDDEN_HINT}).", style="dim")
                    if self.caption:
                        yield Text(self.caption, style="dim")
                    return
            if not optional:
                break
            hidden.append(optional.pop(0))
        self.hidden, self._shown = [], self.columns
        yield from self._stacked(width)
        if self.caption:
            yield Text(self.caption, style="dim")

    def _grouped(self) -> tuple[list[_Column], list[str | None]] | None:
        """The rows with each first-column prefix (``anthropic/``) said once, on a row of its own above
        its names; rows without one (a total) stay where they were."""
        names = [_plain(c) for c in self.columns[0].cells]
        prefixes = [n.split("/", 1)[0] + "/" if "/" in n and "\n" not in n else None for n in names]
        if not any(prefixes):
            return None
        blocks: list[list[int]] = []
        by_prefix: dict[str, list[int]] = {}
        for i, prefix in enumerate(prefixes):
            if prefix is None:
                blocks.append([i])
            else:
                if prefix not in by_prefix:
                    blocks.append(by_prefix.setdefault(prefix, []))
                by_prefix[prefix].append(i)
        cells: list[list[Cell]] = [[] for _ in self.columns]
        styles: list[str | None] = []
        for block in blocks:
            prefix = prefixes[block[0]]
            if prefix is not None:
                cells[0].append(Text(prefix, style="bold"))
                for column_cells in cells[1:]:
                    column_cells.append("")
                styles.append(None)
            for i in block:
                cells[0].append("  " + names[i][len(prefix):] if prefix else self.columns[0].cells[i])
                for k, column in enumerate(self.columns[1:], start=1):
                    cells[k].append(column.cells[i])
                styles.append(self._styles[i])
        return [replace(c, cells=cs) for c, cs in zip(self.columns, cells, strict=True)], styles

    def _rich(self, columns: Sequence[_Column]) -> Table:
        table = Table(box=self._box, pad_edge=self._pad_edge, collapse_padding=self._collapse_padding,
                      show_header=self._show_header, header_style=self._header_style)
        for c in columns:
            table.add_column(c.header, justify=c.justify, overflow="fold")
        return table

    def _overhead(self, columns: Sequence[_Column]) -> int:
        # Borders and padding, as rich will draw them for these columns.
        table = self._rich(columns)
        return table._extra_width + sum(table._get_padding_width(i) for i in range(len(columns)))

    def _fit(self, columns: Sequence[_Column], width: int) -> list[int] | None:
        """Column widths that show every cell whole within ``width``, or None when none do."""
        if not columns:
            return None
        room = width - self._overhead(columns)
        widths = [c.narrowest() for c in columns]
        if sum(widths) > room:
            return None
        wants = [c.widest() - w for c, w in zip(columns, widths, strict=True)]
        spare = room - sum(widths)
        if sum(wants) <= spare:
            return [w + d for w, d in zip(widths, wants, strict=True)]
        # Smallest wants first (a header that then sits on one line, a short note): a few columns
        # made whole read better than every column a little short; the widest text takes what is left.
        given = [0] * len(wants)
        for i in sorted(range(len(wants)), key=lambda i: (wants[i], i)):
            given[i] = min(wants[i], spare)
            spare -= given[i]
        return [w + g for w, g in zip(widths, given, strict=True)]

    def _table(self, columns: Sequence[_Column], widths: Sequence[int], styles: Sequence[str | None]) -> Table:
        table = self._rich(columns)
        for col, w in zip(table.columns, widths, strict=True):
            col.width = w
        for i, style in enumerate(styles):
            table.add_row(*(c.cells[i] for c in columns), style=style)
        return table

    def _stacked(self, width: int) -> Iterator[Text]:
        for i, style in enumerate(self._styles):
            names = [" ".join(_plain(c.cells[i]).split()) for c in self.columns[: self.keys]]
            yield Text(" · ".join(n for n in names if n) or "-", style=style or "bold")
            pairs = []
            for c in self.columns[self.keys:]:
                lines = [line for line in _plain(c.cells[i]).split("\n") if line.strip()]
                # A figure with its range (or detail) under it reads "figure (range)" on one line.
                value = lines[0] + "".join(f" ({line.strip()})" for line in lines[1:]) if lines else ""
                if value:
                    pairs.append(f"{' '.join(c.header.split())}: {value}")
            yield from (Text(line) for line in _pack(pairs, width))


def _pack(pairs: Sequence[str], width: int) -> Iterator[str]:
    """``label: value`` pairs, as many to a line as fit, indented under the row's name; a pair never
    breaks inside a word, and one too long for a line wraps at spaces onto indented lines."""
    line = ""
    for pair in pairs:
        if line and cell_len(line) + 3 + cell_len(pair) <= width:
            line += "   " + pair
            continue
        if line:
            yield line
        line = "  " + pair
        if cell_len(line) > width:
            parts = _wrap_words(pair, width - 4)
            yield "  " + parts[0]
            yield from ("    " + part for part in parts[1:-1])
            line = "    " + parts[-1] if len(parts) > 1 else ""
    if line:
        yield line


def _wrap_words(line: str, width: int) -> list[str]:
    """Break at spaces only; a single word longer than ``width`` stays whole on its own line."""
    out: list[str] = []
    current = ""
    for word in line.split(" "):
        candidate = f"{current} {word}" if current else word
        if current and cell_len(candidate) > width:
            out.append(current)
            current = word
        else:
            current = candidate
    out.append(current)
    return out
