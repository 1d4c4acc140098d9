"""FOK orders: fill completely right now or are rejected with the book unchanged."""

from trading.domain.enums import Side, StpMode, TimeInForce
from trading.domain.errors import ErrorCode
from trading.engine import OrderBook, OrderRejected, Trade

from .helpers import buy, kinds, market, run, sell, state


def test_fok_fills_completely_across_levels(book: OrderBook) -> None:
    # Given 20 offered over two levels
    run(book, sell("s1", 100, 10), sell("s2", 105, 10))
    # When a FOK buy for exactly 20 at 105 arrives
    events = book.process(buy("b1", 105, 20, tif=TimeInForce.FOK))
    # Then it fills completely and the asks are gone
    assert [e.quantity for e in events if isinstance(e, Trade)] == [10, 10]
    assert state(book) == ([], [])


def test_fok_that_cannot_fill_is_rejected_and_book_unchanged(book: OrderBook) -> None:
    # Given only 20 available at or below 105
    run(book, sell("s1", 100, 10), sell("s2", 105, 10), sell("s3", 110, 50))
    before = book.snapshot()
    # When a FOK buy for 30 at 105 arrives
    events = book.process(buy("b1", 105, 30, tif=TimeInForce.FOK))
    # Then it is rejected and nothing on the book changed (only the sequence moved)
    assert kinds(events) == ["OrderRejected"]
    assert isinstance(events[0], OrderRejected)
    assert events[0].code is ErrorCode.FOK_NOT_FILLABLE
    assert {**book.snapshot(), "seq": before["seq"]} == before


def test_fok_does_not_count_own_orders_it_would_stop_at(book: OrderBook) -> None:
    # Given the caller's own ask in front of another account's ask
    run(book, sell("own", 100, 10, account="alice"), sell("s2", 100, 10))
    # When alice sends a FOK buy for 20 with cancel-newest STP
    events = book.process(buy("b1", 100, 20, tif=TimeInForce.FOK, stp=StpMode.CANCEL_NEWEST))
    # Then it is not fillable: STP would stop it at its own order
    assert kinds(events) == ["OrderRejected"]
    assert state(book) == ([], [("own", 100, 10), ("s2", 100, 10)])


def test_fok_with_cancel_oldest_skips_own_orders(book: OrderBook) -> None:
    # Given the caller's own ask in front of 20 from others
    run(book, sell("own", 100, 10, account="alice"), sell("s2", 100, 20))
    # When alice sends a FOK buy for 20 with cancel-oldest STP
    events = book.process(buy("b1", 100, 20, tif=TimeInForce.FOK, stp=StpMode.CANCEL_OLDEST))
    # Then her own ask is canceled and the FOK fills against the other account
    assert kinds(events) == [
        "OrderAccepted",
        "OrderCanceled",
        "Trade",
        "OrderFilled",
        "OrderFilled",
        "BookDelta",
    ]
    assert state(book) == ([], [])


def test_market_fok(book: OrderBook) -> None:
    # Given 10 bid
    run(book, buy("b1", 100, 10))
    # When a market FOK sell for 20 and then one for 10 arrive
    rejected = book.process(market("m1", Side.SELL, 20, tif=TimeInForce.FOK))
    filled = book.process(market("m2", Side.SELL, 10, tif=TimeInForce.FOK))
    # Then the first is rejected and the second fills
    assert kinds(rejected) == ["OrderRejected"]
    assert kinds(filled) == ["OrderAccepted", "Trade", "OrderFilled", "OrderFilled", "BookDelta"]
