"""An LLM judge: grade answers that have no check against a rubric.

Each unjudged successful answer is sent to ``--judge MODEL`` with the rubric (and the prompt, when
the caller hands the prompt texts in) and must come back as ``{"pass": true|false, "reason": …}``;
a bare PASS/FAIL is accepted too. Verdicts fill ``passed`` with ``quality_source="judge"``; a
prompt's real check is never overridden. The judge's own calls are priced from the catalog and
reported (``JudgeSummary.cost_usd``; None — not 0 — when the judge model has no price). The calls
themselves are the caller's ``Judge`` (``llmaudit.replay.judge.JudgeModel``, through the same
adapters as a replay): analysis never talks to a provider.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from llmaudit.usage import Usage

__all__ = ["DEFAULT_RUBRIC", "Answer", "Judge", "JudgeOptions", "JudgeSummary", "judge_results", "parse_verdict"]

DEFAULT_RUBRIC = "The answer is correct, complete and directly addresses the request."

_SYSTEM = (
    "You grade one answer produced by an AI assistant. Apply the rubric strictly. Reply with a single "
    'JSON object and nothing else: {"pass": true or false, "reason": "<one short sentence>"}.'
)


@dataclass(frozen=True)
class JudgeOptions:
    model: str  # provider/model
    rubric: str = DEFAULT_RUBRIC
    concurrency: int = 4
    max_tokens: int = 200
    timeout_s: float = 60.0


class Answer(Protocol):
    """One grading call's reply: its text and the usage the server reported (None: none)."""

    @property
    def text(self) -> str: ...

    @property
    def usage(self) -> Usage | None: ...


class Judge(Protocol):
    """The model that grades, as the caller built it."""

    @property
    def price_id(self) -> str:
        """The catalog id its calls are priced as."""
        ...

    @property
    def simulated(self) -> bool: ...

    def ask(self, calls: Sequence[tuple[str, list[dict[str, str]]]], *, max_tokens: int, concurrency: int,
            timeout_s: float) -> Sequence[Answer | None]:
        """One answer per ``(prompt_id, messages)``, in order; None where the call failed."""
        ...


@dataclass(frozen=True)
class JudgeSummary:
    model: str
    judged: int
    passed: int
    failed_calls: int  # errors or unreadable verdicts (those rows stay unjudged)
    cost_usd: Decimal | None
    unpriced_calls: int
    simulated: bool

    def as_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["cost_usd"] = str(self.cost_usd) if self.cost_usd is not None else None
        return d


_JSON_OBJ = re.compile(r"\{.*\}", re.DOTALL)
_WORD = re.compile(r"\b(PASS|FAIL)(?:ED)?\b", re.IGNORECASE)


def parse_verdict(text: str) -> bool | None:
    """True/False from the judge's reply; None when it gave no readable verdict."""
    match = _JSON_OBJ.search(text or "")
    if match:
        try:
            obj = json.loads(match.group(0))
        except ValueError:
            obj = None
        if isinstance(obj, dict):
            value = obj.get("pass", obj.get("passed", obj.get("verdict")))
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.strip().lower() in ("pass", "fail", "true", "false"):
                return value.strip().lower() in ("pass", "true")
    word = _WORD.search(text or "")
    if word:
        return word.group(1).upper() == "PASS"
    return None


def _messages(rubric: str, prompt: str | None, answer: str) -> list[dict[str, str]]:
    parts = [f"Rubric:\n{rubric}"]
    if prompt:
        parts.append(f"Request given to the assistant:\n<<<\n{prompt}\n>>>")
    parts.append(f"Assistant's answer:\n<<<\n{answer}\n>>>")
    return [{"role": "system", "content": _SYSTEM}, {"role": "user", "content": "\n\n".join(parts)}]


def judge_results(
    table: Any,
    options: JudgeOptions,
    judge: Judge,
    *,
    prompts: Mapping[str, str] | None = None,
    catalog: Any = None,
) -> tuple[Any, JudgeSummary]:
    """Grade the unjudged successful rows of a results table with ``judge`` (the model
    ``options.model`` names); returns (DataFrame, summary)."""
    import pandas as pd

    from llmaudit.analysis.routing.quality import output_column
    from llmaudit.errors import UsageError

    df = (table if isinstance(table, pd.DataFrame) else table.to_pandas()).copy()
    col = output_column(df.columns)
    if col is None:
        raise UsageError("--judge needs the answers' text, and this run has no output column")
    if "passed" not in df:
        df["passed"] = None
    df["passed"] = df["passed"].astype(object)
    if "quality_source" not in df:
        source = pd.Series([None] * len(df), index=df.index, dtype=object)
        source[df["passed"].notna()] = "check"
        df["quality_source"] = source
    unjudged = df["passed"].isna()  # None or NaN: no verdict yet
    todo = list(df.index[unjudged])
    todo = [i for i in todo if str(df.at[i, "status"]) == "ok" and isinstance(df.at[i, col], str)]

    verdicts: dict[Any, bool | None] = {}
    usages: list[Usage | None] = []
    calls = []
    for i in todo:
        pid = str(df.at[i, "prompt_id"])
        calls.append((pid, _messages(options.rubric, (prompts or {}).get(pid), str(df.at[i, col]))))
    answers = judge.ask(calls, max_tokens=options.max_tokens, concurrency=options.concurrency,
                        timeout_s=options.timeout_s)
    for i, done in zip(todo, answers, strict=True):
        if done is None:
            verdicts[i] = None  # the call failed: the row stays unjudged
            continue
        verdicts[i] = parse_verdict(done.text)
        usages.append(done.usage)
    for i, verdict in verdicts.items():
        if verdict is not None:
            df.at[i, "passed"] = verdict
            df.at[i, "quality_source"] = "judge"

    cost, unpriced = _judge_cost(usages, judge.price_id, catalog)
    judged = sum(1 for v in verdicts.values() if v is not None)
    summary = JudgeSummary(
        model=options.model,
        judged=judged,
        passed=sum(1 for v in verdicts.values() if v),
        failed_calls=len(todo) - judged,
        cost_usd=cost,
        unpriced_calls=unpriced,
        simulated=judge.simulated,
    )
    return df, summary


def _judge_cost(usages: list[Usage | None], model: str, catalog: Any) -> tuple[Decimal | None, int]:
    if catalog is None:
        return None, len(usages)
    from llmaudit.pricing import cost_breakdown

    total = Decimal(0)
    unpriced = 0
    for u in usages:
        if u is None:
            unpriced += 1
            continue
        breakdown = cost_breakdown(catalog, model, u)
        if breakdown.total is None:
            unpriced += 1
        else:
            total += breakdown.total
    return (None if unpriced else total), unpriced
