"""``ApiKeys`` DynamoDB table: key id -> account, scopes and the secret's hash (never the secret)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from trading.adapters import aws
from trading.auth import ApiKey, Scope

# Keys one list_for_account call returns at most (an operator listing, never a hot path)
MAX_LISTED_KEYS = 1000


class ApiKeysTable:
    def __init__(self, table_name: str, cache_seconds: float = 0.0) -> None:
        self._table = aws.resource("dynamodb").Table(table_name)
        self._cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, ApiKey | None]] = {}

    def put(self, key: ApiKey, *, overwrite: bool = False) -> None:
        condition = {} if overwrite else {"ConditionExpression": "attribute_not_exists(key_id)"}
        self._table.put_item(
            Item={
                "key_id": key.key_id,
                "account_id": key.account_id,
                "secret_hash": key.secret_hash,
                "scopes": sorted(key.scopes),
                "status": "ACTIVE" if key.active else "REVOKED",
                "created_at": datetime.now(UTC).isoformat(),
            },
            **condition,
        )

    def revoke(self, key_id: str) -> dict[str, Any] | None:
        """Mark a key REVOKED (the authorizer refuses it once its key cache expires); the key's
        listing without the hash, or None when there is no such key."""
        try:
            answer = self._table.update_item(
                Key={"key_id": key_id},
                UpdateExpression="SET #s = :r",
                ConditionExpression="attribute_exists(key_id)",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":r": "REVOKED"},
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return None
            raise
        self._cache.pop(key_id, None)
        return _listing(answer["Attributes"])

    def list_for_account(self, account_id: str) -> list[dict[str, Any]]:
        """An account's keys (id, scopes, status, created_at; never the hash), oldest first, at
        most :data:`MAX_LISTED_KEYS`. A Scan: the table is keyed by key id and this is an operator
        action, not a request path."""
        found: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "FilterExpression": "account_id = :a",
            "ExpressionAttributeValues": {":a": account_id},
            "ProjectionExpression": "key_id, account_id, scopes, #s, created_at",
            "ExpressionAttributeNames": {"#s": "status"},
        }
        while len(found) < MAX_LISTED_KEYS:
            page = self._table.scan(**kwargs)
            found.extend(_listing(item) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return sorted(found, key=lambda k: (k["created_at"], k["key_id"]))[:MAX_LISTED_KEYS]

    def get(self, key_id: str) -> ApiKey | None:
        """Look a key up; found keys are cached per container (a revocation takes up to the TTL)."""
        now = time.monotonic()
        cached = self._cache.get(key_id)
        if cached is not None and now - cached[0] < self._cache_seconds:
            return cached[1]
        item = self._table.get_item(Key={"key_id": key_id}, ConsistentRead=True).get("Item")
        key = _from_item(item) if item else None
        if self._cache_seconds > 0 and key is not None:  # never cache a miss: new keys work at once
            self._cache[key_id] = (now, key)
        return key


def _listing(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "key_id": str(item["key_id"]),
        "account_id": str(item["account_id"]),
        "scopes": sorted(str(s) for s in item.get("scopes", [])),
        "status": str(item.get("status", "ACTIVE")),
        "created_at": str(item.get("created_at", "")),
    }


def _from_item(item: dict[str, Any]) -> ApiKey:
    return ApiKey(
        key_id=str(item["key_id"]),
        account_id=str(item["account_id"]),
        secret_hash=str(item["secret_hash"]),
        scopes=frozenset(Scope(s) for s in item.get("scopes", [])),
        active=item.get("status", "ACTIVE") == "ACTIVE",
    )
