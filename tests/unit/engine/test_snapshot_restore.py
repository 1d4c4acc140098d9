"""Snapshot/restore round-trips a book exactly; the state hash is stable and implementation-free."""

import orjson
from trading.domain.enums import StpMode
from trading.engine import BookFactory, Cancel, OrderBook, ReferenceBook, Trade
from trading.engine.implementations import book_implementations

from .helpers import INSTRUMENT, SYMBOL, buy, run, sell

SCRIPT = [
    buy("b1", 100, 30),
    buy("b2", 100, 10, account="dave", stp=StpMode.CANCEL_BOTH),
    buy("b3", 95, 10, post_only=True),
    sell("s1", 110, 20),
    sell("s2", 105, 10),
    sell("t1", 100, 10),
    Cancel("b3", "alice", SYMBOL),
]


def test_snapshot_is_json_and_restores_to_an_identical_book(
    book: OrderBook, book_factory: BookFactory
) -> None:
    # Given a book with several levels, a partial fill and a cancel
    run(book, *SCRIPT)
    # When its snapshot goes through JSON into a fresh book
    restored = book_factory(INSTRUMENT)
    restored.restore(orjson.loads(orjson.dumps(book.snapshot())))
    # Then the state, hash, sequence and depth are identical
    assert restored.snapshot() == book.snapshot()
    assert restored.state_hash() == book.state_hash()
    assert restored.seq == book.seq
    assert restored.depth(10) == book.depth(10)


def test_restored_book_keeps_priority_and_continues_the_sequence(book: OrderBook, book_factory) -> None:
    # Given a restored copy of a book
    run(book, *SCRIPT)
    restored = book_factory(INSTRUMENT)
    restored.restore(book.snapshot())
    # When the same order hits both
    original_events = book.process(sell("s9", 100, 30))
    restored_events = restored.process(sell("s9", 100, 30))
    # Then they produce the same events (FIFO kept, seq continues)
    assert original_events == restored_events
    assert [e.maker_order_id for e in original_events if isinstance(e, Trade)] == ["b1", "b2"]


def test_state_hash_is_equal_across_implementations() -> None:
    # Given every book implementation fed the same commands
    hashes = set()
    for factory in book_implementations().values():
        book = factory(INSTRUMENT)
        run(book, *SCRIPT)
        hashes.add(book.state_hash())
    # Then they all hash the same
    assert len(hashes) == 1


def test_state_hash_changes_with_state(book: OrderBook) -> None:
    # Given a book
    run(book, buy("b1", 100, 10))
    first = book.state_hash()
    # When anything changes
    run(book, buy("b2", 100, 10))
    # Then the hash changes
    assert book.state_hash() != first


def test_snapshot_from_fast_book_restores_into_reference(book: OrderBook) -> None:
    # Given any book
    run(book, *SCRIPT)
    # When restored into the reference implementation
    reference = ReferenceBook(INSTRUMENT)
    reference.restore(book.snapshot())
    # Then the reference sees the same state
    assert reference.state_hash() == book.state_hash()
