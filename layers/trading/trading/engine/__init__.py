"""The pure matching engine: commands in, events out (no I/O).

Public API (documented in ``docs/engine.md``)::

    from trading.engine import MatchingEngine, NewOrder, Cancel, Amend
    engine = MatchingEngine(demo_instruments())
    events = engine.process(NewOrder(...))

``FastBook`` is the production book, ``ReferenceBook`` the executable specification; both satisfy
the ``OrderBook`` protocol and pass the same test suite.
"""

from trading.engine.book import L2Snapshot, OrderBook, state_hash
from trading.engine.commands import Amend, Cancel, Command, NewOrder
from trading.engine.engine import BookFactory, MatchingEngine
from trading.engine.events import (
    BookDelta,
    CancelReason,
    Event,
    OrderAccepted,
    OrderAmended,
    OrderCanceled,
    OrderFilled,
    OrderRejected,
    Trade,
)
from trading.engine.fast_book import FastBook
from trading.engine.reference_book import ReferenceBook

__all__ = [
    "Amend",
    "BookDelta",
    "BookFactory",
    "Cancel",
    "CancelReason",
    "Command",
    "Event",
    "FastBook",
    "L2Snapshot",
    "MatchingEngine",
    "NewOrder",
    "OrderAccepted",
    "OrderAmended",
    "OrderBook",
    "OrderCanceled",
    "OrderFilled",
    "OrderRejected",
    "ReferenceBook",
    "Trade",
    "state_hash",
]
