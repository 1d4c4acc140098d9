"""The resting count a batch commits into the checkpoint (``Outcome.resting``) is exact.

Recovery trusts the sparse ``by-book`` index only when it names exactly that many resting orders
(docs/matcher.md), so a wrong count would either send every restart to a table scan or, worse,
accept an incomplete book. Random batches of every command kind are applied to a ``SymbolState``
(pure, no I/O) and the count is compared with the orders the engine's book actually holds.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from matcher_service.model import Inbound
from matcher_service.symbol_state import SymbolState, snapshot_from_views
from trading.domain.enums import OrderType, Side, StpMode, TimeInForce
from trading.domain.instruments import demo_instruments
from trading.engine.commands import Amend, Cancel, Command, NewOrder
from trading.engine.rules import Grid, holding

BTC = demo_instruments()[0]
GRID = Grid(BTC)
ACCOUNTS = ("alice", "bob", "carol")
MID = 3_000_000


def book_resting_ids(state: SymbolState) -> set[str]:
    snapshot = state.book.snapshot()
    return {order["order_id"] for side in ("bids", "asks") for order in snapshot[side]}


command_kinds = st.sampled_from(("limit", "limit", "limit", "ioc", "market", "post_only", "cancel", "amend"))


@st.composite
def batches(draw: st.DrawFn) -> list[list[tuple[str, int, int, int, int, int]]]:
    """Batches of (kind, account index, side, price offset in ticks, quantity in lots, target)."""
    step = st.tuples(
        command_kinds,
        st.integers(0, len(ACCOUNTS) - 1),
        st.integers(0, 1),
        st.integers(-5, 5),
        st.integers(1, 5),
        st.integers(0, 10_000),
    )
    return draw(st.lists(st.lists(step, min_size=1, max_size=10), min_size=1, max_size=12))


def to_command(step: tuple[str, int, int, int, int, int], n: int, known: list[str]) -> Command:
    kind, account_index, side_index, offset, lots, target = step
    account = ACCOUNTS[account_index]
    side = (Side.BUY, Side.SELL)[side_index]
    price = MID + offset * BTC.tick_size
    quantity = lots * BTC.lot_size
    stp = (StpMode.CANCEL_NEWEST, StpMode.CANCEL_OLDEST, StpMode.CANCEL_BOTH)[target % 3]
    order_id = f"o{n}"
    if kind in ("cancel", "amend") and known:
        victim = known[target % len(known)]
        owner = ACCOUNTS[int(victim[1:]) % len(ACCOUNTS)] if target % 4 else account  # mostly the owner
        if kind == "cancel":
            return Cancel(victim, owner, BTC.symbol)
        return Amend(victim, owner, BTC.symbol, price if target % 2 else None, quantity)
    if kind == "market":
        budget = 10**12 if side is Side.BUY else None  # a market buy is bounded by a budget
        return holding(
            GRID,
            NewOrder(
                order_id,
                account,
                BTC.symbol,
                side,
                OrderType.MARKET,
                None,
                quantity,
                TimeInForce.IOC,
                quote_budget=budget,
            ),
        )
    tif = TimeInForce.IOC if kind == "ioc" else TimeInForce.GTC
    return holding(
        GRID,
        NewOrder(
            order_id,
            account,
            BTC.symbol,
            side,
            OrderType.LIMIT,
            price,
            quantity,
            tif,
            kind == "post_only",
            stp,
        ),
    )


@settings(max_examples=150, deadline=None)
@given(batches())
def test_every_batch_commits_the_number_of_orders_left_resting(plan):
    state = SymbolState(BTC, 0, [])
    known: list[str] = []
    n = 0
    for batch in plan:
        inbounds = []
        for step in batch:
            # order ids are o<n> with n % 3 = the owner's index, so cancels/amends can name the owner
            account_index = n % len(ACCOUNTS)
            command = to_command((step[0], account_index, *step[2:]), n, known)
            if isinstance(command, NewOrder):
                known.append(command.order_id)
            inbounds.append(Inbound(f"cmd-{n}", command, f"rh-{n}", f"m-{n}", 0))
            n += 1
        outcome = state.apply(inbounds, "2026-11-25T00:00:00Z")
        state.committed(outcome)

        resting = book_resting_ids(state)
        assert outcome.resting == len(resting)
        assert set(state.views) == resting  # and the views the matcher keeps are exactly those
        # and a book rebuilt from those views (recovery) is the book itself, hold_left included
        rebuilt = snapshot_from_views(BTC, state.book.status, state.seq, list(state.views.values()))
        assert rebuilt == state.book.snapshot()
