"""Pieces shared by the route groups: the caller's principal, response mapping, OpenAPI errors."""

from __future__ import annotations

from typing import Any

import orjson
from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from pydantic import BaseModel

from trading.api.models import ErrorResponse, OrderResponse
from trading.auth import Principal, Scope, check_body_hash
from trading.domain.instruments import Instrument
from trading.services.records import OrderRecord


def principal(router: Router, scope: Scope) -> Principal:
    """The authorizer's principal with ``scope`` enforced; the body must match its signed hash."""
    event = router.current_event
    context = event.raw_event.get("requestContext", {}).get("authorizer")
    caller = Principal.from_context(context)
    caller.require(scope)
    check_body_hash(event.headers or {}, event.decoded_body)
    return caller


def json_response(status: int, payload: BaseModel | dict[str, Any]) -> Response[str]:
    body = payload.model_dump(mode="json") if isinstance(payload, BaseModel) else payload
    return Response(
        status_code=status, content_type=content_types.APPLICATION_JSON, body=orjson.dumps(body).decode()
    )


def order_response(order: OrderRecord, instrument: Instrument) -> OrderResponse:
    def fmt(value: int | None, formatter: Any) -> str | None:
        return None if value is None else str(formatter(value))

    return OrderResponse(
        order_id=order.order_id,
        client_order_id=order.client_order_id,
        symbol=order.symbol,
        side=order.side,
        type=order.order_type,
        price=fmt(order.price, instrument.format_price),
        quantity=fmt(order.quantity, instrument.format_quantity),
        quote_amount=fmt(order.quote_budget, instrument.format_notional),
        time_in_force=order.time_in_force,
        post_only=order.post_only,
        stp=order.stp,
        status=order.status,
        filled_quantity=instrument.format_quantity(order.filled_quantity),
        created_at=order.created_at,
        updated_at=order.updated_at,
    )


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"model": ErrorResponse}}}


def ok(status: int, model: type[BaseModel], description: str) -> dict[int, Any]:
    return {status: {"description": description, "content": {"application/json": {"model": model}}}}


# Every error an operation can answer is declared (the fuzz suite checks status conformance).
# Answered by any route: throttling (gateway), an unexpected failure, a dependency outage.
META_ERRORS: dict[int, Any] = {
    429: _error("RATE_LIMITED (API Gateway throttling)"),
    500: _error("INTERNAL_ERROR: an unexpected failure; nothing half-done stays held"),
    503: _error("SERVICE_UNAVAILABLE: a dependency is unavailable; retry after Retry-After seconds"),
}
SIGNED_ERRORS: dict[int, Any] = {
    400: _error("bad request: MALFORMED_JSON, UNKNOWN_FIELD, VALIDATION_ERROR, ... (see docs/api.md)"),
    401: _error(
        "UNAUTHENTICATED (the gateway's answer to any signature failure), INVALID_SIGNATURE (the body "
        "does not match X-Content-SHA256)"
    ),
    403: _error("FORBIDDEN: the key lacks the route's scope"),
    **META_ERRORS,
}
PUBLIC_ERRORS: dict[int, Any] = {400: _error("VALIDATION_ERROR, UNKNOWN_SYMBOL"), **META_ERRORS}
# Routes with a request body / with path parameters
UNSUPPORTED_MEDIA = "UNSUPPORTED_MEDIA_TYPE: a body that is not application/json"
NO_SUCH_ROUTE = "NOT_FOUND: a path parameter no route accepts (e.g. one containing %00)"


def errors(base: dict[int, Any], **extra: str) -> dict[int, Any]:
    merged = dict(base)
    for status, description in extra.items():
        merged[int(status.lstrip("_"))] = _error(description)
    return merged
