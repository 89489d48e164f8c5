"""Parity of llmaudit's shipped catalog with LiteLLM 1.110.2's ``cost_per_token``.

Two halves, because the two tools live in different venvs (LiteLLM is never a dependency of
llmaudit):

    # 1. LiteLLM's figures (its own venv; the bundled price JSON, no fetch)
    LITELLM_LOCAL_MODEL_COST_MAP=True /work/litellm-venv/bin/python bench/parity_litellm.py \\
        --litellm-side bench/_work/parity/litellm-1.110.2.jsonl
    # 2. llmaudit's figures for the same usage, the comparison and the discrepancy file
    python bench/parity_litellm.py bench/_work/parity/litellm-1.110.2.jsonl \\
        [--out pricing_data/parity/litellm-1.110.2.json]

Keys: every key of ``litellm.model_cost`` whose mode is chat, completion or responses and that
carries an input or output price per token (or a ``tiered_pricing`` table). Each is priced on five
usage shapes (``SHAPES``) by ``litellm.cost_per_token(model=key, custom_llm_provider=P,
usage_object=Usage(...))`` with the usage normalized the way LiteLLM's own Anthropic/OpenAI
transformations build it (``prompt_tokens`` includes cache reads and writes; reads in
``prompt_tokens_details.cached_tokens``, writes in ``cache_creation_tokens``; reasoning in
``completion_tokens_details.reasoning_tokens``). ``P`` is the provider LiteLLM routes the key's
``litellm_provider`` to at run time (``vertex_ai-*`` → ``vertex_ai``, ``bedrock_converse`` →
``bedrock``). Billing time is pinned to 2026-11-20T08:00Z (LiteLLM 1.110.2's release date, a peak
hour for every ``off_peak_pricing`` block of the JSON) so off-peak rates never depend on when the
script runs; llmaudit's ``cost_breakdown`` prices a date, at peak rates.

Besides ``cost_per_token`` the LiteLLM side records LiteLLM's own ``generic_cost_per_token`` on
the key's own JSON entry (``model_info=model_cost[key]``): where the two differ, LiteLLM's
dispatch (a provider-specific cost function, a lookup that lands on another key) departs from its
own JSON rates, which is what the ``LiteLLM quirk`` class rests on; ``lookup_key`` records the key
whose JSON entry that lookup lands on.

llmaudit prices the same usage with ``cost_breakdown(load_catalog(shipped=True, overlay=False),
key, Usage(...), at=2026-11-20, provider=P)``. Figures are equal when both are zero or when they
differ by at most 1e-9 relative. Every key that differs on any shape goes to the discrepancy file
with a class found from the evidence (see ``classify``): LiteLLM's JSON for the key, where the
builder put the key (the entry whose id or alias it is), and the builder's own records beside the
catalog (``sources/observed/<provider>.json``: each source's timeline per model, from which the
sources in force on the date are read as the builder's ``_active`` reads them;
``sources/discrepancies.json``: the $0 listings dropped and the rules that settled disagreements).
A difference the sources explain is a ``source disagreement`` naming the source that won; one they
do not (LiteLLM 1.110.2 and every source in force agree, or none lists the catalog's value) is an
``llmaudit bug: builder``; a key llmaudit resolves to another entry than the builder gave it is an
``llmaudit bug: resolution``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

LITELLM_VERSION = "1.110.2"
RELEASE_DAY = date(2026, 11, 20)
# A Friday, 08:00 UTC: inside no off-peak window of the JSON (DeepSeek/Tencent weekday windows are
# 00-01, 04-06 and 10-24 UTC); the LiteLLM side records any key whose window is open at this time.
BILLING_TIME = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
REL_TOL = Decimal("1e-9")
MODES = ("chat", "completion", "responses")
REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "pricing_data" / "parity" / f"litellm-{LITELLM_VERSION}.json"

# name → (prompt tokens incl. caches, cache reads, cache writes, completion tokens incl. reasoning,
#         reasoning tokens, what it exercises)
SHAPES: dict[str, tuple[int, int, int, int, int, str]] = {
    "a": (1_000, 0, 0, 500, 0, "1,000 in / 500 out"),
    "b": (10_000, 8_000, 0, 200, 0, "10,000 in of which 8,000 cache reads / 200 out"),
    "c": (5_000, 0, 4_000, 100, 0, "5,000 in of which 4,000 cache writes / 100 out"),
    "d": (250_000, 0, 0, 1_000, 0, "250,000 in / 1,000 out (crosses 128k/200k tiers)"),
    "e": (2_000, 0, 0, 3_000, 2_500, "2,000 in / 3,000 out of which 2,500 reasoning"),
}

# LiteLLM JSON field → llmaudit rate name (USD per token there, per 1M tokens here).
JSON_RATES = {
    "input_cost_per_token": "input",
    "output_cost_per_token": "output",
    "cache_read_input_token_cost": "cache_read",
    "cache_creation_input_token_cost": "cache_write_5m",
    "cache_creation_input_token_cost_above_1hr": "cache_write_1h",
    "output_cost_per_reasoning_token": "reasoning",
}
# The rates each shape bills (besides the long-context tier that shape d may cross).
SHAPE_RATES = {
    "a": ("input", "output"),
    "b": ("input", "cache_read", "output"),
    "c": ("input", "cache_write_5m", "output"),
    "d": ("input", "output"),
    "e": ("input", "output", "reasoning"),
}


# --------------------------------------------------------------------------------------------
# LiteLLM side (runs in the LiteLLM venv)
# --------------------------------------------------------------------------------------------

def _runtime_provider(litellm_provider: str, provider_list: set[str]) -> str:
    """The ``custom_llm_provider`` LiteLLM itself uses for a key of this ``litellm_provider``."""
    if litellm_provider in provider_list:
        return litellm_provider
    if litellm_provider.startswith("vertex_ai"):
        return "vertex_ai"
    if litellm_provider.startswith("bedrock"):
        return "bedrock"
    return litellm_provider


def _selected(spec: Any) -> bool:
    if not isinstance(spec, dict) or spec.get("mode") not in MODES:
        return False
    return (spec.get("input_cost_per_token") is not None or spec.get("output_cost_per_token") is not None
            or bool(spec.get("tiered_pricing")))


def _price_fields(spec: dict[str, Any]) -> dict[str, Any]:
    """The entry's price fields (what the llmaudit side reads to tell source from semantics)."""
    return {k: v for k, v in spec.items()
            if ("cost" in k or k in ("tiered_pricing", "litellm_provider", "mode", "off_peak_pricing"))}


