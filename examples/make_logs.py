"""Generate the bundled demo usage logs in examples/logs/ (a realistic month, fixed seed).

    python examples/make_logs.py            # rewrites examples/logs/*.jsonl

Three request logs, in the shapes ``llmaudit ingest`` reads (field names from the vendors' own
usage objects, docs: shared/reference/formats.md §A):

* ``openai-app.jsonl`` — an application's log of OpenAI Chat Completions responses, wrapped with
  the timestamp, request id, user, project and tags the response itself lacks (§A1 ``usage``:
  ``prompt_tokens`` includes ``prompt_tokens_details.cached_tokens``; ``completion_tokens``
  includes ``completion_tokens_details.reasoning_tokens``).
* ``anthropic-app.jsonl`` — the same kind of log for Anthropic Messages responses (§A3 ``usage``:
  ``input_tokens`` is uncached only; ``cache_creation_input_tokens``, ``cache_read_input_tokens``,
  ``cache_creation.ephemeral_5m_input_tokens`` / ``ephemeral_1h_input_tokens``).
* ``openrouter-gateway.jsonl`` — OpenAI-compatible responses through OpenRouter, whose ``usage.cost``
  is what the account was charged (§A5). Most charges equal the list price; a few are higher (a
  pricier upstream endpoint), and one model (``acme/acme-chat-7b``) is in no price catalog.
* ``openrouter-activity.csv`` — an OpenRouter activity export (§C1: the real header, parsed by name;
  ``created_at`` as ``YYYY-MM-DD HH:MM:SS.fff``; ``model_permaslug`` dated slugs; ``cost_total`` the
  charge), for a second team that uses OpenRouter's web export. A few rows were charged more than
  the list price (a pricier upstream).

Billed costs are computed with llmaudit's own catalog at generation time so that, by construction,
only the deliberately perturbed rows disagree with the list price.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

SEED = 20261126
START = datetime(2026, 10, 27, tzinfo=UTC)
DAYS = 30
OUT = Path(__file__).resolve().parent / "logs"

USERS = ["u-ana", "u-ben", "u-chen", "u-dara", "u-eli", "u-fatima", "u-gus", "u-hana"]
PROJECTS = {"support-bot": ["support", "chat"], "search": ["rag", "search"], "codegen": ["code"],
            "analytics": ["batch-report", "sql"]}

# (model as the API reports it, share of the file's requests, prompt size range, output range)
OPENAI = [
    ("gpt-4o-2024-08-06", 0.30, (800, 9000), (100, 900)),
    ("gpt-4o-mini-2024-07-18", 0.35, (300, 4000), (50, 500)),
    ("gpt-4.1-2025-04-14", 0.15, (2000, 60000), (200, 1500)),
    ("o4-mini-2025-04-16", 0.12, (500, 6000), (300, 4000)),
    ("gpt-4.1-nano-2025-04-14", 0.08, (200, 2000), (20, 200)),
]
ANTHROPIC = [
    ("claude-sonnet-4-5-20250929", 0.55, (2000, 40000), (200, 2500)),
    ("claude-haiku-4-5-20251001", 0.35, (500, 8000), (50, 800)),
    ("claude-opus-4-1-20250805", 0.10, (3000, 30000), (300, 3000)),
]
OPENROUTER = [
    ("google/gemini-2.5-flash", 0.40, (1000, 20000), (100, 1200)),
    ("deepseek/deepseek-chat", 0.30, (500, 12000), (100, 1500)),
    ("meta-llama/llama-3.3-70b-instruct", 0.22, (300, 6000), (50, 700)),
    ("acme/acme-chat-7b", 0.08, (200, 3000), (50, 400)),
]


def _when(rng: random.Random) -> datetime:
    day = rng.randrange(DAYS)
    # Working hours weigh more; weekends carry a third of the weekday traffic.
    while (START + timedelta(days=day)).weekday() >= 5 and rng.random() < 0.66:
        day = rng.randrange(DAYS)
    hour = min(23, max(0, int(rng.gauss(14, 4))))
    return START + timedelta(days=day, hours=hour, minutes=rng.randrange(60), seconds=rng.randrange(60),
                             milliseconds=rng.randrange(1000))


def _pick(rng: random.Random, table: list[tuple[str, float, tuple[int, int], tuple[int, int]]]) -> tuple:
    return rng.choices(table, weights=[t[1] for t in table])[0]


def _envelope(rng: random.Random, ts: datetime, rid: str) -> dict:
    project = rng.choice(list(PROJECTS))
    return {
        "timestamp": ts.isoformat().replace("+00:00", "Z"),
        "request_id": rid,
        "user": rng.choice(USERS),
        "project": project,
        "tags": [rng.choice(PROJECTS[project])],
        "latency_ms": round(rng.uniform(300, 9000), 1),
    }


def openai_lines(rng: random.Random, n: int) -> list[dict]:
    lines = []
    for i in range(n):
        model, _, (plo, phi), (olo, ohi) = _pick(rng, OPENAI)
        ts = _when(rng)
        prompt = rng.randint(plo, phi)
        cached = (prompt // 1024) * 1024 if prompt > 1024 and rng.random() < 0.4 else 0
        completion = rng.randint(olo, ohi)
        reasoning = int(completion * rng.uniform(0.4, 0.8)) if model.startswith("o4") else 0
        env = _envelope(rng, ts, f"req_{i:05d}{rng.randrange(16**6):06x}")
        env["response"] = {
            "id": f"chatcmpl-{rng.randrange(16**12):012x}",
            "object": "chat.completion",
            "created": int(ts.timestamp()),
            "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "…"}, "finish_reason": "stop"}],
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
                "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": reasoning, "audio_tokens": 0,
                                              "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
            },
            "system_fingerprint": "fp_demo",
        }
        lines.append(env)
    return lines


def anthropic_lines(rng: random.Random, n: int) -> list[dict]:
    lines = []
    for _ in range(n):
        model, _, (plo, phi), (olo, ohi) = _pick(rng, ANTHROPIC)
        ts = _when(rng)
        prompt = rng.randint(plo, phi)
        if model.startswith("claude-sonnet") and rng.random() < 0.03:
            prompt = rng.randint(140_000, 190_000)  # a few long-document requests
        read = int(prompt * rng.uniform(0.5, 0.9)) if rng.random() < 0.5 else 0
        write = int((prompt - read) * rng.uniform(0.2, 0.6)) if rng.random() < 0.3 else 0
        write_1h = write if write and rng.random() < 0.2 else 0
        uncached = prompt - read - write
        output = rng.randint(olo, ohi)
        env = _envelope(rng, ts, f"req_{rng.randrange(16**20):020x}")
        env["response"] = {
            "id": f"msg_{rng.randrange(16**20):020x}",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [{"type": "text", "text": "…"}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {
                "input_tokens": uncached,
                "cache_creation_input_tokens": write,
                "cache_read_input_tokens": read,
                "cache_creation": {"ephemeral_5m_input_tokens": write - write_1h,
                                   "ephemeral_1h_input_tokens": write_1h},
                "output_tokens": output,
                "service_tier": "standard",
            },
        }
        lines.append(env)
    return lines


def openrouter_lines(rng: random.Random, n: int) -> list[dict]:
    from llmaudit.pricing import Usage, cost_breakdown, load_catalog

    catalog = load_catalog()
    lines = []
    for _ in range(n):
        model, _, (plo, phi), (olo, ohi) = _pick(rng, OPENROUTER)
        ts = _when(rng)
        prompt = rng.randint(plo, phi)
        completion = rng.randint(olo, ohi)
        if model.startswith("acme/"):
            cost = Decimal(prompt + completion) * Decimal("0.0000002")
        else:
            # OpenRouter bills its own list price for the model (the response's gen- id says it
            # went through OpenRouter), which is not always the vendor's direct price.
            cost = cost_breakdown(catalog, f"openrouter/{model}", Usage(prompt, completion), at=ts).total
            assert cost is not None, model
            if rng.random() < 0.06:
                # Served by a pricier upstream endpoint than the list price we reprice with.
                cost *= Decimal(str(round(rng.uniform(1.05, 1.6), 2)))
        gen = f"gen-{int(ts.timestamp())}-{rng.randrange(36**20):020x}"[:40]
        env = _envelope(rng, ts, gen)
        env["response"] = {
            "id": gen,
            "object": "chat.completion",
            "created": int(ts.timestamp()),
            "model": model,
            "provider": model.split("/")[0],
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "…"}, "finish_reason": "stop"}],
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
                "prompt_tokens_details": {"cached_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 0},
                "cost": float(round(cost, 9)),
                "is_byok": False,
            },
        }
        lines.append(env)
    return lines


OPENROUTER_CSV = [
    ("anthropic/claude-4.5-sonnet-20250929", "Anthropic", 0.35, (3000, 30000), (200, 2000)),
    ("openai/gpt-4.1-2025-04-14", "OpenAI", 0.25, (1000, 20000), (100, 1200)),
    ("x-ai/grok-3-mini", "xAI", 0.15, (500, 6000), (100, 900)),
    ("mistralai/mistral-small-3.2-24b-instruct", "Mistral", 0.25, (300, 5000), (50, 600)),
]
CSV_HEADER = ("generation_id,created_at,cost_total,cost_web_search,cost_cache,cost_file_processing,"
              "byok_usage_inference,tokens_prompt,tokens_completion,tokens_reasoning,tokens_cached,model_permaslug,"
              "provider_name,variant,cancelled,streamed,user,finish_reason_raw,finish_reason_normalized,"
              "generation_time_ms,time_to_first_token_ms,api_key_disabled,api_key_name,app_name").split(",")


def openrouter_csv_rows(rng: random.Random, n: int) -> list[dict]:
    from llmaudit.pricing import Usage, cost_breakdown, load_catalog

    catalog = load_catalog()
    rows = []
    for _ in range(n):
        weights = [m[2] for m in OPENROUTER_CSV]
        model, provider, _, (plo, phi), (olo, ohi) = rng.choices(OPENROUTER_CSV, weights=weights)[0]
        ts = _when(rng)
        prompt = rng.randint(plo, phi)
        cached = int(prompt * rng.uniform(0.3, 0.8)) if rng.random() < 0.3 else 0
        completion = rng.randint(olo, ohi)
        reasoning = int(completion * rng.uniform(0.3, 0.7)) if "grok-3-mini" in model else 0
        cost = cost_breakdown(catalog, model, Usage(prompt, completion, cache_read_tokens=cached,
                                                    reasoning_tokens=reasoning), at=ts).total
        assert cost is not None, model
        if rng.random() < 0.08:
            cost *= Decimal(str(round(rng.uniform(1.03, 1.4), 2)))
        byok = False  # a BYOK row is billed only the 5% fee: real, but it would crowd the demo's mismatch list
        gen_ms = rng.randint(400, 12000)
        rows.append({
            "generation_id": f"gen-{int(ts.timestamp())}-{rng.randrange(36**12):012x}{rng.randrange(16**8):08x}",
            "created_at": ts.strftime("%Y-%m-%d %H:%M:%S.") + f"{ts.microsecond // 1000:03d}",
            "cost_total": f"{cost.quantize(Decimal('1e-9')) * (Decimal('0.05') if byok else 1):f}",
            "cost_web_search": "0", "cost_cache": "0", "cost_file_processing": "0",
            "byok_usage_inference": f"{cost.quantize(Decimal('1e-9')):f}" if byok else "0",
            "tokens_prompt": prompt, "tokens_completion": completion, "tokens_reasoning": reasoning,
            "tokens_cached": cached, "model_permaslug": model, "provider_name": provider, "variant": "standard",
            "cancelled": "false", "streamed": "true", "user": rng.choice(USERS), "finish_reason_raw": "stop",
            "finish_reason_normalized": "stop", "generation_time_ms": gen_ms,
            "time_to_first_token_ms": rng.randint(150, min(gen_ms, 2500)), "api_key_disabled": "false",
            "api_key_name": rng.choice(["research-team", "prod-agents"]), "app_name": "research",
        })
    return rows


def _write_csv(name: str, rows: list[dict]) -> None:
    import csv

    rows.sort(key=lambda r: r["created_at"])
    with (OUT / name).open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=CSV_HEADER, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def _write(name: str, lines: list[dict]) -> None:
    lines.sort(key=lambda d: d["timestamp"])
    with (OUT / name).open("w", encoding="utf-8") as fh:
        for line in lines:
            fh.write(json.dumps(line, separators=(",", ":"), ensure_ascii=False) + "\n")


def main() -> None:
    rng = random.Random(SEED)
    OUT.mkdir(parents=True, exist_ok=True)
    _write("openai-app.jsonl", openai_lines(rng, 1400))
    _write("anthropic-app.jsonl", anthropic_lines(rng, 900))
    _write("openrouter-gateway.jsonl", openrouter_lines(rng, 700))
    _write_csv("openrouter-activity.csv", openrouter_csv_rows(rng, 400))


if __name__ == "__main__":
    main()
