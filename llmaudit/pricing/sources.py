"""The build's per-source record beside the catalog: what each price source said, and what was decided.

``scripts/build_catalog.py`` leaves three kinds of files in ``pricing_data/sources/``:

* ``observed/<provider>.json`` (``llmaudit-observed/1``): per catalog model, each source family's own
  price timeline: ``{"from", "to", "first", "last", "source"?, <rates>, "long_context"?}``, where
  ``from``/``to`` are the first and last day the source showed that price (``to`` null: still in
  force, as model-prices' latest entry is) and ``first``/``last`` the snapshots that did;
* ``discrepancies.json`` (``llmaudit-discrepancies/1``): every disagreement between sources, each
  with the rule that decided, and the ``hygiene`` drops ($0 holes);
* ``documented_changes.csv``: every vendor-dated price document applied, with its URL and what the
  catalog says the day before and on the day.

Nothing here is read at import time, and an observed file is read only for the provider asked
about: together they are a few MB that no other command needs.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any

from llmaudit.config import data_path
from llmaudit.errors import PricingError
from llmaudit.pricing.catalog import read_json_object
from llmaudit.pricing.model import Rates, Tier, dec_str

__all__ = [
    "FAMILIES",
    "DocumentedChange",
    "Observation",
    "ObservedFile",
    "Recorded",
    "documented_changes",
    "load_observed",
    "observed_providers",
    "recorded_decisions",
    "sources_dir",
]

# The source families in the build's rank order (scripts/catalog_build/build.py RANKS).
FAMILIES = ("litellm", "tokencostauto", "tokencost", "model-prices")
OBSERVED_SCHEMA = "llmaudit-observed/1"
DISCREPANCIES_SCHEMA = "llmaudit-discrepancies/1"


def sources_dir(folder: Path | None = None) -> Path:
    """``folder`` when given (tests, a rebuilt catalog), else the shipped ``pricing_data/sources``."""
    return folder if folder is not None else data_path("pricing_data") / "sources"


@dataclass(frozen=True)
class Observation:
    """One source's price for a model from ``start`` to ``end`` (inclusive; None: still in force)."""

    family: str
    start: date
    end: date | None
    first: str  # the first snapshot that showed it (model-prices: "model-prices")
    last: str
    url: str | None  # model-prices: the commit or page the entry comes from
    rates: Rates
    long_context: tuple[Tier, ...] = ()

    def same_prices(self, other: Observation) -> bool:
        return self.rates == other.rates and self.long_context == other.long_context

    @classmethod
    def from_json(cls, family: str, data: dict[str, Any]) -> Observation:
        return cls(family, date.fromisoformat(data["from"]),
                   date.fromisoformat(data["to"]) if data.get("to") else None,
                   str(data.get("first", family)), str(data.get("last", family)), data.get("source"),
                   Rates.from_json(data), tuple(Tier.from_json(t) for t in data.get("long_context") or ()))

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"from": self.start.isoformat(), "to": self.end.isoformat() if self.end else None,
                                "first": self.first, "last": self.last, "url": self.url}
        data.update(self.rates.to_json())
        if self.long_context:
            data["long_context"] = [t.to_json() for t in self.long_context]
        return data


@dataclass(frozen=True)
class ObservedFile:
    """One provider's observations. ``horizon`` is the newest day any source was seen in the file:
    a source that still showed a price then still lists the model as far as the data knows."""

    provider: str
    models: dict[str, dict[str, tuple[Observation, ...]]]  # model name → family → observations
    horizon: date | None = None


def observed_providers(folder: Path | None = None) -> list[str]:
    observed = sources_dir(folder) / "observed"
    return sorted(p.stem for p in observed.glob("*.json")) if observed.is_dir() else []


@cache
def load_observed(provider: str, folder: Path | None = None) -> ObservedFile:
    """``observed/<provider>.json`` parsed (empty when the build observed nothing for it)."""
    path = sources_dir(folder) / "observed" / f"{provider}.json"
    if not path.is_file():
        return ObservedFile(provider, {})
    data = read_json_object(path)
    if data.get("schema") != OBSERVED_SCHEMA or not isinstance(data.get("models"), dict):
        raise PricingError(f"{path}: not an observed-prices file (expected \"schema\": \"{OBSERVED_SCHEMA}\")")
    try:
        models = {name: {family: tuple(sorted((Observation.from_json(family, r) for r in rows), key=lambda o: o.start))
                         for family, rows in families.items()}
                  for name, families in data["models"].items()}
    except (KeyError, ValueError, TypeError, ArithmeticError) as exc:
        raise PricingError(f"{path}: bad observation ({exc!r})") from None
    ends = [o.end for families in models.values() for obs in families.values() for o in obs if o.end is not None]
    return ObservedFile(provider, models, max(ends, default=None))


