"""Hypothesis drives random command streams through every book implementation at once.

Checked after every command:
* all implementations emit identical events (the reference book is the oracle);
* sequence numbers are gap-free;
* the book is never crossed at rest;
* quantity is conserved per order: filled + open + canceled == ordered (amends adjust "ordered"
  up or "canceled" down);
* price-time priority: the makers a command trades with (or STP-cancels) are exactly the first
  orders of the opposite side in priority order, and FIFO holds within every level;
* the L2 view rebuilt from BookDelta events equals ``depth()``.
At the end of each run: replaying the command log into fresh books, and restoring a snapshot, give
the same state hash.
"""

from collections import defaultdict
from itertools import pairwise
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from trading.domain.enums import InstrumentStatus, OrderType, Side, StpMode, TimeInForce
from trading.engine import (
    Amend,
    BookDelta,
    Cancel,
    Command,
    Event,
    NewOrder,
    OrderAccepted,
    OrderAmended,
    OrderBook,
    OrderCanceled,
    Trade,
)
from trading.engine.implementations import book_implementations
from trading.engine.rules import HOLD_SCALE, Grid, fill_cost, holding

from .helpers import INSTRUMENT as GRID_INSTRUMENT
from .helpers import SYMBOL

# The helpers' grid with fees, so the hold arithmetic (notional plus fee per role) is exercised.
INSTRUMENT = GRID_INSTRUMENT.model_copy(update={"maker_fee_bps": 10, "taker_fee_bps": 25})
GRID = Grid(INSTRUMENT)
SLACK = st.one_of(st.just(0), st.just(0), st.integers(0, 20_000))  # extra atoms held beyond the worst case

ACCOUNTS = st.sampled_from(["a", "b", "c"])
SIDES = st.sampled_from(list(Side))
PRICES = st.integers(16, 24).map(lambda t: t * 5)  # 80..120 on the 5-tick grid
QUANTITIES = st.integers(1, 5).map(lambda lots: lots * 10)
STPS = st.sampled_from(list(StpMode))
ORDER_REFS = st.integers(0, 1_000)


