"""Amends: quantity down keeps time priority; price change or quantity up loses it."""

from trading.domain.enums import Side
from trading.domain.errors import ErrorCode
from trading.engine import Amend, BookDelta, OrderAmended, OrderBook, OrderRejected, Trade

from .helpers import SYMBOL, buy, held, kinds, run, sell, state


def test_quantity_down_keeps_priority(book: OrderBook) -> None:
    # Given two bids at one level
    run(book, buy("b1", 100, 30), buy("b2", 100, 10, account="dave"))
    # When the first is reduced
    events = book.process(Amend("b1", "alice", SYMBOL, quantity=20))
    # Then it keeps its place at the front
    assert events == [
        OrderAmended(5, SYMBOL, "b1", "alice", 100, 20, True),
        BookDelta(6, SYMBOL, Side.BUY, 100, 30),
    ]
    assert state(book) == ([("b1", 100, 20), ("b2", 100, 10)], [])


def test_quantity_up_loses_priority(book: OrderBook) -> None:
    # Given two bids at one level, the first holding enough for 40
    run(book, buy("b1", 100, 10, hold=held(Side.BUY, 100, 40)), buy("b2", 100, 10, account="dave"))
    # When the first is increased
    events = book.process(Amend("b1", "alice", SYMBOL, quantity=40))
    # Then it moves to the back of the level
    assert isinstance(events[0], OrderAmended)
    assert events[0].priority_kept is False
    assert state(book) == ([("b2", 100, 10), ("b1", 100, 40)], [])
    assert book.depth(1).bids == [(100, 50)]


def test_price_change_loses_priority_and_moves_level(book: OrderBook) -> None:
    # Given bids at 100 and 95
    run(book, buy("b1", 100, 10), buy("b2", 95, 10, account="dave"))
    # When b1 moves to 95
    events = book.process(Amend("b1", "alice", SYMBOL, price=95))
    # Then it is behind b2 at 95 and level 100 is gone
    assert kinds(events) == ["OrderAmended", "BookDelta", "BookDelta"]
    assert [(d.price, d.quantity) for d in events if isinstance(d, BookDelta)] == [(100, 0), (95, 20)]
    assert state(book) == ([("b2", 95, 10), ("b1", 95, 10)], [])


def test_amend_to_a_crossing_price_trades(book: OrderBook) -> None:
    # Given a bid at 95 holding enough for 30 at 100, and an ask at 100
    run(book, buy("b1", 95, 30, hold=held(Side.BUY, 100, 30)), sell("s1", 100, 10))
    # When the bid is amended to 100
    events = book.process(Amend("b1", "alice", SYMBOL, price=100))
    # Then it trades as an incoming order and the remainder rests at 100
    assert kinds(events) == ["OrderAmended", "Trade", "OrderFilled", "BookDelta", "BookDelta", "BookDelta"]
    trade = events[1]
    assert isinstance(trade, Trade)
    assert (trade.taker_order_id, trade.maker_order_id, trade.quantity) == ("b1", "s1", 10)
    assert state(book) == ([("b1", 100, 20)], [])


def test_post_only_amend_that_would_cross_is_rejected(book: OrderBook) -> None:
    # Given a post-only bid at 95 and an ask at 100
    run(book, buy("b1", 95, 10, post_only=True), sell("s1", 100, 10))
    before = state(book)
    # When the bid is amended to 100
    events = book.process(Amend("b1", "alice", SYMBOL, price=100))
    # Then it is rejected and nothing moves
    assert isinstance(events[0], OrderRejected)
    assert events[0].code is ErrorCode.POST_ONLY_WOULD_CROSS
    assert state(book) == before


def test_amend_rejections(book: OrderBook) -> None:
    # Given alice's bid
    run(book, buy("b1", 100, 10))
    before = state(book)
    # When amends are invalid in different ways
    cases = {
        "unknown": Amend("nope", "alice", SYMBOL, quantity=10),
        "other account": Amend("b1", "mallory", SYMBOL, quantity=10),
        "nothing to change": Amend("b1", "alice", SYMBOL),
        "off-grid price": Amend("b1", "alice", SYMBOL, price=101),
        "zero quantity": Amend("b1", "alice", SYMBOL, quantity=0),
        "off-lot quantity": Amend("b1", "alice", SYMBOL, quantity=15),
        "too large": Amend("b1", "alice", SYMBOL, quantity=1_000_000),
    }
    codes = {}
    for name, command in cases.items():
        events = book.process(command)
        assert len(events) == 1
        assert isinstance(events[0], OrderRejected)
        codes[name] = events[0].code
    # Then each carries its code and the book is unchanged
    assert codes == {
        "unknown": ErrorCode.UNKNOWN_ORDER,
        "other account": ErrorCode.UNKNOWN_ORDER,
        "nothing to change": ErrorCode.INVALID_AMEND,
        "off-grid price": ErrorCode.INVALID_PRICE,
        "zero quantity": ErrorCode.INVALID_QUANTITY,
        "off-lot quantity": ErrorCode.INVALID_QUANTITY,
        "too large": ErrorCode.QUANTITY_ABOVE_MAX,
    }
    assert state(book) == before
