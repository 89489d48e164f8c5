"""``json.dumps(obj, indent=2, default=str)``, byte for byte, at the C encoder's speed.

CPython's ``json`` encodes with its C accelerator only without ``indent``; with it, every value
goes through the pure-Python encoder, 98 ms for the 6 MB report of a 20,000-file transcript
folder (bench/README.md, "p9_many_files"). Here a container that holds no container (a report's
``sources`` rows, its totals) is encoded by the C encoder in one call, with the separator of its
depth, and only the levels above it are walked in Python. ``tests/render/test_jsontext.py``
holds it to ``json.dumps`` on generated documents.
"""

from __future__ import annotations

from itertools import chain
from json.encoder import INFINITY, c_make_encoder, encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any

__all__ = ["dumps"]

_INDENT = 2
_CONTAINERS = (list, tuple, dict)
_flat_encoders: dict[int, Any] = {}


def dumps(obj: Any) -> str:
    """``json.dumps(obj, indent=2, default=str)``."""
    if c_make_encoder is None:   # a Python built without the accelerator
        import json

        return json.dumps(obj, indent=_INDENT, default=str)
    out: list[str] = []
    _encode(obj, 0, out)
    return "".join(out)


def _flat(level: int) -> Any:
    """The C encoder whose items are separated as at ``level``: one line each, indented."""
    enc = _flat_encoders.get(level)
    if enc is None:
        enc = _flat_encoders[level] = c_make_encoder(None, str, encode_basestring_ascii, None, ": ",
                                                     ",\n" + " " * (_INDENT * level), False, False, True)
    return enc


def _encode(o: Any, level: int, out: list[str]) -> None:
    inner = "\n" + " " * (_INDENT * (level + 1))
    if isinstance(o, dict) and o:
        if not any(isinstance(v, _CONTAINERS) for v in o.values()):
            text = "".join(_flat(level + 1)(o, 0))
            out.append("{" + inner + text[1:-1] + "\n" + " " * (_INDENT * level) + "}")
            return
        sep = "{" + inner
        for key, value in o.items():
            out.append(sep)
            out.append(_key(key))
            out.append(": ")
            _encode(value, level + 1, out)
            sep = "," + inner
        out.append("\n" + " " * (_INDENT * level) + "}")
    elif isinstance(o, list | tuple) and o:
        if not any(isinstance(v, _CONTAINERS) for v in o):
            text = "".join(_flat(level + 1)(o, 0))
            out.append("[" + inner + text[1:-1] + "\n" + " " * (_INDENT * level) + "]")
            return
        if _all_flat_dicts(o):
            out.append(_rows(o, level))
            return
        sep = "[" + inner
        for value in o:
            out.append(sep)
            _encode(value, level + 1, out)
            sep = "," + inner
        out.append("\n" + " " * (_INDENT * level) + "]")
    else:   # a scalar, an empty container, or an object ``default=str`` turns into a string
        out.append("".join(_flat(level)(o, 0)))


def _all_flat_dicts(items: Any) -> bool:
    """Every item a non-empty dict of scalars (the types are gathered at C speed: a 20,000-row
    ``sources`` list holds 180,000 values)."""
    if not all(issubclass(t, dict) for t in set(map(type, items))) or not all(items):
        return False
    values = set(map(type, chain.from_iterable(map(dict.values, items))))
    return not any(issubclass(t, _CONTAINERS) for t in values)


def _rows(rows: Any, level: int) -> str:
    """A list of non-empty dicts of scalars (a report's rows) in one C call: encoded with the
    separator of the dicts' items, then cut between the dicts. The cut is exact: the encoder
    escapes every newline inside a string, so a newline in its output is a separator; a
    separator after ``}`` and before ``{`` can only fall between two dicts, since a flat dict's
    values never end in ``}`` and its keys always start with a quote."""
    sep = ",\n" + " " * (_INDENT * (level + 2))
    text = "".join(_flat(level + 2)(rows, 0))
    one, two = "\n" + " " * (_INDENT * (level + 1)), "\n" + " " * (_INDENT * (level + 2))
    between = one + "}," + one + "{" + two
    return "[" + one + "{" + two + between.join(text[2:-2].split("}" + sep + "{")) + one + "}" + "\n" + \
        " " * (_INDENT * level) + "]"


def _key(key: Any) -> str:
    """A dict key as ``json`` writes it: strings as they are, numbers, booleans and null as text."""
    if isinstance(key, str):
        return encode_basestring_ascii(key)   # type: ignore[no-any-return]
    if isinstance(key, float):
        text = ("NaN" if key != key else "Infinity" if key == INFINITY else "-Infinity" if key == -INFINITY
                else float.__repr__(key))
    elif key is True:
        text = "true"
    elif key is False:
        text = "false"
    elif key is None:
        text = "null"
    elif isinstance(key, int):
        text = int.__repr__(key)
    else:
        raise TypeError(f"keys must be str, int, float, bool or None, not {key.__class__.__name__}")
    return encode_basestring_ascii(text)   # type: ignore[no-any-return]
