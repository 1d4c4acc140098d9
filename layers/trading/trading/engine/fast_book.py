"""The fast order book: same behaviour as the reference book, built for throughput.

* Price levels live in a dict ``price -> _Level`` per side plus a sorted ``list[int]`` of prices
  arranged so the best price is always the *last* element (bids ascending, asks stored negated),
  so taking or checking the best level is O(1) and a new level is one ``bisect.insort``.
* A level is a list of slotted orders in time priority, consumed from a moving ``head`` index,
  with a running total. Cancels are O(1): the order is marked dead (``remaining = 0``) and skipped
  when it reaches the head; a level whose live count drops to zero is removed at once, and a level
  carrying many dead entries is compacted, so memory stays bounded.
* Validation is inlined and the hot loops bind attributes to locals. Events are the shared
  ``NamedTuple`` types, so both books' outputs compare equal value for value.

Every rule mirrors :mod:`trading.engine.reference_book`; the shared scenario tests and the
Hypothesis state machine in ``tests/unit/engine`` check that the two agree event for event.
"""

from bisect import bisect_left, insort
from collections.abc import Mapping
from typing import Any, Final

from trading.domain.enums import InstrumentStatus, OrderType, Side, StpMode, TimeInForce
from trading.domain.errors import ErrorCode
from trading.domain.instruments import Instrument
from trading.engine.book import L2Snapshot, snapshot_document, snapshot_orders, state_hash
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
)

_BUY: Final = Side.BUY
_SELL: Final = Side.SELL
_LIMIT: Final = OrderType.LIMIT
_MARKET: Final = OrderType.MARKET
_GTC: Final = TimeInForce.GTC
_FOK: Final = TimeInForce.FOK
_NEWEST: Final = StpMode.CANCEL_NEWEST
_BOTH: Final = StpMode.CANCEL_BOTH
_OLDEST: Final = StpMode.CANCEL_OLDEST
_TRADING: Final = InstrumentStatus.TRADING
_SELF_TRADE: Final = CancelReason.SELF_TRADE
_UNFILLED: Final = CancelReason.UNFILLED
_USER: Final = CancelReason.USER


class _Order:
    __slots__ = ("account_id", "hold_left", "is_buy", "order_id", "post_only", "price", "remaining", "stp")

    def __init__(  # noqa: PLR0917
        self,
        order_id: str,
        account_id: str,
        is_buy: bool,
        price: int,
        remaining: int,
        stp: StpMode,
        post_only: bool,
        hold_left: int,
    ) -> None:
        self.order_id = order_id
        self.account_id = account_id
        self.is_buy = is_buy
        self.price = price
        self.remaining = remaining  # 0 = dead (filled, canceled or moved by an amend)
        self.stp = stp
        self.post_only = post_only
        self.hold_left = hold_left  # hold units (trading.engine.rules) the order may still spend


class _Level:
    __slots__ = ("count", "head", "orders", "total")

    def __init__(self) -> None:
        self.total = 0  # open quantity of the live orders
        self.count = 0  # number of live orders
        self.orders: list[_Order] = []  # live and dead orders in time priority, from ``head`` on
        self.head = 0  # index of the first entry that may still be live


