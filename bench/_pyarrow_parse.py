"""The parse alone, as llmaudit's OpenAI reader does it: the log read in 32 MiB chunks of whole
lines, each parsed by ``pyarrow.json`` (4 MiB blocks, so both cores parse) with an explicit
schema, and nothing else: no normalization, de-duplication, pricing or aggregation.

    python bench/_pyarrow_parse.py LOG.jsonl llmaudit   # the reader's schema (fastjson._schema)
    python bench/_pyarrow_parse.py LOG.jsonl bare       # bench/_pyarrow_bare.py's fields, plus the id

Its CPU time is the share of llmaudit's that any reader of those fields with pyarrow pays.
Prints a JSON summary (rows parsed).
"""

from __future__ import annotations

import json
import sys


def main() -> None:
    import pyarrow as pa
    import pyarrow.json as pj

    path, which = sys.argv[1], sys.argv[2]
    if which == "llmaudit":
        from llmaudit.ingest.fastjson import _schema

        schema = _schema(None, True)   # a Chat Completions log, as bench/gen_openai.py writes
    else:
        from _pyarrow_bare import schema as bare_schema

        schema = bare_schema(with_id=True)
    options = pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
    read = pj.ReadOptions(block_size=4 << 20)
    rows = 0
    buf = bytearray(32 << 20)
    tail = b""
    with open(path, "rb", buffering=0) as fh:
        while True:
            view = memoryview(buf)
            view[: len(tail)] = tail
            n = fh.readinto(view[len(tail):])
            filled = len(tail) + n
            if filled == 0:
                break
            cut = buf.rfind(b"\n", 0, filled) + 1 if n else filled
            if cut:
                rows += pj.read_json(pa.BufferReader(pa.py_buffer(view[:cut])), read_options=read,
                                     parse_options=options).num_rows
            tail = bytes(view[cut:filled])
            view.release()
            if not n:
                break
    print(json.dumps({"rows": rows, "schema": which}))


if __name__ == "__main__":
    main()
