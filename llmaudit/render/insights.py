"""Render ``SpendInsights`` (budgets, anomalies, forecast, explain, plans) after the spend report, in the format
the report was asked for. JSON is ``SpendInsights.to_dict()`` (``insights_json`` words the forecast note)."""

from __future__ import annotations

from typing import Any

from rich.console import RenderableType
from rich.text import Text

from llmaudit.analysis.spend.insights import SpendInsights
from llmaudit.render.anomaly import anomaly_csv, anomaly_markdown, anomaly_table
from llmaudit.render.budget import budget_csv, budget_markdown, budget_table
from llmaudit.render.explain import explain_csv, explain_json, explain_markdown, explain_table
from llmaudit.render.forecast import forecast_csv, forecast_json, forecast_markdown, forecast_table
from llmaudit.render.subscription import subscription_csv, subscription_markdown, subscription_table

__all__ = ["insights_csv", "insights_json", "insights_markdown", "insights_table"]


def insights_json(insights: SpendInsights | None) -> dict[str, Any]:
    """``insights.to_dict()`` with the forecast's note and explain's scope and batch rule worded."""
    if insights is None:
        return {}
    data = insights.to_dict()
    if insights.forecast is not None and "forecast" in data:
        data["forecast"] = forecast_json(insights.forecast)
    if insights.explain is not None:
        data["explain"] = explain_json(insights.explain)
    return data


def insights_table(insights: SpendInsights | None) -> list[RenderableType]:
    if insights is None:
        return []
    parts: list[RenderableType] = []
    if insights.budgets is not None:
        parts += [Text(""), budget_table(insights.budgets, insights.currency)]
    if insights.anomalies is not None:
        parts += [Text(""), anomaly_table(insights.anomalies, insights.currency)]
    if insights.forecast_asked:
        parts += [Text(""), forecast_table(insights.forecast, insights.currency)]
    if insights.explain is not None:
        parts += [Text(""), explain_table(insights.explain)]
    if insights.subscription is not None:
        parts += [Text(""), subscription_table(insights.subscription)]
    return parts


def insights_markdown(insights: SpendInsights | None) -> str:
    if insights is None:
        return ""
    out = []
    if insights.budgets is not None:
        out.append(budget_markdown(insights.budgets, insights.currency))
    if insights.anomalies is not None:
        out.append(anomaly_markdown(insights.anomalies, insights.currency))
    if insights.forecast_asked:
        out.append(forecast_markdown(insights.forecast, insights.currency))
    if insights.explain is not None:
        out.append(explain_markdown(insights.explain))
    if insights.subscription is not None:
        out.append(subscription_markdown(insights.subscription))
    return "".join("\n" + part for part in out)


def insights_csv(insights: SpendInsights | None) -> str:
    if insights is None:
        return ""
    out = []
    if insights.budgets is not None:
        out.append(budget_csv(insights.budgets, insights.currency))
    if insights.anomalies is not None:
        out.append(anomaly_csv(insights.anomalies, insights.currency))
    if insights.forecast_asked:
        out.append(forecast_csv(insights.forecast, insights.currency))
    if insights.explain is not None:
        out.append(explain_csv(insights.explain))
    if insights.subscription is not None:
        out.append(subscription_csv(insights.subscription))
    return "".join(out)