class FastBook:
    def __init__(self, instrument: Instrument) -> None:
        self._instrument = instrument
        self._grid = Grid(instrument)
        self._symbol = instrument.symbol
        self._tick = instrument.tick_size
        self._lot = instrument.lot_size
        self._min_qty = instrument.min_quantity
        self._max_qty = instrument.max_quantity
        # A fill of ``quantity`` at ``price`` costs ``quantity * (price * per_price + flat)`` hold
        # units (trading.engine.rules.fill_cost, with the multiplications hoisted out of the loop).
        per_notional = instrument.notional_to_quote_atoms
        self._buy_taker = per_notional * (HOLD_SCALE + instrument.taker_fee_bps)
        self._buy_maker = per_notional * (HOLD_SCALE + instrument.maker_fee_bps)
        self._sell = instrument.quantity_to_base_atoms * HOLD_SCALE
        self._status = instrument.status
        self._seq = 0
        self._orders: dict[str, _Order] = {}
        self._bids: dict[int, _Level] = {}
        self._bid_prices: list[int] = []  # ascending: best bid is last
        self._asks: dict[int, _Level] = {}
        self._ask_keys: list[int] = []  # negated ask prices ascending: best ask is -last

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
        bids = [
            (p, self._bids[p].total)
            for p in reversed(self._bid_prices[max(0, len(self._bid_prices) - levels) :])
        ]
        asks = [
            (-k, self._asks[-k].total)
            for k in reversed(self._ask_keys[max(0, len(self._ask_keys) - levels) :])
        ]
        return L2Snapshot(self._symbol, self._seq, bids, asks)

    def _side_orders(self, is_buy: bool) -> list[_Order]:
        result: list[_Order] = []
        if is_buy:
            levels = [self._bids[p] for p in reversed(self._bid_prices)]
        else:
            levels = [self._asks[-k] for k in reversed(self._ask_keys)]
        for level in levels:
            result.extend([o for o in level.orders[level.head :] if o.remaining > 0])
        return result

    def snapshot(self) -> dict[str, Any]:
        bids, asks = snapshot_orders(self._side_orders(True)), snapshot_orders(self._side_orders(False))
        return snapshot_document(self._symbol, self._status, self._seq, bids, asks)

    def restore(self, snapshot: Mapping[str, Any]) -> None:
        if snapshot["symbol"] != self._symbol:
            raise ValueError(f"snapshot of {snapshot['symbol']} restored into {self._symbol}")
        self._status = InstrumentStatus(snapshot["status"])
        self._seq = int(snapshot["seq"])
        self._orders, self._bids, self._asks = {}, {}, {}
        self._bid_prices, self._ask_keys = [], []
        touched: list[int] = []
        for is_buy, key in ((True, "bids"), (False, "asks")):
            for item in snapshot[key]:
                self._rest(
                    _Order(
                        item["order_id"],
                        item["account_id"],
                        is_buy,
                        int(item["price"]),
                        int(item["quantity"]),
                        StpMode(item["stp"]),
                        bool(item["post_only"]),
                        int(item["hold_left"]),
                    ),
                    touched,
                )

    def state_hash(self) -> str:
        return state_hash(self.snapshot())

    # -- commands -------------------------------------------------------------------------------

    def process(self, command: Command) -> list[Event]:
        if isinstance(command, NewOrder):
            return self._new_order(command)
        if isinstance(command, Cancel):
            return self._cancel(command)
        return self._amend(command)

    def _reject(self, order_id: str, account_id: str, request: str, code: ErrorCode) -> list[Event]:
        self._seq += 1
        return [OrderRejected(self._seq, self._symbol, order_id, account_id, request, code)]

    def _new_order(self, cmd: NewOrder) -> list[Event]:  # noqa: PLR0912, PLR0915 -- inlined hot path
        order_id = cmd.order_id
        account_id = cmd.account_id
        side = cmd.side
        order_type = cmd.order_type
        price = cmd.price
        quantity = cmd.quantity
        tif = cmd.time_in_force
        post_only = cmd.post_only
        stp = cmd.stp
        budget = cmd.quote_budget
        is_buy = side is _BUY
        grid = self._grid
        violation = check_new_order(
            grid, self._status, side, order_type, price, quantity, budget, tif, post_only
        ) or check_new_hold(grid, side, price, quantity, budget, cmd.hold_asset, cmd.hold)
        code = None if violation is None else violation.code
        if code is None and quantity is None:
            quantity = self._max_qty  # a budget-only market buy is bounded by the maximum quantity
        if code is None and order_id in self._orders:
            code = ErrorCode.DUPLICATE_ORDER_ID
        # Book rules, in the same order as the reference book.
        best = 0
        if is_buy:
            if self._ask_keys:
                best = -self._ask_keys[-1]
        elif self._bid_prices:
            best = self._bid_prices[-1]
        if code is None:
            if post_only and best and price is not None and (price >= best if is_buy else price <= best):
                code = ErrorCode.POST_ONLY_WOULD_CROSS
            elif order_type is _MARKET and (not best or (budget is not None and budget < best * self._lot)):
                code = ErrorCode.NO_LIQUIDITY
            elif (
                tif is _FOK
                and quantity is not None
                and not self._fillable(is_buy, price, account_id, stp, quantity)
            ):
                code = ErrorCode.FOK_NOT_FILLABLE
        if code is not None or quantity is None:
            return self._reject(order_id, account_id, "new", code or ErrorCode.INVALID_QUANTITY)

        symbol = self._symbol
        seq = self._seq + 1
        hold_left = (cmd.hold or 0) * HOLD_SCALE
        events: list[Event] = [
            OrderAccepted(seq, symbol, order_id, account_id, side, order_type, price, quantity, tif)
        ]
        if not best or (price is not None and (price < best if is_buy else price > best)):
            # Nothing to match (the common case): rest a GTC limit order, cancel an IOC one.
            # (A market order never gets here: with an empty opposite side it was rejected.)
            seq += 1
            if price is not None and tif is _GTC:
                total = self._rest(
                    _Order(order_id, account_id, is_buy, price, quantity, stp, post_only, hold_left), None
                )
                events.append(BookDelta(seq, symbol, side, price, total))
            else:
                events.append(OrderCanceled(seq, symbol, order_id, account_id, quantity, _UNFILLED))
            self._seq = seq
            return events
        touched: list[int] = []
        seq, remaining, stopped, hold_left = self._match(
            events, seq, touched, order_id, account_id, is_buy, price, quantity, stp, budget, hold_left
        )
        if remaining:
            if stopped:
                seq += 1
                events.append(OrderCanceled(seq, symbol, order_id, account_id, remaining, _SELF_TRADE))
            elif price is not None and tif is _GTC:
                self._rest(
                    _Order(order_id, account_id, is_buy, price, remaining, stp, post_only, hold_left), touched
                )
            else:
                seq += 1
                events.append(OrderCanceled(seq, symbol, order_id, account_id, remaining, _UNFILLED))
        self._seq = self._deltas(events, seq, touched)
        return events

    def _fillable(self, is_buy: bool, limit: int | None, account_id: str, stp: StpMode, wanted: int) -> bool:
        total = 0
        if is_buy:
            levels = [(-k, self._asks[-k]) for k in reversed(self._ask_keys)]
        else:
            levels = [(p, self._bids[p]) for p in reversed(self._bid_prices)]
        for price, level in levels:
            if limit is not None and (price > limit if is_buy else price < limit):
                return False
            for maker in level.orders[level.head :]:
                if maker.remaining == 0:
                    continue
                if maker.account_id == account_id:
                    if stp is _OLDEST:
                        continue
                    return False
                total += maker.remaining
                if total >= wanted:
                    return True
        return False

    def _match(  # noqa: PLR0912, PLR0915, PLR0917 -- inlined hot loop
        self,
        events: list[Event],
        seq: int,
        touched: list[int],
        order_id: str,
        account_id: str,
        is_buy: bool,
        limit: int | None,
        remaining: int,
        stp: StpMode,
        budget: int | None,
        hold_left: int,
    ) -> tuple[int, int, bool, int]:
        """Trade against the opposite side; returns (last seq, remaining, stopped by STP, hold left)."""
        symbol = self._symbol
        orders = self._orders
        lot = self._lot
        if is_buy:
            levels = self._asks
            keys = self._ask_keys
            maker_side = _SELL
            taker_per_price, taker_flat = self._buy_taker, 0
            maker_per_price, maker_flat = 0, self._sell
        else:
            levels = self._bids
            keys = self._bid_prices
            maker_side = _BUY
            taker_per_price, taker_flat = 0, self._sell
            maker_per_price, maker_flat = self._buy_maker, 0
        stopped = False
        while remaining and keys:
            key = keys[-1]
            price = -key if is_buy else key
            if limit is not None and (price > limit if is_buy else price < limit):
                break
            level = levels[price]
            queue = level.orders
            head = level.head
            halt = False
            untouched = key not in touched
            while remaining and level.count:
                maker = queue[head]
                maker_remaining = maker.remaining
                if not maker_remaining:
                    head += 1
                    continue
                if maker.account_id == account_id:
                    if stp is _NEWEST:
                        stopped = halt = True
                        break
                    if untouched:
                        touched.append(key)
                        untouched = False
                    head += 1
                    level.count -= 1
                    level.total -= maker_remaining
                    maker.remaining = 0
                    del orders[maker.order_id]
                    seq += 1
                    events.append(
                        OrderCanceled(
                            seq, symbol, maker.order_id, maker.account_id, maker_remaining, _SELF_TRADE
                        )
                    )
                    if stp is _BOTH:
                        stopped = halt = True
                        break
                    continue
                quantity = remaining if remaining < maker_remaining else maker_remaining
                if budget is not None:
                    affordable = budget // (price * lot) * lot
                    if affordable < quantity:  # noqa: PLR1730 -- min() is a slower call in the hot loop
                        quantity = affordable
                    if not quantity:
                        halt = True
                        break
                    budget -= quantity * price
                if untouched:
                    touched.append(key)
                    untouched = False
                maker_remaining -= quantity
                remaining -= quantity
                maker.remaining = maker_remaining
                maker.hold_left -= quantity * (price * maker_per_price + maker_flat)
                hold_left -= quantity * (price * taker_per_price + taker_flat)
                level.total -= quantity
                seq += 1
                events.append(
                    Trade(
                        seq,
                        symbol,
                        price,
                        quantity,
                        maker_side,
                        maker.order_id,
                        maker.account_id,
                        order_id,
                        account_id,
                        maker_remaining,
                        remaining,
                    )
                )
                if not maker_remaining:
                    head += 1
                    level.count -= 1
                    del orders[maker.order_id]
                    seq += 1
                    events.append(OrderFilled(seq, symbol, maker.order_id, maker.account_id))
                if not remaining:
                    seq += 1
                    events.append(OrderFilled(seq, symbol, order_id, account_id))
            if not level.count:
                del levels[price]
                keys.pop()
            elif head > 32 and head * 2 > len(queue):
                del queue[:head]
                level.head = 0
            else:
                level.head = head
            if halt:
                break
        return seq, remaining, stopped, hold_left

    def _rest(self, order: _Order, touched: list[int] | None) -> int:
        """Append ``order`` to its level (created if needed); returns the level's new total."""
        price = order.price
        if order.is_buy:
            level = self._bids.get(price)
            if level is None:
                level = self._bids[price] = _Level()
                insort(self._bid_prices, price)
            key = price
        else:
            level = self._asks.get(price)
            if level is None:
                level = self._asks[price] = _Level()
                insort(self._ask_keys, -price)
            key = -price
        level.orders.append(order)
        level.count += 1
        level.total += order.remaining
        self._orders[order.order_id] = order
        if touched is not None and key not in touched:
            touched.append(key)
        return level.total

    def _unlink(self, order: _Order) -> int:
        """Take a live order off the book (it stays in its level's list as a dead entry).

        Returns the level's remaining total (0 when the level is gone).
        """
        price = order.price
        del self._orders[order.order_id]
        if order.is_buy:
            levels, keys, key = self._bids, self._bid_prices, price
        else:
            levels, keys, key = self._asks, self._ask_keys, -price
        level = levels[price]
        level.total -= order.remaining
        level.count -= 1
        order.remaining = 0
        if not level.count:
            del levels[price]
            if keys[-1] == key:
                keys.pop()
            else:
                del keys[bisect_left(keys, key)]
            return 0
        if len(level.orders) - level.head > 2 * level.count + 16:
            level.orders = [o for o in level.orders[level.head :] if o.remaining]
            level.head = 0
        return level.total

    def _deltas(self, events: list[Event], seq: int, touched: list[int]) -> int:
        symbol = self._symbol
        for key in touched:
            if key > 0:
                level = self._bids.get(key)
                seq += 1
                events.append(BookDelta(seq, symbol, _BUY, key, level.total if level is not None else 0))
            else:
                level = self._asks.get(-key)
                seq += 1
                events.append(BookDelta(seq, symbol, _SELL, -key, level.total if level is not None else 0))
        return seq

    def _cancel(self, cmd: Cancel) -> list[Event]:
        order_id = cmd.order_id
        account_id = cmd.account_id
        order = self._orders.get(order_id)
        if order is None or order.account_id != account_id:
            return self._reject(order_id, account_id, "cancel", ErrorCode.UNKNOWN_ORDER)
        remaining = order.remaining
        total = self._unlink(order)
        seq = self._seq + 2
        self._seq = seq
        symbol = self._symbol
        return [
            OrderCanceled(seq - 1, symbol, order_id, account_id, remaining, _USER),
            BookDelta(seq, symbol, _BUY if order.is_buy else _SELL, order.price, total),
        ]

    def _amend(self, cmd: Amend) -> list[Event]:
        order_id = cmd.order_id
        account_id = cmd.account_id
        new_price = cmd.price
        new_quantity = cmd.quantity
        violation = check_amend(self._grid, self._status, new_price, new_quantity)
        code = None if violation is None else violation.code
        order = self._orders.get(order_id)
        if code is None and (order is None or order.account_id != account_id):
            code = ErrorCode.UNKNOWN_ORDER
        if code is not None or order is None:
            return self._reject(order_id, account_id, "amend", code or ErrorCode.UNKNOWN_ORDER)
        is_buy = order.is_buy
        price = order.price if new_price is None else new_price
        quantity = order.remaining if new_quantity is None else new_quantity
        if is_buy:
            best = -self._ask_keys[-1] if self._ask_keys else 0
        else:
            best = self._bid_prices[-1] if self._bid_prices else 0
        crosses = bool(best) and (price >= best if is_buy else price <= best)
        if order.post_only and crosses:
            return self._reject(order_id, account_id, "amend", ErrorCode.POST_ONLY_WOULD_CROSS)
        hold_left = order.hold_left
        beyond = check_amend_hold(self._grid, _BUY if is_buy else _SELL, price, quantity, hold_left)
        if beyond is not None:
            return self._reject(order_id, account_id, "amend", beyond.code)
        symbol = self._symbol
        touched = [order.price if is_buy else -order.price]
        seq = self._seq + 1
        if price == order.price and quantity <= order.remaining:
            level = (self._bids if is_buy else self._asks)[price]
            level.total -= order.remaining - quantity
            order.remaining = quantity
            events: list[Event] = [OrderAmended(seq, symbol, order_id, account_id, price, quantity, True)]
            self._seq = self._deltas(events, seq, touched)
            return events
        self._unlink(order)
        events = [OrderAmended(seq, symbol, order_id, account_id, price, quantity, False)]
        stopped = False
        if crosses:
            seq, quantity, stopped, hold_left = self._match(
                events,
                seq,
                touched,
                order_id,
                account_id,
                is_buy,
                price,
                quantity,
                order.stp,
                None,
                hold_left,
            )
        if quantity:
            if stopped:
                seq += 1
                events.append(OrderCanceled(seq, symbol, order_id, account_id, quantity, _SELF_TRADE))
            else:
                self._rest(
                    _Order(
                        order_id, account_id, is_buy, price, quantity, order.stp, order.post_only, hold_left
                    ),
                    touched,
                )
        self._seq = self._deltas(events, seq, touched)
        return events
