"""GET /v1/orders[/{id}], /v1/fills, /v1/balances (function `account_queries`, scope `read`)."""

from __future__ import annotations

from typing import Annotated, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from trading.adapters import database
from trading.api import wiring
from trading.api.models import (
    Balance,
    Balances,
    Fill,
    FillsPage,
    OrderId,
    OrderResponse,
    OrdersPage,
    QueryInt,
)
from trading.api.routes.common import (
    NO_SUCH_ROUTE,
    SIGNED_ERRORS,
    errors,
    json_response,
    ok,
    order_response,
    principal,
)
from trading.auth import Scope
from trading.domain.enums import OrderStatus, Side
from trading.domain.errors import DomainError, ErrorCode
from trading.domain.instruments import Symbol
from trading.domain.numbers import format_units
from trading.services import queries

router = Router()  # type: ignore[no-untyped-call]


@router.get(
    "/v1/orders/<order_id>",
    summary="Get one of your orders",
    tags=["account"],
    responses={
        **ok(200, OrderResponse, "the order"),
        **errors(SIGNED_ERRORS, _404=f"UNKNOWN_ORDER; {NO_SUCH_ROUTE}"),
    },
)
def get_order(order_id: Annotated[OrderId, Path()]) -> Response[str]:
    caller = principal(router, Scope.READ)
    order = wiring.orders().get(order_id)
    if order is None or order.account_id != caller.account_id:
        raise DomainError(ErrorCode.UNKNOWN_ORDER, f"no order {order_id}")
    return json_response(200, order_response(order, wiring.instruments().get(order.symbol)))


@router.get(
    "/v1/orders",
    summary="List your orders, newest first",
    tags=["account"],
    responses={**ok(200, OrdersPage, "a page of orders"), **SIGNED_ERRORS},
)
def list_orders(
    symbol: Annotated[Symbol | None, Query()] = None,
    status: Annotated[OrderStatus | None, Query()] = None,
    open_only: Annotated[Literal["true", "false"] | None, Query(alias="open")] = None,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
    limit: Annotated[QueryInt, Query(ge=1, le=200)] = 50,
) -> Response[str]:
    """``open=true``: every order not terminal; ``status``: one status. Both read full pages from
    the ``by-account-state`` index (docs/api.md)."""
    caller = principal(router, Scope.READ)
    if open_only == "true" and status is not None:
        raise DomainError(ErrorCode.VALIDATION_ERROR, "give open=true or status, not both")
    records, next_cursor = wiring.orders().list_by_account(
        caller.account_id,
        symbol=symbol,
        statuses=[status] if status else None,
        open_only=open_only == "true",
        limit=limit,
        cursor=cursor,
    )
    instruments = {i.symbol: i for i in wiring.instruments().all()}
    page = OrdersPage(
        orders=[order_response(r, instruments[r.symbol]) for r in records if r.symbol in instruments],
        next_cursor=next_cursor,
    )
    return json_response(200, page)


@router.get(
    "/v1/fills",
    summary="Your fills (trades as maker or taker), newest first per symbol",
    tags=["account"],
    responses={**ok(200, FillsPage, "a page of fills"), **SIGNED_ERRORS},
)
def list_fills(
    symbol: Annotated[Symbol | None, Query()] = None,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    limit: Annotated[QueryInt, Query(ge=1, le=500)] = 100,
) -> Response[str]:
    caller = principal(router, Scope.READ)
    with database.reader() as conn:
        rows, next_cursor = queries.fills(conn, caller.account_id, symbol, limit, cursor)
    instruments = {i.symbol: i for i in wiring.instruments().all()}
    fills = []
    for row in rows:
        instrument = instruments.get(row.symbol)
        if instrument is None:
            continue
        is_taker = row.taker_account_id == caller.account_id
        taker_side = Side(row.taker_side)
        fills.append(
            Fill(
                trade_id=row.trade_id,
                symbol=row.symbol,
                order_id=row.taker_order_id if is_taker else row.maker_order_id,
                side=taker_side if is_taker else taker_side.opposite,
                liquidity="TAKER" if is_taker else "MAKER",
                price=instrument.format_price(row.price),
                quantity=instrument.format_quantity(row.quantity),
                fee=format_units(row.taker_fee if is_taker else row.maker_fee, instrument.quote_decimals),
                fee_asset=instrument.quote_asset,
                executed_at=row.executed_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            )
        )
    return json_response(200, FillsPage(fills=fills, next_cursor=next_cursor))


@router.get(
    "/v1/balances",
    summary="Your balances: available, held by open orders, total",
    tags=["account"],
    responses={**ok(200, Balances, "balances per asset"), **SIGNED_ERRORS},
)
def get_balances() -> Response[str]:
    caller = principal(router, Scope.READ)
    with database.reader() as conn:
        rows = queries.balances(conn, caller.account_id)
    return json_response(
        200,
        Balances(
            balances=[
                Balance(
                    asset=r.asset,
                    available=format_units(r.available, r.decimals),
                    held=format_units(r.held, r.decimals),
                    total=format_units(r.available + r.held, r.decimals),
                )
                for r in rows
            ]
        ),
    )
