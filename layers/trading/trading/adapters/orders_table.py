"""``Orders`` DynamoDB table: live order state, GSI ``by-account`` (account_id / created_at)."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

import orjson
from botocore.exceptions import ClientError

from trading.adapters import aws
from trading.adapters.dynamo import plain
from trading.domain.enums import OrderStatus
from trading.domain.errors import DomainError, ErrorCode
from trading.services.records import OrderRecord

BY_ACCOUNT_INDEX = "by-account"


def _conditional_failed(exc: ClientError) -> bool:
    return bool(exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException")


def encode_cursor(key: dict[str, Any] | None) -> str | None:
    if not key:
        return None
    return base64.urlsafe_b64encode(orjson.dumps(plain(key))).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    if not cursor:
        return None
    try:
        key = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, orjson.JSONDecodeError) as exc:
        raise DomainError(ErrorCode.INVALID_CURSOR, "cursor is not valid") from exc
    if not isinstance(key, dict) or set(key) != {"order_id", "account_id", "created_at"}:
        raise DomainError(ErrorCode.INVALID_CURSOR, "cursor is not valid")
    # Only what encode_cursor writes: three short strings (DynamoDB refuses other types with a 500)
    if not all(isinstance(v, str) and 0 < len(v) <= 256 and "\x00" not in v for v in key.values()):
        raise DomainError(ErrorCode.INVALID_CURSOR, "cursor is not valid")
    return key


class OrdersTable:
    def __init__(self, table_name: str) -> None:
        self._table = aws.resource("dynamodb").Table(table_name)

    def put_new(self, order: OrderRecord) -> bool:
        """Write a PENDING order once; ``False`` when an item with this id already exists."""
        item = order.model_dump(mode="json", exclude_none=True)
        try:
            self._table.put_item(Item=item, ConditionExpression="attribute_not_exists(order_id)")
        except ClientError as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True

    def delete_pending(self, order_id: str) -> None:
        """Compensation: remove an order the matcher has never seen (no-op otherwise)."""
        try:
            self._table.delete_item(
                Key={"order_id": order_id},
                ConditionExpression="#s = :p",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":p": str(OrderStatus.PENDING)},
            )
        except ClientError as exc:
            if not _conditional_failed(exc):
                raise

    def get(self, order_id: str) -> OrderRecord | None:
        item = self._table.get_item(Key={"order_id": order_id}, ConsistentRead=True).get("Item")
        return OrderRecord.model_validate(plain(item)) if item else None

    def get_many(self, order_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Strongly consistent BatchGetItem (100 keys per call) of plain items; missing ids absent."""
        resource = aws.resource("dynamodb")
        name = self._table.name
        found: dict[str, dict[str, Any]] = {}
        ids = sorted(set(order_ids))
        for start in range(0, len(ids), 100):
            keys = [{"order_id": order_id} for order_id in ids[start : start + 100]]
            request: dict[str, Any] = {name: {"Keys": keys, "ConsistentRead": True}}
            while request:
                response = resource.batch_get_item(RequestItems=request)
                for item in response.get("Responses", {}).get(name, []):
                    found[str(item["order_id"])] = plain(item)
                request = response.get("UnprocessedKeys") or {}
        return found

    def list_by_account(
        self,
        account_id: str,
        *,
        symbol: str | None = None,
        statuses: list[OrderStatus] | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> tuple[list[OrderRecord], str | None]:
        """Newest first. Filters apply after the key read, so a page may hold fewer than ``limit``."""
        kwargs: dict[str, Any] = {
            "IndexName": BY_ACCOUNT_INDEX,
            "KeyConditionExpression": "account_id = :a",
            "ExpressionAttributeValues": {":a": account_id},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        filters, names = [], {}
        if symbol:
            filters.append("symbol = :sym")
            kwargs["ExpressionAttributeValues"][":sym"] = symbol
        if statuses:
            names["#st"] = "status"
            placeholders = []
            for i, status in enumerate(statuses):
                kwargs["ExpressionAttributeValues"][f":st{i}"] = str(status)
                placeholders.append(f":st{i}")
            filters.append(f"#st IN ({', '.join(placeholders)})")
        if filters:
            kwargs["FilterExpression"] = " AND ".join(filters)
        if names:
            kwargs["ExpressionAttributeNames"] = names
        start = decode_cursor(cursor)
        if start:
            if start["account_id"] != account_id:
                raise DomainError(ErrorCode.INVALID_CURSOR, "cursor is not valid")
            kwargs["ExclusiveStartKey"] = start
        page = self._table.query(**kwargs)
        records = [OrderRecord.model_validate(plain(item)) for item in page.get("Items", [])]
        return records, encode_cursor(page.get("LastEvaluatedKey"))

    def open_orders(self, account_id: str, symbol: str) -> list[OrderRecord]:
        """Every order of the account on ``symbol`` that is not terminal (for cancel-all)."""
        live = [OrderStatus.PENDING, OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED]
        found: list[OrderRecord] = []
        cursor: str | None = None
        while True:
            page, cursor = self.list_by_account(
                account_id, symbol=symbol, statuses=live, limit=200, cursor=cursor
            )
            found.extend(page)
            if cursor is None:
                return found
