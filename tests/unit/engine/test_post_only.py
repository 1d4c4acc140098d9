"""Post-only orders rest as makers or are rejected; they never take liquidity."""

from trading.domain.enums import TimeInForce
from trading.domain.errors import ErrorCode
from trading.engine import OrderBook, OrderRejected

from .helpers import buy, kinds, run, sell, state


def test_post_only_that_would_cross_is_rejected_and_book_unchanged(book: OrderBook) -> None:
    # Given an ask at 100
    run(book, sell("s1", 100, 10))
    # When a post-only buy at 100 arrives
    events = book.process(buy("b1", 100, 10, post_only=True))
    # Then it is rejected with POST_ONLY_WOULD_CROSS and the ask is untouched
    assert len(events) == 1
    assert isinstance(events[0], OrderRejected)
    assert events[0].code is ErrorCode.POST_ONLY_WOULD_CROSS
    assert state(book) == ([], [("s1", 100, 10)])


def test_post_only_that_does_not_cross_rests(book: OrderBook) -> None:
    # Given an ask at 100
    run(book, sell("s1", 100, 10))
    # When a post-only buy at 95 arrives
    events = book.process(buy("b1", 95, 10, post_only=True))
    # Then it rests as a maker
    assert kinds(events) == ["OrderAccepted", "BookDelta"]
    assert state(book) == ([("b1", 95, 10)], [("s1", 100, 10)])
    assert book.snapshot()["bids"][0]["post_only"] is True


def test_post_only_sell_into_bids_is_rejected(book: OrderBook) -> None:
    # Given a bid at 100
    run(book, buy("b1", 100, 10))
    # When a post-only sell below it arrives
    events = book.process(sell("s1", 95, 10, post_only=True))
    # Then it is rejected
    assert isinstance(events[0], OrderRejected)
    assert events[0].code is ErrorCode.POST_ONLY_WOULD_CROSS
    assert state(book) == ([("b1", 100, 10)], [])


def test_post_only_ioc_is_an_invalid_combination(book: OrderBook) -> None:
    # When a post-only IOC arrives on an empty book
    events = book.process(buy("b1", 95, 10, post_only=True, tif=TimeInForce.IOC))
    # Then it is rejected as an invalid order type
    assert isinstance(events[0], OrderRejected)
    assert events[0].code is ErrorCode.INVALID_ORDER_TYPE
