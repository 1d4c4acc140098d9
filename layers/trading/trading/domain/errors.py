"""Stable, machine-readable error codes.

Every rejection anywhere in the system (API edge, funds hold, matching engine) carries one of
these codes. They are part of the public API: never rename one, only add. ``docs/api.md`` lists
them with their HTTP status.
"""

from enum import StrEnum
from http import HTTPStatus


class ErrorCode(StrEnum):
    # 400: the request itself is wrong
    MALFORMED_JSON = "MALFORMED_JSON"
    VALIDATION_ERROR = "VALIDATION_ERROR"
    UNKNOWN_FIELD = "UNKNOWN_FIELD"
    UNKNOWN_SYMBOL = "UNKNOWN_SYMBOL"
    INVALID_PRICE = "INVALID_PRICE"  # not a positive decimal on the instrument's tick grid
    INVALID_QUANTITY = "INVALID_QUANTITY"  # not a positive decimal on the instrument's lot grid
    INVALID_AMOUNT = "INVALID_AMOUNT"  # a quote amount that is not positive or too precise
    QUANTITY_BELOW_MIN = "QUANTITY_BELOW_MIN"
    QUANTITY_ABOVE_MAX = "QUANTITY_ABOVE_MAX"
    NOTIONAL_BELOW_MIN = "NOTIONAL_BELOW_MIN"
    PRICE_REQUIRED = "PRICE_REQUIRED"  # limit order without a price
    PRICE_NOT_ALLOWED = "PRICE_NOT_ALLOWED"  # market order with a price
    INVALID_ORDER_TYPE = "INVALID_ORDER_TYPE"  # e.g. post-only market order, FOK market with budget
    INVALID_CURSOR = "INVALID_CURSOR"  # a pagination cursor this API did not hand out
    # 401 / 403: authentication and authorization
    UNAUTHENTICATED = "UNAUTHENTICATED"
    INVALID_SIGNATURE = "INVALID_SIGNATURE"
    STALE_REQUEST = "STALE_REQUEST"
    FORBIDDEN = "FORBIDDEN"
    # 404
    NOT_FOUND = "NOT_FOUND"
    UNKNOWN_ORDER = "UNKNOWN_ORDER"
    # 409
    DUPLICATE_ORDER_ID = "DUPLICATE_ORDER_ID"
    IDEMPOTENCY_CONFLICT = "IDEMPOTENCY_CONFLICT"
    ORDER_NOT_OPEN = "ORDER_NOT_OPEN"
    # 422: well-formed but cannot be done in the current state
    INSUFFICIENT_FUNDS = "INSUFFICIENT_FUNDS"
    INSTRUMENT_HALTED = "INSTRUMENT_HALTED"
    POST_ONLY_WOULD_CROSS = "POST_ONLY_WOULD_CROSS"
    FOK_NOT_FILLABLE = "FOK_NOT_FILLABLE"
    NO_LIQUIDITY = "NO_LIQUIDITY"
    SELF_TRADE_PREVENTED = "SELF_TRADE_PREVENTED"
    INVALID_AMEND = "INVALID_AMEND"
    # 415
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"  # a body that is not application/json
    # 429
    RATE_LIMITED = "RATE_LIMITED"
    # 5xx
    INTERNAL_ERROR = "INTERNAL_ERROR"
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"


HTTP_STATUS: dict[ErrorCode, HTTPStatus] = {
    **dict.fromkeys(
        (
            ErrorCode.MALFORMED_JSON,
            ErrorCode.VALIDATION_ERROR,
            ErrorCode.UNKNOWN_FIELD,
            ErrorCode.UNKNOWN_SYMBOL,
            ErrorCode.INVALID_PRICE,
            ErrorCode.INVALID_QUANTITY,
            ErrorCode.INVALID_AMOUNT,
            ErrorCode.QUANTITY_BELOW_MIN,
            ErrorCode.QUANTITY_ABOVE_MAX,
            ErrorCode.NOTIONAL_BELOW_MIN,
            ErrorCode.PRICE_REQUIRED,
            ErrorCode.PRICE_NOT_ALLOWED,
            ErrorCode.INVALID_ORDER_TYPE,
            ErrorCode.INVALID_CURSOR,
        ),
        HTTPStatus.BAD_REQUEST,
    ),
    ErrorCode.UNAUTHENTICATED: HTTPStatus.UNAUTHORIZED,
    ErrorCode.INVALID_SIGNATURE: HTTPStatus.UNAUTHORIZED,
    ErrorCode.STALE_REQUEST: HTTPStatus.UNAUTHORIZED,
    ErrorCode.FORBIDDEN: HTTPStatus.FORBIDDEN,
    ErrorCode.NOT_FOUND: HTTPStatus.NOT_FOUND,
    ErrorCode.UNKNOWN_ORDER: HTTPStatus.NOT_FOUND,
    ErrorCode.DUPLICATE_ORDER_ID: HTTPStatus.CONFLICT,
    ErrorCode.IDEMPOTENCY_CONFLICT: HTTPStatus.CONFLICT,
    ErrorCode.ORDER_NOT_OPEN: HTTPStatus.CONFLICT,
    **dict.fromkeys(
        (
            ErrorCode.INSUFFICIENT_FUNDS,
            ErrorCode.INSTRUMENT_HALTED,
            ErrorCode.POST_ONLY_WOULD_CROSS,
            ErrorCode.FOK_NOT_FILLABLE,
            ErrorCode.NO_LIQUIDITY,
            ErrorCode.SELF_TRADE_PREVENTED,
            ErrorCode.INVALID_AMEND,
        ),
        HTTPStatus.UNPROCESSABLE_ENTITY,
    ),
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
    ErrorCode.RATE_LIMITED: HTTPStatus.TOO_MANY_REQUESTS,
    ErrorCode.INTERNAL_ERROR: HTTPStatus.INTERNAL_SERVER_ERROR,
    ErrorCode.SERVICE_UNAVAILABLE: HTTPStatus.SERVICE_UNAVAILABLE,
}


class DomainError(Exception):
    """A rejection with a stable code. Raised at the edges, mapped to HTTP in one place."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def http_status(self) -> HTTPStatus:
        return HTTP_STATUS[self.code]
