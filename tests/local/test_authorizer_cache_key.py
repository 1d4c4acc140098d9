"""The local gateway's authorizer cache key is API Gateway's: the identity-source values, nothing else."""

from __future__ import annotations

from localcloud.app_model import AppModel
from localcloud.rest import identity_values

SOURCES = (
    "method.request.header.X-API-Key, method.request.querystring.symbol, stageVariables.tier, "
    "context.httpMethod, context.resourcePath, context.identity.sourceIp"
)


def _model(identity_source: str, ttl: int) -> AppModel:
    authorizer = {
        "type": "apiKey",
        "x-amazon-apigateway-authorizer": {
            "type": "request",
            "identitySource": identity_source,
            "authorizerResultTtlInSeconds": ttl,
            "authorizerUri": {"Fn::GetAtt": ["AuthFunction", "Arn"]},
        },
    }
    template = {
        "Resources": {
            "AuthFunction": {"Type": "AWS::Lambda::Function", "Properties": {}},
            "Api": {
                "Type": "AWS::ApiGateway::RestApi",
                "Properties": {"Body": {"securityDefinitions": {"Auth": authorizer}, "paths": {}}},
            },
        }
    }
    return AppModel.from_template(template)


def _event(method: str = "GET", path: str = "/v1/fills", **query: str) -> dict:
    return {
        "httpMethod": method,
        "path": path,
        "headers": {"X-Api-Key": "ak_1", "X-Other": "ignored"},
        "queryStringParameters": query or None,
        "stageVariables": {"tier": "gold"},
        "requestContext": {
            "httpMethod": method,
            "resourcePath": path,
            "identity": {"sourceIp": "10.0.0.1"},
        },
    }


def test_every_kind_of_identity_source_is_read_from_the_template() -> None:
    # Given an authorizer with header, query, stage-variable and context identity sources
    (authorizer,) = _model(SOURCES, 30).rest_apis[0].authorizers.values()
    # Then each kind lands in its own field, with the template's TTL
    assert authorizer.identity_headers == ("X-API-Key",)
    assert authorizer.identity_query == ("symbol",)
    assert authorizer.identity_stage == ("tier",)
    assert authorizer.identity_context == ("httpMethod", "resourcePath", "identity.sourceIp")
    assert authorizer.ttl_s == 30


def test_the_key_holds_the_identity_values_in_order_and_nothing_else() -> None:
    (authorizer,) = _model(SOURCES, 30).rest_apis[0].authorizers.values()
    # When two requests differ only outside the identity sources (another header, query parameter)
    first = identity_values(authorizer, _event(symbol="BTC-USD"))
    second = identity_values(authorizer, {**_event(symbol="BTC-USD"), "headers": {"x-api-key": "ak_1"}})
    # Then they share a key (as in API Gateway, a cached decision would serve both)
    assert first == second == ("ak_1", "BTC-USD", "gold", "GET", "/v1/fills", "10.0.0.1")
    # And a change in any identity source is another key
    assert identity_values(authorizer, _event("POST", symbol="BTC-USD")) != first
    assert identity_values(authorizer, _event(path="/v1/orders", symbol="BTC-USD")) != first
    assert identity_values(authorizer, _event(symbol="ETH-USD")) != first


def test_a_missing_identity_source_is_empty() -> None:
    (authorizer,) = _model(SOURCES, 30).rest_apis[0].authorizers.values()
    values = identity_values(authorizer, _event())  # no ?symbol=
    assert values[1] == ""
    assert not all(values)
