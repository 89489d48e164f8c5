"""A vendor record layout, declared once and read two ways.

A format's declaration (``ingest/layouts/<format>.py``) names the fields its records carry, as
paths into the JSON (``message.usage.cache_read_input_tokens``), and the rules that turn them into
row columns: which spelling a usage object uses, which token buckets add up to which column, which
counts must be there. Two interpreters read the one declaration:

* ``Record.read`` / ``UsageLayout.read``: the per-line reader, one decoded JSON object in, a row
  dict out, or ``RowError`` naming the field and what is wrong with it;
* ``Record.arrow`` / ``UsageLayout.arrow``: the vectorized reader, the same columns computed with
  ``pyarrow.compute`` over structs that ``pyarrow.json`` parsed with the explicit schema
  ``Record.arrow_type`` derives from the same paths, plus a mask of the rows that fail a rule (the
  per-line reader redoes those and says why).

So a token bucket added to a declaration reaches both paths and the parse schema at once. The
rules every row obeys whatever its source (cache reads and writes within input, reasoning within
output, ...) are ``rows.INVARIANTS``; the vectorized reader applies them too.

Semantics both interpreters share: a count is a non-negative whole number below ``MAX_COUNT``;
an absent count is null, and a token column (``schema.TOKEN_COLUMNS``) with nothing reported is 0;
every count a spelling declares is validated, whether or not a rule uses its value; text ``""``
is null.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from llmaudit.ingest.rows import MAX_COUNT, RowError, get_path, opt_float, opt_int, opt_str, parse_timestamp
from llmaudit.schema import TOKEN_COLUMNS

__all__ = [
    "Const",
    "Count",
    "First",
    "Matching",
    "Number",
    "OneOf",
    "Path",
    "Record",
    "Spelling",
    "Split",
    "Text",
    "Time",
    "Total",
    "Usage",
    "UsageLayout",
]

Path = tuple[str, ...]
_I = pa.int64()
_S = pa.string()
_TOKENS = frozenset(TOKEN_COLUMNS)


def _dotted(where: str, path: Path) -> str:
    return ".".join((where, *path)) if where else ".".join(path)


# ------------------------------------------------------------------------------ the vocabulary
# Leaves read one field; Total and First combine leaves. ``only`` tags a record field with the
# variant of the record it belongs to (as a Spelling's name tags its counts), so a reader can leave
# it out of the parse schema (see Record.arrow_type).

@dataclass(frozen=True)
class Count:
    """A token (or request) count at ``path`` of a usage object."""

    path: Path

    def __init__(self, *path: str) -> None:
        object.__setattr__(self, "path", path)


@dataclass(frozen=True)
class Total:
    """The sum of its parts; an absent part adds 0."""

    parts: tuple[Expr, ...]

    def __init__(self, *parts: Expr) -> None:
        object.__setattr__(self, "parts", parts)


@dataclass(frozen=True)
class First:
    """The first part that is present (SQL ``coalesce``): counts in a usage layout, or record
    columns of one kind (texts, times) in a record."""

    parts: tuple[Expr | Spec, ...]

    def __init__(self, *parts: Expr | Spec) -> None:
        object.__setattr__(self, "parts", parts)


@dataclass(frozen=True)
class Text:
    """A string field; ``""`` (or an object, a list, a boolean) reads as absent. ``required`` is
    the reject reason when absent."""

    path: Path
    required: str | None = None
    only: str | None = None

    def __init__(self, *path: str, required: str | None = None, only: str | None = None) -> None:
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "required", required)
        object.__setattr__(self, "only", only)


@dataclass(frozen=True)
class Number:
    """A finite number (a cost the source reported)."""

    path: Path
    name: str

    def __init__(self, *path: str, name: str | None = None) -> None:
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "name", name or ".".join(path))


@dataclass(frozen=True)
class Time:
    """A date-time: ISO 8601 text or unix seconds / milliseconds (``rows.parse_timestamp``).

    The per-line reader parses it (absent: null, which ``rows.check_row`` rejects unless the
    reader finds the time elsewhere, as in a request-log wrapper); the vectorized one hands the
    column over as parsed (an ISO string or a number, per ``kind``) for the reader's cast, which
    follows ``rows.parse_timestamp`` per source (a file with one bad time, numbers in ms, ...)."""

    path: Path
    kind: pa.DataType
    name: str = "timestamp"
    only: str | None = None


@dataclass(frozen=True)
class OneOf:
    """``then`` when the field is one of ``values``, ``otherwise`` when it is another value,
    ``absent`` when it is not there. A tuple ``then`` makes a list column (tags)."""

    path: Path
    values: tuple[Any, ...]
    then: Any
    otherwise: Any = None
    absent: Any = None


@dataclass(frozen=True)
class Matching:
    """How many items of the list at ``path`` have ``key`` equal to ``value`` (null: no list)."""

    path: Path
    key: str
    value: str


@dataclass(frozen=True)
class Const:
    """The same value on every row (a reader's provider, one request per record)."""

    value: Any
    type: pa.DataType = field(default_factory=pa.string)


Leaf = Count
Expr = Count | Total | First


@dataclass(frozen=True)
class Spelling:
    """One way a usage object writes its counts: chosen when any field named in ``when`` is
    present; ``required`` (a field of ``when``) must then be."""

    name: str
    when: tuple[str, ...]
    columns: Mapping[str, Expr]
    required: str | None = None

    def leaves(self) -> list[Leaf]:
        found: list[Leaf] = []
        for expr in self.columns.values():
            _collect(expr, found)
        return found


def _exprs(expr: Total | First) -> tuple[Expr, ...]:
    """The parts of a rule inside a usage layout (counts, by construction of the declaration)."""
    return cast("tuple[Expr, ...]", expr.parts)


def _specs(spec: First) -> tuple[Spec, ...]:
    """The parts of a ``First`` among record columns."""
    return cast("tuple[Spec, ...]", spec.parts)


def _collect(expr: Expr, found: list[Leaf]) -> None:
    if isinstance(expr, Count):
        if expr not in found:
            found.append(expr)
    else:
        for part in _exprs(expr):
            _collect(part, found)


@dataclass(frozen=True)
class Split:
    """Usage a record reports apart from its own counts: every item of the list at ``items``
    whose ``key`` is ``value`` is a row of its own (a sampling step of its own: priced on its own
    prompt), for the model its ``model`` field names (or the record's), read by ``layout``, tagged
    ``tag``, standing for no request of its own (``requests`` 0: it ran inside the record's).
    The per-line reader makes these rows; the vectorized one sends a record that has any to the
    per-line reader (such records are rare)."""

    items: Path
    key: str
    value: str
    layout: UsageLayout
    tag: str
    model: str | None = "model"   # None: the record's own model ran it


@dataclass(frozen=True)
class UsageLayout:
    """A vendor's usage object: its spellings (tried in order) and what to say when it is unusable."""

    spellings: tuple[Spelling, ...]
    missing: str      # no usage object at all; ``{where}`` is the usage object's name
    neither: str      # no spelling's fields present
    splits: tuple[Split, ...] = ()

    def split_rows(self, row: Mapping[str, Any], usage: Any, where: str) -> list[dict[str, Any]]:
        """The rows of the usage billed apart (``Split``), after ``row``, the record's own: the
        record's time, ids, session and flags, the item's tokens and model, ``tags`` + the split's
        tag, no billed cost (the record's stays on its row), ``requests`` 0, and a ``message_id``
        of its own (so de-duplication never takes one for the record's row). [] when none."""
        rows: list[dict[str, Any]] = []
        if not isinstance(usage, Mapping):
            return rows
        for split in self.splits:
            items = get_path(usage, *split.items)
            if not isinstance(items, list):
                continue
            for i, item in enumerate(items):
                if not isinstance(item, Mapping) or item.get(split.key) != split.value:
                    continue
                name = f"{_dotted(where, split.items)}[{i}]"
                own = split.layout.read(item, name)
                if split.model is not None:
                    model = item.get(split.model)
                    own["model_raw"] = None if isinstance(model, bool | dict | list) else opt_str(model)
                    if own["model_raw"] is None:
                        raise RowError(f"{name}.{split.model} is missing")
                sub = {**row, **own, "billed_cost_usd": None, "requests": 0,
                       "tags": [*(row.get("tags") or []), split.tag]}
                key = row.get("message_id")
                sub["message_id"] = f"{key}:{split.tag}:{len(rows)}" if key else f"{split.tag}:{len(rows)}"
                rows.append(sub)
        return rows

    # ---- per line
    def read(self, usage: Any, where: str) -> dict[str, Any]:
        if usage is None:
            raise RowError(self.missing.format(where=where))
        if not isinstance(usage, dict):
            raise RowError(f"{where} is {type(usage).__name__}, expected an object")
        spelling = next((s for s in self.spellings if any(usage.get(k) is not None for k in s.when)), None)
        if spelling is None:
            raise RowError(self.neither.format(where=where))
        values = {leaf: _read_leaf(leaf, usage, where) for leaf in spelling.leaves()}
        if spelling.required is not None and usage.get(spelling.required) is None:
            raise RowError(f"{_dotted(where, (spelling.required,))} is missing")
        row = {}
        for column, expr in spelling.columns.items():
            value = _eval(expr, values)
            row[column] = 0 if value is None and column in _TOKENS else value
        return row

    # ---- vectorized
    def arrow(self, usage: Any) -> tuple[dict[str, Any], Any]:
        """Columns of a struct array of usage objects, and the rows that break a rule."""
        bad = pc.is_null(usage)
        taken: Any = None           # rows an earlier spelling reads: the first one present wins
        plan = []
        for spelling in self.spellings:
            present = _any_valid([_field(usage, (k,), _I) for k in spelling.when])
            chosen = present if taken is None else pc.and_(present, pc.invert(taken))
            taken = present if taken is None else pc.or_(taken, present)
            plan.append((spelling, chosen))
        bad = pc.or_kleene(bad, pc.invert(taken))
        # A spelling no row uses is not computed (a Chat Completions log has no Responses rows).
        used = [(sp, chosen) for sp, chosen in plan if chosen.true_count] or plan[:1]
        choice: list[tuple[Any, dict[str, Any]]] = []
        for spelling, chosen in used:
            values = {leaf: _arrow_leaf(leaf, usage) for leaf in spelling.leaves()}
            for value in values.values():
                bad = pc.or_kleene(bad, pc.and_kleene(chosen, _bad_count(value)))
            if spelling.required is not None:
                missing = pc.is_null(_field(usage, (spelling.required,), _I))
                bad = pc.or_kleene(bad, pc.and_kleene(chosen, missing))
            columns = {}
            for column, expr in spelling.columns.items():
                col = _arrow_eval(expr, values)
                columns[column] = _zero(col) if column in _TOKENS else col
            choice.append((chosen, columns))
        for split in self.splits:
            items = _field(usage, split.items, pa.list_(pa.struct([(split.key, _S)])))
            if items.null_count < len(items):
                flat = pc.list_flatten(items)
                parents = pc.list_parent_indices(items).to_numpy()
                hit = pc.fill_null(pc.equal(pc.struct_field(flat, split.key), split.value), False)
                has = np.zeros(len(items), dtype=bool)
                has[parents[hit.to_numpy(zero_copy_only=False)]] = True
                bad = pc.or_kleene(bad, pa.array(has))   # read line by line (Split)
        out = dict(choice[-1][1])
        for chosen, columns in choice[:-1]:   # the row sets are disjoint
            for name, col in columns.items():
                out[name] = pc.if_else(chosen, col, out[name]) if name in out else col
        return out, bad

    def arrow_type(self, only: frozenset[str] | None = None) -> pa.StructType:
        fields: list[tuple[Path, pa.DataType]] = []
        for spelling in self.spellings:
            if only is not None and spelling.name not in only:
                continue
            fields += [((k,), _I) for k in spelling.when]
            for leaf in spelling.leaves():
                fields += _leaf_fields(leaf)
        fields += [(split.items, pa.list_(pa.struct([(split.key, _S)]))) for split in self.splits]
        return _struct(fields)


@dataclass(frozen=True)
class Usage:
    """The usage object at ``path`` of a record, read by ``layout``; named ``where`` in reasons."""

    path: Path
    layout: UsageLayout

    @property
    def where(self) -> str:
        return ".".join(self.path)


Spec = Text | Number | Time | OneOf | Matching | Const | First | Usage


@dataclass(frozen=True)
class Record:
    """A vendor record: row columns in the order their rules are checked (the per-line reader
    reports the first rule a record breaks). A ``Usage`` entry fills the columns its layout
    declares; its key only names it."""

    columns: Mapping[str, Spec]

    # ---- per line
    def read(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        row: dict[str, Any] = {}
        for column, spec in self.columns.items():
            if isinstance(spec, Usage):
                row.update(spec.layout.read(get_path(obj, *spec.path), spec.where))
            else:
                row[column] = _read_spec(spec, obj)
        return row

    def read_all(self, obj: Mapping[str, Any]) -> list[dict[str, Any]]:
        """``read``'s row, then a row per item of usage billed apart (``UsageLayout.split_rows``)."""
        row = self.read(obj)
        rows = [row]
        for spec in self.columns.values():
            if isinstance(spec, Usage) and spec.layout.splits:
                rows += spec.layout.split_rows(row, get_path(obj, *spec.path), spec.where)
        return rows

    # ---- vectorized
    def arrow(self, records: Any) -> tuple[dict[str, Any], Any]:
        """Columns of a struct array of records, and the rows that break one of the layout's
        rules (``Time`` columns are left to the reader: see ``Time``)."""
        n = len(records)
        bad: Any = pa.repeat(pa.scalar(False), n)
        out: dict[str, Any] = {}
        for column, spec in self.columns.items():
            if isinstance(spec, Usage):
                columns, usage_bad = spec.layout.arrow(_field(records, spec.path, spec.layout.arrow_type()))
                out.update(columns)
                bad = pc.or_kleene(bad, usage_bad)
                continue
            col = _arrow_spec(spec, records, n)
            if isinstance(spec, Text) and spec.required is not None:
                bad = pc.or_kleene(bad, pc.is_null(col))
            out[column] = col
        return out, bad

    def arrow_type(self, only: frozenset[str] | None = None) -> pa.StructType:
        """The explicit parse type: every declared path, nested as the JSON nests it; leaves (and
        usage spellings) tagged with a variant outside ``only`` are left out (None: all)."""
        fields: list[tuple[Path, pa.DataType]] = []
        for spec in self.columns.values():
            if isinstance(spec, Usage):
                fields.append((spec.path, spec.layout.arrow_type(only)))
            else:
                fields += [f for f, tag in _spec_fields(spec) if only is None or tag is None or tag in only]
        return _struct(fields)

    def schema(self, only: frozenset[str] | None = None) -> pa.Schema:
        return pa.schema(list(self.arrow_type(only)))


# ------------------------------------------------------------------------------ per-line interpreter

def _count(value: Any, name: str) -> int | None:
    if type(value) is int and 0 <= value <= MAX_COUNT:   # the common case, without the generic checks
        return value
    return opt_int(value, name)


def _read_leaf(leaf: Leaf, usage: Mapping[str, Any], where: str) -> int | None:
    return _count(get_path(usage, *leaf.path), _dotted(where, leaf.path))


def _eval(expr: Expr, values: Mapping[Leaf, int | None]) -> int | None:
    if isinstance(expr, Count):
        return values[expr]
    if isinstance(expr, Total):
        return sum((_eval(p, values) or 0) for p in _exprs(expr))
    for part in _exprs(expr):
        value = _eval(part, values)
        if value is not None:
            return value
    return None


def _read_spec(spec: Spec, obj: Mapping[str, Any]) -> Any:
    if isinstance(spec, Text):
        raw = get_path(obj, *spec.path)
        # An object, a list or a boolean is no text (the parser refuses them in a string column).
        value = None if isinstance(raw, bool | dict | list) else opt_str(raw)
        if value is None and spec.required is not None:
            raise RowError(spec.required)
        return value
    if isinstance(spec, Number):
        return opt_float(get_path(obj, *spec.path), spec.name)
    if isinstance(spec, Time):
        value = get_path(obj, *spec.path)
        return None if value is None or value == "" else parse_timestamp(value, spec.name)
    if isinstance(spec, First):
        for part in _specs(spec):
            value = _read_spec(part, obj)
            if value is not None:
                return value
        return None
    if isinstance(spec, OneOf):
        value = get_path(obj, *spec.path)
        if value is None:
            return _copy(spec.absent)
        # ``True == 1`` in Python: compare types too, as the parser's typed columns do.
        hit = any(type(value) is type(v) and value == v for v in spec.values)
        return _copy(spec.then if hit else spec.otherwise)
    if isinstance(spec, Matching):
        items = get_path(obj, *spec.path)
        if not isinstance(items, list):
            return None
        return sum(1 for item in items if isinstance(item, Mapping) and item.get(spec.key) == spec.value)
    if isinstance(spec, Const):
        return spec.value
    raise TypeError(f"not a record column: {spec!r}")


def _copy(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


# ------------------------------------------------------------------------------ vectorized interpreter

def _field(struct: Any, path: Path, leaf: pa.DataType) -> Any:
    """A nested field; all nulls when the parse type leaves it out (a variant not planned)."""
    for name in path:
        if struct.type.get_field_index(name) < 0:
            return pa.nulls(len(struct), leaf)
        struct = pc.struct_field(struct, name)
    return struct


def _any_valid(cols: list[Any]) -> Any:
    out = pc.is_valid(cols[0])
    for col in cols[1:]:
        out = pc.or_(out, pc.is_valid(col))
    return out


def _zero(col: Any) -> Any:
    nulls = col.null_count
    if not nulls:
        return col
    if nulls == len(col):
        return pa.repeat(pa.scalar(0, col.type), len(col))
    return pc.fill_null(col, 0)


def _bad_count(col: Any) -> Any:
    """Negative or implausibly large (as ``opt_int`` rejects them); never null."""
    if col.null_count == len(col):
        return pa.repeat(pa.scalar(False), len(col))
    out = pc.or_(pc.less(col, 0), pc.greater(col, MAX_COUNT))
    return pc.fill_null(out, False) if out.null_count else out


def _arrow_leaf(leaf: Leaf, usage: Any) -> Any:
    return _field(usage, leaf.path, _I)


def _arrow_eval(expr: Expr, values: Mapping[Leaf, Any]) -> Any:
    if isinstance(expr, Count):
        return values[expr]
    if isinstance(expr, Total):
        cols = [_zero(_arrow_eval(p, values)) for p in _exprs(expr)]
        out = cols[0]
        for col in cols[1:]:
            out = pc.add(out, col)
        return out
    cols = [_arrow_eval(p, values) for p in _exprs(expr)]
    return pc.coalesce(*cols) if len(cols) > 1 else cols[0]


def _nonempty(col: Any) -> Any:
    """``""`` → null, as ``opt_str`` reads it."""
    if col.null_count == len(col):
        return col
    empty = pc.equal(col, "")
    if not pc.any(empty).as_py():
        return col
    return pc.if_else(empty, pa.scalar(None, col.type), col)


def _arrow_spec(spec: Spec, records: Any, n: int) -> Any:
    if isinstance(spec, Text):
        return _nonempty(_field(records, spec.path, _S))
    if isinstance(spec, Number):
        return _field(records, spec.path, pa.float64())
    if isinstance(spec, Time):
        return _field(records, spec.path, spec.kind)
    if isinstance(spec, First):
        cols = [_arrow_spec(part, records, n) for part in _specs(spec)]
        return pc.coalesce(*cols)
    if isinstance(spec, OneOf):
        col = _field(records, spec.path, _one_of_type(spec))
        hit = pc.is_in(col, value_set=pa.array(list(spec.values), col.type))
        if isinstance(spec.then, tuple):
            return _lists(pc.fill_null(hit, False).to_numpy(zero_copy_only=False), spec.then)
        typ = pa.array([spec.then, spec.otherwise, spec.absent]).type
        picked = pc.if_else(hit, pa.scalar(spec.then, typ), pa.scalar(spec.otherwise, typ))
        if spec.absent == spec.otherwise:
            return pc.fill_null(picked, pa.scalar(spec.absent, typ)) if spec.absent is not None else picked
        return pc.if_else(pc.is_null(col), pa.scalar(spec.absent, typ), picked)
    if isinstance(spec, Matching):
        return _matching(_field(records, spec.path, pa.list_(pa.struct([(spec.key, _S)]))), spec)
    if isinstance(spec, Const):
        return pa.repeat(pa.scalar(spec.value, spec.type), n)
    raise TypeError(f"not a record column: {spec!r}")


def _lists(mask: np.ndarray, items: tuple[str, ...]) -> pa.Array:
    """``list(items)`` where ``mask``, null elsewhere."""
    offsets = np.concatenate([[0], np.cumsum(mask, dtype=np.int64) * len(items)]).astype(np.int32)
    values = pa.array(list(items) * int(mask.sum()), _S)
    return pa.ListArray.from_arrays(pa.array(offsets), values, mask=pa.array(~mask))


def _matching(items: Any, spec: Matching) -> Any:
    n = len(items)
    if items.null_count == n:
        return pa.nulls(n, _I)
    flat = pc.list_flatten(items)
    parents = pc.list_parent_indices(items).to_numpy()
    hits = pc.fill_null(pc.equal(pc.struct_field(flat, spec.key), spec.value), False).to_numpy(zero_copy_only=False)
    counts = np.bincount(parents[hits], minlength=n).astype(np.int64)
    return pc.if_else(pc.is_null(items), pa.nulls(n, _I), pa.array(counts, _I))


# ------------------------------------------------------------------------------ parse types

def _one_of_type(spec: OneOf) -> pa.DataType:
    return pa.bool_() if all(isinstance(v, bool) for v in spec.values) else _S


def _leaf_fields(leaf: Leaf) -> list[tuple[Path, pa.DataType]]:
    return [(leaf.path, _I)]


def _spec_fields(spec: Spec) -> list[tuple[tuple[Path, pa.DataType], str | None]]:
    if isinstance(spec, Text):
        return [((spec.path, _S), spec.only)]
    if isinstance(spec, Number):
        return [((spec.path, pa.float64()), None)]
    if isinstance(spec, Time):
        return [((spec.path, spec.kind), spec.only)]
    if isinstance(spec, OneOf):
        return [((spec.path, _one_of_type(spec)), None)]
    if isinstance(spec, Matching):
        return [((spec.path, pa.list_(pa.struct([(spec.key, _S)]))), None)]
    if isinstance(spec, First):
        return [f for part in _specs(spec) for f in _spec_fields(part)]
    return []


class _Items(dict[str, Any]):
    """A list of objects in the type tree: the fields of its items."""


def _struct(fields: list[tuple[Path, pa.DataType]]) -> pa.StructType:
    """Nest ``(path, type)`` leaves into one struct type, in first-seen order. Objects declared
    more than once are merged (two spellings of one usage object, several fields of one list's items)."""
    tree: dict[str, Any] = {}
    for path, typ in fields:
        node = tree
        for name in path[:-1]:
            node = node.setdefault(name, {})
            if not isinstance(node, dict):
                raise TypeError(f"{'.'.join(path)}: a parent is declared as a leaf")
        _add(node, path[-1], typ)
    return _build(tree)


def _add(node: dict[str, Any], name: str, typ: pa.DataType) -> None:
    if pa.types.is_struct(typ):
        child = node.setdefault(name, {})
        for f in typ:
            _add(child, f.name, f.type)
    elif pa.types.is_list(typ) and pa.types.is_struct(typ.value_type):
        items = node.setdefault(name, _Items())
        for f in typ.value_type:
            _add(items, f.name, f.type)
    elif name not in node:
        node[name] = typ


def _build(tree: dict[str, Any]) -> pa.StructType:
    def typed(value: Any) -> pa.DataType:
        if isinstance(value, _Items):
            return pa.list_(_build(value))
        return _build(value) if isinstance(value, dict) else value

    return pa.struct([(k, typed(v)) for k, v in tree.items()])
