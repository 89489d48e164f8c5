"""The catalog's inputs, read from the pinned downloads that ``scripts/fetch_price_sources.py`` made.

Each source family becomes observations: "model X had prices P on day D, according to S".

* ``litellm``, ``tokencost``, ``tokencostauto``: copies of LiteLLM's price JSON, dated by the day the
  package was uploaded to PyPI (the lock records the upload instant). Basis ``snapshot``.
* ``model-prices``: per model and service tier, a timeline of prices. Entries whose
  ``valid_from_basis`` is ``documented`` carry the vendor's own date and a URL (basis
  ``documented``); the others are dated by the models.dev commit or the page check that first saw
  them (basis ``snapshot``).
* ``genai-prices``: a model's ``prices`` list with ``StartDateConstraint``s: the vendor-announced
  day a price starts (basis ``documented``); the unconstrained price is the one before it.
* ``curated``: ``pricing_data/documented.json``, changes we cite ourselves (vendor pages).
"""

from __future__ import annotations

import hashlib
import json
import pickle
import sys
import types
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from llmaudit.pricing import litellm
from llmaudit.pricing.litellm import _round_sig
from llmaudit.pricing.model import Rates, ServiceRates, Tier

__all__ = [
    "SNAPSHOT_FAMILIES",
    "Documented",
    "Input",
    "Snapshot",
    "curated_changes",
    "genai_changes",
    "load_lock",
    "model_prices",
    "snapshots",
]

# Copies of LiteLLM's JSON, best first: LiteLLM's own releases, then tokencostauto's daily copies,
# then tokencost's releases (its copies fill 2024, when LiteLLM published no release on PyPI).
SNAPSHOT_FAMILIES = ("litellm", "tokencostauto", "tokencost")


@dataclass(frozen=True)
class Input:
    dist: str
    version: str
    day: date
    uploaded: str
    url: str
    sha256: str
    member: str
    member_sha256: str
    licence: str

    @property
    def label(self) -> str:
        return f"{self.dist}-{self.version}"


@dataclass
class Snapshot:
    family: str
    label: str
    day: date
    records: list[litellm.Record]
    digest: str
    meta: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Documented:
    """A vendor-dated price: from ``day`` on, ``model`` (catalog spelling) costs ``rates``."""

    provider: str
    model: str
    day: date
    rates: Rates
    tiers: tuple[Tier, ...]
    source: str  # the vendor's page
    via: str  # the dataset that cited it
    service: str = "standard"
    old: Rates | None = None  # the price before, when the source gives it
    old_tiers: tuple[Tier, ...] | None = None
    # Whether the source documents ``old`` as the price that applied before ``day`` (a cited change,
    # genai-prices' unconstrained price). model-prices' previous timeline entry may be a models.dev
    # placeholder recorded before a launch: it moves change dates but restores no price.
    old_documented: bool = True

    @property
    def tier_change(self) -> bool:
        """Only the long-context tiers changed (Anthropic dropping its >200k surcharge)."""
        return (self.old is not None and self.old_tiers is not None
                and (self.old.input, self.old.output) == (self.rates.input, self.rates.output)
                and _tk(self.old_tiers) != _tk(self.tiers))


def load_lock(path: Path) -> list[Input]:
    data = json.loads(path.read_text())
    out = []
    for item in data["inputs"]:
        out.append(Input(item["dist"], item["version"], date.fromisoformat(item["date"]), item.get("uploaded", ""),
                         item.get("url", ""), item.get("sha256", ""), item["member"],
                         item.get("member_sha256", ""), item.get("licence", "")))
    return out


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) if part.isdigit() else 0 for part in text.split("."))


def _member_path(cache: Path, item: Input) -> Path:
    return cache / item.label / item.member


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _converted(path: Path, digest: str, cache: Path) -> list[litellm.Record]:
    """LiteLLM JSON → records, memoized on disk by content digest (the build re-reads ~1,000 files)."""
    converter = hashlib.sha256(Path(litellm.__file__).read_bytes()).hexdigest()[:12]
    memo = cache / "_converted" / f"{digest}-{converter}.pickle"
    if memo.is_file():
        try:
            with memo.open("rb") as fh:
                cached: list[litellm.Record] = pickle.load(fh)
            return cached
        except Exception:  # a memo from an older Record layout: convert again
            pass
    records = litellm.convert(json.loads(path.read_text()))
    memo.parent.mkdir(parents=True, exist_ok=True)
    tmp = memo.with_suffix(".tmp")
    with tmp.open("wb") as fh:
        pickle.dump(records, fh, protocol=pickle.HIGHEST_PROTOCOL)
    tmp.replace(memo)
    return records


