"""The OpenAPI document describes the signature and exactly the responses the API sends (issue 13)."""

from __future__ import annotations

from typing import Any

import pytest
from trading.api.openapi import openapi_document

SIGNATURE_HEADERS = {"X-API-Key", "X-Timestamp", "X-Content-SHA256", "X-Signature"}
PUBLIC = {"/v1/instruments", "/v1/book/{symbol}", "/v1/trades/{symbol}", "/v1/candles/{symbol}"}
PUBLIC |= {"/v1/ticker/{symbol}", "/v1/openapi.json"}


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [(p, m, op) for p, ops in openapi_document()["paths"].items() for m, op in ops.items()]


def test_there_is_one_header_security_scheme_per_signature_header() -> None:
    schemes = openapi_document()["components"]["securitySchemes"]
    assert {(s["type"], s["in"], s["name"]) for s in schemes.values()} == {
        ("apiKey", "header", name) for name in SIGNATURE_HEADERS
    }


@pytest.mark.parametrize(("path", "method", "operation"), _operations(), ids=lambda v: str(v)[:40])
def test_signed_operations_require_all_four_headers_and_public_ones_none(path, method, operation) -> None:
    schemes = openapi_document()["components"]["securitySchemes"]
    if path in PUBLIC:
        assert "security" not in operation
        return
    (requirement,) = operation["security"]  # one requirement object: all of its schemes at once
    assert {schemes[name]["name"] for name in requirement} == SIGNATURE_HEADERS
    assert {"401", "403"} <= set(operation["responses"])


@pytest.mark.parametrize(("path", "method", "operation"), _operations(), ids=lambda v: str(v)[:40])
def test_every_error_response_is_the_api_error_body_and_none_is_powertools_422(
    path, method, operation
) -> None:
    for status, response in operation["responses"].items():
        if status.startswith("2"):
            continue
        schema = response["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/ErrorResponse"}, (path, method, status)
    # Every operation may be throttled, fail unexpectedly or lose a dependency
    assert {"429", "500", "503"} <= set(operation["responses"])
    # A body may have the wrong media type; a path parameter may match no route
    if "requestBody" in operation:
        assert "415" in operation["responses"]
    if "{" in path:
        assert "404" in operation["responses"]


def test_powertools_validation_schemas_are_gone() -> None:
    schemas = openapi_document()["components"]["schemas"]
    assert not {"HTTPValidationError", "ValidationError"} & set(schemas)
