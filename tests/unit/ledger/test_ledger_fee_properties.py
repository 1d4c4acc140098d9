"""Property: an order's fees total ``ceil(bps * total notional)`` however its fills are split or
ordered, so they never exceed what its hold reserved."""

import random
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st
from trading.domain.enums import Side
from trading.domain.instruments import demo_instruments
from trading.ledger.models import TradeExecuted
from trading.ledger.settlement import fees_for

BTC_USD = demo_instruments()[0]
fills = st.lists(
    st.tuples(st.integers(1, 10_000_000), st.integers(1, 100_000)),  # (price, quantity)
    min_size=1,
    max_size=12,
)


def _fill(price: int, quantity: int) -> TradeExecuted:
    return TradeExecuted(
        symbol="BTC-USD", seq=1, trade_id="BTC-USD:1", price=price, quantity=quantity, taker_side=Side.BUY,
        maker_order_id="m", taker_order_id="t", maker_account_id="a", taker_account_id="b",
        executed_at=datetime(2026, 11, 25, tzinfo=UTC),
    )  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(fills=fills, order=st.randoms(use_true_random=False))
def test_cumulative_fees_equal_one_rounding_of_the_total(
    fills: list[tuple[int, int]], order: random.Random
) -> None:
    # Given one taker order's fills, settled in some order
    sequence = list(fills)
    order.shuffle(sequence)
    # When each fill's fee continues the order's settled notional
    settled, paid = 0, []
    for price, quantity in sequence:
        paid.append(fees_for(_fill(price, quantity), BTC_USD, taker_settled_notional=settled).buyer)
        settled += BTC_USD.notional_atoms(price, quantity)
    # Then the total is exactly one ceiling of the total notional, and no fill paid a negative fee
    assert sum(paid) == BTC_USD.fee_atoms(settled, BTC_USD.taker_fee_bps)
    assert min(paid) >= 0
