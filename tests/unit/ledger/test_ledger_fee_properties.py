"""Property: an order's fees total one rounding of its fee-weighted notional however its fills are
split, ordered or divided between maker and taker, so they never exceed what its hold reserved."""

import random
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st
from trading.domain.enums import Side
from trading.domain.instruments import Instrument, demo_instruments
from trading.engine.rules import HOLD_SCALE, Grid, fill_cost, required_hold
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
        weight = settled * BTC_USD.taker_fee_bps
        paid.append(fees_for(_fill(price, quantity), BTC_USD, taker_fee_weight=weight).buyer)
        settled += BTC_USD.notional_atoms(price, quantity)
    # Then the total is exactly one ceiling of the total notional, and no fill paid a negative fee
    assert sum(paid) == BTC_USD.fee_atoms(settled, BTC_USD.taker_fee_bps)
    assert min(paid) >= 0


EQUAL_RATES = BTC_USD.model_copy(update={"maker_fee_bps": 20, "taker_fee_bps": 20})


@settings(max_examples=300, deadline=None)
@given(
    limit=st.integers(1, 10_000_000),
    fills=st.lists(
        st.tuples(st.integers(1, 100_000), st.booleans(), st.integers(0, 10)), min_size=1, max_size=12
    ),
    instrument=st.sampled_from([BTC_USD, EQUAL_RATES]),
)
def test_a_buy_that_trades_as_maker_and_taker_never_pays_more_than_its_hold(
    limit: int, fills: list[tuple[int, bool, int]], instrument: Instrument
) -> None:
    # Given a buy at ``limit`` whose fills alternate between taker and maker at or below its limit
    grid = Grid(instrument)
    quantity = sum(q for q, _, _ in fills)
    hold = required_hold(grid, Side.BUY, limit, quantity, None)
    # When each fill is settled continuing the order's fee weight, in its role
    weight, paid = 0, 0
    for fill_quantity, as_taker, improvement in fills:
        price = max(1, limit - improvement)
        trade = _fill(price, fill_quantity)
        if as_taker:
            fee = fees_for(trade, instrument, taker_fee_weight=weight).buyer
            weight += instrument.notional_atoms(price, fill_quantity) * instrument.taker_fee_bps
        else:
            seller_taker = trade.model_copy(update={"taker_side": Side.SELL})
            fee = fees_for(seller_taker, instrument, maker_fee_weight=weight).buyer
            weight += instrument.notional_atoms(price, fill_quantity) * instrument.maker_fee_bps
        paid += instrument.notional_atoms(price, fill_quantity) + fee
    # Then the buyer paid at most what intake held for the whole order (a fee rounded per role
    # could exceed it by an atom), and exactly what the matcher took from the hold, rounded up once
    assert paid <= hold
    spent = sum(
        fill_cost(
            grid,
            Side.BUY,
            max(1, limit - imp),
            q,
            instrument.taker_fee_bps if taker else instrument.maker_fee_bps,
        )
        for q, taker, imp in fills
    )
    assert paid == -(-spent // HOLD_SCALE)
