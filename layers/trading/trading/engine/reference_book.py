"""The reference order book: obviously correct, deliberately simple, not fast.

Each side is one Python list of orders kept sorted by ``(price priority, arrival number)``; the
first element is the best order. Level totals are recomputed by summing. Every rule is written out
step by step in the order the events are emitted, so it doubles as the executable specification
the fast book is checked against.
"""

import bisect
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from trading.domain.enums import InstrumentStatus, OrderType, Side, StpMode, TimeInForce
from trading.domain.errors import ErrorCode
from trading.domain.instruments import Instrument
from trading.engine.book import (
    L2Snapshot,
    effective_quantity,
    snapshot_document,
    snapshot_orders,
    state_hash,
)
from trading.engine.commands import Amend, Cancel, Command, NewOrder
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
from trading.engine.rules import (
    HOLD_SCALE,
    Grid,
    check_amend,
    check_amend_hold,
    check_new_hold,
    check_new_order,
    fill_cost,
)


@dataclass(eq=False)  # identity equality: list.remove must remove this very order
class _Order:
    order_id: str
    account_id: str
    side: Side
    price: int
    remaining: int
    stp: StpMode
    post_only: bool
    arrival: int
    hold_left: int  # hold units (trading.engine.rules) this order may still spend

    def sort_key(self) -> tuple[int, int]:
        return (-self.price if self.side is Side.BUY else self.price, self.arrival)


@dataclass
class _Taker:
    order_id: str
    account_id: str
    side: Side
    limit: int | None  # None: market
    remaining: int
    stp: StpMode
    budget: int | None
    hold_left: int


