"""The one place where errors become HTTP responses ``{"code", "message"}``.

Domain rejections carry their code (status from ``trading.domain.errors.HTTP_STATUS``); request
validation errors are classified by pydantic's error *type* and location, never by message text.
"""

from __future__ import annotations

from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

import orjson
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from trading.domain.errors import HTTP_STATUS, DomainError, ErrorCode

logger = Logger(child=True)

# A validation problem in one of these fields is reported with the field's own code.
_FIELD_CODES = {
    "price": ErrorCode.INVALID_PRICE,
    "quantity": ErrorCode.INVALID_QUANTITY,
    "quote_amount": ErrorCode.INVALID_AMOUNT,
}


def error_response(code: ErrorCode, message: str) -> Response[str]:
    return Response(
        status_code=int(HTTP_STATUS[code]),
        content_type=content_types.APPLICATION_JSON,
        body=orjson.dumps({"code": str(code), "message": message}).decode(),
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

    @app.exception_handler(Exception)  # type: ignore[untyped-decorator]
    def _unexpected(exc: Exception) -> Response[str]:
        logger.exception("unhandled error")
        return error_response(ErrorCode.INTERNAL_ERROR, "internal error")


__all__ = ["HTTPStatus", "classify_validation_errors", "error_response", "install"]
