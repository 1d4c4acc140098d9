"""The OpenAPI document of REST API v1, generated from the route models.

It describes the signature (a security scheme per signature header, all four required on every
signed operation) and exactly the responses the API sends: each route declares its errors, and
Powertools' generic 422 ``HTTPValidationError`` (never sent) is removed.

``python -m trading.api.openapi > docs/openapi.json`` regenerates the committed copy; a test
asserts both are equal, and ``GET /v1/openapi.json`` serves the same document.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import orjson
from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn

from trading.api.app import resolver
from trading.api.routes import account_queries, amend_order, cancel_order, market_data, place_order

TITLE = "Trading REST API"
VERSION = "1.0.0"
SIGNED_ROUTERS = (place_order.router, cancel_order.router, amend_order.router, account_queries.router)
PUBLIC_ROUTERS = (market_data.router,)
ROUTERS = SIGNED_ROUTERS + PUBLIC_ROUTERS

# One scheme per signature header; a signed operation requires all four (one requirement object).
SIGNATURE_SCHEMES = {
    "ApiKey": ("X-API-Key", "the API key id (ak_...)"),
    "Timestamp": ("X-Timestamp", "unix time in milliseconds, ASCII digits, within 30 s of the server clock"),
    "ContentSha256": (
        "X-Content-SHA256",
        "hex SHA-256 of the exact body bytes (of the empty string without one)",
    ),
    "Signature": (
        "X-Signature",
        "hex HMAC-SHA256 keyed by the raw 32-byte SHA-256 digest of the secret, over "
        "'{X-Timestamp}\\n{METHOD}\\n{percent-decoded path}[?{canonical query}]\\n{X-Content-SHA256}' "
        "(docs/api.md)",
    ),
}
SIGNED_SECURITY: list[dict[str, list[str]]] = [{name: [] for name in SIGNATURE_SCHEMES}]
DESCRIPTION = (
    "Signed operations carry X-API-Key, X-Timestamp (unix ms), X-Content-SHA256 and X-Signature: "
    "HMAC-SHA256(SHA-256(secret) as raw bytes, timestamp + LF + METHOD + LF + percent-decoded path "
    "with the canonical query + LF + body hash). See docs/api.md (worked example) and "
    "docs/adr/0003-request-signing.md."
)
# Powertools adds a 422 HTTPValidationError to every operation with parameters; this API answers
# validation problems 400 with its own ErrorResponse instead, so those are dropped.
_POWERTOOLS_SCHEMAS = ("HTTPValidationError", "ValidationError", "ResponseValidationError")


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, ops in document["paths"].items() for method, op in ops.items()]


def _generated(*routers: Any, **kwargs: Any) -> dict[str, Any]:
    document: dict[str, Any] = orjson.loads(
        resolver(*routers).get_openapi_json_schema(title=TITLE, version=VERSION, **kwargs)
    )
    return document


@cache
def openapi_document() -> dict[str, Any]:
    schemes = {
        name: APIKey(name=header, description=text, **{"in": APIKeyIn.header})
        for name, (header, text) in SIGNATURE_SCHEMES.items()
    }
    document = _generated(*ROUTERS, description=DESCRIPTION, security_schemes=schemes)
    signed = {(path, method) for path, method, _ in _operations(_generated(*SIGNED_ROUTERS))}
    for path, method, operation in _operations(document):
        responses = operation["responses"]
        if "HTTPValidationError" in orjson.dumps(responses.get("422", {})).decode():
            del responses["422"]
        if (path, method) in signed:
            operation["security"] = SIGNED_SECURITY
    text = orjson.dumps(document["paths"]).decode()
    schemas = document["components"]["schemas"]
    for name in _POWERTOOLS_SCHEMAS:
        if f"#/components/schemas/{name}" not in text:
            schemas.pop(name, None)
    return document


def render() -> str:
    return orjson.dumps(openapi_document(), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode() + "\n"


if __name__ == "__main__":
    print(render(), end="")  # noqa: T201
