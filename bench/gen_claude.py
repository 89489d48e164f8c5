"""Generate a Claude Code transcript corpus (``CLAUDE_CONFIG_DIR/projects/<project>/<session>.jsonl``).

Shape per formats.md §C7: user lines with content, assistant lines carrying ``message.id``,
``requestId``, ``message.model``, ``message.usage`` (incl. the ``cache_creation`` ephemeral 5m/1h
split), ISO timestamps with milliseconds. As in real transcripts, one API message is written on
several lines (one per content block) with the usage repeated; on some of them the earlier lines
carry a partial ``output_tokens`` (the stream was not finished), so a reader must keep the largest.
A few ``<synthetic>`` API-error placeholders are mixed in. A small share of Sonnet requests pass
200k prompt tokens (the 1M-context beta), where long-context pricing applies.

    python bench/gen_claude.py --out bench/_work/claude --mb 200
"""

from __future__ import annotations

import argparse
import json
import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

MODELS = [
    ("claude-sonnet-4-5-20250929", 0.55),
    ("claude-haiku-4-5-20251001", 0.20),
    ("claude-opus-4-1-20250805", 0.10),
    ("claude-sonnet-4-20250514", 0.15),
]
LONG_CONTEXT_OK = {"claude-sonnet-4-5-20250929", "claude-sonnet-4-20250514"}
START = datetime(2025, 10, 1, tzinfo=UTC)
DAYS = 30


