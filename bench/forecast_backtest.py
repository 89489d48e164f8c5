"""Backtest of `report --spend --forecast`: how often its 80% prediction interval covers what was
then spent, on generated daily series with a trend (-0.5% .. +1% a day), weekly seasonality
(weekends at 35-45%), 12% multiplicative noise and 0-2 level jumps (x0.6 .. x1.6), the series of
tests/analysis/_series.py. Each series gives 120 days of history; the interval is for the sum of
the next HORIZON days (and for each of those days). Prints one JSON line per horizon.

    python bench/forecast_backtest.py [SERIES] [SEED]      # defaults: 400 2026
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "analysis"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    from test_forecast import backtest  # the acceptance test's own backtest

    series = int(sys.argv[1]) if len(sys.argv) > 1 else 400
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 2026
    for horizon in (30, 11, 7):
        t0 = time.perf_counter()
        spans, days = backtest(seed=seed, series=series, horizon=horizon)
        print(json.dumps({"horizon_days": horizon, "series": series, "seed": seed, "interval": 0.8,
                          "span_coverage": round(spans, 4), "day_coverage": round(days, 4),
                          "seconds": round(time.perf_counter() - t0, 1)}))


if __name__ == "__main__":
    main()
