"""``Orders`` DynamoDB table: live order state; GSIs ``by-account`` (account_id / created_at)
and ``by-account-state`` (account_state / created_at: ``trading.domain.order_index``)."""

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
from trading.domain.order_index import (
    ACCOUNT_STATE,
    BY_ACCOUNT_STATE_INDEX,
    LIVE_STATUSES,
    account_state,
    live_partition,
)
from trading.services.records import OrderRecord

BY_ACCOUNT_INDEX = "by-account"
# Items one list call reads at most (a symbol filter may skip many): then it answers a short page
# with a cursor rather than read on without bound
MAX_EXAMINED = 1000


def _conditional_failed(exc: ClientError) -> bool:
    return bool(exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException")


def encode_cursor(key: dict[str, Any] | None) -> str | None:
    if not key:
        return None
    return base64.urlsafe_b64encode(orjson.dumps(plain(key))).decode().rstrip("=")


def decode_cursor(cursor: str | None, hash_attr: str = "account_id") -> dict[str, Any] | None:
    """The index key a cursor holds: ``order_id``, ``created_at`` and the index's ``hash_attr``."""
    if not cursor:
        return None
    try:
        key = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, orjson.JSONDecodeError) as exc:
        raise DomainError(ErrorCode.INVALID_CURSOR, "cursor is not valid") from exc
    if not isinstance(key, dict) or set(key) != {"order_id", hash_attr, "created_at"}:
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
        item[ACCOUNT_STATE] = account_state(order.account_id, order.status)
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
        open_only: bool = False,
        limit: int = 50,
        cursor: str | None = None,
    ) -> tuple[list[OrderRecord], str | None]:
        """Newest first, full pages of the matching orders.

        ``open_only`` reads the account's ``LIVE`` partition of ``by-account-state`` (every order
        not terminal); a terminal status reads its own partition; a live status (``PENDING``,
        ``OPEN``, ``PARTIALLY_FILLED``) reads the ``LIVE`` partition filtered by status (the index is
        eventually consistent: a status filter also drops items the index has not moved yet), and
        ``symbol`` is a filter too: the read goes on (at most :data:`MAX_EXAMINED` items per call)
        until the page is full. ``next_cursor`` is ``None`` once the index holds no more (the page
        after a full one may be empty); a cursor is bound to the account and the index it was read
        from.
        """
        if statuses and (open_only or len(statuses) > 1):
            raise ValueError("one status, or open_only")
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        filters: list[str] = []
        status = statuses[0] if statuses else None
        if open_only or status is not None:
            index, hash_attr = BY_ACCOUNT_STATE_INDEX, ACCOUNT_STATE
            hash_value = live_partition(account_id) if status is None else account_state(account_id, status)
            names["#st"] = "status"
            if status is not None:
                values[":st"] = str(status)
                filters.append("#st = :st")
            else:  # the partition holds exactly these; the filter only guards an index lagging a write
                values.update({f":live{i}": str(s) for i, s in enumerate(LIVE_STATUSES)})
                filters.append(f"#st IN ({', '.join(f':live{i}' for i in range(len(LIVE_STATUSES)))})")
        else:
            index, hash_attr, hash_value = BY_ACCOUNT_INDEX, "account_id", account_id
        names["#h"], values[":h"] = hash_attr, hash_value
        if symbol:
            names["#sym"], values[":sym"] = "symbol", symbol
            filters.append("#sym = :sym")
        kwargs: dict[str, Any] = {
            "IndexName": index,
            "KeyConditionExpression": "#h = :h",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": False,
        }
        if filters:
            kwargs["FilterExpression"] = " AND ".join(filters)
        start = decode_cursor(cursor, hash_attr)
        if start is not None:
            if start[hash_attr] != hash_value:
                raise DomainError(ErrorCode.INVALID_CURSOR, "cursor is not valid")
            kwargs["ExclusiveStartKey"] = start
        records: list[OrderRecord] = []
        examined = 0
        last_key: dict[str, Any] | None = start
        while True:
            # Limit bounds the items read per call, so a call never returns more than the page needs
            page = self._table.query(**kwargs, Limit=min(limit - len(records), MAX_EXAMINED - examined))
            records.extend(OrderRecord.model_validate(plain(item)) for item in page.get("Items", []))
            examined += int(page.get("ScannedCount", 0))
            last_key = page.get("LastEvaluatedKey")
            if last_key is None or len(records) >= limit or examined >= MAX_EXAMINED:
                break
            kwargs["ExclusiveStartKey"] = last_key
        return records, encode_cursor(last_key)

    def open_orders(self, account_id: str, symbol: str) -> list[OrderRecord]:
        """Every order of the account on ``symbol`` that is not terminal (for cancel-all)."""
        found: list[OrderRecord] = []
        cursor: str | None = None
        while True:
            page, cursor = self.list_by_account(
                account_id, symbol=symbol, open_only=True, limit=200, cursor=cursor
            )
            found.extend(page)
            if cursor is None:
                return found
