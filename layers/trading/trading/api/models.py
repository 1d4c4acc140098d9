"""Request and response models of REST API v1 (decimal strings on the wire, never floats).

Requests forbid unknown fields (-> 400 ``UNKNOWN_FIELD``). Responses are built from the storage
records by explicit mapping functions in the route modules.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, StringConstraints

from trading.domain.enums import InstrumentStatus, OrderStatus, OrderType, Side, StpMode, TimeInForce
from trading.domain.instruments import Symbol

DecimalStr = Annotated[str, StringConstraints(min_length=1, max_length=64), Field(examples=["30000.50"])]
ClientOrderId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]
OrderId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]
Timestamp = Annotated[str, Field(description="ISO-8601 UTC", examples=["2026-11-25T12:00:00.000000Z"])]

_PLAIN_DIGITS = re.compile(r"[0-9]{1,9}")


def _plain_digits(value: Any) -> Any:
    # pydantic's lax int parsing takes " 5", "+5", "5.0" and non-ASCII digits; a query integer is
    # 1-9 ASCII digits and nothing else (range checks follow in each route's Query(ge, le)).
    if isinstance(value, str) and _PLAIN_DIGITS.fullmatch(value) is None:
        raise ValueError("must be a plain decimal integer (ASCII digits)")
    return value


QueryInt = Annotated[int, BeforeValidator(_plain_digits)]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Response(BaseModel):
    model_config = ConfigDict(frozen=True)


class PlaceOrderRequest(_Request):
    symbol: Symbol = Field(examples=["BTC-USD"])
    side: Side
    type: OrderType
    price: DecimalStr | None = Field(
        default=None, description="limit price; required for LIMIT, absent for MARKET"
    )
    quantity: DecimalStr | None = Field(
        default=None, description="base quantity (optional cap for a MARKET BUY)"
    )
    quote_amount: DecimalStr | None = Field(
        default=None, description="quote budget of a MARKET BUY (required)"
    )
    time_in_force: TimeInForce = TimeInForce.GTC
    post_only: StrictBool = Field(default=False, description="JSON true or false only")
    client_order_id: ClientOrderId | None = Field(
        default=None, description="idempotency key: a retry with the same id returns the first answer"
    )
    stp: StpMode = StpMode.CANCEL_NEWEST


class AmendOrderRequest(_Request):
    price: DecimalStr | None = None
    quantity: DecimalStr | None = Field(default=None, description="new open (remaining) quantity")


class OrderResponse(_Response):
    order_id: str
    client_order_id: str | None
    symbol: str
    side: Side
    type: OrderType
    price: str | None
    quantity: str | None
    quote_amount: str | None
    time_in_force: TimeInForce
    post_only: bool
    stp: StpMode
    status: OrderStatus
    filled_quantity: str
    created_at: Timestamp
    updated_at: Timestamp


class OrdersPage(_Response):
    orders: list[OrderResponse]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next page; null at the end")


class CancelAccepted(_Response):
    order_id: str
    status: OrderStatus = Field(description="the order's status when the cancel was queued")
    cancel_requested: bool = True


class CancelAllAccepted(_Response):
    symbol: str
    order_ids: list[str]


class AmendAccepted(_Response):
    order_id: str
    status: OrderStatus
    price: str | None
    quantity: str | None
    amend_requested: bool = True


class Fill(_Response):
    trade_id: str
    symbol: str
    order_id: str
    side: Side
    liquidity: str = Field(examples=["MAKER", "TAKER"])
    price: str
    quantity: str
    fee: str
    fee_asset: str
    executed_at: Timestamp


class FillsPage(_Response):
    fills: list[Fill]
    next_cursor: str | None


class Balance(_Response):
    asset: str
    available: str
    held: str
    total: str


class Balances(_Response):
    balances: list[Balance]


class InstrumentResponse(_Response):
    symbol: str
    base_asset: str
    quote_asset: str
    tick_size: str
    lot_size: str
    min_quantity: str
    max_quantity: str
    min_notional: str
    maker_fee_bps: int
    taker_fee_bps: int
    status: InstrumentStatus


class Instruments(_Response):
    instruments: list[InstrumentResponse]


class BookLevel(_Response):
    price: str
    quantity: str


class OrderBook(_Response):
    symbol: str
    seq: int | None = Field(description="matcher sequence of the snapshot, if known")
    bids: list[BookLevel]
    asks: list[BookLevel]


class Trade(_Response):
    trade_id: str
    seq: int
    price: str
    quantity: str
    taker_side: Side
    executed_at: Timestamp


class Trades(_Response):
    symbol: str
    trades: list[Trade]


class ErrorResponse(_Response):
    code: str = Field(examples=["INSUFFICIENT_FUNDS"])
    message: str


class CandleResponse(_Response):
    start: int = Field(description="bucket start, unix milliseconds UTC")
    open: str
    high: str
    low: str
    close: str
    volume: str = Field(description="base quantity traded")
    quote_volume: str = Field(description="quote value traded (price x quantity)")
    trades: int


class Candles(_Response):
    symbol: str
    interval: str
    candles: list[CandleResponse] = Field(description="oldest first; only buckets with trades")


class TickerResponse(_Response):
    symbol: str
    last: str | None
    open: str | None
    high: str | None
    low: str | None
    change: str | None = Field(description="last - open over the window")
    volume: str
    quote_volume: str
    trades: int
    window_start: int = Field(description="unix milliseconds")
    window_end: int
    last_trade_at: int | None
