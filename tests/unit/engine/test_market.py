"""Market orders: bounded by available liquidity, market buys optionally by a quote budget."""

from trading.domain.enums import Side
from trading.domain.errors import ErrorCode
from trading.engine import CancelReason, OrderAccepted, OrderBook, OrderCanceled, OrderRejected, Trade

from .helpers import INSTRUMENT, buy, kinds, market, run, sell, state


def test_market_buy_sweeps_levels_until_filled(book: OrderBook) -> None:
    # Given asks over three levels
    run(book, sell("s1", 100, 10), sell("s2", 105, 10), sell("s3", 200, 20))
    # When a market buy for 30 arrives (its budget more than enough for any of them)
    events = book.process(market("m1", Side.BUY, 30, budget=1_000_000))
    # Then it walks the book best price first with no limit
    assert [(t.price, t.quantity) for t in events if isinstance(t, Trade)] == [
        (100, 10),
        (105, 10),
        (200, 10),
    ]
    assert state(book) == ([], [("s3", 200, 10)])


def test_market_remainder_beyond_liquidity_is_canceled(book: OrderBook) -> None:
    # Given 10 bid
    run(book, buy("b1", 100, 10))
    # When a market sell for 30 arrives
    events = book.process(market("m1", Side.SELL, 30))
    # Then 10 trades and 20 is canceled as unfilled
    assert kinds(events) == ["OrderAccepted", "Trade", "OrderFilled", "OrderCanceled", "BookDelta"]
    canceled = events[3]
    assert isinstance(canceled, OrderCanceled)
    assert (canceled.quantity, canceled.reason) == (20, CancelReason.UNFILLED)
    assert state(book) == ([], [])


def test_market_order_on_empty_side_is_rejected_no_liquidity(book: OrderBook) -> None:
    # Given only bids
    run(book, buy("b1", 100, 10))
    # When a market buy arrives
    events = book.process(market("m1", Side.BUY, 10, budget=1_000_000))
    # Then it is rejected with NO_LIQUIDITY and the book is unchanged
    assert isinstance(events[0], OrderRejected)
    assert events[0].code is ErrorCode.NO_LIQUIDITY
    assert state(book) == ([("b1", 100, 10)], [])


def test_market_buy_with_budget_stops_when_it_cannot_afford_another_lot(book: OrderBook) -> None:
    # Given asks at 100 (10) and 200 (100); a lot is 10 units, so one lot at 200 costs 2000 notional
    run(book, sell("s1", 100, 10), sell("s2", 200, 100))
    # When a budget-only market buy with 100*10 + 200*20 + 1999 = 6999 arrives
    events = book.process(market("m1", Side.BUY, None, budget=6999))
    # Then it buys 10 at 100, then 20 at 200 (3 lots would need 6000 > 5999 left), rest canceled
    accepted = events[0]
    assert isinstance(accepted, OrderAccepted)
    assert accepted.quantity == INSTRUMENT.max_quantity
    assert [(t.price, t.quantity) for t in events if isinstance(t, Trade)] == [(100, 10), (200, 20)]
    canceled = next(e for e in events if isinstance(e, OrderCanceled))
    assert canceled.quantity == INSTRUMENT.max_quantity - 30
    assert state(book) == ([], [("s2", 200, 80)])


def test_market_buy_with_budget_and_quantity_stops_at_the_quantity(book: OrderBook) -> None:
    # Given plenty offered at 100
    run(book, sell("s1", 100, 100))
    # When a market buy for 20 with a large budget arrives
    events = book.process(market("m1", Side.BUY, 20, budget=1_000_000))
    # Then it buys exactly 20
    assert [t.quantity for t in events if isinstance(t, Trade)] == [20]
    assert kinds(events)[-2:] == ["OrderFilled", "BookDelta"]


def test_budget_too_small_for_one_lot_is_rejected(book: OrderBook) -> None:
    # Given the best ask at 100 (one lot costs 1000)
    run(book, sell("s1", 100, 100))
    # When a market buy with a budget of 999 arrives
    events = book.process(market("m1", Side.BUY, None, budget=999))
    # Then it is rejected with NO_LIQUIDITY
    assert isinstance(events[0], OrderRejected)
    assert events[0].code is ErrorCode.NO_LIQUIDITY


def test_budget_on_a_market_sell_is_invalid(book: OrderBook) -> None:
    # Given bids
    run(book, buy("b1", 100, 100))
    # When a market sell carries a quote budget
    events = book.process(market("m1", Side.SELL, 10, budget=5000))
    # Then it is rejected as an invalid order type
    assert isinstance(events[0], OrderRejected)
    assert events[0].code is ErrorCode.INVALID_ORDER_TYPE
