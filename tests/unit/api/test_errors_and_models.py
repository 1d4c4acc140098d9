"""Error mapping, request models and the committed OpenAPI document (pure)."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError
from trading.api.errors import classify_validation_errors, error_response
from trading.api.models import PlaceOrderRequest
from trading.domain.errors import HTTP_STATUS, ErrorCode


def test_error_response_is_code_and_message_with_the_codes_status() -> None:
    for code in ErrorCode:
        response = error_response(code, "why")
        assert response.status_code == int(HTTP_STATUS[code])
        assert json.loads(str(response.body)) == {"code": str(code), "message": "why"}


def _errors(body: dict) -> list:
    with pytest.raises(ValidationError) as err:
        PlaceOrderRequest.model_validate(body)
    return [dict(e, loc=("body", *e["loc"])) for e in err.value.errors()]


BASE = {"symbol": "BTC-USD", "side": "BUY", "type": "LIMIT", "price": "1", "quantity": "1"}


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({**BASE, "leverage": 5}, ErrorCode.UNKNOWN_FIELD),
        ({**BASE, "price": 1.5}, ErrorCode.INVALID_PRICE),
        ({**BASE, "quantity": ""}, ErrorCode.INVALID_QUANTITY),
        ({**BASE, "quote_amount": 3}, ErrorCode.INVALID_AMOUNT),
        ({**BASE, "side": "UP"}, ErrorCode.VALIDATION_ERROR),
        ({**BASE, "symbol": "btc"}, ErrorCode.VALIDATION_ERROR),
    ],
)
def test_validation_errors_are_classified_by_type_and_field(body: dict, code: ErrorCode) -> None:
    assert classify_validation_errors(_errors(body))[0] is code


def test_unparseable_json_is_malformed() -> None:
    errors = [{"type": "json_invalid", "loc": ("body", 3), "msg": "JSON decode error"}]
    assert classify_validation_errors(errors) == (ErrorCode.MALFORMED_JSON, "request body is not valid JSON")


def test_committed_openapi_document_equals_the_generated_one(repo_root) -> None:
    # Given the models and routes / When the document is generated / Then docs/openapi.json is current
    from trading.api.openapi import render

    committed = (repo_root / "docs" / "openapi.json").read_text()
    assert committed == render(), "run: .venv/bin/python -m trading.api.openapi > docs/openapi.json"


def test_openapi_lists_every_route_of_issue_6() -> None:
    from trading.api.openapi import openapi_document

    paths = openapi_document()["paths"]
    routes = {(method.upper(), path) for path, ops in paths.items() for method in ops}
    assert {
        ("POST", "/v1/orders"),
        ("GET", "/v1/orders"),
        ("DELETE", "/v1/orders"),
        ("GET", "/v1/orders/{order_id}"),
        ("DELETE", "/v1/orders/{order_id}"),
        ("PATCH", "/v1/orders/{order_id}"),
        ("GET", "/v1/fills"),
        ("GET", "/v1/balances"),
        ("GET", "/v1/instruments"),
        ("GET", "/v1/book/{symbol}"),
        ("GET", "/v1/trades/{symbol}"),
        ("GET", "/v1/openapi.json"),
        ("GET", "/v1/candles/{symbol}"),
        ("GET", "/v1/ticker/{symbol}"),
    } <= routes


def test_api_doc_lists_every_error_code_with_its_status(repo_root) -> None:
    text = (repo_root / "docs" / "api.md").read_text()
    for code in ErrorCode:
        assert f"| `{code}` | {int(HTTP_STATUS[code])} |" in text, code
