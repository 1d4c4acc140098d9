"""The OpenAPI document of REST API v1, generated from the route models.

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
ROUTERS = (
    place_order.router,
    cancel_order.router,
    amend_order.router,
    account_queries.router,
    market_data.router,
)


@cache
def openapi_document() -> dict[str, Any]:
    app = resolver(*ROUTERS)
    text = app.get_openapi_json_schema(
        title=TITLE,
        version=VERSION,
        description="Signed requests carry X-API-Key, X-Timestamp (unix ms), X-Content-SHA256 and "
        "X-Signature; see docs/api.md and docs/adr/0003-request-signing.md.",
        security_schemes={"ApiKey": APIKey(name="X-API-Key", **{"in": APIKeyIn.header})},
    )
    document: dict[str, Any] = orjson.loads(text)
    return document


def render() -> str:
    return orjson.dumps(openapi_document(), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode() + "\n"


if __name__ == "__main__":
    print(render(), end="")  # noqa: T201
