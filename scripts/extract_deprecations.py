#!/usr/bin/env python3
"""Write pricing_data/lifecycle/deprecations.json: the date each model stops being served, from LiteLLM's
``deprecation_date`` field in the newest pinned LiteLLM release (pricing_data/sources.lock.json).

The routed what-if proposes no model on or after its deprecation date (llmaudit.analysis.routing.whatif).
Ids are the catalog's (``llmaudit.pricing.litellm.convert`` + the catalog's own resolution), so
a key LiteLLM spells differently still finds its entry; a key the catalog does not know is left out.

    pip download litellm==1.110.2 --no-deps -d ~/.cache/llmaudit/price-sources
    python scripts/extract_deprecations.py --wheel ~/.cache/llmaudit/price-sources/litellm-1.110.2-*.whl
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from llmaudit.pricing import load_catalog  # noqa: E402
from llmaudit.pricing.litellm import convert  # noqa: E402

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--wheel", type=Path, required=True, help="the pinned LiteLLM wheel")
    ap.add_argument("--out", type=Path, default=ROOT / "pricing_data" / "lifecycle" / "deprecations.json")
    args = ap.parse_args()

    lock = json.loads((ROOT / "pricing_data" / "sources.lock.json").read_text())
    pins = [i for i in lock["inputs"] if i.get("dist") == "litellm" and i.get("file") == args.wheel.name]
    if not pins:
        raise SystemExit(f"{args.wheel.name} is not pinned in pricing_data/sources.lock.json")
    pin = pins[0]
    data = args.wheel.read_bytes()
    if hashlib.sha256(data).hexdigest() != pin["sha256"]:
        raise SystemExit(f"{args.wheel}: sha256 differs from the pin")
    member = zipfile.ZipFile(args.wheel).read(pin["member"])
    if hashlib.sha256(member).hexdigest() != pin["member_sha256"]:
        raise SystemExit(f"{pin['member']}: sha256 differs from the pin")

    catalog = load_catalog()
    dates: dict[str, str] = {}
    for record in convert(json.loads(member)):
        when = record.deprecation_date
        if not when or not _DATE.match(when):
            continue
        res = catalog.resolve(record.id)
        # Only a key of the entry's own provider dates it: Vertex or Bedrock retiring a model says
        # nothing about the maker's own API, even where the catalog joined their prices.
        if res is None or res.entry.provider != record.provider:
            continue
        # LiteLLM files Vertex's Gemini keys (``gemini-2.5-pro``, provider vertex_ai-language-models)
        # under the maker too; Vertex retires on its own schedule (2026-10-20 against AI Studio's
        # 2026-12-01 for gemini-2.5-pro in 1.110.2), so only AI Studio's ``gemini/`` keys date Google.
        if record.litellm_provider.startswith("vertex_ai") and res.entry.provider != "vertex_ai":
            continue
        # Several keys can resolve to one entry: the earliest date is the first one it stops somewhere.
        entry = res.entry.id
        dates[entry] = min(dates.get(entry, when), when)
    doc = {
        "schema": "llmaudit-deprecations/1",
        "source": {"dist": "litellm", "version": pin["version"], "file": pin["file"], "sha256": pin["sha256"],
                   "member": pin["member"], "member_sha256": pin["member_sha256"], "licence": pin.get("licence"),
                   "field": "deprecation_date"},
        "models": dict(sorted(dates.items())),
    }
    args.out.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {len(dates)} deprecation dates to {args.out}")


if __name__ == "__main__":
    main()