def _ts(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def _id(rng: random.Random, prefix: str) -> str:
    return prefix + "".join(rng.choices("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz0123456789", k=24))


def generate(out: Path, target_mb: float, seed: int = 7, projects: int = 40, turns: tuple[int, int] = (40, 160),
             text: int = 3500, files: int | None = None) -> dict[str, int]:
    """Write the corpus; returns counts (lines, messages, duplicates, synthetic, long_context).
    ``turns``: user turns per session (a range); ``text``: the longest message text, in characters.
    Short sessions with short texts make a folder of many small files (``p9_many_files.py``);
    ``files`` stops at that many files instead of at ``target_mb``."""
    rng = random.Random(seed)
    words = [
        "".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randint(2, 9))) for _ in range(3000)
    ]
    pool = " ".join(rng.choices(words, k=120_000))
    target = int(target_mb * 1024 * 1024)
    root = out / "projects"
    root.mkdir(parents=True, exist_ok=True)
    names, weights = zip(*MODELS, strict=True)
    counts = {"files": 0, "lines": 0, "messages": 0, "duplicate_lines": 0, "synthetic": 0, "long_context": 0,
              "partial_usage_lines": 0}
    written = 0
    session_no = 0
    while (written < target) if files is None else (counts["files"] < files):
        project = f"-home-dev-project{session_no % projects:02d}"
        session = str(uuid.UUID(int=rng.getrandbits(128)))
        cwd = f"/home/dev/project{session_no % projects:02d}"
        pdir = root / project
        pdir.mkdir(exist_ok=True)
        session_no += 1
        t = START + timedelta(seconds=rng.randint(0, DAYS * 86400 - 7200))
        model = rng.choices(names, weights)[0]
        ttl_1h = rng.random() < 0.3
        context = rng.randint(8_000, 30_000)
        # a few Sonnet sessions run in the 1M-context beta and grow past 200k before compacting
        limit = 420_000 if model in LONG_CONTEXT_OK and rng.random() < 0.05 else 170_000
        lines: list[str] = []
        parent = None
        for _turn in range(rng.randint(*turns)):
            t += timedelta(seconds=rng.uniform(1, 40), microseconds=rng.randint(0, 999_999))
            uid = str(uuid.UUID(int=rng.getrandbits(128)))
            start = rng.randint(0, len(pool) - 4000)
            said = pool[start:start + rng.randint(min(100, text), text)]
            lines.append(json.dumps({
                "parentUuid": parent, "isSidechain": False, "userType": "external", "cwd": cwd,
                "sessionId": session, "version": "2.0.14", "gitBranch": "main", "type": "user",
                "message": {"role": "user", "content": [{"type": "tool_result", "tool_use_id": _id(rng, "toolu_"),
                                                         "content": said}]},
                "uuid": uid, "timestamp": _ts(t),
            }, separators=(",", ":")))
            parent = uid
            t += timedelta(seconds=rng.uniform(0.5, 20), microseconds=rng.randint(0, 999_999))
            if rng.random() < 0.004:  # an API-error placeholder: model "<synthetic>", zero usage
                counts["synthetic"] += 1
                lines.append(json.dumps({
                    "parentUuid": parent, "isSidechain": False, "userType": "external", "cwd": cwd,
                    "sessionId": session, "version": "2.0.14", "gitBranch": "main", "type": "assistant",
                    "message": {"id": str(uuid.UUID(int=rng.getrandbits(128))), "type": "message", "role": "assistant",
                                "model": "<synthetic>", "content": [{"type": "text", "text": "API Error: 529"}],
                                "stop_reason": "stop_sequence", "stop_sequence": "",
                                "usage": {"input_tokens": 0, "output_tokens": 0, "cache_creation_input_tokens": 0,
                                          "cache_read_input_tokens": 0}},
                    "isApiErrorMessage": True, "uuid": str(uuid.UUID(int=rng.getrandbits(128))), "timestamp": _ts(t),
                }, separators=(",", ":")))
                continue
            counts["messages"] += 1
            write = rng.randint(0, 6000) if rng.random() < 0.5 else 0
            context += write + rng.randint(0, 1500)
            if context > limit:
                context = rng.randint(10_000, 40_000)  # /compact
            read = context
            if read + write > 200_000:
                counts["long_context"] += 1
            usage_final = {
                "input_tokens": rng.randint(1, 12),
                "cache_creation_input_tokens": write,
                "cache_read_input_tokens": read,
                "cache_creation": {"ephemeral_5m_input_tokens": 0 if ttl_1h else write,
                                   "ephemeral_1h_input_tokens": write if ttl_1h else 0},
                "output_tokens": rng.randint(5, 2500),
                "service_tier": "standard",
            }
            msg_id = _id(rng, "msg_01")
            req_id = _id(rng, "req_011C")
            blocks = rng.choices([1, 2, 3], weights=[0.45, 0.4, 0.15])[0]
            partial = blocks > 1 and rng.random() < 0.3
            for b in range(blocks):
                usage = usage_final
                if partial and b < blocks - 1:
                    usage = {**usage_final, "output_tokens": rng.randint(1, 8)}
                    counts["partial_usage_lines"] += 1
                if b > 0:
                    counts["duplicate_lines"] += 1
                start = rng.randint(0, len(pool) - 2000)
                content = ({"type": "text", "text": pool[start:start + rng.randint(min(50, text), min(1500, text))]}
                           if b == blocks - 1
                           else {"type": "tool_use", "id": _id(rng, "toolu_"), "name": "Read",
                                 "input": {"file_path": f"{cwd}/src/{words[b]}.py"}})
                uid = str(uuid.UUID(int=rng.getrandbits(128)))
                lines.append(json.dumps({
                    "parentUuid": parent, "isSidechain": False, "userType": "external", "cwd": cwd,
                    "sessionId": session, "version": "2.0.14", "gitBranch": "main",
                    "message": {"id": msg_id, "type": "message", "role": "assistant", "model": model,
                                "content": [content], "stop_reason": None, "stop_sequence": None, "usage": usage},
                    "requestId": req_id, "type": "assistant", "uuid": uid, "timestamp": _ts(t),
                }, separators=(",", ":")))
                parent = uid
        data = "\n".join(lines) + "\n"
        (pdir / f"{session}.jsonl").write_text(data)
        written += len(data)
        counts["files"] += 1
        counts["lines"] += len(lines)
    counts["bytes"] = written
    return counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True, help="CLAUDE_CONFIG_DIR to create (projects/ inside)")
    ap.add_argument("--mb", type=float, default=200.0)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--turns", default="40,160", help="user turns per session, LO,HI (default 40,160)")
    ap.add_argument("--text", type=int, default=3500, help="longest message text in characters (default 3500)")
    args = ap.parse_args()
    lo, hi = (int(x) for x in args.turns.split(","))
    print(json.dumps(generate(args.out, args.mb, args.seed, turns=(lo, hi), text=args.text)))


if __name__ == "__main__":
    main()
