"""Bad commands produce one OrderRejected with a documented code and leave the book unchanged."""

import pytest
from trading.domain.enums import OrderType, Side, TimeInForce
from trading.domain.errors import ErrorCode
from trading.engine import Cancel, MatchingEngine, NewOrder, OrderBook, OrderRejected

from .helpers import SYMBOL, buy, market, run, sell

BAD_NEW_ORDERS = {
    "off-grid price": (buy("x", 101, 10), ErrorCode.INVALID_PRICE),
    "zero price": (buy("x", 0, 10), ErrorCode.INVALID_PRICE),
    "negative price": (buy("x", -5, 10), ErrorCode.INVALID_PRICE),
    "zero quantity": (buy("x", 100, 0), ErrorCode.INVALID_QUANTITY),
    "negative quantity": (buy("x", 100, -10), ErrorCode.INVALID_QUANTITY),
    "off-lot quantity": (buy("x", 100, 15), ErrorCode.INVALID_QUANTITY),
    "above max quantity": (buy("x", 100, 10_010), ErrorCode.QUANTITY_ABOVE_MAX),
    "limit without price": (
        NewOrder("x", "alice", SYMBOL, Side.BUY, OrderType.LIMIT, None, 10),
        ErrorCode.PRICE_REQUIRED,
    ),
    "market with price": (
        NewOrder("x", "alice", SYMBOL, Side.BUY, OrderType.MARKET, 100, 10, TimeInForce.IOC),
        ErrorCode.PRICE_NOT_ALLOWED,
    ),
    # A market buy is bounded by its budget (intake's rule too: trading.engine.rules)
    "market buy without budget": (market("x", Side.BUY, 10), ErrorCode.INVALID_AMOUNT),
    "market sell without quantity": (market("x", Side.SELL, None), ErrorCode.INVALID_QUANTITY),
    "zero budget": (market("x", Side.BUY, None, budget=0), ErrorCode.INVALID_AMOUNT),
    "post-only that would cross": (buy("x", 105, 10, post_only=True), ErrorCode.POST_ONLY_WOULD_CROSS),
    "duplicate order id": (buy("b1", 90, 10), ErrorCode.DUPLICATE_ORDER_ID),
}


@pytest.mark.parametrize("case", sorted(BAD_NEW_ORDERS))
def test_bad_new_order_is_rejected_with_its_code_and_book_unchanged(book: OrderBook, case: str) -> None:
    # Given a book with a bid and an ask
    run(book, buy("b1", 95, 10), sell("s1", 105, 10))
    before = book.snapshot()
    command, code = BAD_NEW_ORDERS[case]
    # When the bad order arrives
    events = book.process(command)
    # Then exactly one reject with the documented code, and only the sequence advanced
    assert events == [OrderRejected(5, SYMBOL, command.order_id, command.account_id, "new", code)]
    assert book.snapshot() == {**before, "seq": 5}


def test_below_min_quantity_is_rejected(book_factory) -> None:
    # Given an instrument whose minimum is 3 lots
    from .helpers import INSTRUMENT

    book = book_factory(INSTRUMENT.model_copy(update={"min_quantity": 30}))
    # When an order for 2 lots arrives
    events = book.process(buy("x", 100, 20))
    # Then QUANTITY_BELOW_MIN
    assert isinstance(events[0], OrderRejected)
    assert events[0].code is ErrorCode.QUANTITY_BELOW_MIN


def test_unknown_symbol_is_rejected_by_the_engine(engine: MatchingEngine) -> None:
    # When orders and cancels name a symbol without a book
    new = engine.process(NewOrder("x", "alice", "DOGE-USD", Side.BUY, OrderType.LIMIT, 100, 10))
    cancel = engine.process(Cancel("x", "alice", "DOGE-USD"))
    # Then UNKNOWN_SYMBOL, outside any symbol's sequence (seq 0)
    assert new == [OrderRejected(0, "DOGE-USD", "x", "alice", "new", ErrorCode.UNKNOWN_SYMBOL)]
    assert cancel == [OrderRejected(0, "DOGE-USD", "x", "alice", "cancel", ErrorCode.UNKNOWN_SYMBOL)]
    assert engine.book(SYMBOL).seq == 0


def test_halted_instrument_rejects_orders_but_accepts_cancels(engine: MatchingEngine) -> None:
    # Given a resting order, then the instrument is halted
    engine.process(buy("b1", 100, 10))
    engine.set_status(SYMBOL, engine.book(SYMBOL).status.HALTED)
    # When a new order and a cancel arrive
    new = engine.process(buy("b2", 100, 10))
    cancel = engine.process(Cancel("b1", "alice", SYMBOL))
    # Then the order is rejected INSTRUMENT_HALTED and the cancel goes through
    assert isinstance(new[0], OrderRejected)
    assert new[0].code is ErrorCode.INSTRUMENT_HALTED
    assert [type(e).__name__ for e in cancel] == ["OrderCanceled", "BookDelta"]


def test_instrument_created_halted_rejects_orders(engine: MatchingEngine) -> None:
    # When an order arrives for the instrument registered as HALTED
    events = engine.process(NewOrder("x", "alice", "ETH-USD", Side.BUY, OrderType.LIMIT, 100, 10))
    # Then INSTRUMENT_HALTED
    assert isinstance(events[0], OrderRejected)
    assert events[0].code is ErrorCode.INSTRUMENT_HALTED
