"""The REST Lambda authorizer's logic: API key, replay window, signature -> principal.

Ports are plain callables so the function edge wires DynamoDB and a clock, and tests pass fakes.
A decision is valid for exactly the request it was made for: the policy names that request's
method ARN only, and the template disables API Gateway's result cache (``ReauthorizeEvery: 0``)
because no cache key can cover the signed path with its query string (ADR 0003).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from trading.auth import (
    HEADER_CONTENT_SHA256,
    HEADER_KEY,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    ApiKey,
    Principal,
    canonical_path,
    is_sha256_hex,
    parse_timestamp,
    string_to_sign,
    verify_signature,
)
from trading.domain.errors import DomainError, ErrorCode

KeyLookup = Callable[[str], ApiKey | None]


def _query(event: Mapping[str, Any]) -> dict[str, list[str]]:
    multi = event.get("multiValueQueryStringParameters") or {}
    if multi:
        return {k: list(v) for k, v in multi.items()}
    single = event.get("queryStringParameters") or {}
    return {k: [v] for k, v in single.items()}


def authenticate(
    event: Mapping[str, Any], lookup: KeyLookup, now_ms: int, replay_window_seconds: int
) -> Principal:
    """Verify a REQUEST authorizer event; raise ``DomainError`` with a 401 code on any failure."""
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    key_id = headers.get(HEADER_KEY)
    timestamp = headers.get(HEADER_TIMESTAMP)
    signature = headers.get(HEADER_SIGNATURE)
    body_hash = headers.get(HEADER_CONTENT_SHA256)
    if not key_id or not timestamp or not signature or not body_hash:
        raise DomainError(
            ErrorCode.UNAUTHENTICATED, "X-API-Key, X-Timestamp, X-Content-SHA256 and X-Signature are required"
        )
    timestamp_ms = parse_timestamp(timestamp)
    if timestamp_ms is None:
        raise DomainError(ErrorCode.STALE_REQUEST, "X-Timestamp must be unix milliseconds (ASCII digits)")
    if not is_sha256_hex(body_hash):
        raise DomainError(ErrorCode.INVALID_SIGNATURE, "X-Content-SHA256 must be 64 hex digits")
    if abs(now_ms - timestamp_ms) > replay_window_seconds * 1000:
        raise DomainError(ErrorCode.STALE_REQUEST, "X-Timestamp is outside the replay window")
    key = lookup(key_id)
    if key is None or not key.active:
        raise DomainError(ErrorCode.UNAUTHENTICATED, "unknown or revoked API key")
    path = canonical_path(str(event.get("path", "")), _query(event))
    message = string_to_sign(timestamp, str(event.get("httpMethod", "")), path, body_hash.lower())
    if not verify_signature(key, message, signature):
        raise DomainError(ErrorCode.INVALID_SIGNATURE, "signature does not match")
    return Principal(account_id=key.account_id, key_id=key.key_id, scopes=key.scopes)


def allow_policy(principal: Principal, method_arn: str) -> dict[str, Any]:
    """Allow exactly the method ARN that was verified (``.../{stage}/{METHOD}/{path}``), no other.

    Even if a result cache were switched on, a decision could then never authorize another
    method or path; the query string and body are covered only by verifying every request.
    """
    if not method_arn.startswith("arn:") or any(c in method_arn for c in "*?"):
        raise DomainError(ErrorCode.UNAUTHENTICATED, "no method ARN to authorize")
    resource = method_arn
    return {
        "principalId": principal.key_id,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": resource}],
        },
        "context": principal.to_context(),
    }
