"""``ApiKeys`` DynamoDB table: key id -> account, scopes and the secret's hash (never the secret)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from trading.adapters import aws
from trading.auth import ApiKey, Scope


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

    def revoke(self, key_id: str) -> None:
        self._table.update_item(
            Key={"key_id": key_id},
            UpdateExpression="SET #s = :r",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":r": "REVOKED"},
        )

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


def _from_item(item: dict[str, Any]) -> ApiKey:
    return ApiKey(
        key_id=str(item["key_id"]),
        account_id=str(item["account_id"]),
        secret_hash=str(item["secret_hash"]),
        scopes=frozenset(Scope(s) for s in item.get("scopes", [])),
        active=item.get("status", "ACTIVE") == "ACTIVE",
    )
