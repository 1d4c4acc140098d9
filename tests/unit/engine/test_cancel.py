"""Cancels: remove a resting order in O(1); unknown ids are rejected with UNKNOWN_ORDER."""

from trading.domain.enums import Side
from trading.domain.errors import ErrorCode
from trading.engine import BookDelta, Cancel, CancelReason, OrderBook, OrderCanceled, OrderRejected, Trade

from .helpers import SYMBOL, buy, run, sell, state


def test_cancel_removes_the_order_and_publishes_the_level(book: OrderBook) -> None:
    # Given two bids at one level
    run(book, buy("b1", 100, 10), buy("b2", 100, 20))
    # When the first is canceled
    events = book.process(Cancel("b1", "alice", SYMBOL))
    # Then it is canceled for its open quantity and the level shrinks
    assert events == [
        OrderCanceled(5, SYMBOL, "b1", "alice", 10, CancelReason.USER),
        BookDelta(6, SYMBOL, Side.BUY, 100, 20),
    ]
    assert state(book) == ([("b2", 100, 20)], [])


def test_cancel_of_last_order_removes_the_level(book: OrderBook) -> None:
    # Given the only ask at 100 and one at 105
    run(book, sell("s1", 100, 10), sell("s2", 105, 10))
    # When it is canceled
    events = book.process(Cancel("s1", "bob", SYMBOL))
    # Then the level's delta is zero and the next level is best
    assert events[-1] == BookDelta(6, SYMBOL, Side.SELL, 100, 0)
    assert state(book) == ([], [("s2", 105, 10)])
    assert book.depth(5).asks == [(105, 10)]


def test_cancel_of_partially_filled_order_cancels_the_open_rest(book: OrderBook) -> None:
    # Given a bid partly filled
    run(book, buy("b1", 100, 30), sell("s1", 100, 10))
    # When it is canceled
    events = book.process(Cancel("b1", "alice", SYMBOL))
    # Then the canceled quantity is what was still open
    assert isinstance(events[0], OrderCanceled)
    assert events[0].quantity == 20
    assert state(book) == ([], [])


def test_cancel_unknown_order_is_rejected_and_book_unchanged(book: OrderBook) -> None:
    # Given one bid
    run(book, buy("b1", 100, 10))
    before = state(book)
    # When an unknown id is canceled
    events = book.process(Cancel("nope", "alice", SYMBOL))
    # Then UNKNOWN_ORDER and the book is unchanged
    assert events == [OrderRejected(3, SYMBOL, "nope", "alice", "cancel", ErrorCode.UNKNOWN_ORDER)]
    assert state(book) == before


def test_cancel_by_another_account_is_unknown_order(book: OrderBook) -> None:
    # Given alice's bid
    run(book, buy("b1", 100, 10))
    # When mallory tries to cancel it
    events = book.process(Cancel("b1", "mallory", SYMBOL))
    # Then it is rejected as unknown (no information leak) and stays
    assert isinstance(events[0], OrderRejected)
    assert events[0].code is ErrorCode.UNKNOWN_ORDER
    assert state(book) == ([("b1", 100, 10)], [])


def test_cancel_twice_and_filled_orders_are_unknown(book: OrderBook) -> None:
    # Given one order canceled and one filled
    run(book, buy("b1", 100, 10), Cancel("b1", "alice", SYMBOL), buy("b2", 100, 10), sell("s1", 100, 10))
    # When both are canceled
    again = book.process(Cancel("b1", "alice", SYMBOL))
    filled = book.process(Cancel("b2", "alice", SYMBOL))
    # Then both are unknown
    assert [type(e).__name__ for e in again + filled] == ["OrderRejected", "OrderRejected"]


def test_canceled_order_in_the_middle_keeps_fifo_of_the_others(book: OrderBook) -> None:
    # Given three asks at one level, the middle one canceled
    run(book, sell("s1", 100, 10), sell("s2", 100, 10), sell("s3", 100, 10), Cancel("s2", "bob", SYMBOL))
    # When a buy takes 20
    events = book.process(buy("b1", 100, 20))
    # Then it fills s1 then s3
    assert [e.maker_order_id for e in events if isinstance(e, Trade)] == ["s1", "s3"]
    assert state(book) == ([], [])