class ReferenceBook:
    def __init__(self, instrument: Instrument) -> None:
        self._instrument = instrument
        self._grid = Grid(instrument)
        self._status = instrument.status
        self._seq = 0
        self._arrivals = 0
        self._bids: list[_Order] = []
        self._asks: list[_Order] = []
        self._by_id: dict[str, _Order] = {}
        self._events: list[Event] = []
        self._touched: list[tuple[Side, int]] = []

    # -- read side ------------------------------------------------------------------------------

    @property
    def instrument(self) -> Instrument:
        return self._instrument

    @property
    def seq(self) -> int:
        return self._seq

    @property
    def status(self) -> InstrumentStatus:
        return self._status

    def set_status(self, status: InstrumentStatus) -> None:
        self._status = status

    def depth(self, levels: int) -> L2Snapshot:
        return L2Snapshot(
            self._instrument.symbol,
            self._seq,
            self._levels(self._bids)[:levels],
            self._levels(self._asks)[:levels],
        )

    @staticmethod
    def _levels(orders: list[_Order]) -> list[tuple[int, int]]:
        result: list[tuple[int, int]] = []
        for order in orders:
            if result and result[-1][0] == order.price:
                result[-1] = (order.price, result[-1][1] + order.remaining)
            else:
                result.append((order.price, order.remaining))
        return result

    def snapshot(self) -> dict[str, Any]:
        bids, asks = snapshot_orders(self._bids), snapshot_orders(self._asks)
        return snapshot_document(self._instrument.symbol, self._status, self._seq, bids, asks)

    def restore(self, snapshot: Mapping[str, Any]) -> None:
        if snapshot["symbol"] != self._instrument.symbol:
            raise ValueError(f"snapshot of {snapshot['symbol']} restored into {self._instrument.symbol}")
        self._status = InstrumentStatus(snapshot["status"])
        self._seq = int(snapshot["seq"])
        self._bids, self._asks = [], []
        self._by_id = {}
        self._arrivals = 0
        for side, key in ((Side.BUY, "bids"), (Side.SELL, "asks")):
            for item in snapshot[key]:
                self._arrivals += 1
                self._insert(
                    _Order(
                        item["order_id"],
                        item["account_id"],
                        side,
                        int(item["price"]),
                        int(item["quantity"]),
                        StpMode(item["stp"]),
                        bool(item["post_only"]),
                        self._arrivals,
                        int(item["hold_left"]),
                    )
                )

    def state_hash(self) -> str:
        return state_hash(self.snapshot())

    # -- commands -------------------------------------------------------------------------------

    def process(self, command: Command) -> list[Event]:
        self._events = []
        self._touched = []
        if isinstance(command, NewOrder):
            self._new_order(command)
        elif isinstance(command, Cancel):
            self._cancel(command)
        else:
            self._amend(command)
        for side, price in self._touched:
            self._emit(BookDelta, side, price, self._level_total(side, price))
        return self._events

    def _new_order(self, cmd: NewOrder) -> None:
        inst = self._grid
        violation = check_new_order(
            inst,
            self._status,
            cmd.side,
            cmd.order_type,
            cmd.price,
            cmd.quantity,
            cmd.quote_budget,
            cmd.time_in_force,
            cmd.post_only,
        ) or check_new_hold(
            inst, cmd.side, cmd.price, cmd.quantity, cmd.quote_budget, cmd.hold_asset, cmd.hold
        )
        code = None if violation is None else violation.code
        if code is None and self._find(cmd.order_id) is not None:
            code = ErrorCode.DUPLICATE_ORDER_ID
        if code is None:
            code = self._check_against_book(cmd)
        if code is not None:
            self._emit(OrderRejected, cmd.order_id, cmd.account_id, "new", code)
            return
        quantity = effective_quantity(self._instrument, cmd)
        self._emit(
            OrderAccepted,
            cmd.order_id,
            cmd.account_id,
            cmd.side,
            cmd.order_type,
            cmd.price,
            quantity,
            cmd.time_in_force,
        )
        hold_left = (cmd.hold or 0) * HOLD_SCALE
        taker = _Taker(
            cmd.order_id, cmd.account_id, cmd.side, cmd.price, quantity, cmd.stp, cmd.quote_budget, hold_left
        )
        stopped_by_stp = self._match(taker)
        rests = cmd.order_type is OrderType.LIMIT and cmd.time_in_force is TimeInForce.GTC
        self._finish_taker(taker, stopped_by_stp, rests, cmd.post_only)

    def _check_against_book(self, cmd: NewOrder) -> ErrorCode | None:
        opposite = self._asks if cmd.side is Side.BUY else self._bids
        if cmd.post_only and opposite and self._crosses(cmd.side, cmd.price, opposite[0].price):
            return ErrorCode.POST_ONLY_WOULD_CROSS
        if cmd.order_type is OrderType.MARKET:
            if not opposite:
                return ErrorCode.NO_LIQUIDITY
            if (
                cmd.quote_budget is not None
                and cmd.quote_budget < opposite[0].price * self._instrument.lot_size
            ):
                return ErrorCode.NO_LIQUIDITY
        if cmd.time_in_force is TimeInForce.FOK:
            wanted = effective_quantity(self._instrument, cmd)
            if self._fillable(cmd.side, cmd.price, cmd.account_id, cmd.stp, opposite) < wanted:
                return ErrorCode.FOK_NOT_FILLABLE
        return None

    @staticmethod
    def _crosses(side: Side, limit: int | None, maker_price: int) -> bool:
        if limit is None:
            return True
        return maker_price <= limit if side is Side.BUY else maker_price >= limit

    def _fillable(
        self, side: Side, limit: int | None, account: str, stp: StpMode, opposite: list[_Order]
    ) -> int:
        """What a taker could fill right now, given that STP stops it at (or skips) own orders."""
        total = 0
        for maker in opposite:
            if not self._crosses(side, limit, maker.price):
                break
            if maker.account_id == account:
                if stp is StpMode.CANCEL_OLDEST:
                    continue
                break
            total += maker.remaining
        return total

    def _match(self, taker: _Taker) -> bool:
        """Trade ``taker`` against the opposite side. True when self-trade prevention stopped it."""
        opposite = self._asks if taker.side is Side.BUY else self._bids
        lot = self._instrument.lot_size
        while taker.remaining > 0 and opposite:
            maker = opposite[0]
            if not self._crosses(taker.side, taker.limit, maker.price):
                return False
            if maker.account_id == taker.account_id:
                if taker.stp is StpMode.CANCEL_NEWEST:
                    return True
                self._remove(maker)
                self._touch(maker.side, maker.price)
                self._emit(
                    OrderCanceled, maker.order_id, maker.account_id, maker.remaining, CancelReason.SELF_TRADE
                )
                if taker.stp is StpMode.CANCEL_BOTH:
                    return True
                continue
            quantity = min(taker.remaining, maker.remaining)
            if taker.budget is not None:
                quantity = min(quantity, taker.budget // (maker.price * lot) * lot)
                if quantity == 0:
                    return False
                taker.budget -= quantity * maker.price
            maker.remaining -= quantity
            taker.remaining -= quantity
            inst = self._grid
            maker.hold_left -= fill_cost(inst, maker.side, maker.price, quantity, inst.maker_fee_bps)
            taker.hold_left -= fill_cost(inst, taker.side, maker.price, quantity, inst.taker_fee_bps)
            self._touch(maker.side, maker.price)
            self._emit(
                Trade,
                maker.price,
                quantity,
                maker.side,
                maker.order_id,
                maker.account_id,
                taker.order_id,
                taker.account_id,
                maker.remaining,
                taker.remaining,
            )
            if maker.remaining == 0:
                self._remove(maker)
                self._emit(OrderFilled, maker.order_id, maker.account_id)
            if taker.remaining == 0:
                self._emit(OrderFilled, taker.order_id, taker.account_id)
        return False

    def _finish_taker(self, taker: _Taker, stopped_by_stp: bool, rests: bool, post_only: bool) -> None:
        """After matching: rest the remainder of a GTC limit order, cancel any other remainder."""
        if taker.remaining == 0:
            return
        if stopped_by_stp:
            self._emit(
                OrderCanceled, taker.order_id, taker.account_id, taker.remaining, CancelReason.SELF_TRADE
            )
        elif rests and taker.limit is not None:
            self._arrivals += 1
            order = _Order(
                taker.order_id,
                taker.account_id,
                taker.side,
                taker.limit,
                taker.remaining,
                taker.stp,
                post_only,
                self._arrivals,
                taker.hold_left,
            )
            self._insert(order)
            self._touch(order.side, order.price)
        else:
            self._emit(
                OrderCanceled, taker.order_id, taker.account_id, taker.remaining, CancelReason.UNFILLED
            )

    def _cancel(self, cmd: Cancel) -> None:
        order = self._find(cmd.order_id)
        if order is None or order.account_id != cmd.account_id:
            self._emit(OrderRejected, cmd.order_id, cmd.account_id, "cancel", ErrorCode.UNKNOWN_ORDER)
            return
        self._remove(order)
        self._touch(order.side, order.price)
        self._emit(OrderCanceled, order.order_id, order.account_id, order.remaining, CancelReason.USER)

    def _amend(self, cmd: Amend) -> None:
        violation = check_amend(self._grid, self._status, cmd.price, cmd.quantity)
        code = None if violation is None else violation.code
        order = self._find(cmd.order_id)
        if code is None and (order is None or order.account_id != cmd.account_id):
            code = ErrorCode.UNKNOWN_ORDER
        new_price = cmd.price if cmd.price is not None else (order.price if order else 0)
        if code is None and order is not None and order.post_only:
            opposite = self._asks if order.side is Side.BUY else self._bids
            if opposite and self._crosses(order.side, new_price, opposite[0].price):
                code = ErrorCode.POST_ONLY_WOULD_CROSS
        new_quantity = cmd.quantity if cmd.quantity is not None else (order.remaining if order else 0)
        if code is None and order is not None:
            beyond = check_amend_hold(self._grid, order.side, new_price, new_quantity, order.hold_left)
            code = None if beyond is None else beyond.code
        if code is not None or order is None:
            self._emit(OrderRejected, cmd.order_id, cmd.account_id, "amend", code or ErrorCode.UNKNOWN_ORDER)
            return
        self._touch(order.side, order.price)
        if new_price == order.price and new_quantity <= order.remaining:
            order.remaining = new_quantity
            self._emit(OrderAmended, order.order_id, order.account_id, new_price, new_quantity, True)
            return
        self._remove(order)
        self._emit(OrderAmended, order.order_id, order.account_id, new_price, new_quantity, False)
        taker = _Taker(
            order.order_id,
            order.account_id,
            order.side,
            new_price,
            new_quantity,
            order.stp,
            None,
            order.hold_left,
        )
        stopped_by_stp = self._match(taker)
        self._finish_taker(taker, stopped_by_stp, True, order.post_only)

    # -- helpers --------------------------------------------------------------------------------

    def _emit(self, event_type: Any, *fields: Any) -> None:
        self._seq += 1
        self._events.append(event_type(self._seq, self._instrument.symbol, *fields))

    def _touch(self, side: Side, price: int) -> None:
        if (side, price) not in self._touched:
            self._touched.append((side, price))

    def _level_total(self, side: Side, price: int) -> int:
        orders = self._bids if side is Side.BUY else self._asks
        key = -price if side is Side.BUY else price
        first = bisect.bisect_left(orders, (key, 0), key=_Order.sort_key)
        end = bisect.bisect_left(orders, (key + 1, 0), key=_Order.sort_key)
        return sum(order.remaining for order in orders[first:end])

    def _find(self, order_id: str) -> _Order | None:
        return self._by_id.get(order_id)

    def _insert(self, order: _Order) -> None:
        orders = self._bids if order.side is Side.BUY else self._asks
        bisect.insort(orders, order, key=_Order.sort_key)
        self._by_id[order.order_id] = order

    def _remove(self, order: _Order) -> None:
        (self._bids if order.side is Side.BUY else self._asks).remove(order)
        del self._by_id[order.order_id]
