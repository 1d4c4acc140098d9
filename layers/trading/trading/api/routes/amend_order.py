"""``PATCH /v1/orders/{order_id}`` (function ``amend_order``)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path

from trading.api import wiring
from trading.api.models import AmendAccepted, AmendOrderRequest, OrderId
from trading.api.routes.common import (
    NO_SUCH_ROUTE,
    SIGNED_ERRORS,
    UNSUPPORTED_MEDIA,
    errors,
    json_response,
    ok,
    principal,
)
from trading.auth import Scope

router = Router()  # type: ignore[no-untyped-call]


@router.patch(
    "/v1/orders/<order_id>",
    summary="Amend an order's price and/or open quantity",
    description="Queues an amend command. Reducing the quantity at the same price keeps time priority.",
    tags=["orders"],
    responses={
        **ok(202, AmendAccepted, "amend queued"),
        **errors(
            SIGNED_ERRORS,
            _404=f"UNKNOWN_ORDER; {NO_SUCH_ROUTE}",
            _409="ORDER_NOT_OPEN",
            _415=UNSUPPORTED_MEDIA,
            _422="INVALID_AMEND",
        ),
    },
)
def amend_order(
    order_id: Annotated[OrderId, Path()], request: Annotated[AmendOrderRequest, Body()]
) -> Response[str]:
    caller = principal(router, Scope.TRADE)
    order, price, quantity = wiring.order_service().amend_order(
        caller.account_id, order_id, request.price, request.quantity
    )
    instrument = wiring.instruments().get(order.symbol)
    return json_response(
        202,
        AmendAccepted(
            order_id=order.order_id,
            status=order.status,
            price=None if price is None else instrument.format_price(price),
            quantity=None if quantity is None else instrument.format_quantity(quantity),
        ),
    )
