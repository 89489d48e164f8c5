"""Write a synthetic OpenAI Chat Completions request log (JSONL) for speed measurements.

    python tests/ingest/gen_openai_log.py /tmp/openai_1m.jsonl 1000000 [--wrapped]

Lines look like real ``chat.completion`` objects (formats.md A1) with a short answer; a quarter use
the Responses shape. Deterministic (seeded). Nothing large is committed: generate on demand.
"""

from __future__ import annotations

import json
import random
import sys

MODELS = ["gpt-4o-mini-2024-07-18", "gpt-4o-2024-08-06", "gpt-4.1-2025-04-14", "o3-2025-04-16", "gpt-5-mini"]


def line(i: int, rng: random.Random, wrapped: bool) -> str:
    model = MODELS[i % len(MODELS)]
    created = 1767225600 + i * 3
    prompt = rng.randint(50, 20000)
    cached = rng.choice([0, 0, prompt // 2 // 128 * 128])
    completion = rng.randint(1, 2000)
    reasoning = completion // 2 if model.startswith(("o3", "gpt-5")) else 0
    if i % 4 == 3:
        obj: dict[str, object] = {
            "id": f"resp_{i:012d}", "object": "response", "created_at": created, "status": "completed",
            "model": model, "output": [{"type": "message", "id": f"msg_{i}", "role": "assistant",
                                        "content": [{"type": "output_text", "text": "The answer is 42."}]}],
            "usage": {"input_tokens": prompt, "input_tokens_details": {"cached_tokens": cached},
                      "output_tokens": completion, "output_tokens_details": {"reasoning_tokens": reasoning},
                      "total_tokens": prompt + completion},
        }
    else:
        obj = {
            "id": f"chatcmpl-{i:012d}", "object": "chat.completion", "created": created, "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "The answer is 42."},
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                      "total_tokens": prompt + completion,
                      "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
                      "completion_tokens_details": {"reasoning_tokens": reasoning, "audio_tokens": 0}},
            "service_tier": "default", "system_fingerprint": "fp_44709d6fcb",
        }
    if wrapped:
        obj = {"timestamp": created, "tags": ["bench"], "latency_ms": rng.randint(200, 5000), "response": obj}
    return json.dumps(obj, separators=(",", ":"))


def main(argv: list[str]) -> None:
    path, count = argv[0], int(argv[1])
    wrapped = "--wrapped" in argv
    rng = random.Random(7)
    with open(path, "w") as fh:
        for i in range(count):
            fh.write(line(i, rng, wrapped) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
