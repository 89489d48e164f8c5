"""Measure the tokenizer factors llmaudit can measure offline: cl100k_base tokens per o200k_base
token on each bundled text sample (llmaudit/_tokenizers/samples/). The ranges in
``llmaudit.tokens.FACTOR_RANGES`` for cl100k come from this table; tests/analysis/
test_whatif_retokenize.py checks they still contain every ratio.

    python scripts/measure_tokenizer_factors.py
"""

from __future__ import annotations

from pathlib import Path

from llmaudit.tokens import get_encoding

SAMPLES = Path(__file__).resolve().parents[1] / "llmaudit" / "_tokenizers" / "samples"


def main() -> None:
    o200k, cl100k = get_encoding("o200k_base"), get_encoding("cl100k_base")
    print(f"{'sample':<22} {'chars':>7} {'o200k':>7} {'cl100k':>7} {'cl100k/o200k':>13}")
    for path in sorted(SAMPLES.glob("*.txt")):
        text = path.read_text()
        a, b = len(o200k.encode_ordinary(text)), len(cl100k.encode_ordinary(text))
        print(f"{path.name:<22} {len(text):>7} {a:>7} {b:>7} {b / a:>13.3f}")


if __name__ == "__main__":
    main()
