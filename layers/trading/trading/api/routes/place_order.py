"""``POST /v1/orders`` (function ``place_order``, scope ``trade``)."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body

from trading.api import wiring
from trading.api.models import OrderResponse, PlaceOrderRequest
from trading.api.routes.common import (
    SIGNED_ERRORS,
    UNSUPPORTED_MEDIA,
    errors,
    json_response,
    ok,
    order_response,
    principal,
)
from trading.auth import Scope
from trading.services.orders import OrderTicket

router = Router()  # type: ignore[no-untyped-call]


@router.post(
    "/v1/orders",
    summary="Place an order",
    description="Validates, holds the worst-case funds, records the order PENDING and queues it for the "
    "matcher. Idempotent on client_order_id.",
    tags=["orders"],
    responses={
        **ok(201, OrderResponse, "order accepted (PENDING)"),
        **errors(
            SIGNED_ERRORS,
            _409="IDEMPOTENCY_CONFLICT, DUPLICATE_ORDER_ID",
            _415=UNSUPPORTED_MEDIA,
            _422="INSUFFICIENT_FUNDS, INSTRUMENT_HALTED",
        ),
    },
)
def place_order(request: Annotated[PlaceOrderRequest, Body()]) -> Response[str]:
    caller = principal(router, Scope.TRADE)
    ticket = OrderTicket(
        symbol=request.symbol,
        side=request.side,
        order_type=request.type,
        price=request.price,
        quantity=request.quantity,
        quote_amount=request.quote_amount,
        time_in_force=request.time_in_force,
        post_only=request.post_only,
        stp=request.stp,
        client_order_id=request.client_order_id,
    )

    def place() -> dict[str, Any]:
        order = wiring.order_service().place_order(caller.account_id, ticket)
        return order_response(order, wiring.instruments().get(order.symbol)).model_dump(mode="json")

    if request.client_order_id is None:
        return json_response(201, place())
    answer = wiring.idempotency().run(
        caller.account_id, request.client_order_id, request.model_dump(mode="json"), place
    )
    return json_response(201, answer)
