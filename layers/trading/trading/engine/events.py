# ruff: noqa: PLR0917 -- events are positional value objects, like the NamedTuples they replace
"""Events the engine emits. Every event carries its book's per-symbol, gap-free ``seq``.

Events are small immutable value objects: attributes are ``Final`` (mypy rejects assignment;
when the module is compiled with mypyc, assignment raises ``AttributeError`` at run time), they
compare and hash by value, and ``to_dict()`` gives the JSON shape used on the wire
(``{"type": "<EventClass>", **fields}``; see :mod:`trading.engine.codec`). They are plain slotted
classes rather than ``NamedTuple``s so that mypyc compiles them to native structs: creating
events is the single largest cost of matching. The order of events for one command is part of the
contract; see ``docs/engine.md``.
"""

from enum import StrEnum
from typing import Any, ClassVar, Final

from trading.domain.enums import OrderType, Side, TimeInForce
from trading.domain.errors import ErrorCode
from trading.engine.values import ValueObject


class CancelReason(StrEnum):
    USER = "USER"  # a Cancel command
    UNFILLED = "UNFILLED"  # IOC / market remainder that could not trade
    SELF_TRADE = "SELF_TRADE"  # self-trade prevention


class EventBase(ValueObject):
    """Base of every event: value semantics plus ``to_dict()`` (the wire shape)."""

    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:
        """``{"type": <class name>, **fields}``; enum values stay enums (orjson writes their value)."""
        raise NotImplementedError


class OrderAccepted(EventBase):
    __slots__ = (
        "account_id",
        "order_id",
        "order_type",
        "price",
        "quantity",
        "seq",
        "side",
        "symbol",
        "time_in_force",
    )
    FIELDS: ClassVar[tuple[str, ...]] = (
        "seq",
        "symbol",
        "order_id",
        "account_id",
        "side",
        "order_type",
        "price",
        "quantity",
        "time_in_force",
    )

    def __init__(
        self,
        seq: int,
        symbol: str,
        order_id: str,
        account_id: str,
        side: Side,
        order_type: OrderType,
        price: int | None,
        quantity: int,
        time_in_force: TimeInForce,
    ) -> None:
        self.seq: Final = seq
        self.symbol: Final = symbol
        self.order_id: Final = order_id
        self.account_id: Final = account_id
        self.side: Final = side
        self.order_type: Final = order_type
        self.price: Final = price  # None for market orders
        self.quantity: Final = quantity  # effective quantity (max_quantity for a budget-only market buy)
        self.time_in_force: Final = time_in_force

    def values(self) -> tuple[Any, ...]:
        return (
            self.seq,
            self.symbol,
            self.order_id,
            self.account_id,
            self.side,
            self.order_type,
            self.price,
            self.quantity,
            self.time_in_force,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "OrderAccepted",
            "seq": self.seq,
            "symbol": self.symbol,
            "order_id": self.order_id,
            "account_id": self.account_id,
            "side": self.side,
            "order_type": self.order_type,
            "price": self.price,
            "quantity": self.quantity,
            "time_in_force": self.time_in_force,
        }


class OrderRejected(EventBase):
    __slots__ = ("account_id", "code", "order_id", "request", "seq", "symbol")
    FIELDS: ClassVar[tuple[str, ...]] = ("seq", "symbol", "order_id", "account_id", "request", "code")

    def __init__(
        self, seq: int, symbol: str, order_id: str, account_id: str, request: str, code: ErrorCode
    ) -> None:
        self.seq: Final = seq  # 0 for an unknown symbol (no book, no sequence)
        self.symbol: Final = symbol
        self.order_id: Final = order_id
        self.account_id: Final = account_id
        self.request: Final = request  # the command's wire type: "new", "cancel" or "amend"
        self.code: Final = code

    def values(self) -> tuple[Any, ...]:
        return (self.seq, self.symbol, self.order_id, self.account_id, self.request, self.code)

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "OrderRejected",
            "seq": self.seq,
            "symbol": self.symbol,
            "order_id": self.order_id,
            "account_id": self.account_id,
            "request": self.request,
            "code": self.code,
        }


class Trade(EventBase):
    __slots__ = (
        "maker_account_id",
        "maker_order_id",
        "maker_remaining",
        "maker_side",
        "price",
        "quantity",
        "seq",
        "symbol",
        "taker_account_id",
        "taker_order_id",
        "taker_remaining",
    )
    FIELDS: ClassVar[tuple[str, ...]] = (
        "seq",
        "symbol",
        "price",
        "quantity",
        "maker_side",
        "maker_order_id",
        "maker_account_id",
        "taker_order_id",
        "taker_account_id",
        "maker_remaining",
        "taker_remaining",
    )

    def __init__(
        self,
        seq: int,
        symbol: str,
        price: int,
        quantity: int,
        maker_side: Side,
        maker_order_id: str,
        maker_account_id: str,
        taker_order_id: str,
        taker_account_id: str,
        maker_remaining: int,
        taker_remaining: int,
    ) -> None:
        self.seq: Final = seq
        self.symbol: Final = symbol
        self.price: Final = price
        self.quantity: Final = quantity
        self.maker_side: Final = maker_side
        self.maker_order_id: Final = maker_order_id
        self.maker_account_id: Final = maker_account_id
        self.taker_order_id: Final = taker_order_id
        self.taker_account_id: Final = taker_account_id
        self.maker_remaining: Final = maker_remaining  # maker's open quantity after this trade
        self.taker_remaining: Final = taker_remaining  # taker's unfilled quantity after this trade

    def values(self) -> tuple[Any, ...]:
        return (
            self.seq,
            self.symbol,
            self.price,
            self.quantity,
            self.maker_side,
            self.maker_order_id,
            self.maker_account_id,
            self.taker_order_id,
            self.taker_account_id,
            self.maker_remaining,
            self.taker_remaining,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "Trade",
            "seq": self.seq,
            "symbol": self.symbol,
            "price": self.price,
            "quantity": self.quantity,
            "maker_side": self.maker_side,
            "maker_order_id": self.maker_order_id,
            "maker_account_id": self.maker_account_id,
            "taker_order_id": self.taker_order_id,
            "taker_account_id": self.taker_account_id,
            "maker_remaining": self.maker_remaining,
            "taker_remaining": self.taker_remaining,
        }