def litellm_side(out_path: Path, limit: int | None) -> int:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    if os.environ["LITELLM_LOCAL_MODEL_COST_MAP"].lower() != "true":
        print("LITELLM_LOCAL_MODEL_COST_MAP must be True (the bundled price JSON, no fetch)", file=sys.stderr)
        return 2
    import logging

    import litellm
    from litellm._internal_context import pinned_billing_time
    from litellm.litellm_core_utils.llm_cost_calc.utils import _is_off_peak, generic_cost_per_token
    from litellm.types.utils import CompletionTokensDetailsWrapper, PromptTokensDetailsWrapper, Usage

    litellm.suppress_debug_info = True
    logging.getLogger("LiteLLM").setLevel(logging.CRITICAL)
    from importlib.metadata import version

    installed = version("litellm")
    if installed != LITELLM_VERSION:
        print(f"warning: litellm {installed} installed, this measures {LITELLM_VERSION}", file=sys.stderr)
    provider_list = {str(getattr(p, "value", p)) for p in litellm.provider_list}

    def usage_of(shape: str) -> Usage:
        prompt, read, write, completion, reasoning, _ = SHAPES[shape]
        kwargs: dict[str, Any] = {}
        if read or write:
            kwargs["prompt_tokens_details"] = PromptTokensDetailsWrapper(
                cached_tokens=read, cache_creation_tokens=write, text_tokens=prompt - read - write)
            kwargs["cache_read_input_tokens"] = read
            kwargs["cache_creation_input_tokens"] = write
        if reasoning:
            kwargs["completion_tokens_details"] = CompletionTokensDetailsWrapper(
                reasoning_tokens=reasoning, text_tokens=completion - reasoning)
        return Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion,
                     **kwargs)

    def attempt(fn: Any, **kwargs: Any) -> dict[str, Any]:
        try:
            p_cost, c_cost = fn(**kwargs)
        except Exception as exc:  # LiteLLM raises for keys it cannot price: record the text
            return {"error": f"{type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}"}
        return {"prompt": p_cost, "completion": c_cost, "total": p_cost + c_cost}

    # The raw file: alias rows (``{"alias_of": OWNER}``) are expanded in litellm.model_cost.
    raw_path = Path(litellm.__file__).parent / "model_prices_and_context_window_backup.json"
    raw = json.loads(raw_path.read_text(encoding="utf-8"))
    keys = sorted(k for k, spec in litellm.model_cost.items() if _selected(spec))
    if limit is not None:
        keys = keys[:limit]
    off_peak_open = sorted(k for k in keys if isinstance(litellm.model_cost[k].get("off_peak_pricing"), dict)
                           and _is_off_peak(litellm.model_cost[k]["off_peak_pricing"], BILLING_TIME))
    if off_peak_open:
        print(f"warning: off-peak window open at {BILLING_TIME} for {len(off_peak_open)} keys", file=sys.stderr)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with out_path.open("w", encoding="utf-8") as fh, pinned_billing_time(BILLING_TIME):
        fh.write(json.dumps({"meta": {"litellm": installed, "keys": len(keys),
                                      "billing_time": BILLING_TIME.isoformat(),
                                      "off_peak_open": off_peak_open,
                                      "shapes": {s: v[5] for s, v in SHAPES.items()}}}) + "\n")
        for key in keys:
            spec = litellm.model_cost[key]
            lp = str(spec.get("litellm_provider") or "")
            provider = _runtime_provider(lp, provider_list)
            row: dict[str, Any] = {"key": key, "litellm_provider": lp, "provider": provider,
                                   "spec": _price_fields(spec), "cost_per_token": {}, "generic": {}}
            alias_of = (raw.get(key) or {}).get("alias_of")
            if isinstance(alias_of, str):
                row["alias_of"] = alias_of
            # The key whose JSON entry cost_per_token's lookup lands on (the model name after
            # get_llm_provider strips a provider prefix, then get_model_info): another key than this
            # one is a lookup quirk, recorded so the classifier can name it.
            try:
                stripped = litellm.get_llm_provider(model=key, custom_llm_provider=provider)[0]
                row["lookup_key"] = litellm.get_model_info(model=stripped, custom_llm_provider=provider).get("key")
            except Exception as exc:  # a key LiteLLM cannot look up: say so
                row["lookup_key"] = f"error: {type(exc).__name__}"
            for shape in SHAPES:
                prompt, read, write, completion, _reasoning, _ = SHAPES[shape]
                usage = usage_of(shape)
                row["cost_per_token"][shape] = attempt(
                    litellm.cost_per_token, model=key, prompt_tokens=prompt, completion_tokens=completion,
                    cache_read_input_tokens=read, cache_creation_input_tokens=write,
                    custom_llm_provider=provider, usage_object=usage)
                row["generic"][shape] = attempt(
                    generic_cost_per_token, model=key, usage=usage_of(shape), custom_llm_provider=provider,
                    model_info=dict(spec), current_time=BILLING_TIME)
            fh.write(json.dumps(row) + "\n")
    print(f"{len(keys)} keys × {len(SHAPES)} shapes priced by litellm {installed} in "
          f"{time.perf_counter() - t0:.1f} s → {out_path}")
    return 0


