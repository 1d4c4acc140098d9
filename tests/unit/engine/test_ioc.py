"""IOC limit orders: fill what crosses now, cancel the rest, never rest."""

from trading.domain.enums import TimeInForce
from trading.engine import CancelReason, OrderBook, OrderCanceled, Trade

from .helpers import buy, kinds, run, sell, state


def test_ioc_fills_what_it_can_and_cancels_the_rest(book: OrderBook) -> None:
    # Given 10 offered at 100 and 10 at 110
    run(book, sell("s1", 100, 10), sell("s2", 110, 10))
    # When an IOC buy for 30 limited at 105 arrives
    events = book.process(buy("b1", 105, 30, tif=TimeInForce.IOC))
    # Then it trades 10 at 100 and its remaining 20 is canceled, not rested
    assert kinds(events) == ["OrderAccepted", "Trade", "OrderFilled", "OrderCanceled", "BookDelta"]
    canceled = events[3]
    assert isinstance(canceled, OrderCanceled)
    assert (canceled.order_id, canceled.quantity, canceled.reason) == ("b1", 20, CancelReason.UNFILLED)
    assert state(book) == ([], [("s2", 110, 10)])


def test_ioc_that_does_not_cross_is_accepted_then_canceled(book: OrderBook) -> None:
    # Given an ask above the IOC's limit
    run(book, sell("s1", 110, 10))
    # When the IOC arrives
    events = book.process(buy("b1", 100, 10, tif=TimeInForce.IOC))
    # Then nothing trades, the whole order is canceled and the book is untouched
    assert kinds(events) == ["OrderAccepted", "OrderCanceled"]
    assert state(book) == ([], [("s1", 110, 10)])


def test_fully_filled_ioc_emits_no_cancel(book: OrderBook) -> None:
    # Given enough liquidity
    run(book, buy("b1", 100, 50, account="alice"))
    # When an IOC sell for 20 arrives
    events = book.process(sell("s1", 100, 20, tif=TimeInForce.IOC))
    # Then it fills completely
    assert kinds(events) == ["OrderAccepted", "Trade", "OrderFilled", "BookDelta"]
    assert [e.quantity for e in events if isinstance(e, Trade)] == [20]
    assert state(book) == ([("b1", 100, 30)], [])
