"""The one interface every order book implements, and the rules both books share.

A book holds one instrument's resting orders. ``process`` takes a command for that instrument and
returns the events it caused; a rejected command returns exactly one ``OrderRejected`` and leaves
the book unchanged. Validation that does not depend on the book lives here so both
implementations apply identical rules.
"""

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple, Protocol

import orjson

from trading.domain.enums import InstrumentStatus, OrderType, Side, StpMode, TimeInForce
from trading.domain.errors import ErrorCode
from trading.domain.instruments import Instrument
from trading.engine.commands import Amend, Command, NewOrder
from trading.engine.events import Event

SNAPSHOT_VERSION = 1


class RestingOrder(Protocol):
    """What a snapshot needs of a resting order; both books' orders and the matcher's views have it."""

    @property
    def order_id(self) -> str: ...
    @property
    def account_id(self) -> str: ...
    @property
    def price(self) -> int | None: ...
    @property
    def remaining(self) -> int: ...
    @property
    def stp(self) -> StpMode: ...
    @property
    def post_only(self) -> bool: ...


def snapshot_orders(orders: Iterable[RestingOrder]) -> list[dict[str, Any]]:
    """One side of a book snapshot, in the given (price-time) order; ``quantity`` is what is open."""
    return [
        {
            "order_id": order.order_id,
            "account_id": order.account_id,
            "price": order.price,
            "quantity": order.remaining,
            "stp": order.stp.value,
            "post_only": order.post_only,
        }
        for order in orders
    ]


def snapshot_document(
    symbol: str,
    status: InstrumentStatus,
    seq: int,
    bids: list[dict[str, Any]],
    asks: list[dict[str, Any]],
) -> dict[str, Any]:
    """The snapshot every book produces and ``restore`` reads; each side in price-time priority.

    The matcher builds the same document from the ``Orders`` table to rebuild a book, so the
    shape lives here once.
    """
    return {
        "version": SNAPSHOT_VERSION,
        "symbol": symbol,
        "status": status.value,
        "seq": seq,
        "bids": bids,
        "asks": asks,
    }


class L2Snapshot(NamedTuple):
    """Aggregated depth: ``(price, total quantity)`` per level, best first."""

    symbol: str
    seq: int
    bids: list[tuple[int, int]]
    asks: list[tuple[int, int]]


class OrderBook(Protocol):
    """One instrument's book. Pure: no I/O, no clocks, no randomness."""

    @property
    def instrument(self) -> Instrument: ...

    @property
    def seq(self) -> int:
        """The ``seq`` of the last event emitted (0 before the first)."""
        ...

    @property
    def status(self) -> InstrumentStatus: ...

    def set_status(self, status: InstrumentStatus) -> None:
        """Halt or resume trading. Halted: new orders and amends rejected, cancels accepted."""
        ...

    def process(self, command: Command) -> list[Event]: ...

    def depth(self, levels: int) -> L2Snapshot: ...

    def snapshot(self) -> dict[str, Any]:
        """The full book state as a JSON-able dict (orders in priority order)."""
        ...

    def restore(self, snapshot: Mapping[str, Any]) -> None:
        """Replace this book's state with ``snapshot`` (from any implementation)."""
        ...

    def state_hash(self) -> str: ...


def state_hash(snapshot: Mapping[str, Any]) -> str:
    """A stable hash of a book snapshot: blake2b over canonical (sorted-key) JSON."""
    return hashlib.blake2b(orjson.dumps(snapshot, option=orjson.OPT_SORT_KEYS), digest_size=16).hexdigest()


def check_new_order(instrument: Instrument, status: InstrumentStatus, cmd: NewOrder) -> ErrorCode | None:  # noqa: PLR0911, PLR0912 -- one flat list of rules reads best
    """Rules that need only the instrument (not the book). ``None`` when the order is valid."""
    if status is InstrumentStatus.HALTED:
        return ErrorCode.INSTRUMENT_HALTED
    if cmd.order_type is OrderType.LIMIT:
        price = cmd.price
        if price is None:
            return ErrorCode.PRICE_REQUIRED
        if price <= 0 or price % instrument.tick_size:
            return ErrorCode.INVALID_PRICE
        if cmd.quote_budget is not None:
            return ErrorCode.INVALID_ORDER_TYPE
        if cmd.post_only and cmd.time_in_force is not TimeInForce.GTC:
            return ErrorCode.INVALID_ORDER_TYPE
    else:
        if cmd.price is not None:
            return ErrorCode.PRICE_NOT_ALLOWED
        if cmd.post_only:
            return ErrorCode.INVALID_ORDER_TYPE
        if cmd.quote_budget is not None:
            if cmd.side is not Side.BUY or cmd.time_in_force is TimeInForce.FOK:
                return ErrorCode.INVALID_ORDER_TYPE
            if cmd.quote_budget <= 0:
                return ErrorCode.INVALID_AMOUNT
    quantity = cmd.quantity
    if quantity is None:
        return None if cmd.quote_budget is not None else ErrorCode.INVALID_QUANTITY
    if quantity <= 0 or quantity % instrument.lot_size:
        return ErrorCode.INVALID_QUANTITY
    if quantity < instrument.min_quantity:
        return ErrorCode.QUANTITY_BELOW_MIN
    if quantity > instrument.max_quantity:
        return ErrorCode.QUANTITY_ABOVE_MAX
    return None


def check_amend(instrument: Instrument, status: InstrumentStatus, cmd: Amend) -> ErrorCode | None:
    """Amend rules that need only the instrument. The order's existence is the book's check."""
    if status is InstrumentStatus.HALTED:
        return ErrorCode.INSTRUMENT_HALTED
    if cmd.price is None and cmd.quantity is None:
        return ErrorCode.INVALID_AMEND
    if cmd.price is not None and (cmd.price <= 0 or cmd.price % instrument.tick_size):
        return ErrorCode.INVALID_PRICE
    if cmd.quantity is not None:
        if cmd.quantity <= 0 or cmd.quantity % instrument.lot_size:
            return ErrorCode.INVALID_QUANTITY
        if cmd.quantity > instrument.max_quantity:
            return ErrorCode.QUANTITY_ABOVE_MAX
    return None


def effective_quantity(instrument: Instrument, cmd: NewOrder) -> int:
    """A budget-only market buy is bounded by the instrument's maximum quantity."""
    return instrument.max_quantity if cmd.quantity is None else cmd.quantity
