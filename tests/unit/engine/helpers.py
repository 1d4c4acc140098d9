"""Helpers shared by the engine tests: a test instrument and command/state shorthands."""

from typing import Any

from trading.domain.enums import InstrumentStatus, OrderType, Side, StpMode, TimeInForce
from trading.domain.instruments import Instrument
from trading.engine import Event, NewOrder, OrderBook
from trading.engine.rules import Grid, hold_asset, required_hold

SYMBOL = "BTC-USD"

# Prices on a 5-tick grid and quantities in lots of 10 so that grid rejections are testable.
INSTRUMENT = Instrument(
    symbol=SYMBOL,
    base_asset="BTC",
    quote_asset="USD",
    base_decimals=8,
    quote_decimals=6,
    price_decimals=2,
    quantity_decimals=4,
    tick_size=5,
    lot_size=10,
    min_quantity=10,
    max_quantity=10_000,
    min_notional=0,
)
GRID = Grid(INSTRUMENT)
HALTED_INSTRUMENT = INSTRUMENT.model_copy(
    update={"symbol": "ETH-USD", "base_asset": "ETH", "status": InstrumentStatus.HALTED}
)


def limit(  # noqa: PLR0917
    order_id: str,
    side: Side,
    price: int,
    quantity: int,
    account: str = "alice",
    tif: TimeInForce = TimeInForce.GTC,
    post_only: bool = False,
    stp: StpMode = StpMode.CANCEL_NEWEST,
    hold: int | None = None,
) -> NewOrder:
    """A limit order holding its worst case (``hold`` overrides it: atoms of the paying asset)."""
    hold = required_hold(GRID, side, price, quantity, None) if hold is None else hold
    return NewOrder(
        order_id,
        account,
        SYMBOL,
        side,
        OrderType.LIMIT,
        price,
        quantity,
        tif,
        post_only,
        stp,
        None,
        None,
        hold,
        hold_asset(GRID, side),
    )


def held(side: Side, price: int, quantity: int) -> int:
    """The atoms intake would hold for a limit order of ``quantity`` at ``price``."""
    return required_hold(GRID, side, price, quantity, None)


def buy(order_id: str, price: int, quantity: int, account: str = "alice", **kw: Any) -> NewOrder:
    return limit(order_id, Side.BUY, price, quantity, account, **kw)


def sell(order_id: str, price: int, quantity: int, account: str = "bob", **kw: Any) -> NewOrder:
    return limit(order_id, Side.SELL, price, quantity, account, **kw)


def market(  # noqa: PLR0917
    order_id: str,
    side: Side,
    quantity: int | None,
    account: str = "carol",
    budget: int | None = None,
    tif: TimeInForce = TimeInForce.IOC,
    stp: StpMode = StpMode.CANCEL_NEWEST,
) -> NewOrder:
    hold = required_hold(GRID, side, None, quantity, budget)
    return NewOrder(
        order_id,
        account,
        SYMBOL,
        side,
        OrderType.MARKET,
        None,
        quantity,
        tif,
        False,
        stp,
        budget,
        None,
        hold,
        hold_asset(GRID, side),
    )


def state(book: OrderBook) -> tuple[list[tuple[str, int, int]], list[tuple[str, int, int]]]:
    """The whole book as ``(order_id, price, open quantity)`` per side, in priority order."""
    snap = book.snapshot()
    return (
        [(o["order_id"], o["price"], o["quantity"]) for o in snap["bids"]],
        [(o["order_id"], o["price"], o["quantity"]) for o in snap["asks"]],
    )


def run(book: OrderBook, *commands: Any) -> list[Event]:
    """Process commands, returning the events of the last one."""
    events: list[Event] = []
    for command in commands:
        events = book.process(command)
    return events


def kinds(events: list[Event]) -> list[str]:
    return [type(e).__name__ for e in events]
