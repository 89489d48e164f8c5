"""Floor for P1: what any Python tool pays to read a Claude Code corpus with pyarrow.

Python start-up, ``import pyarrow``, every ``.jsonl`` under DIR read into one buffer (a newline
added where a file lacks one), and ONE ``pyarrow.json.read_json`` over it with the claude-code
reader's narrow schema (the fields it needs; message text is skipped by the parser). No
normalization, de-duplication, pricing or aggregation: llmaudit / this is the share of the wall time
spent above the language and runtime floor. Prints a JSON summary.

    python bench/_claude_floor.py bench/_work/p1/claude-200mb/projects
"""

from __future__ import annotations

import json
import os
import sys
import time


def main() -> None:
    t0 = time.perf_counter()
    import pyarrow as pa
    import pyarrow.json as pj

    t1 = time.perf_counter()
    paths = sorted(os.path.join(root, name) for root, _, names in os.walk(sys.argv[1])
                   for name in names if name.endswith(".jsonl"))
    parts = []
    for path in paths:
        with open(path, "rb", buffering=0) as fh:
            data = fh.readall()
        parts.append(data if data.endswith(b"\n") else data + b"\n")
    buf = b"".join(parts)
    t2 = time.perf_counter()
    i, s = pa.int64(), pa.string()
    usage = pa.struct([
        ("input_tokens", i), ("output_tokens", i), ("cache_creation_input_tokens", i),
        ("cache_read_input_tokens", i), ("speed", s), ("service_tier", s), ("inference_geo", s),
        ("cache_creation", pa.struct([("ephemeral_5m_input_tokens", i), ("ephemeral_1h_input_tokens", i)])),
        ("output_tokens_details", pa.struct([("thinking_tokens", i)])),
        ("server_tool_use", pa.struct([("web_search_requests", i)])),
    ])
    schema = pa.schema([
        ("timestamp", s), ("requestId", s), ("isSidechain", pa.bool_()), ("isApiErrorMessage", pa.bool_()),
        ("costUSD", pa.float64()), ("message", pa.struct([("id", s), ("model", s), ("usage", usage)])),
    ])
    table = pj.read_json(pa.BufferReader(buf), parse_options=pj.ParseOptions(
        explicit_schema=schema, unexpected_field_behavior="ignore"))
    t3 = time.perf_counter()
    print(json.dumps({"files": len(paths), "bytes": len(buf), "rows": table.num_rows,
                      "seconds": {"import": round(t1 - t0, 3), "read files": round(t2 - t1, 3),
                                  "parse": round(t3 - t2, 3)}}))


if __name__ == "__main__":
    main()
