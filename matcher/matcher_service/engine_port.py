"""The matcher's only doors into the pure engine: which book to build and how to read a message."""

from trading.domain.instruments import Instrument
from trading.engine.book import OrderBook
from trading.engine.codec import CommandDecodeError, decode_command
from trading.engine.commands import Command
from trading.engine.implementations import best_book


def new_book(instrument: Instrument) -> OrderBook:
    """The fastest book available (mypyc-compiled when built, else the pure fast book)."""
    return best_book()(instrument)


def decode(body: str) -> Command:
    """Decode an ``orders.fifo`` body; raises :class:`CommandDecodeError` when malformed."""
    return decode_command(body)


__all__ = ["CommandDecodeError", "decode", "new_book"]
