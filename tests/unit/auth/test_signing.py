"""Request signing and the authorizer's verification (pure, no network)."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from trading.auth import (
    ApiKey,
    Principal,
    Scope,
    canonical_path,
    check_body_hash,
    content_sha256,
    generate_key,
    hash_secret,
    signed_headers,
    string_to_sign,
    ws_string_to_sign,
)
from trading.auth.authorizer import allow_policy, authenticate
from trading.domain.errors import DomainError, ErrorCode

NOW = 1_764_072_000_000
SECRET = "s3cret"
KEY = ApiKey(
    key_id="ak_1", account_id="alice", secret_hash=hash_secret(SECRET), scopes=frozenset({Scope.READ})
)


def lookup(key_id: str) -> ApiKey | None:
    return KEY if key_id == KEY.key_id else None


def event(
    method: str = "POST", path: str = "/v1/orders", body: str = '{"a":1}', query=None, ts: int = NOW, **over
):
    target = canonical_path(path, {k: [v] for k, v in (query or {}).items()})
    headers = signed_headers(
        key_id="ak_1", secret=SECRET, method=method, path=target, body=body, timestamp_ms=ts
    )
    headers.update(over)
    return {
        "httpMethod": method,
        "path": path,
        "headers": {k: v for k, v in headers.items() if v is not None},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in (query or {}).items()} or None,
    }


def test_signature_is_hmac_of_the_documented_string_keyed_by_the_secret_hash() -> None:
    # Given a request / When it is signed
    headers = signed_headers(
        key_id="ak_1", secret=SECRET, method="post", path="/v1/orders", body=b"{}", timestamp_ms=5
    )
    # Then the signature is HMAC-SHA256(SHA-256(secret), "ts\nMETHOD\npath\nsha256(body)")
    message = f"5\nPOST\n/v1/orders\n{hashlib.sha256(b'{}').hexdigest()}"
    expected = hmac.new(
        hashlib.sha256(SECRET.encode()).digest(), message.encode(), hashlib.sha256
    ).hexdigest()
    assert headers["X-Signature"] == expected
    assert string_to_sign(5, "post", "/v1/orders", content_sha256(b"{}")) == message
    assert ws_string_to_sign(7) == "7\nGET\n/ws\n"


def test_generated_keys_store_only_the_hash() -> None:
    new = generate_key("alice", [Scope.TRADE])
    assert new.record.secret_hash == hash_secret(new.secret)
    assert new.secret not in repr(new.record)


def test_a_good_signature_yields_the_principal() -> None:
    principal = authenticate(event(), lookup, now_ms=NOW + 1000, replay_window_seconds=30)
    assert principal == Principal(account_id="alice", key_id="ak_1", scopes=frozenset({Scope.READ}))


def test_query_parameters_are_signed_in_canonical_order() -> None:
    # Given a GET with two query parameters (API Gateway hands them over as a map)
    ev = event("GET", "/v1/orders", "", query={"symbol": "BTC-USD", "limit": "5"})
    # When verified / Then accepted; and a tampered parameter is not
    assert authenticate(ev, lookup, now_ms=NOW, replay_window_seconds=30).account_id == "alice"
    ev["multiValueQueryStringParameters"]["limit"] = ["500"]
    with pytest.raises(DomainError) as err:
        authenticate(ev, lookup, now_ms=NOW, replay_window_seconds=30)
    assert err.value.code is ErrorCode.INVALID_SIGNATURE


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda e: e["headers"].pop("X-Signature"), ErrorCode.UNAUTHENTICATED),
        (lambda e: e["headers"].update({"X-API-Key": "ak_unknown"}), ErrorCode.UNAUTHENTICATED),
        (lambda e: e["headers"].update({"X-Signature": "0" * 64}), ErrorCode.INVALID_SIGNATURE),
        (lambda e: e.update(httpMethod="DELETE"), ErrorCode.INVALID_SIGNATURE),
        (lambda e: e.update(path="/v1/orders/x"), ErrorCode.INVALID_SIGNATURE),
        (
            lambda e: e["headers"].update({"X-Content-SHA256": content_sha256("other")}),
            ErrorCode.INVALID_SIGNATURE,
        ),
        (lambda e: e["headers"].update({"X-Timestamp": "soon"}), ErrorCode.STALE_REQUEST),
        (lambda e: e["headers"].pop("X-Content-SHA256"), ErrorCode.UNAUTHENTICATED),
        (lambda e: e["headers"].update({"X-Content-SHA256": "zz" * 32}), ErrorCode.INVALID_SIGNATURE),
        (lambda e: e["headers"].update({"X-Signature": "é" * 64}), ErrorCode.INVALID_SIGNATURE),
    ],
)
def test_bad_requests_are_rejected_with_a_401_code(mutate, code) -> None:
    ev = event()
    mutate(ev)
    with pytest.raises(DomainError) as err:
        authenticate(ev, lookup, now_ms=NOW, replay_window_seconds=30)
    assert err.value.code is code
    assert err.value.http_status == 401


@pytest.mark.parametrize("skew_ms", [30_001, -30_001])
def test_requests_outside_the_replay_window_are_stale(skew_ms: int) -> None:
    with pytest.raises(DomainError) as err:
        authenticate(event(ts=NOW), lookup, now_ms=NOW + skew_ms, replay_window_seconds=30)
    assert err.value.code is ErrorCode.STALE_REQUEST


def test_revoked_keys_are_rejected() -> None:
    revoked = ApiKey("ak_1", "alice", hash_secret(SECRET), frozenset({Scope.READ}), active=False)
    with pytest.raises(DomainError) as err:
        authenticate(event(), lambda _: revoked, now_ms=NOW, replay_window_seconds=30)
    assert err.value.code is ErrorCode.UNAUTHENTICATED


# Timestamps that are not plain ASCII digits of sane length: "²" and "١٢" pass str.isdigit() but
# int() refuses the first; 5,000 digits exceed int()'s default limit (both were a 500 before).
@pytest.mark.parametrize(
    "timestamp",
    ["²", "١٢٣", "1" * 5000, "12345678901234567", "+1764072000000", " 1764072000000", "1e12", "-5"],
)
def test_a_timestamp_that_is_not_ascii_digits_of_sane_length_is_stale_not_an_error(timestamp: str) -> None:
    ev = event()
    ev["headers"]["X-Timestamp"] = timestamp
    with pytest.raises(DomainError) as err:
        authenticate(ev, lookup, now_ms=NOW, replay_window_seconds=30)
    assert err.value.code is ErrorCode.STALE_REQUEST


def test_policy_allows_exactly_the_verified_method_arn_and_carries_the_context() -> None:
    principal = Principal("alice", "ak_1", frozenset({Scope.READ, Scope.TRADE}))
    arn = "arn:aws:execute-api:us-east-1:1:abc/Prod/POST/v1/orders"
    policy = allow_policy(principal, arn)
    assert policy["policyDocument"]["Statement"] == [
        {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": arn}
    ]
    assert policy["context"] == {"account_id": "alice", "key_id": "ak_1", "scopes": "read,trade"}
    assert Principal.from_context(policy["context"]) == principal


def test_scope_and_body_hash_checks_in_the_handler() -> None:
    principal = Principal("alice", "ak_1", frozenset({Scope.READ}))
    with pytest.raises(DomainError) as err:
        principal.require(Scope.TRADE)
    assert err.value.code is ErrorCode.FORBIDDEN
    check_body_hash({"X-Content-SHA256": content_sha256("{}")}, "{}")
    check_body_hash({}, None)
    with pytest.raises(DomainError) as err:
        check_body_hash({"x-content-sha256": content_sha256("{}")}, '{"x":1}')
    assert err.value.code is ErrorCode.INVALID_SIGNATURE


@pytest.mark.parametrize("arn", ["", "arn:aws:execute-api:us-east-1:1:abc/Prod/GET/v1/orders/*", "x"])
def test_no_policy_for_a_method_arn_that_would_be_a_wildcard(arn: str) -> None:
    # A path segment "*" would turn the exact-ARN policy into a pattern covering other paths
    with pytest.raises(DomainError) as err:
        allow_policy(Principal("alice", "ak_1", frozenset({Scope.READ})), arn)
    assert err.value.code is ErrorCode.UNAUTHENTICATED
