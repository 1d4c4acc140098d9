"""L2 depth snapshots and L2 deltas."""

from trading.domain.enums import Side
from trading.engine import BookDelta, Cancel, Command, L2Snapshot, OrderBook

from .helpers import SYMBOL, buy, run, sell


def test_depth_aggregates_levels_best_first_and_limits_the_count(book: OrderBook) -> None:
    # Given several orders over several levels
    run(
        book,
        buy("b1", 100, 10),
        buy("b2", 100, 20, account="dave"),
        buy("b3", 95, 10),
        buy("b4", 90, 10),
        sell("s1", 105, 10),
        sell("s2", 110, 30),
    )
    # When the top two levels are requested
    depth = book.depth(2)
    # Then levels are aggregated, best first
    assert depth == L2Snapshot(SYMBOL, 12, [(100, 30), (95, 10)], [(105, 10), (110, 30)])
    assert book.depth(0) == L2Snapshot(SYMBOL, 12, [], [])


def test_replaying_deltas_over_a_depth_snapshot_reproduces_the_book(book: OrderBook) -> None:
    # Given a client that took a depth snapshot
    run(book, buy("b1", 100, 10), sell("s1", 110, 10))
    snap = book.depth(100)
    levels = {(Side.BUY, p): q for p, q in snap.bids} | {(Side.SELL, p): q for p, q in snap.asks}
    last_seq = snap.seq
    # When it applies every later delta in sequence order
    commands: list[Command] = [
        buy("b2", 105, 10),
        sell("s2", 100, 15 * 2),
        Cancel("s1", "bob", SYMBOL),
        sell("s3", 95, 10),
    ]
    for command in commands:
        for event in book.process(command):
            assert event.seq == last_seq + 1  # gap-free
            last_seq = event.seq
            if isinstance(event, BookDelta):
                levels[(event.side, event.price)] = event.quantity
    # Then its view equals a fresh depth snapshot
    live = {k: v for k, v in levels.items() if v}
    fresh = book.depth(100)
    assert live == {(Side.BUY, p): q for p, q in fresh.bids} | {(Side.SELL, p): q for p, q in fresh.asks}