def snapshots(items: list[Input], cache: Path, *, verify: bool = True) -> Iterator[Snapshot]:
    """Every LiteLLM-JSON copy in date order; identical consecutive contents share one record list."""
    last: dict[str, tuple[str, list[litellm.Record]]] = {}
    newest: dict[str, tuple[int, ...]] = {}
    for item in sorted((i for i in items if i.dist in SNAPSHOT_FAMILIES), key=lambda i: (i.day, i.label)):
        version = _version(item.version)
        if version < newest.get(item.dist, ()):
            # A patch of an older release line (1.103.5 after 1.104.0) carries that line's older
            # price file: it would show every change since as reverted for a day.
            continue
        newest[item.dist] = version
        path = _member_path(cache, item)
        if not path.is_file():
            raise SystemExit(f"{item.label}: {path} missing; run scripts/fetch_price_sources.py --locked")
        digest = item.member_sha256 or _sha256(path)
        if verify and item.member_sha256 and _sha256(path) != item.member_sha256:
            raise SystemExit(f"{item.label}: {path} does not match the lock's member_sha256")
        previous = last.get(item.dist)
        records = previous[1] if previous and previous[0] == digest else _converted(path, digest, cache)
        last[item.dist] = (digest, records)
        meta = {"date": item.day.isoformat(), "origin": f"{item.url} ({item.member})",
                "kind": "litellm price JSON", "date_basis": f"PyPI upload time {item.uploaded}",
                "licence": item.licence, "pinned": "pricing_data/sources.lock.json"}
        yield Snapshot(item.dist, item.label, item.day, records, digest, meta)


# --- model-prices ---------------------------------------------------------------------------------

# model-prices' provider ids → the catalog's.
MP_PROVIDERS = {"moonshotai": "moonshot", "alibaba": "dashscope", "nova": "amazon_nova",
                "amazon-bedrock": "bedrock", "stepfun-ai": "stepfun"}
_MP_TIERS = {"standard": "standard", "batch": "batch", "flex": "flex", "priority": "priority",
             "ultrafast": "fast"}


def _mp_service(provider: str, tier: str) -> str | None:
    if tier == "fast":
        # models.dev's "fast" is OpenAI's priority processing (its rates equal the priority table) and
        # Anthropic's fast mode.
        return "priority" if provider == "openai" else "fast"
    return _MP_TIERS.get(tier)


def _dec(value: Any) -> Decimal:
    return _round_sig(Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value)))


def _mp_rates(data: dict[str, Any]) -> tuple[Rates, tuple[Tier, ...]]:
    def one(d: dict[str, Any]) -> dict[str, Decimal]:
        r: dict[str, Decimal] = {}
        for src, dst in (("input", "input"), ("output", "output"), ("cache_read", "cache_read"),
                         ("cache_write", "cache_write_5m")):
            if d.get(src) is not None and not (isinstance(d[src], int | float) and d[src] < 0):
                r[dst] = _dec(d[src])
        mult = data.get("cache_write_1h_multiple")
        if mult is not None and "input" in r:
            r["cache_write_1h"] = _round_sig(r["input"] * _dec(mult))
        return r

    tiers = tuple(Tier(int(t["above"]), Rates(**one(t))) for t in data.get("tiers") or () if t.get("above"))
    return Rates(**one(data)), tiers


@dataclass(frozen=True)
class MPEntry:
    provider: str  # catalog provider id
    model: str
    service: str
    day: date | None  # None: in force before any dated entry
    rates: Rates | None  # None: not offered from this day
    tiers: tuple[Tier, ...]
    source: str
    basis: str  # documented | snapshot


def model_prices(snapshot_json: Path) -> Iterator[MPEntry]:
    data = json.loads(snapshot_json.read_text())
    for mp_provider, models in data["prices"].items():
        provider = MP_PROVIDERS.get(mp_provider, mp_provider)
        for model, by_tier in models.items():
            for tier, entries in by_tier.items():
                service = _mp_service(mp_provider, tier)
                if service is None:
                    continue
                for entry in entries:
                    start = entry.get("start")
                    day = date.fromisoformat(start[:10]) if start else None
                    rates_data = entry.get("rates")
                    if rates_data is None:
                        yield MPEntry(provider, model, service, day, None, (), "", "snapshot")
                        continue
                    rates, tiers = _mp_rates(rates_data)
                    basis = "documented" if rates_data.get("valid_from_basis") == "documented" else "snapshot"
                    if day is None and rates_data.get("valid_from"):
                        day = date.fromisoformat(rates_data["valid_from"][:10]) if basis == "snapshot" else None
                    yield MPEntry(provider, model, service, day, rates, tiers, str(rates_data.get("source", "")),
                                  basis)


def mp_changes(snapshot_json: Path, label: str) -> list[Documented]:
    """model-prices' documented entries as changes: the old price is the entry before it in the same
    model's timeline (an entry whose price equals the one before is a confirmation, kept as such)."""
    out = []
    previous: dict[tuple[str, str, str], MPEntry] = {}
    for e in model_prices(snapshot_json):
        slot = (e.provider, e.model, e.service)
        before = previous.get(slot)
        previous[slot] = e
        if e.basis != "documented" or e.day is None or e.rates is None:
            continue
        old = before.rates if before is not None else None
        out.append(Documented(e.provider, e.model, e.day, e.rates, e.tiers, e.source, label, e.service, old,
                              before.tiers if before is not None and before.rates is not None else None,
                              old_documented=False))
    return out


