"""Immutable engine commands.

Commands are ``NamedTuple``s: immutable, cheap to create and to read (field access is a C-level
descriptor), and comparable by value, which the replay and differential tests rely on. Prices and
quantities are integers in the instrument's units (see :mod:`trading.domain.instruments`).
"""

from typing import NamedTuple

from trading.domain.enums import OrderType, Side, StpMode, TimeInForce


class NewOrder(NamedTuple):
    """Place a limit or market order.

    ``price`` is required for limit orders and must be ``None`` for market orders.
    ``quantity`` may be ``None`` only for a market BUY with a ``quote_budget``; the order is then
    bounded by the budget (in notional units, ``price * quantity``) and the instrument's
    ``max_quantity``.
    """

    order_id: str
    account_id: str
    symbol: str
    side: Side
    order_type: OrderType
    price: int | None
    quantity: int | None
    time_in_force: TimeInForce = TimeInForce.GTC
    post_only: bool = False
    stp: StpMode = StpMode.CANCEL_NEWEST
    quote_budget: int | None = None
    client_order_id: str | None = None


class Cancel(NamedTuple):
    """Cancel a resting order. The account must own the order (else ``UNKNOWN_ORDER``)."""

    order_id: str
    account_id: str
    symbol: str


class Amend(NamedTuple):
    """Change a resting order's price and/or open (remaining) quantity.

    ``None`` keeps the current value. Reducing the quantity at the same price keeps time priority;
    any price change or quantity increase moves the order to the back of its (new) level, and a
    new price that crosses the book matches like an incoming GTC limit order.
    """

    order_id: str
    account_id: str
    symbol: str
    price: int | None = None
    quantity: int | None = None


Command = NewOrder | Cancel | Amend
