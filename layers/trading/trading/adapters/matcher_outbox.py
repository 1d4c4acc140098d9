"""The matcher's outbox in ``OrderBooks``, read side: events committed and not yet published.

Item layout (written by ``matcher_service.store``): key ``symbol`` / ``sk`` = ``outbox#<first
seq:020d>``, ``events`` = JSON list of ``{"detail_type", "detail"}``, ``created_ms`` = commit time.
The matcher deletes an item once its events are on the bus, so an old item is a committed batch
that never reached settlement.
"""

from __future__ import annotations

import json
from typing import Any

from boto3.dynamodb.conditions import Key

from trading.adapters import aws
from trading.ledger.crosscheck import OutboxRecord

OUTBOX_PREFIX = "outbox#"


class MatcherOutboxReader:
    def __init__(self, table_name: str) -> None:
        self._table = aws.resource("dynamodb").Table(table_name)

    def items(self, symbol: str, limit: int) -> list[OutboxRecord]:
        """The symbol's outbox items, oldest first, at most ``limit``."""
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": Key("symbol").eq(symbol) & Key("sk").begins_with(OUTBOX_PREFIX),
            "ConsistentRead": True,
        }
        found: list[OutboxRecord] = []
        while True:
            page = self._table.query(**kwargs)
            for item in page.get("Items", []):
                events = json.loads(str(item.get("events", "[]")))
                found.append(
                    OutboxRecord(
                        symbol=symbol,
                        key=str(item["sk"]),
                        created_ms=int(item.get("created_ms", 0)),
                        events=[(str(e["detail_type"]), e["detail"]) for e in events],
                    )
                )
            if "LastEvaluatedKey" not in page or len(found) >= limit:
                return found[:limit]
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
