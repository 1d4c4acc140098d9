"""Server -> client messages: matcher events rendered per channel, with exact decimal strings.

Every message is a JSON object with a ``type`` and (except ``pong``/``error``) a ``channel``. Market
data carries the matcher's per-symbol ``seq``. ``docs/websocket.md`` documents each type.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from trading.domain.instruments import Instrument
from trading.realtime import channels
from trading.realtime.channels import Channel
from trading.realtime.events import (
    BookUpdated,
    MarketEvent,
    OrderAccepted,
    OrderAmended,
    OrderCanceled,
    OrderEvent,
    OrderFilled,
    OrderRejected,
    TradeExecuted,
)

Message = dict[str, Any]
InstrumentLookup = Callable[[str], Instrument | None]


class UnknownInstrumentError(LookupError):
    """An event names a symbol the instrument catalogue does not know (yet): retry the record."""


@dataclass(frozen=True, slots=True)
class ChannelMessage:
    channel_key: str
    seq: int
    body: Message


@dataclass
class _Ticker:
    symbol: str
    seq: int = 0
    price: int = 0
    quantity: int = 0
    high: int = 0
    low: int = 0
    volume: int = 0
    trades: int = 0
    time: str | None = None

    def add(self, trade: TradeExecuted) -> None:
        self.high = trade.price if self.trades == 0 else max(self.high, trade.price)
        self.low = trade.price if self.trades == 0 else min(self.low, trade.price)
        self.trades += 1
        self.volume += trade.quantity
        if trade.seq >= self.seq:
            self.seq, self.price, self.quantity, self.time = (
                trade.seq,
                trade.price,
                trade.quantity,
                trade.executed_at,
            )


# -- direct replies ----------------------------------------------------------------------------


def pong(request_id: str | None = None) -> Message:
    return _with_id({"type": "pong"}, request_id)


def error(code: str, message: str, *, channel: str | None = None, request_id: str | None = None) -> Message:
    body: Message = {"type": "error", "code": code, "message": message}
    if channel is not None:
        body["channel"] = channel
    return _with_id(body, request_id)


def subscribed(channel: Channel, request_id: str | None = None) -> Message:
    return _with_id({"type": "subscribed", "channel": channel.name}, request_id)


def unsubscribed(channel: Channel, request_id: str | None = None) -> Message:
    return _with_id({"type": "unsubscribed", "channel": channel.name}, request_id)


def snapshot(
    instrument: Instrument, seq: int, bids: Iterable[tuple[int, int]], asks: Iterable[tuple[int, int]]
) -> Message:
    return {
        "type": "snapshot",
        "channel": channels.book(instrument.symbol).name,
        "seq": seq,
        "bids": [_level(instrument, price, quantity) for price, quantity in bids],
        "asks": [_level(instrument, price, quantity) for price, quantity in asks],
    }


def _with_id(body: Message, request_id: str | None) -> Message:
    if request_id is not None:
        body["id"] = request_id
    return body


def _level(instrument: Instrument, price: int, quantity: int) -> list[str]:
    return [instrument.format_price(price), instrument.format_quantity(quantity)]


# -- events -> channel messages ------------------------------------------------------------------


def render(events: Iterable[MarketEvent], instruments: InstrumentLookup) -> list[ChannelMessage]:
    """Every message the events cause, in per-symbol ``seq`` order.

    * ``book:<symbol>``: one ``delta`` per run of consecutive ``seq`` values among the events (see
      :func:`_book_runs`), so a subscriber can check that its deltas cover every ``seq``;
    * ``trades:<symbol>`` and the private ``orders`` channels: one message per event;
    * ``ticker:<symbol>``: one per symbol summarising the trades of these events (last price and
      size, high, low, volume, count); 24-hour statistics are the REST ticker's job.

    A repeated event (SQS delivers at least once) is rendered once.
    """
    unique = {(event.symbol, event.seq, type(event).__name__): event for event in events}
    ordered = sorted(unique.values(), key=lambda event: (event.symbol, event.seq))
    out: list[ChannelMessage] = []
    tickers: dict[str, _Ticker] = {}

    def instrument_of(symbol: str) -> Instrument:
        instrument = instruments(symbol)
        if instrument is None:
            raise UnknownInstrumentError(symbol)
        return instrument

    for event in ordered:
        if isinstance(event, TradeExecuted):
            instrument = instrument_of(event.symbol)
            out.append(_trade(instrument, event))
            out.extend(_fills(instrument, event))
            tickers.setdefault(event.symbol, _Ticker(event.symbol)).add(event)
        elif not isinstance(event, BookUpdated):
            out.append(_order(instruments(event.symbol), event))
    out.extend(_book_runs(ordered, instrument_of))
    for state in tickers.values():
        out.append(_ticker(instrument_of(state.symbol), state))
    return out


def _book_runs(
    ordered: list[MarketEvent], instrument_of: Callable[[str], Instrument]
) -> list[ChannelMessage]:
    """One ``delta`` per run of consecutive seqs of a symbol, whatever the events' types.

    The matcher numbers every event of a symbol (trades, order updates, book changes) without gaps,
    so a delta covering ``first_seq..seq`` tells the subscriber that no book change in that range is
    missing; a run without book changes still produces a delta (with no changes) for that reason.
    Changes are absolute (a level's new total), so each level keeps only its last value in the run
    and applying a run to the book at any seq in ``first_seq - 1 .. seq`` gives the book at ``seq``.
    """
    out: list[ChannelMessage] = []
    run: list[MarketEvent] = []

    def flush() -> None:
        if not run:
            return
        symbol = run[0].symbol
        levels: dict[tuple[str, int], int] = {}
        for event in run:
            if isinstance(event, BookUpdated):
                for change in event.changes:
                    levels.pop((change.side, change.price), None)  # ordered by each level's last write
                    levels[(change.side, change.price)] = change.quantity
        changes: list[list[str]] = []
        if levels:
            instrument = instrument_of(symbol)
            changes = [
                [str(side), instrument.format_price(price), instrument.format_quantity(quantity)]
                for (side, price), quantity in levels.items()
            ]
        channel = channels.book(symbol)
        body: Message = {
            "type": "delta",
            "channel": channel.name,
            "first_seq": run[0].seq,
            "seq": run[-1].seq,
            "changes": changes,
        }
        out.append(ChannelMessage(channel.key, run[-1].seq, body))
        run.clear()

    for event in ordered:
        if event.seq <= 0:
            continue  # a rejection for a symbol without a book has no sequence
        if run and (event.symbol != run[-1].symbol or event.seq > run[-1].seq + 1):
            flush()
        if not run or event.seq != run[-1].seq:
            run.append(event)
    flush()
    return out


def _trade(instrument: Instrument, event: TradeExecuted) -> ChannelMessage:
    channel = channels.trades(event.symbol)
    body: Message = {
        "type": "trade",
        "channel": channel.name,
        "seq": event.seq,
        "trade_id": event.trade_id,
        "price": instrument.format_price(event.price),
        "quantity": instrument.format_quantity(event.quantity),
        "taker_side": str(event.taker_side),
        "time": event.executed_at,
    }
    return ChannelMessage(channel.key, event.seq, body)


def _fills(instrument: Instrument, event: TradeExecuted) -> list[ChannelMessage]:
    """One private fill per side; neither side learns the other's account or order id."""
    sides = (
        ("MAKER", event.maker_account_id, event.maker_order_id, event.taker_side.opposite),
        ("TAKER", event.taker_account_id, event.taker_order_id, event.taker_side),
    )
    out = []
    for liquidity, account_id, order_id, side in sides:
        channel = channels.orders(account_id)
        body: Message = {
            "type": "order",
            "channel": channel.name,
            "event": "fill",
            "symbol": event.symbol,
            "seq": event.seq,
            "order_id": order_id,
            "trade_id": event.trade_id,
            "side": str(side),
            "price": instrument.format_price(event.price),
            "quantity": instrument.format_quantity(event.quantity),
            "liquidity": liquidity,
            "time": event.executed_at,
        }
        out.append(ChannelMessage(channel.key, event.seq, body))
    return out


def _order(instrument: Instrument | None, event: OrderEvent) -> ChannelMessage:
    channel = channels.orders(event.account_id)
    body: Message = {
        "type": "order",
        "channel": channel.name,
        "event": _ORDER_EVENT_NAMES[type(event)],
        "symbol": event.symbol,
        "seq": event.seq,
        "order_id": event.order_id,
    }

    def price(value: int | None) -> str | None:
        if value is None or instrument is None:
            return None
        return instrument.format_price(value)

    def quantity(value: int | None) -> str | None:
        if value is None or instrument is None:
            return None
        return instrument.format_quantity(value)

    if isinstance(event, OrderAccepted):
        body.update(
            client_order_id=event.client_order_id,
            side=str(event.side) if event.side else None,
            order_type=event.order_type,
            price=price(event.price),
            quantity=quantity(event.quantity),
            status=event.status,
        )
    elif isinstance(event, OrderRejected):
        body.update(code=event.code, message=event.message)
    elif isinstance(event, OrderCanceled):
        body.update(
            reason=event.reason,
            filled_quantity=quantity(event.filled_quantity),
            remaining_quantity=quantity(event.remaining_quantity),
        )
    elif isinstance(event, OrderAmended):
        body.update(price=price(event.price), quantity=quantity(event.quantity))
    elif isinstance(event, OrderFilled):
        body.update(filled_quantity=quantity(event.filled_quantity))
    return ChannelMessage(channel.key, event.seq, {k: v for k, v in body.items() if v is not None})


_ORDER_EVENT_NAMES: dict[type, str] = {
    OrderAccepted: "accepted",
    OrderRejected: "rejected",
    OrderCanceled: "canceled",
    OrderAmended: "amended",
    OrderFilled: "filled",
}


def _ticker(instrument: Instrument, state: _Ticker) -> ChannelMessage:
    channel = channels.ticker(state.symbol)
    body: Message = {
        "type": "ticker",
        "channel": channel.name,
        "seq": state.seq,
        "price": instrument.format_price(state.price),
        "quantity": instrument.format_quantity(state.quantity),
        "high": instrument.format_price(state.high),
        "low": instrument.format_price(state.low),
        "volume": instrument.format_quantity(state.volume),
        "trades": state.trades,
        "time": state.time,
    }
    return ChannelMessage(channel.key, state.seq, body)
