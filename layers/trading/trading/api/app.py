"""The Powertools REST resolver every API function builds: validation on, errors mapped in one place.

Before any route runs, the request body is checked once for what Powertools would accept
leniently or crash on: a body must be ``application/json`` or carry no ``Content-Type``
(else ``415 UNSUPPORTED_MEDIA_TYPE``;
Powertools would parse form and multipart bodies, and answer 500 for ``text/plain``) and strict
JSON (``trading.strict_json``: UTF-8, no duplicate keys, bounded nesting, else
``400 MALFORMED_JSON``). Nothing is read or written for a refused request.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

import orjson
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.utilities.typing import LambdaContext

from trading import strict_json
from trading.api.errors import install
from trading.domain.errors import HTTP_STATUS, DomainError, ErrorCode

JSON_MEDIA_TYPE = "application/json"


def _header(event: Mapping[str, Any], name: str) -> str | None:
    for key, value in (event.get("headers") or {}).items():
        if str(key).lower() == name:
            return str(value)
    return None


def _media_type(content_type: str) -> tuple[str, str]:
    """``("application/json", "utf-8")`` from ``application/json; charset=UTF-8`` (UTF-8 by default)."""
    media_type, *parameters = content_type.split(";")
    charset = "utf-8"
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip('"').lower()
    return media_type.strip().lower(), charset


def check_body(event: Mapping[str, Any]) -> None:
    """Raise ``DomainError`` (415 / 400) unless the body is absent or strict JSON sent as such."""
    body = event.get("body")
    if not body:
        return
    # An absent Content-Type is taken as JSON (as Powertools does); any other media type is refused.
    content_type = _header(event, "content-type")
    if content_type is None:
        content_type = JSON_MEDIA_TYPE
    media_type, charset = _media_type(content_type)
    if media_type != JSON_MEDIA_TYPE or charset != "utf-8":
        raise DomainError(
            ErrorCode.UNSUPPORTED_MEDIA_TYPE,
            f"request bodies are {JSON_MEDIA_TYPE} (UTF-8); got {content_type[:64]!r}",
        )
    raw: str | bytes = body
    if event.get("isBase64Encoded"):
        try:
            raw = base64.b64decode(str(body), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise DomainError(ErrorCode.MALFORMED_JSON, "request body is not valid base64") from exc
    try:
        strict_json.loads(raw)
    except strict_json.MalformedJsonError as exc:
        raise DomainError(ErrorCode.MALFORMED_JSON, f"request body: {exc}") from exc


class TradingResolver(APIGatewayRestResolver):
    def resolve(self, event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
        try:
            check_body(event)
        except DomainError as exc:
            return {
                "statusCode": int(HTTP_STATUS[exc.code]),
                "headers": {"Content-Type": JSON_MEDIA_TYPE},
                "body": orjson.dumps({"code": str(exc.code), "message": exc.message}).decode(),
                "isBase64Encoded": False,
            }
        result: dict[str, Any] = super().resolve(event, context)
        return result


def resolver(*routers: Any) -> APIGatewayRestResolver:
    """A REST resolver with request validation, the error mapping and the given route groups."""
    app = TradingResolver(enable_validation=True)
    install(app)
    for router in routers:
        app.include_router(router)
    return app
