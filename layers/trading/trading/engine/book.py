"""The one interface every order book implements, and the rules both books share.

A book holds one instrument's resting orders. ``process`` takes a command for that instrument and
returns the events it caused; a rejected command returns exactly one ``OrderRejected`` and leaves
the book unchanged. Validation that does not depend on the book lives in
:mod:`trading.engine.rules`, shared by both implementations and by intake.
"""

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple, Protocol

import orjson

from trading.domain.enums import InstrumentStatus, StpMode
from trading.domain.instruments import Instrument
from trading.engine.commands import Command, NewOrder
from trading.engine.events import Event

SNAPSHOT_VERSION = 2  # 2: every resting order carries hold_left


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
    @property
    def hold_left(self) -> int | None:
        """Hold units left; ``None`` only on a matcher view not yet given one (never restored)."""
        ...


def snapshot_orders(orders: Iterable[RestingOrder]) -> list[dict[str, Any]]:
    """One side of a book snapshot, in the given (price-time) order; ``quantity`` is what is open,
    ``hold_left`` what is left of the order's hold in hold units (:mod:`trading.engine.rules`)."""
    return [
        {
            "order_id": order.order_id,
            "account_id": order.account_id,
            "price": order.price,
            "quantity": order.remaining,
            "stp": order.stp.value,
            "post_only": order.post_only,
            "hold_left": order.hold_left,
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


def effective_quantity(instrument: Instrument, cmd: NewOrder) -> int:
    """A budget-only market buy is bounded by the instrument's maximum quantity."""
    return instrument.max_quantity if cmd.quantity is None else cmd.quantity
