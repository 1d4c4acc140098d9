"""The WebSocket route use cases: ``$connect``, ``$disconnect`` and the client's messages.

Handlers stay thin: they build the ports and call these functions. Replies to a client's message
are pushed through the ``@connections`` endpoint (the same path ``notify`` uses), so every message a
client sees arrives the same way and in the order it was sent.
"""

import logging
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from trading import strict_json
from trading.auth import ApiKey, Principal, parse_timestamp, verify_signature, ws_string_to_sign
from trading.domain.errors import DomainError, ErrorCode
from trading.realtime import messages
from trading.realtime.channels import Channel, ChannelKind, parse_channel
from trading.realtime.messages import InstrumentLookup, Message
from trading.realtime.sender import ConnectionSender, SendOutcome, encode
from trading.realtime.snapshot import BookSource, UnstableSnapshotError
from trading.realtime.store import Connection, ConnectionGoneError, ConnectionStore, SubscriptionLimitError

logger = logging.getLogger(__name__)

KeyLookup = Callable[[str], ApiKey | None]
MAX_MESSAGE_BYTES = 4096


# -- $connect / $disconnect ----------------------------------------------------------------------


def authenticate(
    query: Mapping[str, str] | None, lookup: KeyLookup, now_ms: int, window_seconds: int
) -> Principal:
    """Verify ``key``, ``ts`` (unix ms) and ``sig`` = HMAC over ``"{ts}\\nGET\\n/ws\\n"``.

    Raises ``DomainError`` (``UNAUTHENTICATED``, ``STALE_REQUEST`` or ``INVALID_SIGNATURE``).
    """
    query = query or {}
    key_id, timestamp, signature = query.get("key"), query.get("ts"), query.get("sig")
    if not key_id or not timestamp or not signature:
        raise DomainError(ErrorCode.UNAUTHENTICATED, "query parameters key, ts and sig are required")
    timestamp_ms = parse_timestamp(timestamp)
    if timestamp_ms is None:
        raise DomainError(ErrorCode.STALE_REQUEST, "ts must be unix milliseconds (ASCII digits)")
    if abs(now_ms - timestamp_ms) > window_seconds * 1000:
        raise DomainError(ErrorCode.STALE_REQUEST, "ts is outside the replay window")
    key = lookup(key_id)
    if key is None or not key.active:
        raise DomainError(ErrorCode.UNAUTHENTICATED, "unknown or revoked API key")
    if not verify_signature(key, ws_string_to_sign(timestamp), signature):
        raise DomainError(ErrorCode.INVALID_SIGNATURE, "signature does not match")
    return Principal(account_id=key.account_id, key_id=key.key_id, scopes=key.scopes)


def connect(connection_id: str, principal: Principal, store: ConnectionStore) -> Connection:
    return store.add_connection(connection_id, principal.account_id, principal.key_id)


def disconnect(connection_id: str, store: ConnectionStore) -> int:
    return store.remove_connection(connection_id)


# -- client messages ------------------------------------------------------------------------------


class ClientMessage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    action: Literal["subscribe", "unsubscribe", "ping"]
    channel: Annotated[str, Field(max_length=64)] | None = None
    id: Annotated[str, Field(max_length=64)] | None = None  # echoed back in the reply


class Session:
    """One client message on one connection."""

    def __init__(
        self,
        store: ConnectionStore,
        sender: ConnectionSender,
        books: BookSource,
        instruments: InstrumentLookup,
    ) -> None:
        self._store = store
        self._sender = sender
        self._books = books
        self._instruments = instruments

    def handle(self, connection_id: str, body: str | None) -> list[Message]:
        """Process a raw message and push the replies; returns the replies (for logging and tests)."""
        replies = self._replies(connection_id, body)
        for reply in replies:
            if self._sender.send(connection_id, encode(reply)) is SendOutcome.GONE:
                self._store.remove_connection(connection_id)
                break
        return replies

    def _replies(self, connection_id: str, body: str | None) -> list[Message]:
        try:
            request = _parse(body)
            if request.action == "ping":
                return [messages.pong(request.id)]
        except DomainError as exc:
            return [messages.error(exc.code, exc.message)]
        try:
            connection = self._store.get_connection(connection_id)
            if connection is None:
                raise DomainError(ErrorCode.UNAUTHENTICATED, "connection is not registered")
            if request.channel is None:
                raise DomainError(ErrorCode.VALIDATION_ERROR, "channel is required")
            channel = parse_channel(request.channel, connection.account_id)
            if channel.symbol is not None and self._instruments(channel.symbol) is None:
                raise DomainError(ErrorCode.UNKNOWN_SYMBOL, f"unknown symbol {channel.symbol!r}")
            if request.action == "subscribe":
                return self._subscribe(connection, channel, request.id)
            self._store.unsubscribe(connection.connection_id, channel)
            return [messages.unsubscribed(channel, request.id)]
        except DomainError as exc:
            return [messages.error(exc.code, exc.message, channel=request.channel, request_id=request.id)]

    def _subscribe(self, connection: Connection, channel: Channel, request_id: str | None) -> list[Message]:
        try:
            # Subscribe first, snapshot second: every delta after the snapshot's seq is then
            # guaranteed to reach this connection (earlier ones the client discards by seq).
            self._store.subscribe(connection, channel)
        except SubscriptionLimitError as exc:
            raise DomainError(ErrorCode.VALIDATION_ERROR, str(exc)) from exc
        except ConnectionGoneError as exc:
            raise DomainError(ErrorCode.UNAUTHENTICATED, "connection is not registered") from exc
        replies = [messages.subscribed(channel, request_id)]
        if channel.kind is ChannelKind.BOOK and channel.symbol is not None:
            instrument = self._instruments(channel.symbol)
            if instrument is None:
                raise DomainError(ErrorCode.UNKNOWN_SYMBOL, f"unknown symbol {channel.symbol!r}")
            try:
                book = self._books.snapshot(channel.symbol)
            except UnstableSnapshotError as exc:
                self._store.unsubscribe(connection.connection_id, channel)
                raise DomainError(
                    ErrorCode.SERVICE_UNAVAILABLE,
                    "the book kept changing; subscribe again",
                ) from exc
            replies.append(messages.snapshot(instrument, book.seq, book.bids, book.asks))
        return replies


def _parse(body: str | None) -> ClientMessage:
    if body is None or len(body.encode(errors="surrogatepass")) > MAX_MESSAGE_BYTES:
        raise DomainError(ErrorCode.VALIDATION_ERROR, f"messages are JSON, at most {MAX_MESSAGE_BYTES} bytes")
    try:  # strict: duplicate keys, NaN, deep nesting and lone surrogates are MALFORMED_JSON
        value = strict_json.loads(body)
    except strict_json.MalformedJsonError as exc:
        raise DomainError(ErrorCode.MALFORMED_JSON, f"message: {exc}") from exc
    try:
        return ClientMessage.model_validate(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ())) or "message"
        code = ErrorCode.MALFORMED_JSON if first.get("type") == "json_invalid" else ErrorCode.VALIDATION_ERROR
        raise DomainError(code, f"{where}: {first.get('msg', 'invalid')}") from exc


def request_context(event: Mapping[str, Any]) -> Mapping[str, Any]:
    context = event.get("requestContext")
    return context if isinstance(context, Mapping) else {}
