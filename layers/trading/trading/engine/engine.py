"""The matching engine: one order book per instrument, commands in, events out."""

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from trading.domain.enums import InstrumentStatus
from trading.domain.errors import ErrorCode
from trading.domain.instruments import Instrument
from trading.engine.book import OrderBook, state_hash
from trading.engine.commands import Amend, Cancel, Command, NewOrder
from trading.engine.events import Event, OrderRejected
from trading.engine.fast_book import FastBook

BookFactory = Callable[[Instrument], OrderBook]

_REQUEST = {NewOrder: "new", Cancel: "cancel", Amend: "amend"}


class MatchingEngine:
    """Routes each command to its symbol's book. Pure and single-threaded: no I/O, no clock."""

    def __init__(self, instruments: Iterable[Instrument], book_factory: BookFactory = FastBook) -> None:
        self._factory = book_factory
        self._books: dict[str, OrderBook] = {}
        for instrument in instruments:
            self.add_instrument(instrument)

    def add_instrument(self, instrument: Instrument) -> OrderBook:
        if instrument.symbol in self._books:
            raise ValueError(f"{instrument.symbol} already has a book")
        book = self._books[instrument.symbol] = self._factory(instrument)
        return book

    @property
    def symbols(self) -> list[str]:
        return list(self._books)

    def book(self, symbol: str) -> OrderBook:
        return self._books[symbol]

    def process(self, command: Command) -> list[Event]:
        book = self._books.get(command.symbol)
        if book is None:
            return [
                OrderRejected(
                    0,
                    command.symbol,
                    command.order_id,
                    command.account_id,
                    _REQUEST[type(command)],
                    ErrorCode.UNKNOWN_SYMBOL,
                )
            ]
        return book.process(command)

    def set_status(self, symbol: str, status: InstrumentStatus) -> None:
        self._books[symbol].set_status(status)

    def snapshot(self) -> dict[str, dict[str, Any]]:
        return {symbol: book.snapshot() for symbol, book in self._books.items()}

    def restore(self, snapshots: Mapping[str, Mapping[str, Any]]) -> None:
        for symbol, snapshot in snapshots.items():
            self._books[symbol].restore(snapshot)

    def state_hash(self) -> str:
        return state_hash(self.snapshot())
