"""An LLM judge: grade answers that have no check against a rubric, through the same adapters.

Each unjudged successful answer is sent to ``--judge MODEL`` with the rubric (and the prompt, when
the caller hands the prompt texts in) and must come back as ``{"pass": true|false, "reason": …}``;
a bare PASS/FAIL is accepted too. Verdicts fill ``passed`` with ``quality_source="judge"``; a
prompt's real check is never overridden. The judge's own calls are priced from the catalog and
reported (``JudgeSummary.cost_usd``; None — not 0 — when the judge model has no price).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

__all__ = ["DEFAULT_RUBRIC", "JudgeOptions", "JudgeSummary", "judge_results", "parse_verdict"]

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
    *,
    prompts: Mapping[str, str] | None = None,
    config: Any = None,
    catalog: Any = None,
    client_factory: Callable[[str], Any] | None = None,
) -> tuple[Any, JudgeSummary]:
    """Grade the unjudged successful rows of a results table; returns (DataFrame, summary)."""
    import pandas as pd

    from llmaudit.analysis.routing.quality import output_column
    from llmaudit.errors import UsageError
    from llmaudit.providers import ChatRequest, ProviderCallError, get_adapter, is_simulated, make_client, split_model

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
    provider, native = split_model(options.model)
    adapter = get_adapter(provider, config)  # MissingCredentialsError names the env var, before any call
    unjudged = df["passed"].isna()  # None or NaN: no verdict yet
    todo = list(df.index[unjudged])
    todo = [i for i in todo if str(df.at[i, "status"]) == "ok" and isinstance(df.at[i, col], str)]

    verdicts: dict[Any, bool | None] = {}
    usages: list[Any] = []

    async def run() -> None:
        sem = asyncio.Semaphore(max(1, options.concurrency))
        if client_factory is not None:
            client = client_factory(provider)
        else:
            client = make_client(provider, config, timeout_s=options.timeout_s)
        async with client:

            async def one(i: Any) -> None:
                pid = str(df.at[i, "prompt_id"])
                req = ChatRequest(
                    model=native,
                    messages=_messages(options.rubric, (prompts or {}).get(pid), str(df.at[i, col])),
                    max_tokens=options.max_tokens,
                    temperature=0.0,
                    stream=False,
                    meta={"prompt_id": f"judge:{pid}", "category": "classification"},
                )
                async with sem:
                    try:
                        done = await adapter.complete(req, client)
                    except ProviderCallError:
                        verdicts[i] = None
                        return
                verdicts[i] = parse_verdict(done.text)
                usages.append(done.usage)

            await asyncio.gather(*(one(i) for i in todo))

    if todo:
        asyncio.run(run())
    for i, verdict in verdicts.items():
        if verdict is not None:
            df.at[i, "passed"] = verdict
            df.at[i, "quality_source"] = "judge"

    from llmaudit.providers.sim import mirror_of

    # A simulated judge is priced like the model it stands in for (as the replay runner does).
    cost, unpriced = _judge_cost(usages, mirror_of(options.model) or options.model, catalog)
    judged = sum(1 for v in verdicts.values() if v is not None)
    summary = JudgeSummary(
        model=options.model,
        judged=judged,
        passed=sum(1 for v in verdicts.values() if v),
        failed_calls=len(todo) - judged,
        cost_usd=cost,
        unpriced_calls=unpriced,
        simulated=is_simulated(provider, config),
    )
    return df, summary


def _judge_cost(usages: list[Any], model: str, catalog: Any) -> tuple[Decimal | None, int]:
    if catalog is None:
        return None, len(usages)
    from llmaudit.pricing import Usage, cost_breakdown

    total = Decimal(0)
    unpriced = 0
    for u in usages:
        if u is None:
            unpriced += 1
            continue
        usage = Usage(
            input_tokens=u.input_tokens or 0,
            output_tokens=u.output_tokens or 0,
            cache_read_tokens=u.cache_read_tokens or 0,
            cache_write_tokens=u.cache_write_tokens or 0,
            reasoning_tokens=u.reasoning_tokens or 0,
        )
        breakdown = cost_breakdown(catalog, model, usage)
        if breakdown.total is None:
            unpriced += 1
        else:
            total += breakdown.total
    return (None if unpriced else total), unpriced