@dataclass(frozen=True)
class Recorded:
    """A decision the build recorded for a model: a disagreement between sources, a documented date
    that moved or inserted a price, or a hygiene drop; ``details`` holds the record's other fields
    (what each side said) as the file has them."""

    model: str
    kind: str
    start: date
    end: date | None  # a disagreement's last day; None for a decision on one day
    rule: str
    source: str | None
    via: str | None
    details: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "from": self.start.isoformat(), "to": self.end.isoformat() if self.end else None,
                "rule": self.rule, "source": self.source, "via": self.via, **self.details}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Recorded:
        start = date.fromisoformat(data.get("from") or data["date"])
        end = date.fromisoformat(data["to"]) if data.get("to") else None
        common = ("model", "kind", "from", "to", "date", "rule", "source", "via")
        return cls(str(data["model"]), str(data["kind"]), start, end, str(data.get("rule", "")),
                   data.get("source"), data.get("via"),
                   {k: v for k, v in sorted(data.items()) if k not in common})


@cache
def recorded_decisions(folder: Path | None = None) -> tuple[dict[str, tuple[Recorded, ...]],
                                                            dict[str, tuple[Recorded, ...]]]:
    """``discrepancies.json`` by model id: (disagreements, hygiene drops), each sorted by day."""
    path = sources_dir(folder) / "discrepancies.json"
    if not path.is_file():
        return {}, {}
    data = read_json_object(path)
    if data.get("schema") != DISCREPANCIES_SCHEMA:
        raise PricingError(f"{path}: not a discrepancies file (expected \"schema\": \"{DISCREPANCIES_SCHEMA}\")")

    def by_model(rows: list[dict[str, Any]]) -> dict[str, tuple[Recorded, ...]]:
        grouped: dict[str, list[Recorded]] = {}
        for row in rows:
            rec = Recorded.from_json(row)
            grouped.setdefault(rec.model, []).append(rec)
        return {m: tuple(sorted(g, key=lambda r: (r.start, r.end or r.start, r.kind))) for m, g in grouped.items()}

    try:
        return by_model(data.get("discrepancies") or []), by_model(data.get("hygiene") or [])
    except (KeyError, ValueError, TypeError) as exc:
        raise PricingError(f"{path}: bad record ({exc!r})") from None


@dataclass(frozen=True)
class DocumentedChange:
    """One vendor-dated price document the build applied (a row of documented_changes.csv)."""

    model: str
    day: date
    kind: str  # change | confirmation | first price | tier change | change (old from ...)
    old: tuple[Decimal | None, Decimal | None]  # input, output
    new: tuple[Decimal | None, Decimal | None]
    catalog_before: tuple[Decimal | None, Decimal | None]
    catalog_on: tuple[Decimal | None, Decimal | None]
    tiers_reproduced: bool
    source: str
    via: str

    def to_json(self) -> dict[str, Any]:
        def pair(value: tuple[Decimal | None, Decimal | None]) -> dict[str, str | None]:
            return {"input": _dec_json(value[0]), "output": _dec_json(value[1])}

        return {"date": self.day.isoformat(), "kind": self.kind, "old": pair(self.old), "new": pair(self.new),
                "catalog_before": pair(self.catalog_before), "catalog_on": pair(self.catalog_on),
                "tiers_reproduced": self.tiers_reproduced, "source": self.source, "via": self.via}


@cache
def documented_changes(folder: Path | None = None) -> dict[str, tuple[DocumentedChange, ...]]:
    """``documented_changes.csv`` by model id, each model's rows by day."""
    path = sources_dir(folder) / "documented_changes.csv"
    if not path.is_file():
        return {}
    grouped: dict[str, list[DocumentedChange]] = {}
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                def pair(prefix: str, row: dict[str, str] = row) -> tuple[Decimal | None, Decimal | None]:
                    return _dec(row.get(f"{prefix}_input")), _dec(row.get(f"{prefix}_output"))

                change = DocumentedChange(row["model"], date.fromisoformat(row["date"]), row["kind"], pair("old"),
                                          pair("new"), pair("catalog_before"), pair("catalog_on"),
                                          row.get("tiers_reproduced") == "True", row["source"], row.get("via", ""))
                grouped.setdefault(change.model, []).append(change)
    except (KeyError, ValueError, InvalidOperation) as exc:
        raise PricingError(f"{path}: bad row ({exc!r})") from None
    except OSError as exc:
        raise PricingError(f"{path}: cannot read: {exc.strerror}") from None
    return {m: tuple(sorted(rows, key=lambda c: c.day)) for m, rows in grouped.items()}


def _dec(text: str | None) -> Decimal | None:
    return Decimal(text) if text not in (None, "", "None") else None


def _dec_json(value: Decimal | None) -> str | None:
    return None if value is None else dec_str(value)
