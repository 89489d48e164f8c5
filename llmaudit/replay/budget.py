"""The ``--max-cost`` guard: stop sending before the budget would be passed.

Every request reserves its estimated cost (an upper bound: its input tokens, padded when the count
is an estimate, plus its full ``max_tokens`` of output) before it is sent; when it finishes the
reservation is replaced by what it really cost. A request is only sent if money already spent plus
every in-flight reservation plus its own estimate stays within the budget, so the budget holds
even with many requests in flight.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

__all__ = ["Budget"]


@dataclass
class Budget:
    limit: Decimal | None
    spent: Decimal = Decimal(0)
    reserved: Decimal = Decimal(0)
    refused: int = 0

    @property
    def exhausted(self) -> bool:
        return self.refused > 0

    def try_reserve(self, estimate: Decimal) -> bool:
        if self.limit is None:
            return True
        if self.spent + self.reserved + estimate > self.limit:
            self.refused += 1
            return False
        self.reserved += estimate
        return True

    def settle(self, estimate: Decimal, actual: Decimal | None) -> None:
        if self.limit is not None:
            self.reserved -= estimate
        if actual is not None:
            self.spent += actual
