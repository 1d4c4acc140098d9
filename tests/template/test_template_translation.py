"""Offline translation of template.yaml with aws-sam-translator (no AWS calls)."""

from __future__ import annotations

from typing import Any


def test_translation_leaves_no_serverless_resource(cfn_resources: dict[str, Any]) -> None:
    # Given the translated template (fixture: localcloud.template.translate_template)
    # When looking for SAM resource types
    left = {lid: r["Type"] for lid, r in cfn_resources.items() if r["Type"].startswith("AWS::Serverless::")}

    # Then every one of them became plain CloudFormation
    assert left == {}


def test_every_sam_function_becomes_a_lambda_function_with_a_role(
    resources: dict[str, Any], cfn_resources: dict[str, Any]
) -> None:
    # Given the SAM functions as written
    functions = [lid for lid, r in resources.items() if r["Type"] == "AWS::Serverless::Function"]

    # When looking them up in the translation
    # Then each is an AWS::Lambda::Function whose role SAM generated next to it
    assert len(functions) == 17
    for logical_id in functions:
        assert cfn_resources[logical_id]["Type"] == "AWS::Lambda::Function"
        role = cfn_resources[logical_id]["Properties"]["Role"]
        assert role == {"Fn::GetAtt": [f"{logical_id}Role", "Arn"]}
        assert cfn_resources[f"{logical_id}Role"]["Type"] == "AWS::IAM::Role"


def test_code_locations_keep_the_local_directories(
    resources: dict[str, Any], cfn_resources: dict[str, Any]
) -> None:
    # Given the functions' local CodeUri
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        # When translated
        code = cfn_resources[logical_id]["Properties"]["Code"]
        # Then the artifact key still names the same directory (the local runtime relies on it)
        assert code["S3Key"] == resource["Properties"]["CodeUri"].strip("/")


def test_rest_routes_are_in_the_generated_openapi(cfn_resources: dict[str, Any]) -> None:
    # Given the REST API SAM generated
    paths = cfn_resources["RestApi"]["Properties"]["Body"]["paths"]

    # When listing its routes
    routes = {(method.upper(), path) for path, methods in paths.items() for method in methods}

    # Then the order entry and market data routes of docs/architecture.md are there
    assert {
        ("POST", "/v1/orders"),
        ("DELETE", "/v1/orders/{order_id}"),
        ("DELETE", "/v1/orders"),
        ("PATCH", "/v1/orders/{order_id}"),
        ("GET", "/v1/orders"),
        ("GET", "/v1/orders/{order_id}"),
        ("GET", "/v1/fills"),
        ("GET", "/v1/balances"),
        ("GET", "/v1/instruments"),
        ("GET", "/v1/book/{symbol}"),
        ("GET", "/v1/trades/{symbol}"),
        ("GET", "/v1/candles/{symbol}"),
        ("GET", "/v1/ticker/{symbol}"),
        ("GET", "/v1/openapi.json"),
    } <= routes


def test_signed_routes_use_the_authorizer_and_an_api_key_public_ones_neither(
    cfn_resources: dict[str, Any],
) -> None:
    # Given the generated OpenAPI operations
    paths = cfn_resources["RestApi"]["Properties"]["Body"]["paths"]
    for path, methods in paths.items():
        for method, operation in methods.items():
            security = {name for entry in operation.get("security", []) for name in entry}
            # When the route is public market data
            if method == "get" and not path.startswith(("/v1/orders", "/v1/fills", "/v1/balances")):
                # Then it has no authorizer and no API key
                assert security == set(), (method, path)
            else:
                # Then it needs the signed-request authorizer and a usage-plan API key
                assert security == {"SignedRequestAuthorizer", "api_key"}, (method, path)
