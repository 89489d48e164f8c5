"""Prompt checks in promptfoo's shape: ``{"type": "contains", "value": "Paris"}``.

Supported types (``not-`` in front of any of them inverts it, as in promptfoo):

=================  ==========================================================================
equals             output, stripped, equals ``value`` (strings) or parses to it (numbers/JSON)
contains           ``value`` is a substring; ``icontains`` ignores case
contains-any/all   ``value`` is a list of substrings (``icontains-any``/``-all`` ignore case)
starts-with        output (left-stripped) starts with ``value``
regex              ``re.search(value, output)``
is-json            output is valid JSON; with a ``value`` it must also match that JSON schema
contains-json      a JSON object/array appears somewhere in the output (optionally schema-checked)
json-schema        output is JSON valid against ``value`` (a JSON schema)
number             the first number in the output is within ``tolerance`` (default 0) of ``value``
length             ``min`` <= len(output) <= ``max`` (characters); either bound may be omitted
=================  ==========================================================================

A prompt with no ``assert`` list but an ``expected`` string is checked with ``equals``. A prompt
with neither has no check: ``evaluate`` returns ``None`` (quality unknown, not "passed").
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["KNOWN_TYPES", "AssertionOutcome", "CheckResult", "evaluate", "validate_asserts"]


@dataclass(frozen=True)
class AssertionOutcome:
    type: str
    passed: bool
    reason: str


@dataclass(frozen=True)
class CheckResult:
    passed: bool
    results: list[AssertionOutcome] = field(default_factory=list)

    @property
    def reason(self) -> str:
        failed = [r.reason for r in self.results if not r.passed]
        return "; ".join(failed) if failed else "all checks passed"


_NUMBER = re.compile(r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?")


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _equals(output: str, spec: dict[str, Any]) -> tuple[bool, str]:
    value = spec.get("value")
    stripped = output.strip()
    if isinstance(value, str):
        return stripped == value.strip(), f"expected {value!r}"
    try:
        return json.loads(stripped) == value, f"expected {value!r}"
    except ValueError:
        return False, f"expected {value!r}, output is not {type(value).__name__}"


def _contains(output: str, spec: dict[str, Any], *, fold: bool = False) -> tuple[bool, str]:
    needle = _text(spec.get("value", ""))
    hay = output
    if fold:
        needle, hay = needle.lower(), hay.lower()
    return needle in hay, f"output does not contain {spec.get('value')!r}"


def _contains_many(output: str, spec: dict[str, Any], *, fold: bool, every: bool) -> tuple[bool, str]:
    values = spec.get("value") or []
    if isinstance(values, str):
        values = [v.strip() for v in values.split(",")]
    hay = output.lower() if fold else output
    hits = [(_text(v).lower() if fold else _text(v)) in hay for v in values]
    ok = all(hits) if every else any(hits)
    word = "all" if every else "any"
    return ok, f"output does not contain {word} of {values!r}"


def _starts_with(output: str, spec: dict[str, Any]) -> tuple[bool, str]:
    value = _text(spec.get("value", ""))
    return output.lstrip().startswith(value), f"output does not start with {value!r}"


def _regex(output: str, spec: dict[str, Any]) -> tuple[bool, str]:
    pattern = _text(spec.get("value", ""))
    return re.search(pattern, output, flags=re.MULTILINE) is not None, f"no match for /{pattern}/"


def _schema_ok(document: Any, schema: Any) -> tuple[bool, str]:
    if schema is None:
        return True, ""
    import jsonschema

    try:
        jsonschema.validate(document, schema)
    except jsonschema.ValidationError as exc:
        return False, f"JSON does not match schema: {exc.message}"
    except jsonschema.SchemaError as exc:
        return False, f"invalid JSON schema in check: {exc.message}"
    return True, ""


def _strip_fence(output: str) -> str:
    # Models often wrap JSON in a ```json fence; promptfoo's is-json tolerates that too.
    match = re.fullmatch(r"\s*```(?:json)?\s*(.*?)\s*```\s*", output, flags=re.DOTALL)
    return match.group(1) if match else output


def _is_json(output: str, spec: dict[str, Any]) -> tuple[bool, str]:
    try:
        document = json.loads(_strip_fence(output))
    except json.JSONDecodeError as exc:
        return False, f"output is not valid JSON ({exc.msg})"
    return _schema_ok(document, spec.get("value"))


def _json_schema(output: str, spec: dict[str, Any]) -> tuple[bool, str]:
    if spec.get("value") is None:
        return False, "json-schema check has no schema in 'value'"
    return _is_json(output, spec)


def _contains_json(output: str, spec: dict[str, Any]) -> tuple[bool, str]:
    decoder = json.JSONDecoder()
    for start, char in enumerate(output):
        if char not in "{[":
            continue
        try:
            document, _ = decoder.raw_decode(output, start)
        except ValueError:
            continue
        if _schema_ok(document, spec.get("value"))[0]:
            return True, ""
    return False, "output contains no (matching) JSON"


def _number(output: str, spec: dict[str, Any]) -> tuple[bool, str]:
    try:
        target = float(spec["value"])
        tolerance = float(spec.get("tolerance", 0))
    except (KeyError, TypeError, ValueError):
        return False, "number check needs a numeric 'value' (and optional 'tolerance')"
    match = _NUMBER.search(output)
    if match is None:
        return False, f"no number in output (expected {target:g})"
    found = float(match.group().replace(",", ""))
    return abs(found - target) <= tolerance, f"got {found:g}, expected {target:g} ± {tolerance:g}"


def _length(output: str, spec: dict[str, Any]) -> tuple[bool, str]:
    n = len(output)
    low, high = spec.get("min"), spec.get("max")
    if isinstance(spec.get("value"), dict):
        low, high = spec["value"].get("min", low), spec["value"].get("max", high)
    ok = (low is None or n >= int(low)) and (high is None or n <= int(high))
    return ok, f"length {n} outside [{low if low is not None else 0}, {high if high is not None else '∞'}]"


_Checker = Callable[[str, dict[str, Any]], tuple[bool, str]]

_CHECKS: dict[str, _Checker] = {
    "equals": _equals,
    "contains": _contains,
    "icontains": lambda o, s: _contains(o, s, fold=True),
    "contains-any": lambda o, s: _contains_many(o, s, fold=False, every=False),
    "contains-all": lambda o, s: _contains_many(o, s, fold=False, every=True),
    "icontains-any": lambda o, s: _contains_many(o, s, fold=True, every=False),
    "icontains-all": lambda o, s: _contains_many(o, s, fold=True, every=True),
    "starts-with": _starts_with,
    "regex": _regex,
    "is-json": _is_json,
    "contains-json": _contains_json,
    "json-schema": _json_schema,
    "number": _number,
    "length": _length,
}
KNOWN_TYPES = tuple(sorted(_CHECKS) + sorted(f"not-{name}" for name in _CHECKS))


def validate_asserts(asserts: Any) -> str | None:
    """Return a problem description for a malformed ``assert`` list, or None when it is fine."""
    if not isinstance(asserts, list):
        return "'assert' must be a list of {\"type\": ..., \"value\": ...} objects"
    for i, spec in enumerate(asserts):
        if not isinstance(spec, dict) or not isinstance(spec.get("type"), str):
            return f"assert[{i}] must be an object with a string 'type'"
        base = spec["type"].removeprefix("not-")
        if base not in _CHECKS:
            return f"assert[{i}]: unknown type {spec['type']!r} (known: {', '.join(sorted(_CHECKS))})"
        if spec["type"].startswith("not-") and spec["type"] not in KNOWN_TYPES:
            return f"assert[{i}]: unknown type {spec['type']!r}"
        if base == "regex":
            try:
                re.compile(_text(spec.get("value", "")))
            except re.error as exc:
                return f"assert[{i}]: invalid regex: {exc}"
    return None


def evaluate(asserts: list[dict[str, Any]] | None, output: str, *, expected: str | None = None) -> CheckResult | None:
    """Run every check against ``output``; all must pass. None when the prompt has no check."""
    specs = list(asserts or [])
    if not specs and expected is not None:
        specs = [{"type": "equals", "value": expected}]
    if not specs:
        return None
    outcomes = []
    for spec in specs:
        kind = str(spec.get("type", ""))
        inverted = kind.startswith("not-")
        check = _CHECKS.get(kind.removeprefix("not-"))
        if check is None:
            outcomes.append(AssertionOutcome(kind, False, f"unknown check type {kind!r}"))
            continue
        ok, reason = check(output, spec)
        if inverted:
            ok, reason = (not ok), f"{kind}: output matched {spec.get('value')!r}"
        outcomes.append(AssertionOutcome(kind, ok, "" if ok else reason))
    return CheckResult(all(o.passed for o in outcomes), outcomes)
