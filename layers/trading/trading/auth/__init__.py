"""API keys and HMAC-SHA256 request signing (see docs/adr/0003-request-signing.md).

A key is an id plus a secret shown once at creation. The server stores only
``secret_hash = SHA-256(secret)``; the HMAC key both sides use is that digest, so the secret
itself never exists server side. Signed string for REST requests::

    "{timestamp_ms}\\n{METHOD}\\n{path_with_canonical_query}\\n{hex SHA-256 of the body}"

The body enters through its hash (header ``X-Content-SHA256``) because an API Gateway REQUEST
authorizer never sees the body: the authorizer checks the signature over the hash, the handler
checks that the body it received has that hash. WebSocket ``$connect`` signs
``"{ts}\\nGET\\n/ws\\n"`` (no body, see :func:`ws_string_to_sign`).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import quote

from trading.domain.errors import DomainError, ErrorCode

HEADER_KEY = "x-api-key"
HEADER_TIMESTAMP = "x-timestamp"
HEADER_SIGNATURE = "x-signature"
HEADER_CONTENT_SHA256 = "x-content-sha256"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
# Unix milliseconds as plain ASCII digits: 13 digits until the year 2286, 16 leave room. Anything
# else (Unicode digits such as "²", signs, thousands of digits) is refused before ``int()``.
_TIMESTAMP = re.compile(r"[0-9]{1,16}")
_HEX_SHA256 = re.compile(r"[0-9a-fA-F]{64}")


class Scope(StrEnum):
    TRADE = "trade"
    READ = "read"


@dataclass(frozen=True)
class ApiKey:
    """A stored API key: never the secret, only its hash."""

    key_id: str
    account_id: str
    secret_hash: str  # hex SHA-256 of the secret; also the HMAC key
    scopes: frozenset[Scope]
    active: bool = True


@dataclass(frozen=True)
class NewApiKey:
    """What ``create-key`` hands out once: the stored record plus the plain secret."""

    record: ApiKey
    secret: str


@dataclass(frozen=True)
class Principal:
    """Who a verified request acts for; travels in the authorizer context."""

    account_id: str
    key_id: str
    scopes: frozenset[Scope]

    def to_context(self) -> dict[str, str]:
        return {
            "account_id": self.account_id,
            "key_id": self.key_id,
            "scopes": ",".join(sorted(self.scopes)),
        }

    @classmethod
    def from_context(cls, context: Mapping[str, object] | None) -> Principal:
        if not context or not context.get("account_id"):
            raise DomainError(ErrorCode.UNAUTHENTICATED, "request was not authenticated")
        scopes = frozenset(Scope(s) for s in str(context.get("scopes", "")).split(",") if s)
        return cls(
            account_id=str(context["account_id"]), key_id=str(context.get("key_id", "")), scopes=scopes
        )

    def require(self, scope: Scope) -> None:
        if scope not in self.scopes:
            raise DomainError(ErrorCode.FORBIDDEN, f"this API key lacks the '{scope}' scope")


def parse_timestamp(value: str) -> int | None:
    """Unix milliseconds from plain ASCII digits of sane length, else None."""
    return int(value) if _TIMESTAMP.fullmatch(value) else None


def is_sha256_hex(value: str) -> bool:
    return _HEX_SHA256.fullmatch(value) is not None


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def generate_key(account_id: str, scopes: Iterable[Scope]) -> NewApiKey:
    secret = secrets.token_urlsafe(32)
    record = ApiKey(
        key_id="ak_" + secrets.token_hex(10),
        account_id=account_id,
        secret_hash=hash_secret(secret),
        scopes=frozenset(scopes),
    )
    return NewApiKey(record=record, secret=secret)


def content_sha256(body: bytes | str | None) -> str:
    if not body:
        return EMPTY_SHA256
    data = body.encode() if isinstance(body, str) else body
    return hashlib.sha256(data).hexdigest()


def canonical_query(params: Mapping[str, Iterable[str]] | None) -> str:
    """Query parameters sorted by name then value, RFC 3986 encoded: both sides build the same text."""
    if not params:
        return ""
    pairs = sorted((name, value) for name, values in params.items() for value in values)
    return "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in pairs)


def canonical_path(path: str, params: Mapping[str, Iterable[str]] | None) -> str:
    query = canonical_query(params)
    return f"{path}?{query}" if query else path


def string_to_sign(timestamp_ms: int | str, method: str, path: str, body_sha256: str) -> str:
    return f"{timestamp_ms}\n{method.upper()}\n{path}\n{body_sha256}"


def ws_string_to_sign(timestamp_ms: int | str) -> str:
    return f"{timestamp_ms}\nGET\n/ws\n"


def _hmac(secret_hash: str, message: str) -> str:
    return hmac.new(bytes.fromhex(secret_hash), message.encode(), hashlib.sha256).hexdigest()


def sign(secret: str, message: str) -> str:
    """Client side: the HMAC key is SHA-256 of the secret."""
    return _hmac(hash_secret(secret), message)


def verify_signature(key: ApiKey, message: str, signature: str) -> bool:
    if not is_sha256_hex(signature):  # compare_digest refuses non-ASCII text with a TypeError
        return False
    return hmac.compare_digest(_hmac(key.secret_hash, message), signature.lower())


def signed_headers(
    *, key_id: str, secret: str, method: str, path: str, body: bytes | str | None, timestamp_ms: int
) -> dict[str, str]:
    """Headers for a REST request; ``path`` must already carry the canonical query."""
    body_hash = content_sha256(body)
    return {
        "X-API-Key": key_id,
        "X-Timestamp": str(timestamp_ms),
        "X-Content-SHA256": body_hash,
        "X-Signature": sign(secret, string_to_sign(timestamp_ms, method, path, body_hash)),
    }


def check_body_hash(headers: Mapping[str, str], body: bytes | str | None) -> None:
    """Handler side: the body must be the one whose hash the authorizer verified."""
    lowered = {k.lower(): v for k, v in headers.items()}
    claimed = lowered.get(HEADER_CONTENT_SHA256, EMPTY_SHA256).lower()
    if not is_sha256_hex(claimed) or not hmac.compare_digest(claimed, content_sha256(body)):
        raise DomainError(ErrorCode.INVALID_SIGNATURE, "body does not match X-Content-SHA256")
