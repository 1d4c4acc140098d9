"""Order intake: validate against the instrument, hold funds, record PENDING, enqueue.

Also cancel and amend, which are matcher commands through the same queue. The steps of
:func:`place_order` and why their order makes a crash safe are in docs/adr/0004 and docs/api.md:

1. validate (nothing written on any rejection);
2. hold funds in PostgreSQL (one transaction, guarded; ``INSUFFICIENT_FUNDS`` writes nothing);
3. write the order PENDING in ``Orders`` (conditional on a new order id);
4. send the ``new`` command to ``orders.fifo`` (dedup id = order id).

If step 3 fails, the hold is undone before the error is returned. If step 4 fails, nothing is
undone: a timed-out send may have been delivered, so the order stays PENDING with its hold and the
caller gets 503 ``SERVICE_UNAVAILABLE``. A client retry with the same ``client_order_id`` (same
order id) resumes the missing steps; the hold sweeper releases holds whose order never reached
``Orders`` and rejects (``INTAKE_EXPIRED``) orders left PENDING past its timeout, then releases them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Protocol

from trading.adapters.holds import HoldOutcome, HoldRequest
from trading.domain.enums import OrderStatus, OrderType, Side, StpMode, TimeInForce
from trading.domain.errors import DomainError, ErrorCode
from trading.domain.instruments import Instrument
from trading.domain.numbers import format_units
from trading.engine.rules import (
    Grid,
    Violation,
    check_amend,
    check_amend_hold,
    check_new_order,
    hold_asset,
    hold_left_at_most,
    required_hold,
)
from trading.services.records import OrderRecord, utc_now_iso

_ORDER_ID_NAMESPACE = uuid.UUID("6f1c2d4e-8a43-4c1e-9d8e-3b1f0a7c5e21")


class InstrumentsPort(Protocol):
    def get(self, symbol: str) -> Instrument: ...


class OrdersPort(Protocol):
    def put_new(self, order: OrderRecord) -> bool: ...
    def delete_pending(self, order_id: str) -> None: ...
    def get(self, order_id: str) -> OrderRecord | None: ...
    def open_orders(self, account_id: str, symbol: str) -> list[OrderRecord]: ...


class QueuePort(Protocol):
    def send(self, command: dict[str, Any], dedup_id: str) -> None: ...


class HoldsPort(Protocol):
    def place(self, hold: HoldRequest) -> HoldOutcome: ...
    def undo(self, order_id: str) -> int: ...


@dataclass(frozen=True)
class OrderTicket:
    """A new order as the client asked for it (decimal strings, not yet on the instrument's grid)."""

    symbol: str
    side: Side
    order_type: OrderType
    price: str | None = None
    quantity: str | None = None
    quote_amount: str | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    post_only: bool = False
    stp: StpMode = StpMode.CANCEL_NEWEST
    client_order_id: str | None = None


@dataclass(frozen=True)
class ValidOrder:
    """A ticket converted to the instrument's integer units and checked against its rules."""

    price: int | None
    quantity: int | None
    quote_budget: int | None
    hold_asset: str
    hold_amount: int


def order_id_for(account_id: str, client_order_id: str | None) -> str:
    """Deterministic for a client order id, so every retry of one order names the same order."""
    if client_order_id is None:
        return uuid.uuid4().hex
    return uuid.uuid5(_ORDER_ID_NAMESPACE, f"{account_id}\n{client_order_id}").hex


def validate(ticket: OrderTicket, instrument: Instrument) -> ValidOrder:
    """Apply the instrument's book-independent rules and compute the worst-case hold.

    The rules are the matcher's own (:mod:`trading.engine.rules`), so intake accepts exactly what
    the book accepts; intake only converts the client's decimal strings onto the grid first.
    """
    grid = Grid(instrument)
    price = instrument.parse_price(ticket.price) if ticket.price is not None else None
    quantity = instrument.parse_quantity(ticket.quantity) if ticket.quantity is not None else None
    budget = instrument.parse_quote_amount(ticket.quote_amount) if ticket.quote_amount is not None else None
    violation = check_new_order(
        grid,
        instrument.status,
        ticket.side,
        ticket.order_type,
        price,
        quantity,
        budget,
        ticket.time_in_force,
        ticket.post_only,
    )
    if violation is not None:
        raise DomainError(violation.code, _explain(violation, instrument))
    hold = required_hold(grid, ticket.side, price, quantity, budget)
    return ValidOrder(price, quantity, budget, hold_asset(grid, ticket.side), hold)


def _explain(violation: Violation, instrument: Instrument) -> str:
    """The rule's reason, with the instrument's limit where one applies."""
    if violation.code is ErrorCode.INSTRUMENT_HALTED:
        return f"{instrument.symbol} is halted"
    if violation.code is ErrorCode.QUANTITY_BELOW_MIN:
        return f"quantity must be at least {instrument.format_quantity(instrument.min_quantity)}"
    if violation.code is ErrorCode.QUANTITY_ABOVE_MAX:
        return f"quantity must be at most {instrument.format_quantity(instrument.max_quantity)}"
    if violation.code is ErrorCode.NOTIONAL_BELOW_MIN:
        minimum = format_units(instrument.min_notional, instrument.quote_decimals)
        return f"order value must be at least {minimum} {instrument.quote_asset}"
    return violation.message


def new_command(order: OrderRecord) -> dict[str, Any]:
    """The ``new`` command in the wire format of docs/architecture.md."""
    return {
        "type": "new",
        "order_id": order.order_id,
        "account_id": order.account_id,
        "symbol": order.symbol,
        "side": str(order.side),
        "order_type": str(order.order_type),
        "price": order.price,
        "quantity": order.quantity,
        "quote_budget": order.quote_budget,
        "time_in_force": str(order.time_in_force),
        "post_only": order.post_only,
        "stp": str(order.stp),
        "client_order_id": order.client_order_id,
        "hold": order.hold_amount,
        "hold_asset": order.hold_asset,
    }


_SAME_ORDER_FIELDS = (
    "account_id",
    "symbol",
    "side",
    "order_type",
    "price",
    "quantity",
    "quote_budget",
    "time_in_force",
    "post_only",
    "stp",
)


@dataclass
class OrderService:
    instruments: InstrumentsPort
    orders: OrdersPort
    queue: QueuePort
    holds: HoldsPort

    def place_order(self, account_id: str, ticket: OrderTicket) -> OrderRecord:
        instrument = self.instruments.get(ticket.symbol)
        valid = validate(ticket, instrument)
        now = utc_now_iso()
        order = OrderRecord(
            order_id=order_id_for(account_id, ticket.client_order_id),
            account_id=account_id,
            symbol=instrument.symbol,
            side=ticket.side,
            order_type=ticket.order_type,
            price=valid.price,
            quantity=valid.quantity,
            quote_budget=valid.quote_budget,
            time_in_force=ticket.time_in_force,
            post_only=ticket.post_only,
            stp=ticket.stp,
            client_order_id=ticket.client_order_id,
            status=OrderStatus.PENDING,
            hold_asset=valid.hold_asset,
            hold_amount=valid.hold_amount,
            created_at=now,
            updated_at=now,
        )
        hold = HoldRequest(order.order_id, account_id, valid.hold_asset, instrument.symbol, valid.hold_amount)
        outcome = self.holds.place(hold)  # raises INSUFFICIENT_FUNDS having written nothing
        try:
            if not self.orders.put_new(order):
                existing = self.orders.get(order.order_id)
                if existing is None or any(
                    getattr(existing, f) != getattr(order, f) for f in _SAME_ORDER_FIELDS
                ):
                    raise DomainError(
                        ErrorCode.IDEMPOTENCY_CONFLICT,
                        "client_order_id was already used for a different order",
                    )
                order = existing  # a retry: resend below (the queue drops the duplicate)
        except DomainError:
            if outcome is HoldOutcome.PLACED:
                self.holds.undo(order.order_id)
            raise
        except Exception:
            # No command was sent by this call. Undo only what this call created: after an earlier
            # attempt (ALREADY_HELD) a command may be in flight, so its hold must stay.
            if outcome is HoldOutcome.PLACED:
                self._compensate(order.order_id)
            raise
        try:
            self.queue.send(new_command(order), dedup_id=order.order_id)
        except Exception as exc:
            # A failed send (e.g. a timeout) may still have been delivered: the matcher could put
            # the order on the book, so the PENDING item and the hold must stay. A retry with the
            # same client_order_id resends (SQS drops the duplicate); the hold sweeper rejects
            # orders that stay PENDING too long and only then releases their hold.
            raise DomainError(
                ErrorCode.SERVICE_UNAVAILABLE, "order state unknown; retry with the same client_order_id"
            ) from exc
        return order

    def _compensate(self, order_id: str) -> None:
        """Undo a half-placed order whose command was never sent (the ``Orders`` write failed).
        The hold goes back only if no PENDING item is left (the delete is conditional on PENDING)."""
        self.orders.delete_pending(order_id)
        if self.orders.get(order_id) is None:
            self.holds.undo(order_id)

    def _own_order(self, account_id: str, order_id: str) -> OrderRecord:
        order = self.orders.get(order_id)
        if order is None or order.account_id != account_id:
            # Another account's order is indistinguishable from a missing one.
            raise DomainError(ErrorCode.UNKNOWN_ORDER, f"no order {order_id}")
        return order

    def cancel_order(self, account_id: str, order_id: str) -> OrderRecord:
        order = self._own_order(account_id, order_id)
        if order.status.is_terminal:
            raise DomainError(ErrorCode.ORDER_NOT_OPEN, f"order is {order.status}")
        command = {"type": "cancel", "order_id": order_id, "account_id": account_id, "symbol": order.symbol}
        self.queue.send(command, dedup_id=f"{order_id}:cancel")
        return order

    def cancel_all(self, account_id: str, symbol: str) -> list[str]:
        self.instruments.get(symbol)  # UNKNOWN_SYMBOL for a symbol that does not exist
        canceled = []
        for order in self.orders.open_orders(account_id, symbol):
            command = {
                "type": "cancel",
                "order_id": order.order_id,
                "account_id": account_id,
                "symbol": symbol,
            }
            self.queue.send(command, dedup_id=f"{order.order_id}:cancel")
            canceled.append(order.order_id)
        return canceled

    def amend_order(
        self, account_id: str, order_id: str, price: str | None, quantity: str | None
    ) -> tuple[OrderRecord, int | None, int | None]:
        if price is None and quantity is None:
            raise DomainError(ErrorCode.INVALID_AMEND, "give a new price, a new quantity or both")
        order = self._own_order(account_id, order_id)
        if order.status.is_terminal:
            raise DomainError(ErrorCode.ORDER_NOT_OPEN, f"order is {order.status}")
        if order.order_type is not OrderType.LIMIT:
            raise DomainError(ErrorCode.INVALID_AMEND, "only limit orders can be amended")
        instrument = self.instruments.get(order.symbol)
        new_price = instrument.parse_price(price) if price is not None else None
        new_quantity = instrument.parse_quantity(quantity) if quantity is not None else None
        grid = Grid(instrument)
        violation = check_amend(grid, instrument.status, new_price, new_quantity)
        known = order.price is not None and order.quantity is not None and order.hold_amount is not None
        if violation is None and known:
            # Fast feedback only, on a view that may lag the matcher: the new open quantity at the
            # new price must fit in what the hold can at most have left after the fills this view
            # knows of. The matcher enforces the real bound (the hold less the fills it made).
            assert order.price is not None and order.quantity is not None and order.hold_amount is not None
            open_quantity = order.quantity - order.filled_quantity
            left = hold_left_at_most(grid, order.side, order.hold_amount, order.filled_quantity)
            violation = check_amend_hold(
                grid, order.side, new_price or order.price, new_quantity or open_quantity, left
            )
        if violation is not None:
            raise DomainError(violation.code, _explain(violation, instrument))
        command = {
            "type": "amend",
            "order_id": order_id,
            "account_id": account_id,
            "symbol": order.symbol,
            "price": new_price,
            "quantity": new_quantity,
        }
        self.queue.send(command, dedup_id=f"{order_id}:amend:{uuid.uuid4().hex}")
        return order, new_price, new_quantity
