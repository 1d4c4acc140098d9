# ruff: noqa: PLR0917 -- commands are positional value objects
"""Immutable engine commands.

Commands are small value objects (see :mod:`trading.engine.values`): ``Final`` attributes,
equality and hashing by value, ``to_dict()`` in the wire shape of ``docs/architecture.md``.
Prices and quantities are integers in the instrument's units (see
:mod:`trading.domain.instruments`).
"""

from typing import Any, ClassVar, Final

from trading.domain.enums import OrderType, Side, StpMode, TimeInForce
from trading.engine.values import ValueObject


class NewOrder(ValueObject):
    """Place a limit or market order.

    ``price`` is required for limit orders and must be ``None`` for market orders.
    ``quantity`` may be ``None`` only for a market BUY with a ``quote_budget``; the order is then
    bounded by the budget (in notional units, ``price * quantity``) and the instrument's
    ``max_quantity``.

    ``hold`` is what intake held for the order, in atoms of ``hold_asset`` (the quote asset for a
    buy, the base asset for a sell). The book rejects an order whose hold does not cover its worst
    case and never lets it execute beyond it (:mod:`trading.engine.rules`).
    """

    __slots__ = (
        "account_id",
        "client_order_id",
        "hold",
        "hold_asset",
        "order_id",
        "order_type",
        "post_only",
        "price",
        "quantity",
        "quote_budget",
        "side",
        "stp",
        "symbol",
        "time_in_force",
    )
    FIELDS: ClassVar[tuple[str, ...]] = (
        "order_id",
        "account_id",
        "symbol",
        "side",
        "order_type",
        "price",
        "quantity",
        "time_in_force",
        "post_only",
        "stp",
        "quote_budget",
        "client_order_id",
        "hold",
        "hold_asset",
    )

    def __init__(
        self,
        order_id: str,
        account_id: str,
        symbol: str,
        side: Side,
        order_type: OrderType,
        price: int | None,
        quantity: int | None,
        time_in_force: TimeInForce = TimeInForce.GTC,
        post_only: bool = False,
        stp: StpMode = StpMode.CANCEL_NEWEST,
        quote_budget: int | None = None,
        client_order_id: str | None = None,
        hold: int | None = None,
        hold_asset: str | None = None,
    ) -> None:
        self.order_id: Final = order_id
        self.account_id: Final = account_id
        self.symbol: Final = symbol
        self.side: Final = side
        self.order_type: Final = order_type
        self.price: Final = price
        self.quantity: Final = quantity
        self.time_in_force: Final = time_in_force
        self.post_only: Final = post_only
        self.stp: Final = stp
        self.quote_budget: Final = quote_budget
        self.client_order_id: Final = client_order_id
        self.hold: Final = hold
        self.hold_asset: Final = hold_asset

    def values(self) -> tuple[Any, ...]:
        return (
            self.order_id,
            self.account_id,
            self.symbol,
            self.side,
            self.order_type,
            self.price,
            self.quantity,
            self.time_in_force,
            self.post_only,
            self.stp,
            self.quote_budget,
            self.client_order_id,
            self.hold,
            self.hold_asset,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "new",
            "order_id": self.order_id,
            "account_id": self.account_id,
            "symbol": self.symbol,
            "side": self.side,
            "order_type": self.order_type,
            "price": self.price,
            "quantity": self.quantity,
            "quote_budget": self.quote_budget,
            "time_in_force": self.time_in_force,
            "post_only": self.post_only,
            "stp": self.stp,
            "client_order_id": self.client_order_id,
            "hold": self.hold,
            "hold_asset": self.hold_asset,
        }


class Cancel(ValueObject):
    """Cancel a resting order. The account must own the order (else ``UNKNOWN_ORDER``)."""

    __slots__ = ("account_id", "order_id", "symbol")
    FIELDS: ClassVar[tuple[str, ...]] = ("order_id", "account_id", "symbol")

    def __init__(self, order_id: str, account_id: str, symbol: str) -> None:
        self.order_id: Final = order_id
        self.account_id: Final = account_id
        self.symbol: Final = symbol

    def values(self) -> tuple[Any, ...]:
        return (self.order_id, self.account_id, self.symbol)

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "cancel",
            "order_id": self.order_id,
            "account_id": self.account_id,
            "symbol": self.symbol,
        }


class Amend(ValueObject):
    """Change a resting order's price and/or open (remaining) quantity.

    ``None`` keeps the current value. Reducing the quantity at the same price keeps time priority;
    any price change or quantity increase moves the order to the back of its (new) level, and a
    new price that crosses the book matches like an incoming GTC limit order.
    """

    __slots__ = ("account_id", "order_id", "price", "quantity", "symbol")
    FIELDS: ClassVar[tuple[str, ...]] = ("order_id", "account_id", "symbol", "price", "quantity")

    def __init__(
        self,
        order_id: str,
        account_id: str,
        symbol: str,
        price: int | None = None,
        quantity: int | None = None,
    ) -> None:
        self.order_id: Final = order_id
        self.account_id: Final = account_id
        self.symbol: Final = symbol
        self.price: Final = price
        self.quantity: Final = quantity

    def values(self) -> tuple[Any, ...]:
        return (self.order_id, self.account_id, self.symbol, self.price, self.quantity)

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "amend",
            "order_id": self.order_id,
            "account_id": self.account_id,
            "symbol": self.symbol,
            "price": self.price,
            "quantity": self.quantity,
        }


Command = NewOrder | Cancel | Amend
