"""``DELETE /v1/orders/{order_id}`` and ``DELETE /v1/orders?symbol=`` (function ``cancel_order``)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from trading.api import wiring
from trading.api.models import CancelAccepted, CancelAllAccepted, OrderId
from trading.api.routes.common import NO_SUCH_ROUTE, SIGNED_ERRORS, errors, json_response, ok, principal
from trading.auth import Scope
from trading.domain.instruments import Symbol

router = Router()  # type: ignore[no-untyped-call]


@router.delete(
    "/v1/orders/<order_id>",
    summary="Cancel an order",
    description="Queues a cancel command; the hold is released when the matcher confirms.",
    tags=["orders"],
    responses={
        **ok(202, CancelAccepted, "cancel queued"),
        **errors(SIGNED_ERRORS, _404=f"UNKNOWN_ORDER; {NO_SUCH_ROUTE}", _409="ORDER_NOT_OPEN"),
    },
)
def cancel_order(order_id: Annotated[OrderId, Path()]) -> Response[str]:
    caller = principal(router, Scope.TRADE)
    order = wiring.order_service().cancel_order(caller.account_id, order_id)
    return json_response(202, CancelAccepted(order_id=order.order_id, status=order.status))


@router.delete(
    "/v1/orders",
    summary="Cancel all open orders of a symbol",
    tags=["orders"],
    responses={**ok(202, CancelAllAccepted, "cancels queued"), **SIGNED_ERRORS},
)
def cancel_all(symbol: Annotated[Symbol, Query()]) -> Response[str]:
    caller = principal(router, Scope.TRADE)
    order_ids = wiring.order_service().cancel_all(caller.account_id, symbol)
    return json_response(202, CancelAllAccepted(symbol=symbol, order_ids=order_ids))