class OrderFilled(EventBase):
    """The order has no quantity left: terminal."""

    __slots__ = ("account_id", "order_id", "seq", "symbol")
    FIELDS: ClassVar[tuple[str, ...]] = ("seq", "symbol", "order_id", "account_id")

    def __init__(self, seq: int, symbol: str, order_id: str, account_id: str) -> None:
        self.seq: Final = seq
        self.symbol: Final = symbol
        self.order_id: Final = order_id
        self.account_id: Final = account_id

    def values(self) -> tuple[Any, ...]:
        return (self.seq, self.symbol, self.order_id, self.account_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "OrderFilled",
            "seq": self.seq,
            "symbol": self.symbol,
            "order_id": self.order_id,
            "account_id": self.account_id,
        }


class OrderCanceled(EventBase):
    """The order's open ``quantity`` was canceled: terminal."""

    __slots__ = ("account_id", "order_id", "quantity", "reason", "seq", "symbol")
    FIELDS: ClassVar[tuple[str, ...]] = ("seq", "symbol", "order_id", "account_id", "quantity", "reason")

    def __init__(
        self, seq: int, symbol: str, order_id: str, account_id: str, quantity: int, reason: CancelReason
    ) -> None:
        self.seq: Final = seq
        self.symbol: Final = symbol
        self.order_id: Final = order_id
        self.account_id: Final = account_id
        self.quantity: Final = quantity
        self.reason: Final = reason

    def values(self) -> tuple[Any, ...]:
        return (self.seq, self.symbol, self.order_id, self.account_id, self.quantity, self.reason)

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "OrderCanceled",
            "seq": self.seq,
            "symbol": self.symbol,
            "order_id": self.order_id,
            "account_id": self.account_id,
            "quantity": self.quantity,
            "reason": self.reason,
        }


class OrderAmended(EventBase):
    __slots__ = ("account_id", "order_id", "price", "priority_kept", "quantity", "seq", "symbol")
    FIELDS: ClassVar[tuple[str, ...]] = (
        "seq",
        "symbol",
        "order_id",
        "account_id",
        "price",
        "quantity",
        "priority_kept",
    )

    def __init__(
        self,
        seq: int,
        symbol: str,
        order_id: str,
        account_id: str,
        price: int,
        quantity: int,
        priority_kept: bool,
    ) -> None:
        self.seq: Final = seq
        self.symbol: Final = symbol
        self.order_id: Final = order_id
        self.account_id: Final = account_id
        self.price: Final = price
        self.quantity: Final = quantity  # new open quantity
        self.priority_kept: Final = priority_kept

    def values(self) -> tuple[Any, ...]:
        return (
            self.seq,
            self.symbol,
            self.order_id,
            self.account_id,
            self.price,
            self.quantity,
            self.priority_kept,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "OrderAmended",
            "seq": self.seq,
            "symbol": self.symbol,
            "order_id": self.order_id,
            "account_id": self.account_id,
            "price": self.price,
            "quantity": self.quantity,
            "priority_kept": self.priority_kept,
        }


class BookDelta(EventBase):
    """An L2 level's new total open quantity (0 = the level is gone)."""

    __slots__ = ("price", "quantity", "seq", "side", "symbol")
    FIELDS: ClassVar[tuple[str, ...]] = ("seq", "symbol", "side", "price", "quantity")

    def __init__(self, seq: int, symbol: str, side: Side, price: int, quantity: int) -> None:
        self.seq: Final = seq
        self.symbol: Final = symbol
        self.side: Final = side
        self.price: Final = price
        self.quantity: Final = quantity

    def values(self) -> tuple[Any, ...]:
        return (self.seq, self.symbol, self.side, self.price, self.quantity)

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "BookDelta",
            "seq": self.seq,
            "symbol": self.symbol,
            "side": self.side,
            "price": self.price,
            "quantity": self.quantity,
        }


Event = OrderAccepted | OrderRejected | Trade | OrderFilled | OrderCanceled | OrderAmended | BookDelta

EVENT_TYPES: dict[str, type[Event]] = {
    cls.__name__: cls
    for cls in (OrderAccepted, OrderRejected, Trade, OrderFilled, OrderCanceled, OrderAmended, BookDelta)
}
