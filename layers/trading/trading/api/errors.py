"""The one place where errors become HTTP responses ``{"code", "message"}``.

Domain rejections carry their code (status from ``trading.domain.errors.HTTP_STATUS``); request
validation errors are classified by pydantic's error *type* and location, never by message text.
"""

from __future__ import annotations

from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

import orjson
import psycopg2
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyPersistenceLayerError
from botocore.exceptions import BotoCoreError, ClientError

from trading.adapters import aws
from trading.adapters.database import is_transient
from trading.domain.errors import HTTP_STATUS, DomainError, ErrorCode

logger = Logger(child=True)

# A validation problem in one of these fields is reported with the field's own code.
_FIELD_CODES = {
    "price": ErrorCode.INVALID_PRICE,
    "quantity": ErrorCode.INVALID_QUANTITY,
    "quote_amount": ErrorCode.INVALID_AMOUNT,
}


# Seconds a client is asked to wait before retrying a 503 (a dependency outage, not a bad request).
RETRY_AFTER_SECONDS = 1


def error_response(code: ErrorCode, message: str) -> Response[str]:
    status = HTTP_STATUS[code]
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if status == HTTPStatus.SERVICE_UNAVAILABLE else None
    return Response(
        status_code=int(status),
        content_type=content_types.APPLICATION_JSON,
        body=orjson.dumps({"code": str(code), "message": message}).decode(),
        headers=headers,
    )


def classify_validation_errors(errors: Sequence[Any]) -> tuple[ErrorCode, str]:
    """Pick the most specific code for a list of pydantic/Powertools validation errors."""
    for err in errors:
        if err.get("type") == "json_invalid":
            return ErrorCode.MALFORMED_JSON, "request body is not valid JSON"
    for err in errors:
        if err.get("type") == "extra_forbidden":
            return ErrorCode.UNKNOWN_FIELD, f"unknown field '{_field(err)}'"
    for err in errors:
        field = _field(err)
        if field in _FIELD_CODES:
            return _FIELD_CODES[field], f"{field}: {err.get('msg', 'invalid')}"
    first = errors[0] if errors else {}
    where = _field(first) or "request"
    return ErrorCode.VALIDATION_ERROR, f"{where}: {first.get('msg', 'invalid')}"


def _field(err: Any) -> str:
    loc = [str(part) for part in err.get("loc", ()) if part not in ("body", "query", "path")]
    return ".".join(loc)


def install(app: APIGatewayRestResolver) -> None:
    """Register the error handlers on a resolver."""

    @app.exception_handler(DomainError)  # type: ignore[untyped-decorator]
    def _domain(exc: DomainError) -> Response[str]:
        return error_response(exc.code, exc.message)

    @app.exception_handler(RequestValidationError)  # type: ignore[untyped-decorator]
    def _validation(exc: RequestValidationError) -> Response[str]:
        code, message = classify_validation_errors(exc.errors())
        return error_response(code, message)

    @app.not_found
    def _not_found(exc: NotFoundError) -> Response[str]:
        return error_response(ErrorCode.NOT_FOUND, "no such route")

    @app.exception_handler(psycopg2.Error)  # type: ignore[untyped-decorator]
    def _database(exc: psycopg2.Error) -> Response[str]:
        # A lost, refused or exhausted connection (or a lost race) is an outage the client can
        # retry through, with the same client_order_id: nothing was half-applied.
        if is_transient(exc):
            logger.warning("database unavailable", extra={"error": f"{type(exc).__name__}: {exc}"})
            return error_response(ErrorCode.SERVICE_UNAVAILABLE, "database unavailable; retry later")
        logger.exception("database error")
        return error_response(ErrorCode.INTERNAL_ERROR, "internal error")

    @app.exception_handler([ClientError, BotoCoreError, IdempotencyPersistenceLayerError])  # type: ignore[untyped-decorator]
    def _aws(exc: Exception) -> Response[str]:
        # DynamoDB/SQS throttled, timed out or unreachable after the client's bounded retries
        # (trading.adapters.aws): an outage the client retries through with the same client_order_id.
        if aws.is_transient(exc):
            logger.warning("AWS dependency unavailable", extra={"error": f"{type(exc).__name__}: {exc}"})
            return error_response(ErrorCode.SERVICE_UNAVAILABLE, "a dependency is unavailable; retry later")
        logger.exception("AWS error")
        return error_response(ErrorCode.INTERNAL_ERROR, "internal error")

    @app.exception_handler(Exception)  # type: ignore[untyped-decorator]
    def _unexpected(exc: Exception) -> Response[str]:
        logger.exception("unhandled error")
        return error_response(ErrorCode.INTERNAL_ERROR, "internal error")


__all__ = ["HTTPStatus", "classify_validation_errors", "error_response", "install"]
