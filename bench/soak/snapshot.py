"""One read of every store after quiescence: PostgreSQL (the runtime's DSN), DynamoDB
``Orders``/``OrderBooks`` (moto endpoint), SQS queue depths, the Step Functions executions still
running, and what the matcher published (the ``TradingBus`` archive)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from localcloud.moto_cloud import ACCOUNT_ID
from moto.events.models import events_backends
from trading.adapters.dynamo import plain

from bench.soak.world import SYMBOLS, World


@dataclass
class Snapshot:
    balances: list[tuple[str, str, int, int]] = field(default_factory=list)  # account, asset, avail, held
    holds: list[tuple[str, str, str, int, str]] = field(
        default_factory=list
    )  # order, account, asset, rem, status
    trades: dict[str, dict[str, Any]] = field(default_factory=dict)  # trade_id -> row
    transfers: dict[str, int] = field(default_factory=dict)  # asset -> deposits - withdrawals
    soak_transfers: dict[str, int] = field(default_factory=dict)  # the same, soak accounts only
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)  # Orders items by id
    levels: dict[str, dict[tuple[str, int], int]] = field(
        default_factory=dict
    )  # symbol -> (side, price) -> qty
    checkpoints: dict[str, int] = field(default_factory=dict)  # symbol -> seq
    outbox_items: int = 0
    queues: dict[str, int] = field(default_factory=dict)  # logical id -> visible + in flight
    running_executions: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)  # matcher events: detail-type + detail


def _pg(world: World, snapshot: Snapshot) -> None:
    with world.pg().cursor() as cur:
        cur.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")  # one snapshot for every read
        try:
            cur.execute("SELECT account_id, asset, available, held FROM balances")
            snapshot.balances = [(a, s, int(v), int(h)) for a, s, v, h in cur.fetchall()]
            cur.execute("SELECT order_id, account_id, asset, remaining, status FROM holds")
            snapshot.holds = [(o, a, s, int(r), st) for o, a, s, r, st in cur.fetchall()]
            cur.execute(
                "SELECT trade_id, symbol, seq, price, quantity, taker_side, maker_order_id, taker_order_id,"
                " maker_account_id, taker_account_id FROM trades"
            )
            columns = [c[0] for c in cur.description]
            snapshot.trades = {row[0]: dict(zip(columns, row, strict=True)) for row in cur.fetchall()}
            cur.execute(
                "SELECT asset, account_id, sum(CASE direction WHEN 'DEPOSIT' THEN amount ELSE -amount END)"
                " FROM transfers GROUP BY asset, account_id"
            )
            for asset, account_id, net in cur.fetchall():
                snapshot.transfers[asset] = snapshot.transfers.get(asset, 0) + int(net)
                if account_id in world.accounts:
                    snapshot.soak_transfers[asset] = snapshot.soak_transfers.get(asset, 0) + int(net)
        finally:
            cur.execute("ROLLBACK")


def _scan(table: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"ConsistentRead": True}
    while True:
        page = table.scan(**kwargs)
        items.extend(plain(item) for item in page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _dynamodb(world: World, snapshot: Snapshot) -> None:
    snapshot.orders = {item["order_id"]: item for item in _scan(world.table("OrdersTable"))}
    for item in _scan(world.table("OrderBooksTable")):
        symbol, sk = str(item["symbol"]), str(item["sk"])
        if sk == "checkpoint":
            snapshot.checkpoints[symbol] = int(item.get("seq", 0))
        elif sk.startswith("level#"):
            _, side, price = sk.split("#")
            snapshot.levels.setdefault(symbol, {})[(side, int(price))] = int(item.get("quantity", 0))
        elif sk.startswith("outbox#"):
            snapshot.outbox_items += 1
    for symbol in SYMBOLS:
        snapshot.levels.setdefault(symbol, {})


def queue_depths(world: World) -> dict[str, int]:
    sqs = world.aws("sqs")
    depths = {}
    for logical_id, url in world.queue_urls().items():
        attributes = sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        depths[logical_id] = int(attributes["ApproximateNumberOfMessages"]) + int(
            attributes["ApproximateNumberOfMessagesNotVisible"]
        )
    return depths


def running_executions(world: World) -> int:
    sfn = world.aws("stepfunctions")
    arn = world.runtime.physical_ids["SettlementStateMachine"]
    pages = sfn.get_paginator("list_executions").paginate(stateMachineArn=arn, statusFilter="RUNNING")
    return sum(len(page["executions"]) for page in pages)


def published_events(world: World) -> list[dict[str, Any]]:
    """Every event the matcher put on the bus, as archived by the template's ``TradingArchive``
    (moto keeps archives in this process; AWS would replay them to a rule)."""
    bus = world.env("EVENT_BUS_NAME")
    backend = events_backends[ACCOUNT_ID][world.runtime.region]
    archives = [a for a in list(backend.archives.values()) if a.event_bus_name == bus]
    if not archives:
        raise RuntimeError(f"no EventBridge archive on bus {bus!r}")
    events = []
    for event in list(archives[0].events):
        if event.get("source") != "trading.matcher":
            continue
        detail = event.get("detail")
        events.append(
            {
                "type": event.get("detail-type"),
                "detail": json.loads(detail) if isinstance(detail, str) else detail,
            }
        )
    return events


def take(world: World) -> Snapshot:
    snapshot = Snapshot()
    snapshot.queues = queue_depths(world)
    snapshot.running_executions = running_executions(world)
    _pg(world, snapshot)
    _dynamodb(world, snapshot)
    snapshot.events = published_events(world)
    return snapshot