# --------------------------------------------------------------------------------------------
# llmaudit side (runs in llmaudit's venv)
# --------------------------------------------------------------------------------------------

_TIER_FIELD = re.compile(r"^(?P<base>input_cost_per_token|output_cost_per_token|cache_read_input_token_cost"
                         r"|cache_creation_input_token_cost|cache_creation_input_token_cost_above_1hr"
                         r"|output_cost_per_reasoning_token)_above_(?P<n>\d+)(?P<k>k?)_tokens$")


def _dec(value: Any) -> Decimal:
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))


def _per_million(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return _dec(value) * 1_000_000
    except ArithmeticError:
        return None


def _equal(a: Decimal | None, b: Decimal | None) -> bool:
    """Equal to 1e-9 relative; both zero is equal."""
    if a is None or b is None:
        return False
    if a == b:
        return True
    return abs(a - b) <= REL_TOL * max(abs(a), abs(b))


def _fmt(value: Decimal | None) -> str | None:
    if value is None:
        return None
    return format(value.quantize(Decimal("1e-12")).normalize(), "f")


def _json_rates(spec: dict[str, Any]) -> tuple[dict[str, Decimal], dict[int, dict[str, Decimal]]]:
    """LiteLLM's JSON rates of one key, read independently of llmaudit's converter: the flat
    fields (or the ``tiered_pricing`` band starting at 0) and the long-context tiers (standard
    ``*_above_Nk_tokens`` fields, or the later bands), in USD per 1M tokens."""
    base: dict[str, Decimal] = {}
    tiers: dict[int, dict[str, Decimal]] = {}
    for field, name in JSON_RATES.items():
        rate = _per_million(spec.get(field))
        if rate is not None:
            base[name] = rate
    for field, value in spec.items():
        m = _TIER_FIELD.match(field)
        rate = _per_million(value)
        if m and rate is not None:
            threshold = int(m.group("n")) * (1000 if m.group("k") else 1)
            tiers.setdefault(threshold, {})[JSON_RATES[m.group("base")]] = rate
    for band in spec.get("tiered_pricing") or ():
        if not isinstance(band, dict) or not band.get("range"):
            continue
        rates = {name: r for field, name in JSON_RATES.items() if (r := _per_million(band.get(field))) is not None}
        low = int(float(band["range"][0]))
        if low == 0:
            for name, r in rates.items():
                base.setdefault(name, r)
        else:
            tiers.setdefault(low, {}).update(rates)
    return base, tiers


def _tier_crossed(thresholds: Any, prompt: int) -> int | None:
    crossed = [t for t in thresholds if prompt > t]
    return max(crossed) if crossed else None


@dataclass
class Diff:
    """One rate on which llmaudit's price point and LiteLLM's JSON for the key disagree."""

    name: str
    json: Decimal | None
    ours: Decimal | None

    @property
    def presence(self) -> bool:
        """One side lists the rate, the other does not (so that side applies a default)."""
        return (self.json is None) != (self.ours is None)

    def __str__(self) -> str:
        def show(v: Decimal | None) -> str:
            return "absent" if v is None else str(_fmt(v))

        return f"{self.name}: json {show(self.json)} vs llmaudit {show(self.ours)}"


def _rate_diffs(spec: dict[str, Any], point: Any, shapes: list[str]) -> list[Diff]:
    """The rates the given shapes bill on which llmaudit's price point and the key's JSON differ
    (USD per 1M tokens); for shape d, which long-context tier 250k tokens cross and its rates."""
    base, tiers = _json_rates(spec)
    diffs: list[Diff] = []
    wanted = list(dict.fromkeys(name for shape in shapes for name in SHAPE_RATES[shape]))
    for name in wanted:
        js, ours = base.get(name), getattr(point.rates, name)
        if js is None and ours is None:
            continue
        if js is None or ours is None or not _equal(js, ours):
            diffs.append(Diff(name, js, ours))
    if "d" in shapes:
        prompt = SHAPES["d"][0]
        our_tiers = {t.threshold_tokens: t.rates for t in point.long_context}
        js_t, our_t = _tier_crossed(tiers, prompt), _tier_crossed(our_tiers, prompt)
        if js_t != our_t:
            diffs.append(Diff("long-context tier crossed by 250k",
                              None if js_t is None else Decimal(js_t), None if our_t is None else Decimal(our_t)))
        elif js_t is not None and our_t is not None:
            for name in ("input", "output"):
                js, ours = tiers[js_t].get(name), getattr(our_tiers[our_t], name)
                if js is not None and (ours is None or not _equal(js, ours)):
                    diffs.append(Diff(f"tier>{js_t} {name}", js, ours))
    return diffs


def _implied_rate(row: dict[str, Any], shape: str, base: dict[str, Decimal]) -> Decimal | None:
    """The per-1M rate LiteLLM's figure implies for the shape's special tokens (cache reads for b,
    cache writes for c, reasoning for e), given the JSON input and output rates."""
    prompt, read, write, completion, reasoning, _ = SHAPES[shape]
    special = {"b": read, "c": write, "e": reasoning}.get(shape)
    total = row["cost_per_token"][shape].get("total")
    if not special or total is None or "input" not in base or "output" not in base:
        return None
    rest = (prompt - read - write) * base["input"] + (completion - reasoning) * base["output"]
    return (_dec(total) * 1_000_000 - rest) / special


def _llmaudit_usage(shape: str) -> Any:
    from llmaudit.pricing import Usage

    prompt, read, write, completion, reasoning, _ = SHAPES[shape]
    return Usage(input_tokens=prompt, output_tokens=completion, cache_read_tokens=read,
                 cache_write_tokens=write, reasoning_tokens=reasoning)


@dataclass
class Ours:
    """llmaudit's figures for one key, and where the catalog put it."""

    total: dict[str, Decimal | None]
    tokens_only: dict[str, Decimal | None]  # without per-request and per-search fees
    status: str
    point: Any
    matched_by: str | None
    entry: str | None
    entry_provider: str | None = None
    builder_entry: str | None = None  # the entry the builder gave the key (its id or an alias), if any
    joined: bool = False  # the key is an alias of that entry (a spelling joined to another model's entry)
    record_id: str | None = None  # the id llmaudit's converter gives the key (the builder's model id)
    record_provider: str | None = None
    record_platform: bool = False  # the converter files the key under a cloud or gateway (names.PLATFORMS)


# The builder's freshness window (scripts/catalog_build/timeline.py FRESH_DAYS): a snapshot speaks for
# 21 days after its upload; model-prices' entries are in force until the next one.
FRESH_DAYS = 21
RESOLUTION_BUG = "llmaudit bug: resolution"
BUILDER_BUG = "llmaudit bug: builder"
# Provider cost functions LiteLLM dispatches to instead of its generic per-token computation.
_PROVIDER_COST_CODE = {
    "perplexity": "litellm/llms/perplexity/cost_calculator.py bills the flat input/output rates only: no "
                  "long-context tier, cache writes at $0",
}
# Root causes found by reading the sources behind a key (appended to the evidence-based reason).
_REVIEWED = {
    "perplexity/sonar": "the documented page is Perplexity's Agent API model list, whose perplexity/sonar "
                        "($0.25/$2.50, cache reads $0.0625) is LiteLLM's key perplexity/perplexity/sonar; LiteLLM's "
                        "perplexity/sonar is the Sonar API's chat model at $1/$1, which no source shows changing "
                        "(model-prices' 'old' price is its own previous entry, not a vendor's)",
    "codestral/codestral-2405": "LiteLLM's codestral/ keys are the codestral.mistral.ai endpoint, listed at $0; "
                                "llmaudit's converter files them under Mistral (PROVIDER_ALIASES codestral → mistral)",
    "codestral/codestral-latest": "as codestral/codestral-2405",
    "text-completion-codestral/codestral-2405": "as codestral/codestral-2405",
    "text-completion-codestral/codestral-latest": "as codestral/codestral-2405",
}
_ZERO_RULE = "a $0 rate counts only where a source says the model is free (docs/pricing-sources.md rule 4)"


@dataclass
class Evidence:
    """The builder's own records beside the catalog (``<catalog>/sources``): each source's timeline
    per model (``observed/<provider>.json``), the $0 listings it dropped (``hygiene``) and the
    disagreements it settled, with the rule (``discrepancies``)."""

    folder: Path
    hygiene: dict[str, list[dict[str, Any]]]
    settled: dict[str, list[dict[str, Any]]]
    observed_by_provider: dict[str, dict[str, Any]]

    @classmethod
    def load(cls, folder: Path) -> Evidence | None:
        path = folder / "discrepancies.json"
        if not path.is_file():
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
        hygiene: dict[str, list[dict[str, Any]]] = {}
        settled: dict[str, list[dict[str, Any]]] = {}
        for rec in data.get("hygiene") or ():
            hygiene.setdefault(str(rec.get("model")).lower(), []).append(rec)
        for rec in data.get("discrepancies") or ():
            settled.setdefault(str(rec.get("model")).lower(), []).append(rec)
        return cls(folder, hygiene, settled, {})

    def observed(self, model_id: str) -> dict[str, list[dict[str, Any]]]:
        provider, _, name = model_id.partition("/")
        if provider not in self.observed_by_provider:
            path = self.folder / "observed" / f"{provider}.json"
            models = json.loads(path.read_text(encoding="utf-8"))["models"] if path.is_file() else {}
            self.observed_by_provider[provider] = {k.lower(): v for k, v in models.items()}
        return self.observed_by_provider[provider].get(name.lower()) or {}

    def on_day(self, model_id: str | None) -> dict[str, dict[str, Any]]:
        """Each source family's observation of the model in force on the release day, labelled
        ``family (label)``, as the builder's ``_active`` picks it: the latest one begun by then,
        if still fresh."""
        out: dict[str, dict[str, Any]] = {}
        if not model_id:
            return out
        for family, periods in self.observed(model_id).items():
            begun = [p for p in periods if date.fromisoformat(p["from"]) <= RELEASE_DAY]
            if not begun:
                continue
            obs = begun[-1]
            if family != "model-prices" and (obs.get("to") is None or RELEASE_DAY > date.fromisoformat(
                    obs["to"]) + timedelta(days=FRESH_DAYS)):
                continue
            out[f"{family} ({obs.get('source') or obs.get('last')})"] = obs
        return out

    def dropped(self, *model_ids: str | None) -> list[dict[str, Any]]:
        return [rec for m in dict.fromkeys(m.lower() for m in model_ids if m) for rec in self.hygiene.get(m, ())]

    def rule_for(self, model_id: str) -> str | None:
        """The rule of the builder's latest settled disagreement for the model up to the release day."""
        recs = [r for r in self.settled.get(model_id.lower(), ())
                if str(r.get("from") or r.get("date") or "") <= RELEASE_DAY.isoformat()]
        return recs[-1].get("rule") if recs else None


def _obs_rate(obs: dict[str, Any], name: str) -> Decimal | None:
    value = obs.get(name)
    return None if value is None else Decimal(str(value))


def _documented(point: Any) -> str | None:
    """The vendor source of a documented point (its day is the vendor's), else None."""
    note = point.note or ""
    if note.startswith("documented"):
        return str(point.source)
    return None


def _show(v: Decimal | None) -> str:
    return "absent" if v is None else str(_fmt(v))


def classify(row: dict[str, Any], ours: Ours, differ: list[str], evidence: Evidence | None = None) -> tuple[str, str]:
    """(class, one-line reason) of a key that differs on the shapes ``differ``, from the evidence,
    first match wins:

    * ``unknown in llmaudit``: the catalog resolves no entry for the key; ``zero-price semantics``
      when that is because the builder dropped the key's $0 listing (its hygiene record: a $0 rate
      counts only where a source says the model is free, LiteLLM bills it as $0);
    * ``LiteLLM quirk``: ``cost_per_token`` raised; or on every differing shape llmaudit equals
      LiteLLM's own ``generic_cost_per_token`` over the key's JSON entry while ``cost_per_token``
      does not (a provider-specific cost function, a lookup that lands on another key, named from
      ``lookup_key``); or llmaudit less the per-request fee the key's JSON lists equals
      ``cost_per_token`` (LiteLLM never bills ``input_cost_per_request``);
    * ``missing-rate semantics``: llmaudit reports ``missing_rate`` for an input/output rate the
      JSON lacks too (LiteLLM bills an absent rate as $0);
    * ``llmaudit bug: resolution``: ``catalog.resolve`` lands on another entry than the one the
      builder gave the key, or prices a key whose listing the builder dropped with another host's
      entry (the cross-host fallback);
    * ``llmaudit bug: builder``: the builder joined a cloud spelling to the maker's entry although
      LiteLLM 1.110.2 prices it apart; or a billed rate on which LiteLLM 1.110.2 and every other source
      in force on the date (``observed``) agree, or one no such source lists, differs in the catalog;
    * ``source disagreement``: the catalog's price on the date comes from another source than the
      key's JSON (a documented vendor price, model-prices, an older snapshot where LiteLLM lists
      $0, another LiteLLM key of the model): the source that won, both values and the rule;
    * else the key's JSON leaves out a rate the catalog lists, or lists a $0 rate the catalog
      treats as none, or nothing differs: the rule differs, ``tier semantics`` (only shape d),
      ``cache default`` (only b/c), ``reasoning`` (only e), joined with ``+`` when several.
    """
    spec = row["spec"]
    key = row["key"]
    cpt, gen = row["cost_per_token"], row["generic"]
    via = f" [resolved by {ours.matched_by} to {ours.entry}]" if ours.matched_by not in (None, "exact") else ""
    ev = evidence
    if ours.status == "unknown_model":
        if row.get("alias_of"):
            return ("unknown in llmaudit", f"the key is a LiteLLM alias row (alias_of {row['alias_of']}); "
                                           "llmaudit's converter skips it")
        dropped = ev.dropped(ours.record_id) if ev else []
        if dropped:
            rec = dropped[-1]
            listed = ", ".join(f"{label} {_show(_obs_rate(o, 'input'))}/{_show(_obs_rate(o, 'output'))}"
                               for label, o in ev.on_day(ours.record_id).items()) if ev else ""
            return ("zero-price semantics",
                    f"LiteLLM bills the key's $0 {'/'.join(rec.get('fields') or ())}; the builder dropped "
                    f"{rec['model']}'s $0 listing (first from {rec.get('source')}, {rec.get('date')}): "
                    f"{_ZERO_RULE}; in force on {RELEASE_DAY}: {listed or 'no other source'}")
        return "unknown in llmaudit", "catalog.resolve finds no entry for the key"
    errors = sorted({cpt[s]["error"] for s in differ if "error" in cpt[s]})
    if errors:
        return "LiteLLM quirk", f"cost_per_token raises: {errors[0]}"
    gen_total = {s: _dec(gen[s]["total"]) if "total" in gen[s] else None for s in SHAPES}
    cpt_total = {s: _dec(cpt[s]["total"]) for s in SHAPES}
    if all(_equal(ours.total[s], gen_total[s]) for s in differ):
        s0 = differ[0]
        lookup = row.get("lookup_key")
        if lookup and lookup != key:
            cause = f"its lookup lands on LiteLLM's key '{lookup}', not on this key's entry"
        else:
            cause = _PROVIDER_COST_CODE.get(row["provider"], "its provider's cost function departs from the JSON")
        return ("LiteLLM quirk", f"llmaudit equals LiteLLM's generic_cost_per_token on the key's own JSON entry; "
                                 f"cost_per_token via provider '{row['provider']}' does not ({s0}: {cpt_total[s0]} "
                                 f"vs generic {gen_total[s0]}): {cause}")
    if spec.get("input_cost_per_request") is not None and all(
            _equal(ours.tokens_only[s], cpt_total[s]) for s in differ):
        return ("LiteLLM quirk", f"cost_per_token leaves out the JSON's input_cost_per_request "
                                 f"({spec['input_cost_per_request']} per call), which llmaudit bills per request")
    base, _tiers = _json_rates(spec)
    point = ours.point
    if ours.status == "missing_rate" or point is None:
        lacking = [n for n in ("input", "output") if point is None or getattr(point.rates, n) is None]
        if all(n not in base for n in lacking):
            return ("missing-rate semantics", f"no {'/'.join(lacking)} rate in the JSON nor in llmaudit: "
                                              "LiteLLM bills it as $0, llmaudit reports missing_rate")
        return "source disagreement", f"llmaudit's entry lacks the {'/'.join(lacking)} rate the JSON lists{via}"
    if ours.builder_entry and ours.builder_entry != ours.entry:
        return (RESOLUTION_BUG, f"catalog.resolve('{key}', '{row['provider']}') lands on {ours.entry} "
                                f"(matched_by {ours.matched_by}); the builder priced the key as {ours.builder_entry}")
    if ours.builder_entry is None and ours.matched_by == "name" and ours.entry_provider != ours.record_provider:
        dropped = ev.dropped(ours.record_id) if ev else []
        why = (f"the builder dropped the key's $0 listing ({dropped[-1]['model']}, {_ZERO_RULE})" if dropped
               else "the builder gave the key no entry")
        return (RESOLUTION_BUG, f"{why}; catalog.resolve's cross-host fallback (pass 2, matched_by name) prices it "
                                f"with {ours.entry}, another provider's listing, instead of reporting it unknown")
    diffs = _rate_diffs(spec, point, differ)
    on_day = ev.on_day(ours.entry) if ev and ours.entry else {}
    documented = _documented(point)
    won = f"{point.source} (from {point.effective_from})" + (" [documented vendor date]" if documented else "")
    base_diffs = [d for d in diffs if d.name in ("input", "output")]
    if (ev is not None and ours.joined and ours.record_platform and base_diffs
            and all(d.json for d in base_diffs)):
        return (BUILDER_BUG, f"{'; '.join(map(str, base_diffs))}: the builder joined this cloud spelling to "
                             f"{ours.entry} (rule 3), yet LiteLLM 1.110.2 prices it apart; the catalog's "
                             f"price is {won}; scripts/catalog_build/build.py _agree_always compares only days on "
                             f"which both keys are listed")
    bugs: list[str] = []
    disagreements: list[str] = []
    zeros: list[Diff] = []
    omitted: list[Diff] = []
    for d in diffs:
        if d.json is not None and d.json == 0 and d.ours != 0:
            zeros.append(d)
            continue
        if d.name.startswith("long-context"):
            # the key's JSON lists no tier where the catalog has one (a rule), or the other way round
            (omitted if d.json is None else disagreements).append(d)
            continue
        if d.name.startswith("tier>"):
            disagreements.append(d)
            continue
        if d.json is None:
            omitted.append(d)
            continue
        listed = {label: v for label, o in on_day.items() if (v := _obs_rate(o, d.name)) is not None}
        if documented and d.name in ("input", "output"):
            disagreements.append(d)
        elif ev is None:  # no builder records (a converted catalog): nothing tells a stale price
            disagreements.append(d)
        elif all(_equal(v, d.json) for v in listed.values()):
            hint = ""
            if documented:
                hint = (" (scripts/catalog_build/timeline.py apply_documented moved an earlier snapshot point "
                        f"without it to the vendor's date {point.effective_from})")
            elif not any(label.startswith("litellm") and d.name in o for label, o in on_day.items()):
                hint = (" (the entry's LiteLLM observation on the date omits it: another key of the entry speaks, "
                        "scripts/catalog_build/build.py _family_obs lets the best-ranked key listed that day, "
                        "shortest first, speak with all its rates)")
            shown = ", ".join(f"{k} {_show(v)}" for k, v in listed.items())
            agree = (f"LiteLLM 1.110.2 and every source in force on {RELEASE_DAY} list {_show(d.json)} ({shown})"
                     if shown else f"LiteLLM 1.110.2 lists {_show(d.json)} and no source in force on {RELEASE_DAY} "
                                   "lists another value")
            bugs.append(f"{d}: {agree}; the catalog's point {won} has {_show(d.ours)}{hint}")
        elif d.ours is not None and not any(_equal(v, d.ours) for v in listed.values()):
            shown = ", ".join(f"{k} {_show(v)}" for k, v in listed.items())
            bugs.append(f"{d}: no source in force on {RELEASE_DAY} lists the catalog's {_show(d.ours)} ({shown}); "
                        f"its point {won} is stale")
        else:
            disagreements.append(d)
    zero_base = [d for d in zeros if d.name in ("input", "output")]
    if bugs:
        also = [str(d) for d in (*disagreements, *zero_base)]
        return BUILDER_BUG, "; ".join(bugs) + (f"; besides: {'; '.join(also)} (won: {won})" if also else "") + via
    if disagreements or zero_base or "a" in differ:
        shown = "; ".join(map(str, diffs)) or "shape a differs though the JSON input/output rates match llmaudit's"
        if documented and any(d.name in ("input", "output") for d in disagreements):
            rule = ev.rule_for(ours.entry) if ev and ours.entry else None
            rule_text = f"documented vendor date beats snapshots (rule 2{f': {rule}' if rule else ''})"
        elif zero_base:
            rule_text = (f"LiteLLM 1.110.2 lists $0 for the key; {_ZERO_RULE}, so the catalog keeps the "
                         f"price of another source or another key of the model")
        else:
            rule = ev.rule_for(ours.entry) if ev and ours.entry else None
            rule_text = rule or "the best-ranked fresh source speaks (rule 1)"
        listed = ", ".join(f"{label} {_show(_obs_rate(o, 'input'))}/{_show(_obs_rate(o, 'output'))}"
                           for label, o in on_day.items())
        reviewed = f"; reviewed: {_REVIEWED[key]}" if key in _REVIEWED else ""
        return ("source disagreement", f"{shown}; won: {won}; rule: {rule_text}; in force on {RELEASE_DAY}: "
                                       f"{listed or 'no fresh source'}{via}{reviewed}")
    classes = []
    notes = [str(d) for d in diffs]
    if "d" in differ:
        classes.append("tier semantics")
    if "b" in differ or "c" in differ:
        classes.append("cache default")
    if "e" in differ:
        classes.append("reasoning")
    for shape, what in (("b", "cache reads"), ("c", "cache writes"), ("e", "reasoning")):
        implied = _implied_rate(row, shape, base) if shape in differ else None
        if implied is not None and base.get("input"):
            ref = base["input"] if shape != "e" else base["output"]
            notes.append(f"LiteLLM bills {what} at {_fmt(implied)}/M "
                         f"({_fmt(implied / ref) if ref else '?'}× {'input' if shape != 'e' else 'output'})")
    for shape, name in (("b", "cache_read"), ("c", "cache_write_5m"), ("e", "reasoning")):
        if shape in differ and name not in base and getattr(point.rates, name) is None:
            notes.insert(0, f"neither the JSON nor llmaudit lists a {name} rate")
    if omitted:
        if ours.joined and ours.record_platform:
            why = (" (rule 3, build.py _same_price: a rate a cloud listing leaves out is no different price, so "
                   "the spelling joined the maker's entry and bills the maker's rate)")
        elif ours.joined or ours.matched_by not in (None, "exact"):
            why = " (another LiteLLM key of the same model lists it; the catalog keeps one entry per model)"
        else:
            why = ""
        notes.append(f"the key's JSON leaves out {', '.join(d.name for d in omitted)}; the catalog's comes from {won}"
                     + why)
    if zeros:
        notes.append(f"the JSON's $0 {', '.join(d.name for d in zeros)} is no rate to the catalog ({_ZERO_RULE}): "
                     "llmaudit bills those tokens at input")
    reason = "; ".join(notes) if notes else "rates agree; the rule applied to them differs"
    return " + ".join(classes), f"{reason}{via}"


def _converted_catalog(json_path: Path) -> Any:
    """A one-snapshot catalog straight from a LiteLLM price JSON through llmaudit's converter
    (``llmaudit.pricing.litellm.convert``), without the builder's merges, aliasing and history:
    it tells the converter's and engine's share of a discrepancy from the builder's."""
    from llmaudit.pricing import Catalog, ModelEntry, PricePoint
    from llmaudit.pricing import litellm as converter

    records = converter.convert(json.loads(json_path.read_text(encoding="utf-8")))
    best: dict[str, Any] = {}
    keys: dict[str, set[str]] = {}
    for rec in records:
        keys.setdefault(rec.id, set()).add(rec.key)
        held = best.get(rec.id)
        if held is None or (rec.rank, len(rec.key), rec.key) < (held.rank, len(held.key), held.key):
            best[rec.id] = rec
    label = f"litellm-{LITELLM_VERSION}"
    entries = [ModelEntry(i, r.provider, r.name,
                          (PricePoint(RELEASE_DAY, label, RELEASE_DAY, r.rates, r.tiers),),
                          tuple(sorted(k for k in keys[i] if k.lower() not in (i.lower(), r.name.lower()))),
                          r.context_window, r.max_output_tokens, r.mode)
               for i, r in sorted(best.items())]
    return Catalog(entries, RELEASE_DAY)


def llmaudit_side(in_path: Path, out_path: Path, converted_from: Path | None = None,
                  catalog_dir: Path | None = None) -> int:
    sys.path.insert(0, str(REPO))
    from llmaudit.pricing import cost_breakdown, load_catalog

    if catalog_dir is not None:
        catalog = load_catalog(shipped=False, overlay=False, extra_files=sorted(catalog_dir.glob("*.json")))
        catalog_name = f"the catalog in {catalog_dir}"
    elif converted_from is None:
        catalog = load_catalog(shipped=True, overlay=False)
        catalog_name = "llmaudit's shipped catalog"
    else:
        catalog = _converted_catalog(converted_from)
        catalog_name = f"a catalog converted from {converted_from.name} alone"
    from llmaudit.pricing import litellm as converter
    from llmaudit.pricing.names import PLATFORMS

    evidence_dir = (catalog_dir if catalog_dir is not None else REPO / "pricing_data") / "sources"
    evidence = Evidence.load(evidence_dir) if converted_from is None else None
    if evidence is None:
        print(f"  (no builder evidence in {evidence_dir}: classes from the JSON alone)", file=sys.stderr)
    # Where the builder put each key: an entry whose id is the key (exact case first), or one that
    # lists it as an alias (a spelling it joined to that model).
    by_id: dict[str, Any] = {}
    by_alias: dict[str, Any] = {}
    for entry in catalog.entries:
        by_id.setdefault(entry.id, entry)
        by_id.setdefault(entry.id.lower(), entry)
        for alias in entry.aliases:
            by_alias.setdefault(alias, entry)
            by_alias.setdefault(alias.lower(), entry)
    usages = {s: _llmaudit_usage(s) for s in SHAPES}
    with in_path.open(encoding="utf-8") as fh:
        meta = json.loads(fh.readline())["meta"]
        rows = [json.loads(line) for line in fh if line.strip()]

    equal_keys = 0
    # Keys LiteLLM bills above $0 on some shape (a $0 everywhere is often a placeholder, not a price)
    billed_keys = billed_equal = 0
    shape_equal: Counter[str] = Counter()
    per_class: Counter[str] = Counter()
    discrepancies: dict[str, Any] = {}
    for row in rows:
        key = row["key"]
        ours = Ours({}, {}, "priced", None, None, None)
        for shape in SHAPES:
            cb = cost_breakdown(catalog, key, usages[shape], at=RELEASE_DAY, provider=row["provider"])
            ours.total[shape] = cb.total
            token_lines = [c for n, _q, _r, c in cb.lines if n not in ("per_request", "per_search")]
            ours.tokens_only[shape] = (sum((c for c in token_lines if c is not None), Decimal(0))
                                       if cb.lines and None not in token_lines else None)
            if ours.status == "priced":
                ours.status = cb.status
            ours.point = ours.point or cb.price
            ours.matched_by, ours.entry = cb.matched_by, cb.model_id
        records = converter.convert({key: row["spec"]})
        if records:
            ours.record_id, ours.record_provider = records[0].id, records[0].provider
            ours.record_platform = records[0].provider in PLATFORMS
        placed = by_alias.get(key) or by_alias.get(key.lower())
        ours.joined = placed is not None
        for candidate in (key, ours.record_id):
            if placed is None and candidate:
                placed = by_id.get(candidate) or by_id.get(candidate.lower())
        ours.builder_entry = placed.id if placed is not None else None
        if ours.entry is not None:
            hit = catalog.get(ours.entry)
            ours.entry_provider = hit.provider if hit is not None else None
        differ = []
        for shape in SHAPES:
            theirs = row["cost_per_token"][shape]
            if "total" in theirs and _equal(ours.total[shape], _dec(theirs["total"])):
                shape_equal[shape] += 1
            else:
                differ.append(shape)
        billed = any(row["cost_per_token"][s].get("total") for s in SHAPES)
        billed_keys += billed
        if not differ:
            equal_keys += 1
            billed_equal += billed
            continue
        cls, reason = classify(row, ours, differ, evidence)
        per_class[cls] += 1
        record: dict[str, Any] = {
            "class": cls,
            "reason": reason,
            "litellm_provider": row["litellm_provider"],
            "provider": row["provider"],
        }
        if row.get("alias_of"):
            record["alias_of"] = row["alias_of"]
        point = ours.point
        record.update({
            "matched_by": ours.matched_by,
            "entry": ours.entry,
            "builder_entry": ours.builder_entry,
            "price_source": point.source if point is not None else None,
            "effective_from": point.effective_from.isoformat() if point is not None else None,
            "shapes": {
                s: {"litellm": row["cost_per_token"][s].get("total", row["cost_per_token"][s].get("error")),
                    "litellm_generic": row["generic"][s].get("total", row["generic"][s].get("error")),
                    "llmaudit": _fmt(ours.total[s]) if ours.total[s] is not None else ours.status}
                for s in differ
            },
        })
        discrepancies[key] = record

    compared = len(rows)
    pct = 100 * equal_keys / compared if compared else 0.0
    summary = {
        "litellm": meta["litellm"],
        "at": RELEASE_DAY.isoformat(),
        "billing_time": meta["billing_time"],
        "catalog": catalog_name,
        "tolerance": "1e-9 relative (both zero = equal)",
        "shapes": meta["shapes"],
        "keys_compared": compared,
        "keys_equal_on_all_shapes": equal_keys,
        "percent_equal": round(pct, 2),
        "keys_litellm_bills_above_zero": billed_keys,
        "equal_among_them": billed_equal,
        "percent_equal_among_them": round(100 * billed_equal / billed_keys, 2) if billed_keys else 0.0,
        "equal_per_shape": {s: shape_equal[s] for s in SHAPES},
        "differing_keys_per_class": dict(per_class.most_common()),
    }
    print(f"LiteLLM {meta['litellm']} cost_per_token vs {catalog_name} at {RELEASE_DAY} "
          f"(billing time {meta['billing_time']})")
    print(f"  keys compared:            {compared:,}")
    print(f"  equal on all five shapes: {equal_keys:,} ({pct:.2f} %)")
    print(f"  of the {billed_keys:,} keys LiteLLM bills above $0: {billed_equal:,} equal "
          f"({100 * billed_equal / billed_keys if billed_keys else 0:.2f} %)")
    print("  equal per shape:          " + ", ".join(f"{s} {shape_equal[s]:,}" for s in SHAPES))
    print("  differing keys per class:")
    for cls, n in per_class.most_common():
        print(f"    {n:6,}  {cls}")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"summary": summary, "discrepancies": dict(sorted(discrepancies.items()))}
    out_path.write_text(json.dumps(payload, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    shown = out_path.relative_to(REPO) if out_path.is_relative_to(REPO) else out_path
    print(f"  discrepancy file: {shown}")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("jsonl", nargs="?", help="LiteLLM-side JSONL to compare against (llmaudit side)")
    ap.add_argument("--litellm-side", metavar="OUT.jsonl", help="price every key with LiteLLM into OUT.jsonl")
    ap.add_argument("--limit", type=int, default=None, help="LiteLLM side: first N keys only (a smoke run)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="discrepancy file (llmaudit side)")
    ap.add_argument("--converted-from", type=Path, metavar="PRICES.json",
                    help="llmaudit side: price with a catalog converted from this LiteLLM JSON alone instead of "
                         "the shipped one (isolates the converter and engine from the catalog builder)")
    ap.add_argument("--catalog-dir", type=Path, metavar="DIR",
                    help="llmaudit side: price with the catalog files in DIR (e.g. a rebuild's --out) instead of "
                         "the shipped ones")
    args = ap.parse_args(argv)
    if args.litellm_side:
        return litellm_side(Path(args.litellm_side), args.limit)
    if not args.jsonl:
        ap.error("give the LiteLLM-side JSONL, or --litellm-side OUT.jsonl")
    return llmaudit_side(Path(args.jsonl), args.out, args.converted_from, args.catalog_dir)


if __name__ == "__main__":
    sys.exit(main())
