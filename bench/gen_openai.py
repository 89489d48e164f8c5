"""Generate an OpenAI-style request log: one ``chat.completion`` response object per line (JSONL).

Each line carries what a gateway or SDK wrapper typically logs: ``id``, ``created`` (unix seconds),
``model`` (dated snapshot names, as the API returns them), ``usage`` with ``prompt_tokens_details
.cached_tokens`` and ``completion_tokens_details.reasoning_tokens`` (per formats.md §A1), and a
short assistant message. Written streaming in chunks, so a 5 GB log needs no memory.

    python bench/gen_openai.py --out bench/_work/openai.jsonl --rows 1000000
    python bench/gen_openai.py --out bench/_work/big.jsonl --gb 5
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

# (model as the API reports it, share of traffic, reasoning model?)
MODELS = [
    ("gpt-4o-mini-2024-07-18", 0.40, False),
    ("gpt-4o-2024-08-06", 0.20, False),
    ("gpt-4.1-2025-04-14", 0.10, False),
    ("gpt-4.1-mini-2025-04-14", 0.15, False),
    ("o3-mini-2025-01-31", 0.05, True),
    ("gpt-5-mini-2025-08-07", 0.10, True),
]
START = 1_759_276_800  # 2025-10-01T00:00:00Z
DAYS = 30
CHUNK = 50_000

_LINE = (
    '{{"id":"chatcmpl-{id:012x}","object":"chat.completion","created":{created},"model":"{model}",'
    '"choices":[{{"index":0,"message":{{"role":"assistant","content":"{text}"}},"finish_reason":"stop"}}],'
    '"usage":{{"prompt_tokens":{p},"completion_tokens":{c},"total_tokens":{t},'
    '"prompt_tokens_details":{{"cached_tokens":{cached},"audio_tokens":0}},'
    '"completion_tokens_details":{{"reasoning_tokens":{r},"audio_tokens":0,'
    '"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}}},'
    '"service_tier":"default","system_fingerprint":"fp_{fp:08x}"}}\n'
)


def generate(out: Path, rows: int | None = None, gb: float | None = None, seed: int = 11,
             id_offset: int = 0) -> dict[str, int]:
    """Write the log; stops after ``rows`` lines or once ``gb`` GiB are written. Response ids are
    ``chatcmpl-<hex of id_offset + row>``: give each partition of a dataset its own range."""
    rng = np.random.default_rng(seed)
    names = [m for m, _, _ in MODELS]
    probs = np.array([p for _, p, _ in MODELS])
    reasoning = np.array([r for _, _, r in MODELS])
    texts = ["The answer is " + " ".join(["token"] * k) + "." for k in range(1, 40)]
    limit_bytes = int(gb * 2**30) if gb else None
    written = n = 0
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", buffering=8 * 2**20) as fh:
        while True:
            size = CHUNK if rows is None else min(CHUNK, rows - n)
            if size <= 0:
                break
            mi = rng.choice(len(names), size=size, p=probs)
            prompt = rng.integers(20, 12_000, size=size)
            cached = np.where(rng.random(size) < 0.35, (prompt * rng.random(size)).astype(np.int64) // 128 * 128, 0)
            completion = rng.integers(1, 1_500, size=size)
            reason = np.where(reasoning[mi], (completion * rng.random(size)).astype(np.int64), 0)
            created = START + rng.integers(0, DAYS * 86400, size=size)
            ti = rng.integers(0, len(texts), size=size)
            buf = "".join(
                _LINE.format(id=id_offset + n + i, created=created[i], model=names[mi[i]], text=texts[ti[i]],
                             p=prompt[i], c=completion[i], t=prompt[i] + completion[i], cached=cached[i],
                             r=reason[i], fp=ti[i])
                for i in range(size)
            )
            fh.write(buf)
            written += len(buf)
            n += size
            if limit_bytes is not None and written >= limit_bytes:
                break
    return {"rows": n, "bytes": written}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True)
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--rows", type=int)
    g.add_argument("--gb", type=float)
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()
    print(json.dumps(generate(args.out, args.rows, args.gb, args.seed)))


if __name__ == "__main__":
    main()
