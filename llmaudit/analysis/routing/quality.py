"""Output quality per model: pass rates with Wilson intervals, and agreement with a reference model.

The replay runner fills ``passed`` from each prompt's checks (``llmaudit.assertions``). Prompts
without a check can be judged at report time in two ways, both recorded in ``quality_source``:

* ``--reference MODEL`` — a model's answer passes when it agrees with the reference model's answer
  to the same prompt (:func:`agrees`: same text after normalizing case, spaces and end punctuation;
  same JSON value; same number; or a token-overlap F1 at or above ``min_f1``);
* an LLM judge (:mod:`llmaudit.analysis.routing.judge`) grading each answer against a rubric.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from typing import Any

from llmaudit.analysis.common.intervals import wilson

__all__ = [
    "OUTPUT_COLUMNS",
    "ModelQuality",
    "agrees",
    "apply_reference",
    "model_quality",
    "output_column",
    "token_f1",
]

OUTPUT_COLUMNS = ("output", "output_text", "text", "response")


@dataclass(frozen=True)
class ModelQuality:
    model: str
    calls: int  # prompt × repeat rows
    errors: int
    checked: int  # rows with a verdict (a check, the reference or the judge)
    passed: int
    pass_rate: float | None  # passed / checked
    ci_low: float | None
    ci_high: float | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "calls": self.calls,
            "errors": self.errors,
            "checked": self.checked,
            "passed": self.passed,
            "pass_rate": self.pass_rate,
            "ci95": [self.ci_low, self.ci_high] if self.ci_low is not None else None,
        }


def model_quality(table: Any) -> list[ModelQuality]:
    """Pass rate per model over the rows that have a verdict; errors count as failures there."""
    import pandas as pd

    df = table if isinstance(table, pd.DataFrame) else table.to_pandas()
    out: list[ModelQuality] = []
    passed_col = df["passed"] if "passed" in df else pd.Series([None] * len(df), index=df.index)
    ok_col = df["status"].astype(str).eq("ok")
    for model, idx in df.groupby("model", sort=False).groups.items():
        verdict = passed_col.loc[idx]
        ok = ok_col.loc[idx]
        checked_mask = verdict.notna()
        # An errored call on a prompt with a check is a failed answer, not a missing one.
        n_checked = int(checked_mask.sum())
        n_passed = int((verdict[checked_mask].astype(bool) & ok[checked_mask]).sum())
        ci = wilson(n_passed, n_checked)
        out.append(
            ModelQuality(
                model=str(model),
                calls=len(idx),
                errors=int((~ok).sum()),
                checked=n_checked,
                passed=n_passed,
                pass_rate=n_passed / n_checked if n_checked else None,
                ci_low=ci[0] if ci else None,
                ci_high=ci[1] if ci else None,
            )
        )
    return out


# ---- agreement with a reference model --------------------------------------------------------

_WORD = re.compile(r"\w+", re.UNICODE)
_NUM = re.compile(r"^[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?$")


def _normalize(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).strip().lower()
    text = re.sub(r"\s+", " ", text)
    return text.rstrip(" .!;:")


def token_f1(a: str, b: str) -> float:
    """SQuAD-style token-overlap F1 between two answers."""
    ta, tb = _WORD.findall(a.lower()), _WORD.findall(b.lower())
    if not ta and not tb:
        return 1.0
    if not ta or not tb:
        return 0.0
    common = sum((Counter(ta) & Counter(tb)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(ta), common / len(tb)
    return 2 * precision * recall / (precision + recall)


def agrees(answer: str, reference: str, min_f1: float = 0.8) -> bool:
    a, r = _normalize(answer), _normalize(reference)
    if a == r:
        return True
    if _NUM.match(a.replace(",", "")) and _NUM.match(r.replace(",", "")):
        x, y = float(a.replace(",", "")), float(r.replace(",", ""))
        return math.isclose(x, y, rel_tol=1e-6, abs_tol=1e-9)
    try:
        return bool(json.loads(answer) == json.loads(reference))
    except (ValueError, TypeError):
        pass
    return token_f1(answer, reference) >= min_f1


def output_column(columns: Any) -> str | None:
    for name in OUTPUT_COLUMNS:
        if name in columns:
            return name
    return None


def apply_reference(table: Any, reference: str, min_f1: float = 0.8) -> Any:
    """Fill ``passed`` where it is null by agreement with ``reference``'s answer to the same prompt.

    Returns a pandas DataFrame with a ``quality_source`` column (``check`` | ``reference`` | null).
    The reference model's own unchecked rows pass when they succeeded (it is the yardstick). A
    prompt whose reference call errored stays unjudged.
    """
    import pandas as pd

    from llmaudit.errors import UsageError

    df = (table if isinstance(table, pd.DataFrame) else table.to_pandas()).copy()
    models = set(df["model"].astype(str))
    if reference not in models:
        raise UsageError(f"--reference {reference}: not a model in this run ({', '.join(sorted(models))})")
    col = output_column(df.columns)
    if col is None:
        raise UsageError("--reference needs the answers' text, and this run has no output column")
    if "passed" not in df:
        df["passed"] = None
    df["passed"] = df["passed"].astype(object)
    source = pd.Series([None] * len(df), index=df.index, dtype=object)
    source[df["passed"].notna()] = "check"
    is_ref = df["model"].astype(str).eq(reference) & df["status"].astype(str).eq("ok")
    ref_rows = df[is_ref]
    # With repeats, the reference's first successful answer is the yardstick.
    ref_answer: dict[str, str] = {}
    for pid, text in zip(ref_rows["prompt_id"].astype(str), ref_rows[col], strict=True):
        if pid not in ref_answer and isinstance(text, str):
            ref_answer[pid] = text
    for i in df.index[df["passed"].isna()]:
        pid = str(df.at[i, "prompt_id"])
        if pid not in ref_answer:
            continue
        if str(df.at[i, "model"]) == reference:
            df.at[i, "passed"] = str(df.at[i, "status"]) == "ok"
        else:
            text = df.at[i, col]
            df.at[i, "passed"] = (
                str(df.at[i, "status"]) == "ok" and isinstance(text, str) and agrees(text, ref_answer[pid], min_f1)
            )
        source[i] = "reference"
    df["quality_source"] = source
    return df
