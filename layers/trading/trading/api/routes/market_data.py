"""Public market data (function ``market_data``, no authorizer)."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from trading import marketdata
from trading.adapters import database
from trading.api import wiring
from trading.api.models import (
    BookLevel,
    CandleResponse,
    Candles,
    InstrumentResponse,
    Instruments,
    OrderBook,
    QueryInt,
    TickerResponse,
    Trade,
    Trades,
)
from trading.api.routes.common import META_ERRORS, NO_SUCH_ROUTE, PUBLIC_ERRORS, errors, json_response, ok
from trading.domain.enums import Side
from trading.domain.instruments import Instrument, Symbol
from trading.domain.numbers import format_units
from trading.services import queries

router = Router()  # type: ignore[no-untyped-call]


def instrument_response(i: Instrument) -> InstrumentResponse:
    return InstrumentResponse(
        symbol=i.symbol,
        base_asset=i.base_asset,
        quote_asset=i.quote_asset,
        tick_size=i.format_price(i.tick_size),
        lot_size=i.format_quantity(i.lot_size),
        min_quantity=i.format_quantity(i.min_quantity),
        max_quantity=i.format_quantity(i.max_quantity),
        min_notional=format_units(i.min_notional, i.quote_decimals),
        maker_fee_bps=i.maker_fee_bps,
        taker_fee_bps=i.taker_fee_bps,
        status=i.status,
    )


@router.get(
    "/v1/instruments",
    summary="Tradable instruments and their rules",
    tags=["market data"],
    responses={**ok(200, Instruments, "all instruments"), **META_ERRORS},
)
def list_instruments() -> Response[str]:
    items = [instrument_response(i) for i in wiring.instruments().all()]
    return json_response(200, Instruments(instruments=items))


@router.get(
    "/v1/book/<symbol>",
    summary="Aggregated order book (L2)",
    tags=["market data"],
    responses={**ok(200, OrderBook, "best levels per side"), **errors(PUBLIC_ERRORS, _404=NO_SUCH_ROUTE)},
)
def get_book(
    symbol: Annotated[Symbol, Path()], depth: Annotated[QueryInt, Query(ge=1, le=500)] = 50
) -> Response[str]:
    instrument = wiring.instruments().get(symbol)
    books = wiring.order_books()

    def levels(side: Side) -> list[BookLevel]:
        return [
            BookLevel(price=instrument.format_price(p), quantity=instrument.format_quantity(q))
            for p, q in books.levels(symbol, side, depth)
        ]

    book = OrderBook(symbol=symbol, seq=books.sequence(symbol), bids=levels(Side.BUY), asks=levels(Side.SELL))
    return json_response(200, book)


@router.get(
    "/v1/trades/<symbol>",
    summary="Recent trades of a symbol, newest first",
    tags=["market data"],
    responses={**ok(200, Trades, "recent trades"), **errors(PUBLIC_ERRORS, _404=NO_SUCH_ROUTE)},
)
def get_trades(
    symbol: Annotated[Symbol, Path()], limit: Annotated[QueryInt, Query(ge=1, le=500)] = 100
) -> Response[str]:
    instrument = wiring.instruments().get(symbol)
    with database.reader() as conn:
        rows = queries.recent_trades(conn, symbol, limit)
    trades = [
        Trade(
            trade_id=r.trade_id,
            seq=r.seq,
            price=instrument.format_price(r.price),
            quantity=instrument.format_quantity(r.quantity),
            taker_side=Side(r.taker_side),
            executed_at=r.executed_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        )
        for r in rows
    ]
    return json_response(200, Trades(symbol=symbol, trades=trades))


@router.get(
    "/v1/candles/<symbol>",
    summary="OHLCV candles from settled trades",
    description="Intervals: 1m, 5m, 15m, 1h, 4h, 1d. Only buckets with trades are returned.",
    tags=["market data"],
    responses={**ok(200, Candles, "candles, oldest first"), **errors(PUBLIC_ERRORS, _404=NO_SUCH_ROUTE)},
)
def get_candles(
    symbol: Annotated[Symbol, Path()],
    interval: Annotated[str, Query(max_length=4)] = "1m",
    limit: Annotated[QueryInt, Query(ge=1, le=1000)] = 100,
) -> Response[str]:
    instrument = wiring.instruments().get(symbol)
    with database.reader() as conn:
        rows = marketdata.candles(conn, symbol, interval, limit)
    items = [
        CandleResponse(
            start=c.start,
            open=instrument.format_price(c.open),
            high=instrument.format_price(c.high),
            low=instrument.format_price(c.low),
            close=instrument.format_price(c.close),
            volume=instrument.format_quantity(c.volume),
            quote_volume=instrument.format_notional(c.quote_volume),
            trades=c.trades,
        )
        for c in rows
    ]
    return json_response(200, Candles(symbol=symbol, interval=interval, candles=items))


@router.get(
    "/v1/ticker/<symbol>",
    summary="Rolling 24 h statistics",
    tags=["market data"],
    responses={**ok(200, TickerResponse, "the ticker"), **errors(PUBLIC_ERRORS, _404=NO_SUCH_ROUTE)},
)
def get_ticker(symbol: Annotated[Symbol, Path()]) -> Response[str]:
    instrument = wiring.instruments().get(symbol)
    with database.reader() as conn:
        t = marketdata.ticker(conn, symbol)

    def price(value: int | None) -> str | None:
        return None if value is None else instrument.format_price(value)

    return json_response(
        200,
        TickerResponse(
            symbol=symbol,
            last=price(t.last),
            open=price(t.open),
            high=price(t.high),
            low=price(t.low),
            change=price(t.change),
            volume=instrument.format_quantity(t.volume),
            quote_volume=instrument.format_notional(t.quote_volume),
            trades=t.trades,
            window_start=t.window_start,
            window_end=t.window_end,
            last_trade_at=t.last_trade_at,
        ),
    )


@router.get(
    "/v1/openapi.json",
    summary="This API's OpenAPI document",
    tags=["meta"],
    responses={
        200: {
            "description": "OpenAPI 3 document",
            "content": {"application/json": {"schema": {"type": "object"}}},
        },
        **META_ERRORS,
    },
)
def get_openapi() -> Response[str]:
    from trading.api.openapi import openapi_document  # noqa: PLC0415 - the document imports every router

    document: dict[str, Any] = openapi_document()
    return json_response(200, document)