class BooksAgree(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.books: dict[str, OrderBook] = {name: f(INSTRUMENT) for name, f in book_implementations().items()}
        self.log: list[Command | InstrumentStatus] = []  # commands and halts/resumes, in order
        self.ids: list[str] = []
        self.ordered: dict[str, int] = defaultdict(int)
        self.filled: dict[str, int] = defaultdict(int)
        self.canceled: dict[str, int] = defaultdict(int)
        self.arrival: dict[str, int] = {}
        self.clock = 0
        self.levels: dict[tuple[Side, int], int] = {}
        self.last_seq = 0
        self.held: dict[str, int] = {}  # hold units each new order carried
        self.spent: dict[str, int] = defaultdict(int)  # hold units its fills cost
        self.sides: dict[str, Side] = {}

    @property
    def reference(self) -> OrderBook:
        return self.books["reference"]

    def _open(self, order_id: str) -> int:
        return self.ordered[order_id] - self.filled[order_id] - self.canceled[order_id]

    def _ref(self, index: int) -> str:
        return self.ids[index % len(self.ids)] if self.ids and index % 7 else f"unknown-{index}"

    # -- driving --------------------------------------------------------------------------------

    def place(self, order: NewOrder, slack: int = 0) -> list[Event]:
        """``order`` carrying its worst-case hold plus ``slack`` atoms (as intake would hold it)."""
        held = holding(GRID, order, slack)
        self.held[held.order_id] = (held.hold or 0) * HOLD_SCALE
        self.sides[held.order_id] = held.side
        return self.apply(held)

    def apply(self, command: Command) -> list[Event]:
        before = self.reference.snapshot()
        results = {name: book.process(command) for name, book in self.books.items()}
        events = results["reference"]
        for name, got in results.items():
            assert got == events, f"{name} disagrees with the reference on {command}"
        self.log.append(command)
        self._check_priority(command, before, events)
        self._update_model(events)
        return events

    def _check_priority(self, command: Command, before: dict[str, Any], events: list[Event]) -> None:
        """The makers a command hits must be the head of the opposite side, in order."""
        if isinstance(command, Cancel):
            return
        taker_id = command.order_id
        makers: list[str] = []
        for event in events:
            if isinstance(event, Trade):
                maker = event.maker_order_id
            elif isinstance(event, OrderCanceled) and event.order_id != taker_id:
                maker = event.order_id
            else:
                continue
            if not makers or makers[-1] != maker:
                makers.append(maker)
        if not makers:
            return
        trade_sides = {e.maker_side for e in events if isinstance(e, Trade)}
        side_key = "asks" if {Side.SELL} == trade_sides else "bids" if trade_sides else None
        if side_key is None:  # only STP cancels: find which side held the maker
            side_key = "asks" if any(o["order_id"] == makers[0] for o in before["asks"]) else "bids"
        head = [o["order_id"] for o in before[side_key]][: len(makers)]
        assert makers == head, f"priority violated: hit {makers}, head of book was {head}"

    def _update_model(self, events: list[Event]) -> None:
        for event in events:
            assert event.seq == self.last_seq + 1, "sequence gap"
            self.last_seq = event.seq
            if isinstance(event, OrderAccepted):
                self.ids.append(event.order_id)
                self.ordered[event.order_id] += event.quantity
                self.clock += 1
                self.arrival[event.order_id] = self.clock
            elif isinstance(event, Trade):
                self.filled[event.maker_order_id] += event.quantity
                self.filled[event.taker_order_id] += event.quantity
                maker_cost = fill_cost(
                    GRID, event.maker_side, event.price, event.quantity, GRID.maker_fee_bps
                )
                taker_side = event.maker_side.opposite
                taker_cost = fill_cost(GRID, taker_side, event.price, event.quantity, GRID.taker_fee_bps)
                self.spent[event.maker_order_id] += maker_cost
                self.spent[event.taker_order_id] += taker_cost
                assert self._open(event.maker_order_id) == event.maker_remaining
            elif isinstance(event, OrderCanceled):
                self.canceled[event.order_id] += event.quantity
                assert self._open(event.order_id) == 0
            elif isinstance(event, OrderAmended):
                change = event.quantity - self._open(event.order_id)
                if change < 0:
                    self.canceled[event.order_id] -= change
                else:
                    self.ordered[event.order_id] += change
                if not event.priority_kept:
                    self.clock += 1
                    self.arrival[event.order_id] = self.clock
            elif isinstance(event, BookDelta):
                self.levels[(event.side, event.price)] = event.quantity

    # -- rules ----------------------------------------------------------------------------------

    @rule(
        side=SIDES,
        price=PRICES,
        quantity=QUANTITIES,
        account=ACCOUNTS,
        tif=st.sampled_from([TimeInForce.GTC, TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK]),
        post_only=st.booleans(),
        stp=STPS,
        slack=SLACK,
    )
    def limit_order(self, side, price, quantity, account, tif, post_only, stp, slack) -> None:  # noqa: PLR0917
        order_id = f"o{len(self.log)}"
        self.place(
            NewOrder(order_id, account, SYMBOL, side, OrderType.LIMIT, price, quantity, tif, post_only, stp),
            slack,
        )

    @rule(
        side=SIDES,
        quantity=st.one_of(st.none(), QUANTITIES),
        budget=st.one_of(st.none(), st.integers(0, 20_000)),
        account=ACCOUNTS,
        tif=st.sampled_from([TimeInForce.IOC, TimeInForce.FOK]),
        stp=STPS,
    )
    def market_order(self, side, quantity, budget, account, tif, stp) -> None:  # noqa: PLR0917
        order_id = f"o{len(self.log)}"
        self.place(
            NewOrder(
                order_id, account, SYMBOL, side, OrderType.MARKET, None, quantity, tif, False, stp, budget
            )
        )

    @rule(
        quantity=st.one_of(st.none(), QUANTITIES),
        budget=st.integers(500, 8_000),
        account=ACCOUNTS,
        stp=STPS,
    )
    def market_buy_with_budget(self, quantity, budget, account, stp) -> None:
        order_id = f"o{len(self.log)}"
        self.place(
            NewOrder(
                order_id,
                account,
                SYMBOL,
                Side.BUY,
                OrderType.MARKET,
                None,
                quantity,
                TimeInForce.IOC,
                False,
                stp,
                budget,
            )
        )

    @rule(ref=ORDER_REFS, wrong_account=st.booleans())
    def cancel(self, ref, wrong_account) -> None:
        order_id = self._ref(ref)
        account = self._owner(order_id, wrong_account)
        self.apply(Cancel(order_id, account, SYMBOL))

    @rule(
        ref=ORDER_REFS,
        price=st.one_of(st.none(), PRICES, st.just(101)),
        quantity=st.one_of(st.none(), QUANTITIES, st.just(0)),
    )
    def amend(self, ref, price, quantity) -> None:
        order_id = self._ref(ref)
        self.apply(Amend(order_id, self._owner(order_id, False), SYMBOL, price, quantity))

    @rule(
        status=st.sampled_from([InstrumentStatus.HALTED, InstrumentStatus.TRADING, InstrumentStatus.TRADING])
    )
    def halt_or_resume(self, status: InstrumentStatus) -> None:
        for book in self.books.values():
            book.set_status(status)
        self.log.append(status)

    @rule(price=st.integers(-10, 130), quantity=st.integers(-20, 60), account=ACCOUNTS)
    def arbitrary_limit(self, price, quantity, account) -> None:
        """Mostly invalid prices/quantities: rejects must leave every book unchanged."""
        before = self.reference.snapshot()
        order_id = f"o{len(self.log)}"
        events = self.place(NewOrder(order_id, account, SYMBOL, Side.BUY, OrderType.LIMIT, price, quantity))
        if type(events[0]).__name__ == "OrderRejected":
            assert len(events) == 1
            assert self.reference.snapshot() == {**before, "seq": before["seq"] + 1}

    def _owner(self, order_id: str, wrong: bool) -> str:
        for book_order in self.reference.snapshot()["bids"] + self.reference.snapshot()["asks"]:
            if book_order["order_id"] == order_id:
                return "z" if wrong else book_order["account_id"]
        return "a"

    # -- invariants -----------------------------------------------------------------------------

    @invariant()
    def never_crossed_at_rest(self) -> None:
        depth = self.reference.depth(1)
        if depth.bids and depth.asks:
            assert depth.bids[0][0] < depth.asks[0][0]

    @invariant()
    def all_books_hold_the_same_state(self) -> None:
        hashes = {book.state_hash() for book in self.books.values()}
        assert len(hashes) == 1

    @invariant()
    def quantity_is_conserved_per_order(self) -> None:
        snap = self.reference.snapshot()
        resting = {o["order_id"]: o["quantity"] for o in snap["bids"] + snap["asks"]}
        for order_id in set(self.ordered):
            assert (
                self.filled[order_id] + resting.get(order_id, 0) + self.canceled[order_id]
                == self.ordered[order_id]
            ), order_id

    @invariant()
    def no_order_executes_beyond_its_hold(self) -> None:
        snap = self.reference.snapshot()
        resting = {o["order_id"]: o["hold_left"] for o in snap["bids"] + snap["asks"]}
        for order_id, spent in self.spent.items():
            assert spent <= self.held[order_id], f"{order_id} spent {spent} of a {self.held[order_id]} hold"
        for order_id, hold_left in resting.items():
            assert hold_left == self.held[order_id] - self.spent[order_id], order_id
            open_quantity = next(
                o["quantity"] for o in snap["bids"] + snap["asks"] if o["order_id"] == order_id
            )
            price = next(o["price"] for o in snap["bids"] + snap["asks"] if o["order_id"] == order_id)
            worst = fill_cost(GRID, self.sides[order_id], price, open_quantity, GRID.taker_fee_bps)
            assert worst <= hold_left, f"{order_id}: its open quantity could outspend its hold"

    @invariant()
    def price_time_priority_at_rest(self) -> None:
        snap = self.reference.snapshot()
        for key, direction in (("bids", -1), ("asks", 1)):
            for first, second in pairwise(snap[key]):
                if first["price"] == second["price"]:
                    assert self.arrival[first["order_id"]] < self.arrival[second["order_id"]], "FIFO"
                else:
                    assert (second["price"] - first["price"]) * direction > 0, "price order"

    @invariant()
    def deltas_rebuild_the_l2_view(self) -> None:
        depth = self.reference.depth(1_000)
        live = {k: v for k, v in self.levels.items() if v}
        assert live == {(Side.BUY, p): q for p, q in depth.bids} | {(Side.SELL, p): q for p, q in depth.asks}

    def teardown(self) -> None:
        reference_hash = self.reference.state_hash()
        for factory in book_implementations().values():
            replayed = factory(INSTRUMENT)
            for entry in self.log:
                if isinstance(entry, InstrumentStatus):
                    replayed.set_status(entry)
                else:
                    replayed.process(entry)
            assert replayed.state_hash() == reference_hash, "replay from the command log diverged"
            restored = factory(INSTRUMENT)
            restored.restore(self.reference.snapshot())
            assert restored.state_hash() == reference_hash


BooksAgree.TestCase.settings = settings(
    max_examples=100,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestBooksAgree = BooksAgree.TestCase
