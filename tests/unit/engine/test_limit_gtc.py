"""GTC limit orders: rest, match at the maker's price, price-time priority, partial fills."""

from trading.domain.enums import OrderType, Side, TimeInForce
from trading.engine import BookDelta, OrderAccepted, OrderBook, OrderFilled, Trade

from .helpers import SYMBOL, buy, kinds, run, sell, state


def test_non_crossing_order_rests_and_publishes_its_level(book: OrderBook) -> None:
    # Given an empty book
    # When a buy limit order arrives
    events = book.process(buy("b1", 100, 30))
    # Then it is accepted, rests, and the level appears in an L2 delta
    assert events == [
        OrderAccepted(1, SYMBOL, "b1", "alice", Side.BUY, OrderType.LIMIT, 100, 30, TimeInForce.GTC),
        BookDelta(2, SYMBOL, Side.BUY, 100, 30),
    ]
    assert state(book) == ([("b1", 100, 30)], [])
    assert book.seq == 2


def test_crossing_order_trades_at_the_makers_price(book: OrderBook) -> None:
    # Given a resting ask at 100
    run(book, sell("s1", 100, 30))
    # When a buy at 110 crosses it for less than its size
    events = book.process(buy("b1", 110, 20))
    # Then one trade at the maker's price, the taker is filled and the ask level shrinks
    assert events == [
        OrderAccepted(3, SYMBOL, "b1", "alice", Side.BUY, OrderType.LIMIT, 110, 20, TimeInForce.GTC),
        Trade(4, SYMBOL, 100, 20, Side.SELL, "s1", "bob", "b1", "alice", 10, 0),
        OrderFilled(5, SYMBOL, "b1", "alice"),
        BookDelta(6, SYMBOL, Side.SELL, 100, 10),
    ]
    assert state(book) == ([], [("s1", 100, 10)])


def test_remainder_of_a_crossing_order_rests_at_its_limit(book: OrderBook) -> None:
    # Given two asks at different prices
    run(book, sell("s1", 100, 10), sell("s2", 105, 10))
    # When a buy at 105 for 50 sweeps both
    events = book.process(buy("b1", 105, 50))
    # Then both makers fill, best price first, and 30 rests as a bid at 105
    assert kinds(events) == [
        "OrderAccepted",
        "Trade",
        "OrderFilled",
        "Trade",
        "OrderFilled",
        "BookDelta",
        "BookDelta",
        "BookDelta",
    ]
    trades = [e for e in events if isinstance(e, Trade)]
    assert [(t.price, t.maker_order_id, t.taker_remaining) for t in trades] == [
        (100, "s1", 40),
        (105, "s2", 30),
    ]
    deltas = [e for e in events if isinstance(e, BookDelta)]
    assert [(d.side, d.price, d.quantity) for d in deltas] == [
        (Side.SELL, 100, 0),
        (Side.SELL, 105, 0),
        (Side.BUY, 105, 30),
    ]
    assert state(book) == ([("b1", 105, 30)], [])


def test_time_priority_within_a_level_is_fifo(book: OrderBook) -> None:
    # Given three asks at one price, arriving in order
    run(book, sell("s1", 100, 10), sell("s2", 100, 10, account="dave"), sell("s3", 100, 10))
    # When a buy takes 20
    events = book.process(buy("b1", 100, 20))
    # Then the two oldest trade, in arrival order
    assert [e.maker_order_id for e in events if isinstance(e, Trade)] == ["s1", "s2"]
    assert state(book) == ([], [("s3", 100, 10)])


def test_price_priority_beats_time_priority(book: OrderBook) -> None:
    # Given an older bid at a worse price and a newer one at a better price
    run(book, buy("b1", 100, 10), buy("b2", 105, 10, account="dave"))
    # When a sell crosses both
    events = book.process(sell("s1", 95, 10))
    # Then it trades with the better-priced bid first, at that bid's price
    trade = next(e for e in events if isinstance(e, Trade))
    assert (trade.maker_order_id, trade.price, trade.maker_side) == ("b2", 105, Side.BUY)
    assert state(book) == ([("b1", 100, 10)], [])


def test_book_sides_are_sorted_best_first(book: OrderBook) -> None:
    # Given orders arriving in mixed price order
    run(
        book,
        buy("b1", 95, 10),
        buy("b2", 100, 10),
        buy("b3", 90, 10),
        sell("s1", 115, 10),
        sell("s2", 105, 10),
        sell("s3", 110, 10),
    )
    # Then bids are descending and asks ascending
    assert state(book) == (
        [("b2", 100, 10), ("b1", 95, 10), ("b3", 90, 10)],
        [("s2", 105, 10), ("s3", 110, 10), ("s1", 115, 10)],
    )
