"""Channel names: what a client subscribes to, and the key a subscription is stored under.

Public channels are named the same on the wire and in storage (``book:BTC-USD``). The private
``orders`` channel is stored per account (``orders:<account_id>``) and the account always comes from
the authenticated connection, never from the client, so no client can name another account's stream.
"""

from dataclasses import dataclass
from enum import StrEnum

from trading.domain.errors import DomainError, ErrorCode

SYMBOL_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")
MAX_CHANNEL_LENGTH = 64


class ChannelKind(StrEnum):
    BOOK = "book"
    TRADES = "trades"
    TICKER = "ticker"
    ORDERS = "orders"


@dataclass(frozen=True, slots=True)
class Channel:
    kind: ChannelKind
    symbol: str | None = None  # market-data channels
    account_id: str | None = None  # the private orders channel

    @property
    def name(self) -> str:
        """The name the client uses (``orders`` for every account)."""
        return str(self.kind) if self.symbol is None else f"{self.kind}:{self.symbol}"

    @property
    def key(self) -> str:
        """The storage key subscriptions are indexed by (``by-channel`` GSI)."""
        if self.kind is ChannelKind.ORDERS:
            return f"{ChannelKind.ORDERS}:{self.account_id}"
        return self.name

    @property
    def is_private(self) -> bool:
        return self.kind is ChannelKind.ORDERS


def book(symbol: str) -> Channel:
    return Channel(ChannelKind.BOOK, symbol=symbol)


def trades(symbol: str) -> Channel:
    return Channel(ChannelKind.TRADES, symbol=symbol)


def ticker(symbol: str) -> Channel:
    return Channel(ChannelKind.TICKER, symbol=symbol)


def orders(account_id: str) -> Channel:
    return Channel(ChannelKind.ORDERS, account_id=account_id)


def parse_channel(name: str, account_id: str | None) -> Channel:
    """Parse a client's channel name; ``account_id`` is the connection's authenticated account.

    Raises ``DomainError`` with the codes ``docs/websocket.md`` lists: a malformed
    name is ``VALIDATION_ERROR``, the private channel without an account is ``UNAUTHENTICATED``.
    """
    if not name or len(name) > MAX_CHANNEL_LENGTH:
        raise DomainError(ErrorCode.VALIDATION_ERROR, "channel must be a non-empty name")
    if name == ChannelKind.ORDERS:
        if not account_id:
            raise DomainError(ErrorCode.UNAUTHENTICATED, "the orders channel needs an authenticated account")
        return orders(account_id)
    kind_text, sep, symbol = name.partition(":")
    if not sep or kind_text not in (ChannelKind.BOOK, ChannelKind.TRADES, ChannelKind.TICKER):
        raise DomainError(
            ErrorCode.VALIDATION_ERROR,
            f"unknown channel {name!r}: use book:<symbol>, trades:<symbol>, ticker:<symbol> or orders",
        )
    if not symbol or not set(symbol) <= SYMBOL_CHARS:
        raise DomainError(ErrorCode.UNKNOWN_SYMBOL, f"unknown symbol {symbol!r}")
    return Channel(ChannelKind(kind_text), symbol=symbol)
