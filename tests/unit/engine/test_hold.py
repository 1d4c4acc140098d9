"""The book is the authority on what an order may still execute: its hold, less its fills."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from trading.domain.enums import OrderType, Side, TimeInForce
from trading.domain.errors import ErrorCode
from trading.engine import Amend, NewOrder, OrderAmended, OrderBook, OrderRejected, Trade
from trading.engine.rules import HOLD_SCALE, Grid, fill_cost, hold_left_at_most, required_hold

from .helpers import GRID, INSTRUMENT, SYMBOL, buy, held, market, run, sell

FEES = INSTRUMENT.model_copy(update={"maker_fee_bps": 10, "taker_fee_bps": 25})


def _hold_left(book: OrderBook, order_id: str) -> int:
    snap = book.snapshot()
    return next(o["hold_left"] for o in snap["bids"] + snap["asks"] if o["order_id"] == order_id)


def test_amend_after_a_partial_fill_may_not_reopen_what_was_filled(book: OrderBook) -> None:
    # Given a bid for 100 at 100 holding exactly its worst case, 60 of it filled
    run(book, buy("b1", 100, 100), sell("s1", 100, 60))
    # When the buyer asks for an open quantity of 100 again (total 160: beyond its hold)
    events = book.process(Amend("b1", "alice", SYMBOL, quantity=100))
    # Then the book rejects it, whatever intake believed, and the order is unchanged
    assert events == [OrderRejected(events[0].seq, SYMBOL, "b1", "alice", "amend", ErrorCode.INVALID_AMEND)]
    assert _hold_left(book, "b1") == held(Side.BUY, 100, 40) * HOLD_SCALE
    # And what is left still lets it fill its open 40, but never more
    filled = run(book, sell("s2", 100, 100))
    assert [t.quantity for t in filled if isinstance(t, Trade)] == [40]


def test_amend_within_the_hold_left_is_accepted(book: OrderBook) -> None:
    # Given a bid for 100 at 100 that filled 50 at a better price (95): its hold has room left
    run(book, sell("s1", 95, 50), buy("b1", 100, 100))
    # When it asks for 50 more at the same limit (worst case now 50 * 100 + what 95 saved)
    events = book.process(Amend("b1", "alice", SYMBOL, quantity=50))
    # Then a quantity the hold still covers is fine
    assert isinstance(events[0], OrderAmended)
    # But one lot more than the hold covers is not
    too_much = book.process(Amend("b1", "alice", SYMBOL, quantity=80))
    assert isinstance(too_much[0], OrderRejected)
    assert too_much[0].code is ErrorCode.INVALID_AMEND


def test_a_buy_may_not_raise_its_price_beyond_its_hold(book: OrderBook) -> None:
    run(book, buy("b1", 100, 10))
    events = book.process(Amend("b1", "alice", SYMBOL, price=105))
    assert isinstance(events[0], OrderRejected)
    assert events[0].code is ErrorCode.INVALID_AMEND


def test_a_sell_may_not_raise_its_quantity_beyond_its_hold(book: OrderBook) -> None:
    # Given an ask for 100, 30 of it filled
    run(book, sell("s1", 100, 100), buy("b1", 100, 30))
    # When the seller reopens 100 (open 70 + 30 filled + 100 would need 130 of base)
    rejected = book.process(Amend("s1", "bob", SYMBOL, quantity=100))
    # Then it is rejected; reopening exactly the 70 left is fine, and a lower price is too
    assert isinstance(rejected[0], OrderRejected)
    assert rejected[0].code is ErrorCode.INVALID_AMEND
    assert isinstance(book.process(Amend("s1", "bob", SYMBOL, quantity=70, price=95))[0], OrderAmended)


def test_every_fill_takes_its_exact_cost_from_the_hold(book: OrderBook) -> None:
    # Given a bid holding its worst case
    run(book, buy("b1", 100, 100))
    # When it fills 30 as maker
    run(book, sell("s1", 100, 30))
    # Then its hold left is the hold less the fill's cost (maker rate)
    cost = fill_cost(GRID, Side.BUY, 100, 30, GRID.maker_fee_bps)
    assert _hold_left(book, "b1") == held(Side.BUY, 100, 100) * HOLD_SCALE - cost
    # And a restore from the snapshot keeps it
    restored = type(book)(book.instrument)
    restored.restore(book.snapshot())
    assert _hold_left(restored, "b1") == _hold_left(book, "b1")


@pytest.mark.parametrize(
    ("order", "why"),
    [
        (buy("x", 100, 10, hold=held(Side.BUY, 100, 10) - 1), "one atom short"),
        (sell("x", 100, 10, hold=held(Side.SELL, 100, 10) - 1), "one atom short"),
        (
            NewOrder("x", "alice", SYMBOL, Side.BUY, OrderType.LIMIT, 100, 10, hold=None),
            "no hold carried",
        ),
        (
            NewOrder("x", "alice", SYMBOL, Side.BUY, OrderType.LIMIT, 100, 10, hold=10**9, hold_asset="BTC"),
            "held in the wrong asset",
        ),
        (
            NewOrder(
                "x",
                "carol",
                SYMBOL,
                Side.BUY,
                OrderType.MARKET,
                None,
                None,
                TimeInForce.IOC,
                quote_budget=5_000,
                hold=4_999 * GRID.notional_to_quote_atoms,
                hold_asset="USD",
            ),
            "a market budget larger than its hold",
        ),
    ],
)
def test_a_new_order_whose_hold_does_not_cover_its_worst_case_is_rejected(
    book: OrderBook, order: NewOrder, why: str
) -> None:
    run(book, sell("s1", 100, 10, account="bob"))
    events = book.process(order)
    assert len(events) == 1, why
    assert isinstance(events[0], OrderRejected)
    assert events[0].code is ErrorCode.INSUFFICIENT_FUNDS


def test_a_market_buy_never_spends_more_than_its_budget_hold(book: OrderBook) -> None:
    # Given deep asks
    run(book, sell("s1", 100, 1_000), sell("s2", 105, 1_000))
    # When a budget-only market buy arrives holding exactly its budget plus the taker fee
    order = market("m1", Side.BUY, None, budget=50_000)
    events = book.process(order)
    # Then its fills cost no more than its hold
    spent = sum(
        fill_cost(GRID, Side.BUY, t.price, t.quantity, GRID.taker_fee_bps)
        for t in events
        if isinstance(t, Trade)
    )
    assert 0 < spent <= (order.hold or 0) * HOLD_SCALE


@settings(max_examples=200, deadline=None)
@given(
    side=st.sampled_from(list(Side)),
    fills=st.lists(st.tuples(st.integers(1, 40), st.integers(1, 5), st.booleans()), min_size=1, max_size=6),
)
def test_intakes_bound_is_never_below_what_the_hold_really_has_left(
    side: Side, fills: list[tuple[int, int, bool]]
) -> None:
    # Given a limit order at 200 holding its worst case, and fills at any price at or below it
    grid = Grid(FEES)
    quantity = sum(lots for _, lots, _ in fills) * 10
    hold = required_hold(grid, side, 200, quantity, None)
    spent = sum(
        fill_cost(grid, side, ticks * 5, lots * 10, grid.maker_fee_bps if maker else grid.taker_fee_bps)
        for ticks, lots, maker in fills
    )
    # Then the bound intake checks amends against is at least what the matcher has left, so intake
    # never refuses an amend the matcher would accept
    assert hold_left_at_most(grid, side, hold, quantity) >= hold * HOLD_SCALE - spent
