"""The matcher's side of a ledger world: ``Orders`` and ``OrderBooks`` tables and the settlement DLQ,
built in moto from their definitions in ``template.yaml``, written the way the matcher and the
settlement workflow write them. Used by the reconciliation cross-check tests."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
from ledger_world import World, trade
from localcloud.template import create_table_request, load_template
from trading.adapters.matcher_outbox import MatcherOutboxReader
from trading.adapters.orders_table import OrdersTable
from trading.adapters.queue_depth import QueueDepth
from trading.domain.enums import Side
from trading.ledger import archive_order, settle_trades
from trading.ledger.crosscheck import IndependentRecords

REPO = Path(__file__).resolve().parents[3]
SYMBOL = "BTC-USD"
PRICE = 3_000_000
REST_PRICE = 2_900_000


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class MatcherRecords:
    """Template-built tables and queue with unique names on the worker's moto server."""

    def __init__(self, endpoint: str) -> None:
        kwargs = {"endpoint_url": endpoint, "region_name": "us-east-1"}
        self.ddb = boto3.client("dynamodb", **kwargs)
        self.sqs = boto3.client("sqs", **kwargs)
        resources = load_template(REPO / "template.yaml")["Resources"]
        prefix = f"r{uuid.uuid4().hex[:10]}"
        self.orders_table = f"{prefix}-orders"
        self.books_table = f"{prefix}-books"
        for name, logical in ((self.orders_table, "OrdersTable"), (self.books_table, "OrderBooksTable")):
            props = resources[logical]["Properties"]
            self.ddb.create_table(**create_table_request(name, props, with_stream=False))
        dlq = resources["SettlementDeadLetterQueue"]["Properties"]
        self.dlq_url = self.sqs.create_queue(
            QueueName=f"{prefix}-settlement-dlq",
            Attributes={"MessageRetentionPeriod": str(dlq["MessageRetentionPeriod"])},
        )["QueueUrl"]

    def records(self) -> IndependentRecords:
        """What the reconcile function wires in production, pointed at these resources."""
        return IndependentRecords(
            orders=OrdersTable(self.orders_table),
            settlement_dlq=QueueDepth(self.dlq_url),
            outbox=MatcherOutboxReader(self.books_table),
            symbols=[SYMBOL, "ETH-USD"],
            dlq_name=self.dlq_url.rsplit("/", 1)[-1],
        )

    def put_order(
        self,
        order_id: str,
        account_id: str,
        side: Side,
        price: int,
        quantity: int,
        *,
        status: str,
        filled: int = 0,
        created: datetime,
        updated: datetime | None = None,
    ) -> dict[str, Any]:
        """An ``Orders`` item as intake (PENDING) or the matcher (everything else) leaves it."""
        item = {
            "order_id": {"S": order_id},
            "account_id": {"S": account_id},
            "symbol": {"S": SYMBOL},
            "side": {"S": side.value},
            "order_type": {"S": "LIMIT"},
            "time_in_force": {"S": "GTC"},
            "status": {"S": status},
            "price": {"N": str(price)},
            "quantity": {"N": str(quantity)},
            "filled_quantity": {"N": str(filled)},
            "remaining_quantity": {
                "N": str(quantity - filled if status in ("OPEN", "PARTIALLY_FILLED") else 0)
            },
            "created_at": {"S": iso(created)},
            "updated_at": {"S": iso(updated or created)},
        }
        self.ddb.put_item(TableName=self.orders_table, Item=item)
        return {
            "order_id": order_id,
            "account_id": account_id,
            "symbol": SYMBOL,
            "side": side.value,
            "order_type": "LIMIT",
            "status": status,
            "price": price,
            "quantity": quantity,
            "filled_quantity": filled,
            "created_at": iso(created),
            "updated_at": iso(updated or created),
        }

    def put_outbox(self, first_seq: int, events: list[tuple[str, dict[str, Any]]], created: datetime) -> None:
        """An outbox item as the matcher commits it (deleted once its events are published)."""
        self.ddb.put_item(
            TableName=self.books_table,
            Item={
                "symbol": {"S": SYMBOL},
                "sk": {"S": f"outbox#{first_seq:020d}"},
                "events": {"S": json.dumps([{"detail_type": t, "detail": d} for t, d in events])},
                "created_ms": {"N": str(int(created.timestamp() * 1000))},
                "token": {"S": "test"},
            },
        )

    def park_settlement(self, detail: dict[str, Any]) -> None:
        """What the settlement state machine's Catch sends to the DLQ."""
        body = {"detail": detail, "error": {"Error": "PermanentSettlementError", "Cause": "overdraft"}}
        self.sqs.send_message(QueueUrl=self.dlq_url, MessageBody=json.dumps(body))


class CleanExchange:
    """A settled trade between two filled orders (holds released), one order resting on the book,
    every ``Orders`` item quiet for an hour: what a healthy exchange looks like after trading."""

    def __init__(self, world: World, records: MatcherRecords) -> None:
        self.world, self.records = world, records
        self.now = datetime.now(UTC)
        self.an_hour_ago = self.now - timedelta(hours=1)
        world.account("seller", BTC=100_000_000)
        world.account("buyer", USD=20_000_000_000)
        world.account("maker", USD=50_000_000_000)
        world.order_hold("sell-1", "seller", Side.SELL, PRICE, 5_000)
        world.order_hold("buy-1", "buyer", Side.BUY, PRICE, 5_000)
        world.order_hold("rest-1", "maker", Side.BUY, REST_PRICE, 2_000)
        self.first_trade = trade(1, PRICE, 5_000, Side.BUY, ("seller", "sell-1"), ("buyer", "buy-1"))
        with world.conn:
            settle_trades(world.conn, [self.first_trade])
        for order_id, account, side in (("sell-1", "seller", Side.SELL), ("buy-1", "buyer", Side.BUY)):
            snapshot = records.put_order(
                order_id, account, side, PRICE, 5_000, status="FILLED", filled=5_000, created=self.an_hour_ago
            )
            with world.conn:
                archive_order(world.conn, snapshot)  # what the Orders stream does: releases the rest
        records.put_order(
            "rest-1", "maker", Side.BUY, REST_PRICE, 2_000, status="OPEN", created=self.an_hour_ago
        )
