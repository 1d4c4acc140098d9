"""In-memory fakes of the realtime ports (behave like the real ones, no network)."""

from __future__ import annotations

from collections import defaultdict

from trading.domain.instruments import Instrument, demo_instruments
from trading.realtime.channels import Channel
from trading.realtime.sender import SendOutcome
from trading.realtime.snapshot import BookSnapshot
from trading.realtime.store import Connection, ConnectionGoneError, SubscriptionLimitError

INSTRUMENTS = {i.symbol: i for i in demo_instruments()}


def instruments(symbol: str) -> Instrument | None:
    return INSTRUMENTS.get(symbol)


class FakeStore:
    def __init__(self, max_subscriptions: int = 50) -> None:
        self.connections: dict[str, Connection] = {}
        self.subscriptions: dict[str, set[str]] = defaultdict(set)  # channel key -> connection ids
        self.broken_channels: set[str] = set()
        self.max_subscriptions = max_subscriptions

    def add_connection(self, connection_id: str, account_id: str, key_id: str) -> Connection:
        connection = Connection(connection_id, account_id, key_id, 2**31)
        self.connections[connection_id] = connection
        return connection

    def get_connection(self, connection_id: str) -> Connection | None:
        return self.connections.get(connection_id)

    def remove_connection(self, connection_id: str) -> int:
        removed = int(self.connections.pop(connection_id, None) is not None)
        for members in self.subscriptions.values():
            if connection_id in members:
                members.discard(connection_id)
                removed += 1
        return removed

    def subscribe(self, connection: Connection, channel: Channel) -> None:
        if connection.connection_id not in self.connections:
            raise ConnectionGoneError(connection.connection_id)
        if sum(connection.connection_id in m for m in self.subscriptions.values()) >= self.max_subscriptions:
            raise SubscriptionLimitError("limit")
        self.subscriptions[channel.key].add(connection.connection_id)

    def unsubscribe(self, connection_id: str, channel: Channel) -> bool:
        members = self.subscriptions.get(channel.key, set())
        found = connection_id in members
        members.discard(connection_id)
        return found

    def subscribers(self, channel_key: str) -> list[str]:
        if channel_key in self.broken_channels:
            raise RuntimeError(f"lookup of {channel_key} throttled")
        return sorted(self.subscriptions.get(channel_key, set()))


class FakeSender:
    def __init__(self, gone: set[str] | None = None, failing: set[str] | None = None) -> None:
        self.gone = gone or set()
        self.failing = failing or set()
        self.posts: list[tuple[str, bytes]] = []

    def send(self, connection_id: str, payload: bytes) -> SendOutcome:
        if connection_id in self.gone:
            return SendOutcome.GONE
        if connection_id in self.failing:
            return SendOutcome.FAILED
        self.posts.append((connection_id, payload))
        return SendOutcome.SENT

    def to(self, connection_id: str) -> list[bytes]:
        return [payload for cid, payload in self.posts if cid == connection_id]


class FakeBooks:
    def __init__(self) -> None:
        self.books: dict[str, BookSnapshot] = {}

    def snapshot(self, symbol: str) -> BookSnapshot:
        return self.books.get(symbol, BookSnapshot(symbol, 0, [], []))
