"""Self-trade prevention by account id: cancel newest, cancel oldest, cancel both."""

from trading.domain.enums import StpMode
from trading.engine import CancelReason, Event, OrderBook, OrderCanceled, Trade

from .helpers import buy, kinds, run, sell, state


def _canceled(events: list[Event]) -> list[tuple[str, int, CancelReason]]:
    return [(e.order_id, e.quantity, e.reason) for e in events if isinstance(e, OrderCanceled)]


def test_cancel_newest_cancels_the_incoming_order(book: OrderBook) -> None:
    # Given alice's ask behind bob's ask
    run(book, sell("s1", 100, 10, account="bob"), sell("own", 100, 10, account="alice"))
    # When alice buys 30 with cancel-newest
    events = book.process(buy("b1", 100, 30, stp=StpMode.CANCEL_NEWEST))
    # Then she trades with bob, then her incoming order's rest is canceled; her ask stays
    assert [e.maker_order_id for e in events if isinstance(e, Trade)] == ["s1"]
    assert _canceled(events) == [("b1", 20, CancelReason.SELF_TRADE)]
    assert state(book) == ([], [("own", 100, 10)])


def test_cancel_oldest_cancels_resting_own_orders_and_keeps_matching(book: OrderBook) -> None:
    # Given alice's ask in front of bob's
    run(book, sell("own", 100, 10, account="alice"), sell("s1", 100, 10, account="bob"))
    # When alice buys 20 with cancel-oldest
    events = book.process(buy("b1", 100, 20, stp=StpMode.CANCEL_OLDEST))
    # Then her resting ask is canceled, she trades 10 with bob and rests 10
    assert kinds(events) == [
        "OrderAccepted",
        "OrderCanceled",
        "Trade",
        "OrderFilled",
        "BookDelta",
        "BookDelta",
    ]
    assert _canceled(events) == [("own", 10, CancelReason.SELF_TRADE)]
    assert state(book) == ([("b1", 100, 10)], [])


def test_cancel_both_cancels_resting_and_incoming(book: OrderBook) -> None:
    # Given alice's ask in front of bob's
    run(book, sell("own", 100, 10, account="alice"), sell("s1", 100, 10, account="bob"))
    # When alice buys 20 with cancel-both
    events = book.process(buy("b1", 100, 20, stp=StpMode.CANCEL_BOTH))
    # Then both her orders are canceled and nothing trades
    assert not [e for e in events if isinstance(e, Trade)]
    assert _canceled(events) == [("own", 10, CancelReason.SELF_TRADE), ("b1", 20, CancelReason.SELF_TRADE)]
    assert state(book) == ([], [("s1", 100, 10)])


def test_stp_does_not_apply_across_accounts(book: OrderBook) -> None:
    # Given bob's ask
    run(book, sell("s1", 100, 10, account="bob"))
    # When alice buys with cancel-both
    events = book.process(buy("b1", 100, 10, stp=StpMode.CANCEL_BOTH))
    # Then they simply trade
    assert kinds(events) == ["OrderAccepted", "Trade", "OrderFilled", "OrderFilled", "BookDelta"]
