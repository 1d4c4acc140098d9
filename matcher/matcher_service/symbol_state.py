"""One symbol's in-memory state: the pure engine book plus the views of its live orders.

``apply`` runs a batch of commands through the engine and turns the events into an
:class:`Outcome`: the ``Orders`` item states, the L2 levels touched, the outbox records and the
checkpoint move. Nothing here does I/O; the store commits the outcome and the service publishes it.
"""

from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from trading.domain.enums import InstrumentStatus, OrderStatus, Side
from trading.domain.instruments import Instrument
from trading.engine.book import OrderBook, snapshot_document, snapshot_orders
from trading.engine.commands import NewOrder
from trading.engine.events import (
    BookDelta,
    Event,
    OrderAccepted,
    OrderAmended,
    OrderCanceled,
    OrderFilled,
    OrderRejected,
    Trade,
)
from trading.engine.rules import HOLD_SCALE, Grid, fill_cost, worst_cost

from matcher_service.engine_port import new_book
from matcher_service.model import EventRecord, Inbound, LevelWrite, OrderView, OrderWrite, Outcome

RECENT_IDS = 100_000  # command ids remembered to skip redeliveries without a table read


class RecentIds:
    """A bounded set of command ids this process committed (oldest forgotten first)."""

    def __init__(self, capacity: int = RECENT_IDS) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._capacity = capacity

    def add(self, command_id: str) -> None:
        self._ids[command_id] = None
        self._ids.move_to_end(command_id)
        while len(self._ids) > self._capacity:
            self._ids.popitem(last=False)

    def __contains__(self, command_id: object) -> bool:
        return command_id in self._ids


def snapshot_from_views(
    instrument: Instrument, status: InstrumentStatus, seq: int, views: Iterable[OrderView]
) -> dict[str, Any]:
    """The engine snapshot (docs/engine.md) of the resting orders, in price-time priority.

    An order item from before the matcher kept ``hold_left`` is given exactly its open worst case:
    it can still fill what is open, and no amend can raise it.
    """
    resting = [v for v in views if v.resting and v.price is not None]
    grid = Grid(instrument)
    for view in resting:
        if view.hold_left is None:
            view.hold_left = worst_cost(grid, view.side, view.price or 0, view.remaining)
    bids = sorted((v for v in resting if v.side is Side.BUY), key=lambda v: (-(v.price or 0), v.priority_seq))
    asks = sorted((v for v in resting if v.side is Side.SELL), key=lambda v: (v.price or 0, v.priority_seq))

    return snapshot_document(instrument.symbol, status, seq, snapshot_orders(bids), snapshot_orders(asks))


def _marker(inbound: Inbound) -> str:
    """What makes a command applied: a new order's id (whatever its dedup id), else the command id."""
    return f"order:{inbound.order_id}" if isinstance(inbound.command, NewOrder) else inbound.command_id


