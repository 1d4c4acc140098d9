"""Events the engine emits. Every event carries its book's per-symbol, gap-free ``seq``.

Events are ``NamedTuple``s (immutable, value-comparable, JSON-able through
:mod:`trading.engine.codec`). The order of events for one command is part of the contract; see
``docs/engine.md``.
"""

from enum import StrEnum
from typing import NamedTuple

from trading.domain.enums import OrderType, Side, TimeInForce
from trading.domain.errors import ErrorCode


class CancelReason(StrEnum):
    USER = "USER"  # a Cancel command
    UNFILLED = "UNFILLED"  # IOC / market remainder that could not trade
    SELF_TRADE = "SELF_TRADE"  # self-trade prevention


class OrderAccepted(NamedTuple):
    seq: int
    symbol: str
    order_id: str
    account_id: str
    side: Side
    order_type: OrderType
    price: int | None  # None for market orders
    quantity: int  # effective quantity (max_quantity for a budget-only market buy)
    time_in_force: TimeInForce


class OrderRejected(NamedTuple):
    seq: int  # 0 for an unknown symbol (no book, no sequence)
    symbol: str
    order_id: str
    account_id: str
    request: str  # the command's wire type: "new", "cancel" or "amend"
    code: ErrorCode


class Trade(NamedTuple):
    seq: int
    symbol: str
    price: int
    quantity: int
    maker_side: Side
    maker_order_id: str
    maker_account_id: str
    taker_order_id: str
    taker_account_id: str
    maker_remaining: int  # maker's open quantity after this trade
    taker_remaining: int  # taker's unfilled quantity after this trade


class OrderFilled(NamedTuple):
    """The order has no quantity left: terminal."""

    seq: int
    symbol: str
    order_id: str
    account_id: str


class OrderCanceled(NamedTuple):
    """The order's open ``quantity`` was canceled: terminal."""

    seq: int
    symbol: str
    order_id: str
    account_id: str
    quantity: int
    reason: CancelReason


class OrderAmended(NamedTuple):
    seq: int
    symbol: str
    order_id: str
    account_id: str
    price: int
    quantity: int  # new open quantity
    priority_kept: bool


class BookDelta(NamedTuple):
    """An L2 level's new total open quantity (0 = the level is gone)."""

    seq: int
    symbol: str
    side: Side
    price: int
    quantity: int


Event = OrderAccepted | OrderRejected | Trade | OrderFilled | OrderCanceled | OrderAmended | BookDelta

EVENT_TYPES: dict[str, type[Event]] = {
    cls.__name__: cls
    for cls in (OrderAccepted, OrderRejected, Trade, OrderFilled, OrderCanceled, OrderAmended, BookDelta)
}
