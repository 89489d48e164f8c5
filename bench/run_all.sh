#!/usr/bin/env bash
# Run every benchmark with the issue's sizes, then write the figures into bench/README.md.
# Needs (once): npm install --prefix bench/_work/npm ccusage@20.0.24 promptfoo@0.121.20
#               python -m venv bench/_work/litellm-venv && bench/_work/litellm-venv/bin/pip install litellm
#               pip install -e ".[dask]" pyinstrument
# Generated data lives in bench/_work/ (gitignored); the 5 GB log of P3 is deleted after use.
set -euo pipefail
cd "$(dirname "$0")"
python p6_cold_start.py --runs 15
python p8_catalog_load.py --runs 15
python p5_routing.py --prompts 100000 --models 10
python p1_ccusage.py --mb 200 --runs 3
python p2_openai_jsonl.py --rows 1000000 --runs 2
python p4_replay.py --requests 5000 --concurrency 64 --runs 3
python p7_dask.py --rows 1000000 --parts 16
python p3_peak_rss.py --gb 5
python summarize.py --write README.md --summary-into ../README.md
