"""The REST Lambda authorizer's logic: API key, replay window, signature -> principal.

Ports are plain callables so the function edge wires DynamoDB and a clock, and tests pass fakes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from trading.auth import (
    EMPTY_SHA256,
    HEADER_CONTENT_SHA256,
    HEADER_KEY,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    ApiKey,
    Principal,
    canonical_path,
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
    if not key_id or not timestamp or not signature:
        raise DomainError(ErrorCode.UNAUTHENTICATED, "X-API-Key, X-Timestamp and X-Signature are required")
    if not timestamp.isdigit():
        raise DomainError(ErrorCode.STALE_REQUEST, "X-Timestamp must be unix milliseconds")
    if abs(now_ms - int(timestamp)) > replay_window_seconds * 1000:
        raise DomainError(ErrorCode.STALE_REQUEST, "X-Timestamp is outside the replay window")
    key = lookup(key_id)
    if key is None or not key.active:
        raise DomainError(ErrorCode.UNAUTHENTICATED, "unknown or revoked API key")
    path = canonical_path(str(event.get("path", "")), _query(event))
    body_hash = headers.get(HEADER_CONTENT_SHA256, EMPTY_SHA256).lower()
    message = string_to_sign(timestamp, str(event.get("httpMethod", "")), path, body_hash)
    if not verify_signature(key, message, signature):
        raise DomainError(ErrorCode.INVALID_SIGNATURE, "signature does not match")
    return Principal(account_id=key.account_id, key_id=key.key_id, scopes=key.scopes)


def allow_policy(principal: Principal, method_arn: str) -> dict[str, Any]:
    """Allow every route of the stage, so a cached decision is valid for all of them."""
    arn_parts = method_arn.split("/")
    resource = "/".join(arn_parts[:2]) + "/*/*" if len(arn_parts) >= 2 else method_arn
    return {
        "principalId": principal.key_id,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": resource}],
        },
        "context": principal.to_context(),
    }