class SymbolState:
    def __init__(self, instrument: Instrument, seq: int, resting: Sequence[OrderView]) -> None:
        self.instrument = instrument
        self.grid = Grid(instrument)
        self.book: OrderBook = new_book(instrument)
        self.views: dict[str, OrderView] = {v.order_id: v for v in resting}
        self.book.restore(snapshot_from_views(instrument, instrument.status, seq, resting))
        self.recent = RecentIds()

    @property
    def symbol(self) -> str:
        return self.instrument.symbol

    @property
    def seq(self) -> int:
        return self.book.seq

    def set_status(self, status: InstrumentStatus) -> None:
        if status is not self.book.status:
            self.book.set_status(status)

    def already_applied(self, inbound: Inbound) -> bool:
        """Redeliveries this process can recognise without reading the table."""
        if isinstance(inbound.command, NewOrder):
            return inbound.order_id in self.views or _marker(inbound) in self.recent
        return _marker(inbound) in self.recent

    def apply(self, inbounds: Sequence[Inbound], now_iso: str, skip: frozenset[str] = frozenset()) -> Outcome:
        """Run the commands (minus redeliveries and ``skip`` command ids) through the engine."""
        outcome = Outcome(self.symbol, prev_seq=self.seq, last_seq=self.seq)
        for inbound in inbounds:
            if inbound.command_id in skip or self.already_applied(inbound):
                outcome.skipped.append(inbound)
                continue
            self._apply_one(inbound, now_iso, outcome)
            outcome.applied.append(inbound)
        outcome.last_seq = self.seq
        # Between batches every view rests (committed() drops the others), so the orders that
        # stopped resting in this batch are exactly the touched views that are not resting now.
        ended = sum(
            1
            for order_id, write in outcome.orders.items()
            if write.view is not None and not write.view.resting and order_id in self.views
        )
        outcome.resting = len(self.views) - ended
        return outcome

    def committed(self, outcome: Outcome) -> None:
        """The outcome is durable: forget finished orders, remember the command ids."""
        for inbound in outcome.applied:
            self.recent.add(_marker(inbound))
        for order_id, write in outcome.orders.items():
            view = write.view
            if view is not None and not view.resting:
                self.views.pop(order_id, None)

    # -- one command ----------------------------------------------------------------------------

    def _apply_one(self, inbound: Inbound, now_iso: str, outcome: Outcome) -> None:
        command = inbound.command
        write = outcome.orders.setdefault(command.order_id, OrderWrite(command.order_id))
        if isinstance(command, NewOrder):
            write.new_order = True
        else:
            write.command_ids.append(inbound.command_id)
        accepted: dict[str, Any] | None = None
        for event in self.book.process(command):
            record = self._record(event, command, now_iso, outcome)
            if record is not None:
                outcome.events.append(record)
                if isinstance(event, OrderAccepted):
                    accepted = record.detail
        taker = self.views.get(command.order_id)
        if isinstance(command, NewOrder) and taker is not None:
            if taker.resting:
                taker.status = OrderStatus.PARTIALLY_FILLED if taker.filled else OrderStatus.OPEN
            if accepted is not None:
                accepted["status"] = taker.status.value
        if taker is not None:
            write.view = taker

    def _touch(self, outcome: Outcome, view: OrderView, seq: int) -> None:
        view.seq = seq
        outcome.orders.setdefault(view.order_id, OrderWrite(view.order_id)).view = view

    def _record(self, event: Event, command: Any, now_iso: str, outcome: Outcome) -> EventRecord | None:
        """Apply one event to the views/levels and return its outbox record."""
        handler = _HANDLERS.get(type(event).__name__)
        return None if handler is None else handler(self, event, command, now_iso, outcome)

    def _on_delta(self, event: BookDelta, command: Any, now_iso: str, outcome: Outcome) -> EventRecord:
        outcome.levels[(event.side, event.price)] = LevelWrite(
            event.side, event.price, event.quantity, event.seq
        )
        change = {"side": event.side.value, "price": event.price, "quantity": event.quantity}
        return EventRecord("BookUpdated", {"symbol": self.symbol, "seq": event.seq, "changes": [change]})

    def _on_accepted(self, event: OrderAccepted, command: Any, now_iso: str, outcome: Outcome) -> EventRecord:
        assert isinstance(command, NewOrder)
        view = OrderView(
            order_id=event.order_id,
            account_id=event.account_id,
            symbol=self.symbol,
            side=event.side,
            order_type=event.order_type,
            price=event.price,
            quantity=event.quantity,
            filled=0,
            remaining=event.quantity,
            status=OrderStatus.OPEN,
            priority_seq=event.seq,
            seq=event.seq,
            stp=command.stp,
            post_only=command.post_only,
            time_in_force=event.time_in_force,
            client_order_id=command.client_order_id,
            budget_only=command.quantity is None,
            hold_left=(command.hold or 0) * HOLD_SCALE,
        )
        self.views[view.order_id] = view
        self._touch(outcome, view, event.seq)
        return EventRecord(
            "OrderAccepted",
            {
                "symbol": self.symbol,
                "seq": event.seq,
                "order_id": event.order_id,
                "account_id": event.account_id,
                "client_order_id": command.client_order_id,
                "side": event.side.value,
                "order_type": event.order_type.value,
                "time_in_force": event.time_in_force.value,
                "price": event.price,
                "quantity": event.quantity,
                "status": OrderStatus.OPEN.value,
            },
        )

    def _on_rejected(self, event: OrderRejected, command: Any, now_iso: str, outcome: Outcome) -> EventRecord:
        if isinstance(command, NewOrder) and event.order_id == command.order_id:
            view = self._rejected_view(command, event)
            self.views[view.order_id] = view
            self._touch(outcome, view, event.seq)
        return EventRecord(
            "OrderRejected",
            {
                "symbol": self.symbol,
                "seq": event.seq,
                "order_id": event.order_id,
                "account_id": event.account_id,
                "request": event.request,
                "code": event.code.value,
                "message": f"{event.request} rejected: {event.code.value}",
            },
        )

    def _on_trade(self, event: Trade, command: Any, now_iso: str, outcome: Outcome) -> EventRecord:
        grid = self.grid
        for order_id, remaining, side, fee_bps in (
            (event.maker_order_id, event.maker_remaining, event.maker_side, grid.maker_fee_bps),
            (event.taker_order_id, event.taker_remaining, event.maker_side.opposite, grid.taker_fee_bps),
        ):
            view = self.views[order_id]
            # the book's own bookkeeping (trading.engine.rules), so a rebuild restores it exactly
            view.hold_left = (view.hold_left or 0) - fill_cost(
                grid, side, event.price, event.quantity, fee_bps
            )
            view.filled += event.quantity
            view.remaining = remaining
            view.status = OrderStatus.PARTIALLY_FILLED
            self._touch(outcome, view, event.seq)
        return EventRecord(
            "TradeExecuted",
            {
                "symbol": self.symbol,
                "seq": event.seq,
                "trade_id": f"{self.symbol}:{event.seq}",
                "price": event.price,
                "quantity": event.quantity,
                "taker_side": event.maker_side.opposite.value,
                "maker_order_id": event.maker_order_id,
                "taker_order_id": event.taker_order_id,
                "maker_account_id": event.maker_account_id,
                "taker_account_id": event.taker_account_id,
                "executed_at": now_iso,
            },
        )

    def _on_filled(self, event: OrderFilled, command: Any, now_iso: str, outcome: Outcome) -> EventRecord:
        view = self.views[event.order_id]
        view.status, view.remaining = OrderStatus.FILLED, 0
        self._touch(outcome, view, event.seq)
        return EventRecord(
            "OrderFilled",
            {
                "symbol": self.symbol,
                "seq": event.seq,
                "order_id": event.order_id,
                "account_id": event.account_id,
                "filled_quantity": view.filled,
            },
        )

    def _on_canceled(self, event: OrderCanceled, command: Any, now_iso: str, outcome: Outcome) -> EventRecord:
        view = self.views[event.order_id]
        view.status, view.remaining = OrderStatus.CANCELED, 0
        self._touch(outcome, view, event.seq)
        return EventRecord(
            "OrderCanceled",
            {
                "symbol": self.symbol,
                "seq": event.seq,
                "order_id": event.order_id,
                "account_id": event.account_id,
                "reason": event.reason.value,
                "filled_quantity": view.filled,
                "remaining_quantity": event.quantity,
            },
        )

    def _on_amended(self, event: OrderAmended, command: Any, now_iso: str, outcome: Outcome) -> EventRecord:
        view = self.views[event.order_id]
        view.price, view.remaining = event.price, event.quantity
        view.quantity = view.filled + event.quantity
        view.amended = True
        if not event.priority_kept:
            view.priority_seq = event.seq
        self._touch(outcome, view, event.seq)
        return EventRecord(
            "OrderAmended",
            {
                "symbol": self.symbol,
                "seq": event.seq,
                "order_id": event.order_id,
                "account_id": event.account_id,
                "price": event.price,
                "quantity": event.quantity,
            },
        )

    def _rejected_view(self, command: NewOrder, event: OrderRejected) -> OrderView:
        return OrderView(
            order_id=command.order_id,
            account_id=command.account_id,
            symbol=self.symbol,
            side=command.side,
            order_type=command.order_type,
            price=command.price,
            quantity=command.quantity or 0,
            filled=0,
            remaining=0,
            status=OrderStatus.REJECTED,
            priority_seq=event.seq,
            seq=event.seq,
            stp=command.stp,
            post_only=command.post_only,
            time_in_force=command.time_in_force,
            client_order_id=command.client_order_id,
            reject_code=event.code.value,
        )


_HANDLERS: dict[str, Callable[[SymbolState, Any, Any, str, Outcome], EventRecord]] = {
    BookDelta.__name__: SymbolState._on_delta,
    OrderAccepted.__name__: SymbolState._on_accepted,
    OrderRejected.__name__: SymbolState._on_rejected,
    Trade.__name__: SymbolState._on_trade,
    OrderFilled.__name__: SymbolState._on_filled,
    OrderCanceled.__name__: SymbolState._on_canceled,
    OrderAmended.__name__: SymbolState._on_amended,
}