def mp_schedules(snapshot_json: Path) -> list[dict[str, Any]]:
    return list(json.loads(snapshot_json.read_text()).get("schedules", {}).get("schedule", ()))


def mp_status(snapshot_json: Path) -> dict[str, dict[str, str]]:
    status: dict[str, dict[str, str]] = json.loads(snapshot_json.read_text()).get("status", {})
    return {MP_PROVIDERS.get(p, p): v for p, v in status.items()}


# --- genai-prices ---------------------------------------------------------------------------------

GP_PROVIDERS = {"x-ai": "xai", "moonshotai": "moonshot", "together": "together_ai", "fireworks": "fireworks_ai",
                "aws": "bedrock", "zhipuai": "zai", "voyageai": "voyage"}


def _import_genai(root: Path) -> Any:
    # genai_prices/__init__ imports an HTTP client to fetch updates; the data module needs only
    # its types, so load the package namespace without running __init__.
    if "genai_prices.data" in sys.modules:
        return sys.modules["genai_prices.data"]
    pkg = types.ModuleType("genai_prices")
    pkg.__path__ = [str(root / "genai_prices")]
    sys.modules["genai_prices"] = pkg
    import importlib

    return importlib.import_module("genai_prices.data")


def _gp_value(value: Any) -> tuple[Decimal | None, tuple[tuple[int, Decimal], ...]]:
    if value is None:
        return None, ()
    if isinstance(value, Decimal | int | float):
        return _dec(value), ()
    base = getattr(value, "base", None)
    tiers = tuple((int(t.start), _dec(t.price)) for t in getattr(value, "tiers", ()) or ())
    return (_dec(base) if base is not None else None), tiers


def _gp_rates(price: Any) -> tuple[Rates, tuple[Tier, ...]]:
    fields = {"input": "input_mtok", "output": "output_mtok", "cache_read": "cache_read_mtok",
              "cache_write_5m": "cache_write_mtok"}
    base: dict[str, Decimal] = {}
    tiers: dict[int, dict[str, Decimal]] = {}
    for dst, src in fields.items():
        value, tier_values = _gp_value(getattr(price, src, None))
        if value is not None:
            base[dst] = value
        for start, tier_value in tier_values:
            # genai-prices' tier "start" is the first token count billed at the tier rate.
            tiers.setdefault(start, {})[dst] = tier_value
    return Rates(**base), tuple(Tier(t, Rates(**r)) for t, r in sorted(tiers.items()))


def genai_changes(root: Path, label: str) -> list[Documented]:
    """Every start-dated base price change in genai-prices (variants' "verified on" dates are not
    price changes and are left out; a start date whose price equals the one before is no change)."""
    data = _import_genai(root)
    out = []
    for provider in data.providers:
        for model in provider.models:
            prices = model.prices
            if not isinstance(prices, list):
                continue
            previous: tuple[Rates, tuple[Tier, ...]] | None = None
            for conditional in prices:
                constraint = conditional.constraint
                rates, tiers = _gp_rates(conditional.prices)
                start = getattr(constraint, "start_date", None)
                if constraint is None:
                    previous = (rates, tiers)
                    continue
                if start is None:
                    continue  # a time-of-day window: off-peak, not a dated change
                if previous is not None and (previous[0].input, previous[0].output, _tk(previous[1])) == (
                        rates.input, rates.output, _tk(tiers)):
                    previous = (rates, tiers)
                    continue
                url = _first_url(model.price_comments or provider.price_comments or "") or \
                    (provider.pricing_urls or [""])[0]
                out.append(Documented(GP_PROVIDERS.get(provider.id, provider.id), model.id, start, rates, tiers,
                                      url, label, old=previous[0] if previous else None,
                                      old_tiers=previous[1] if previous else None))
                previous = (rates, tiers)
    return out


def _tk(tiers: tuple[Tier, ...]) -> tuple[tuple[int, Any, Any], ...]:
    return tuple((t.threshold_tokens, t.rates.input, t.rates.output) for t in tiers)


def _first_url(text: str) -> str | None:
    for word in text.replace("(", " ").replace(")", " ").split():
        if word.startswith("https://"):
            return word.rstrip(".,;")
    return None


def curated_changes(path: Path) -> list[Documented]:
    """``pricing_data/documented.json``: changes we cite ourselves, each with the vendor's URL."""
    if not path.is_file():
        return []
    out = []
    for item in json.loads(path.read_text())["changes"]:
        new = Rates.from_json(item["new"])
        old = Rates.from_json(item["old"]) if item.get("old") else None
        tiers = tuple(Tier.from_json(t) for t in item.get("long_context", ()))
        provider, _, model = item["model"].partition("/")
        out.append(Documented(provider, model, date.fromisoformat(item["date"]), new, tiers, item["source"],
                              "curated", item.get("service", "standard"), old))
    return out


def service_rates(services: tuple[ServiceRates, ...], name: str) -> ServiceRates | None:
    return next((s for s in services if s.name == name), None)
