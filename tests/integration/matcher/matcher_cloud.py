"""A throw-away slice of the stack in moto for one matcher test.

Tables are created from their definitions in ``template.yaml`` (the single source of truth), with
unique names so tests sharing a worker's moto server never see each other's data. The bus gets a
rule that copies every ``trading.matcher`` event to an observer SQS queue, so a test sees exactly
what EventBridge received.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from localcloud.template import create_table_request, load_template
from trading.domain.enums import OrderType, Side
from trading.domain.instruments import Instrument, demo_instruments
from trading.engine.codec import encode_command
from trading.engine.commands import Command, NewOrder
from trading.engine.rules import Grid, holding

REPO = Path(__file__).resolve().parents[3]
TABLES = {"orders": "OrdersTable", "books": "OrderBooksTable", "instruments": "InstrumentsTable"}


def table_definitions() -> dict[str, dict[str, Any]]:
    template = load_template(REPO / "template.yaml")
    return {name: template["Resources"][logical]["Properties"] for name, logical in TABLES.items()}


def _number(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int):
        return {"N": str(value)}
    return {"S": str(value)}


@dataclass
class MatcherCloud:
    endpoint: str
    prefix: str = field(default_factory=lambda: f"t{uuid.uuid4().hex[:10]}")
    group_scheme: str = "symbol"
    visibility_timeout: int = 30

    def __post_init__(self) -> None:
        kwargs = {"endpoint_url": self.endpoint, "region_name": "us-east-1"}
        self.ddb = boto3.client("dynamodb", **kwargs)
        self.sqs = boto3.client("sqs", **kwargs)
        self.events = boto3.client("events", **kwargs)
        self.names = {name: f"{self.prefix}-{name}" for name in TABLES}
        for name, props in table_definitions().items():
            self.ddb.create_table(**create_table_request(self.names[name], props, with_stream=False))
        self.queue_url = self.sqs.create_queue(
            QueueName=f"{self.prefix}-orders.fifo",
            Attributes={
                "FifoQueue": "true",
                "ContentBasedDeduplication": "false",
                "VisibilityTimeout": str(self.visibility_timeout),
            },
        )["QueueUrl"]
        self.bus = f"{self.prefix}-trading"
        self.events.create_event_bus(Name=self.bus)
        self.observer_url = self.sqs.create_queue(QueueName=f"{self.prefix}-observer")["QueueUrl"]
        observer_arn = self.sqs.get_queue_attributes(QueueUrl=self.observer_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        self.events.put_rule(
            Name=f"{self.prefix}-all",
            EventBusName=self.bus,
            EventPattern=json.dumps({"source": ["trading.matcher"]}),
        )
        self.events.put_targets(
            Rule=f"{self.prefix}-all",
            EventBusName=self.bus,
            Targets=[{"Id": "observer", "Arn": observer_arn}],
        )
        self.seen: list[dict[str, Any]] = []

    # -- setup ------------------------------------------------------------------------------------

    def env(self, **extra: str) -> dict[str, str]:
        return {
            "ORDERS_TABLE": self.names["orders"],
            "ORDER_BOOKS_TABLE": self.names["books"],
            "INSTRUMENTS_TABLE": self.names["instruments"],
            "ORDERS_QUEUE_URL": self.queue_url,
            "EVENT_BUS_NAME": self.bus,
            "MATCHER_WAIT_SECONDS": "1",
            "MATCHER_INSTRUMENT_REFRESH_SECONDS": "0",
            **extra,
        }

    def seed_instruments(self, instruments: Iterable[Instrument] | None = None) -> None:
        for instrument in instruments or demo_instruments():
            item = {k: _number(v) for k, v in instrument.model_dump(mode="json").items()}
            self.ddb.put_item(TableName=self.names["instruments"], Item=item)

    def set_status(self, symbol: str, status: str) -> None:
        self.ddb.update_item(
            TableName=self.names["instruments"],
            Key={"symbol": {"S": symbol}},
            UpdateExpression="SET #s = :s",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":s": {"S": status}},
        )

    def _put_pending(self, command: NewOrder) -> None:
        """Like intake: the PENDING item is written once (a resend never resets it)."""
        with contextlib.suppress(self.ddb.exceptions.ConditionalCheckFailedException):
            self.ddb.put_item(
                TableName=self.names["orders"],
                Item={
                    "order_id": {"S": command.order_id},
                    "account_id": {"S": command.account_id},
                    "symbol": {"S": command.symbol},
                    "status": {"S": "PENDING"},
                    "created_at": {"S": "2026-11-25T00:00:00.000000Z"},
                },
                ConditionExpression="attribute_not_exists(order_id)",
            )

    def send(self, command: Command, dedup_id: str | None = None) -> None:
        """What intake does: a PENDING ``Orders`` item for a new order, then the FIFO message."""
        if isinstance(command, NewOrder):
            self._put_pending(command)
        group = command.symbol if self.group_scheme == "symbol" else f"{command.symbol}|{command.account_id}"
        self.sqs.send_message(
            QueueUrl=self.queue_url,
            MessageBody=encode_command(command).decode(),
            MessageGroupId=group,
            MessageDeduplicationId=dedup_id or command.order_id,
        )

    def send_many(self, commands: Iterable[Command]) -> None:
        """``send`` for many new orders with the batch APIs (fewer round trips to moto)."""
        batch = list(commands)
        for start in range(0, len(batch), 25):
            requests = [
                {
                    "PutRequest": {
                        "Item": {
                            "order_id": {"S": c.order_id},
                            "account_id": {"S": c.account_id},
                            "symbol": {"S": c.symbol},
                            "status": {"S": "PENDING"},
                            "created_at": {"S": "2026-11-25T00:00:00.000000Z"},
                        }
                    }
                }
                for c in batch[start : start + 25]
                if isinstance(c, NewOrder)
            ]
            if requests:
                self.ddb.batch_write_item(RequestItems={self.names["orders"]: requests})
        for start in range(0, len(batch), 10):
            entries = [
                {
                    "Id": str(n),
                    "MessageBody": encode_command(c).decode(),
                    "MessageGroupId": c.symbol
                    if self.group_scheme == "symbol"
                    else f"{c.symbol}|{c.account_id}",
                    "MessageDeduplicationId": c.order_id,
                }
                for n, c in enumerate(batch[start : start + 10])
            ]
            self.sqs.send_message_batch(QueueUrl=self.queue_url, Entries=entries)

    # -- observation ------------------------------------------------------------------------------

    def drain_events(self, wait_seconds: int = 1) -> list[dict[str, Any]]:
        """Every event EventBridge delivered so far (accumulated across calls)."""
        while True:
            got = self.sqs.receive_message(
                QueueUrl=self.observer_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_seconds
            ).get("Messages", [])
            if not got:
                return self.seen
            for message in got:
                self.seen.append(json.loads(message["Body"]))
            self.sqs.delete_message_batch(
                QueueUrl=self.observer_url,
                Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(got)],
            )
            wait_seconds = 0

    def order(self, order_id: str) -> dict[str, Any]:
        item = self.ddb.get_item(TableName=self.names["orders"], Key={"order_id": {"S": order_id}})["Item"]
        return {k: _plain(v) for k, v in item.items()}

    def book_items(self, symbol: str) -> dict[str, dict[str, Any]]:
        items = self.ddb.query(
            TableName=self.names["books"],
            KeyConditionExpression="symbol = :s",
            ExpressionAttributeValues={":s": {"S": symbol}},
        )["Items"]
        return {i["sk"]["S"]: {k: _plain(v) for k, v in i.items()} for i in items}

    def levels(self, symbol: str) -> dict[tuple[str, int], int]:
        return {
            (v["side"], v["price"]): v["quantity"]
            for k, v in self.book_items(symbol).items()
            if k.startswith("level#")
        }

    def checkpoint(self, symbol: str) -> int:
        return int(self.book_items(symbol).get("checkpoint", {}).get("seq", 0))

    def queue_empty(self) -> bool:
        attrs = self.sqs.get_queue_attributes(
            QueueUrl=self.queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return (
            attrs["ApproximateNumberOfMessages"] == "0"
            and attrs["ApproximateNumberOfMessagesNotVisible"] == "0"
        )

    # -- the real service as a subprocess -----------------------------------------------------------

    def start_matcher(self, log_path: Path, **extra: str) -> Proc:
        env = {**os.environ, "AWS_ENDPOINT_URL": self.endpoint, "MATCHER_HTTP_PORT": "0", **self.env(**extra)}
        entrypoint = Path(sys.executable).with_name("matcher-service")
        with log_path.open("ab") as log:
            popen = subprocess.Popen([str(entrypoint)], env=env, stdout=log, stderr=subprocess.STDOUT)
        return Proc(popen, log_path)

    def outbox(self, symbol: str) -> list[str]:
        return [k for k in self.book_items(symbol) if k.startswith("outbox#")]

    def all_orders(self) -> dict[str, dict[str, Any]]:
        items = self.ddb.scan(TableName=self.names["orders"], ConsistentRead=True)["Items"]
        return {i["order_id"]["S"]: {k: _plain(v) for k, v in i.items()} for i in items}


@dataclass
class Proc:
    """A ``matcher-service`` subprocess and its log."""

    popen: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def port(self) -> int:
        """The HTTP port the service bound (it logs it once listening)."""
        found: list[int] = []

        def listening() -> bool:
            match = re.search(r"listening on port (\d+)", self.log())
            if match:
                found.append(int(match.group(1)))
            return bool(found) or self.popen.poll() is not None

        wait_until(listening)
        assert found, self.log()
        return found[0]

    def get(self, path: str) -> tuple[int, dict[str, Any]]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port()}{path}", timeout=5) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    def wait(self, timeout: float = 60.0) -> int:
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            raise AssertionError(f"matcher did not exit; log:\n{self.log()}") from None

    def stop(self, timeout: float = 60.0) -> int:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
        return self.wait(timeout)


def _plain(attr: Mapping[str, Any]) -> Any:
    (kind, value), *_ = attr.items()
    if kind == "N":
        return int(value)
    if kind == "SS":
        return set(value)
    if kind == "BOOL":
        return bool(value)
    return value


def wait_until(predicate: Any, timeout: float = 90.0, interval: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(interval)


def limit(
    order_id: str, account: str, side: Side, price: int, quantity: int, *, symbol: str = "BTC-USD"
) -> NewOrder:
    instrument = next(i for i in demo_instruments() if i.symbol == symbol)
    return holding(
        Grid(instrument),
        NewOrder(
            order_id, account, symbol, side, OrderType.LIMIT, price, quantity, client_order_id=f"c-{order_id}"
        ),
    )


def by_type(events: list[dict[str, Any]], detail_type: str) -> list[dict[str, Any]]:
    return [e["detail"] for e in events if e["detail-type"] == detail_type]


def check_exactly_once(
    cloud: MatcherCloud, symbol: str, order_ids: Iterable[str], *, replays_allowed: bool = False
) -> list[dict[str, Any]]:
    """Every order accounted for exactly once; returns the events deduplicated by (symbol, seq).

    ``replays_allowed``: an event may arrive more than once (publish is at-least-once between
    PutEvents and the outbox delete), but only as a byte-identical replay of the same (symbol, seq).
    """
    by_seq: dict[int, dict[str, Any]] = {}
    for event in cloud.drain_events():
        detail = event["detail"]
        assert detail["symbol"] == symbol
        previous = by_seq.setdefault(detail["seq"], event)
        if previous is not event:
            assert replays_allowed, f"duplicate event for seq {detail['seq']}"
            assert (previous["detail-type"], previous["detail"]) == (event["detail-type"], detail)
    events = [by_seq[seq] for seq in sorted(by_seq)]
    checkpoint = cloud.checkpoint(symbol)
    assert sorted(by_seq) == list(range(1, checkpoint + 1)), "events are not gap-free 1..checkpoint"
    assert cloud.outbox(symbol) == []
    orders = cloud.all_orders()
    ids = list(order_ids)
    fills: dict[str, int] = dict.fromkeys(ids, 0)
    outcomes: dict[str, int] = dict.fromkeys(ids, 0)
    for event in events:
        detail, kind = event["detail"], event["detail-type"]
        if kind == "TradeExecuted":
            fills[detail["maker_order_id"]] += detail["quantity"]
            fills[detail["taker_order_id"]] += detail["quantity"]
        elif kind == "OrderAccepted" or (kind == "OrderRejected" and detail["request"] == "new"):
            outcomes[detail["order_id"]] += 1
    for order_id in ids:
        order = orders[order_id]
        assert order["status"] != "PENDING", f"{order_id} was never matched"
        assert outcomes[order_id] == 1, f"{order_id} accepted/rejected {outcomes[order_id]} times"
        assert order.get("filled_quantity", 0) == fills[order_id], order_id
    resting: dict[tuple[str, int], int] = {}
    resting_ids: set[str] = set()
    for order in orders.values():
        if order.get("symbol") == symbol and order["status"] in ("OPEN", "PARTIALLY_FILLED"):
            key = (order["side"], order["price"])
            resting[key] = resting.get(key, 0) + order["remaining_quantity"]
            resting_ids.add(order["order_id"])
    assert cloud.levels(symbol) == resting
    # the sparse by-book index holds exactly the resting orders, and the checkpoint counts them
    indexed = {o["order_id"] for o in orders.values() if o.get("book_symbol") == symbol}
    assert indexed == resting_ids
    assert cloud.book_items(symbol)["checkpoint"].get("resting") == len(resting_ids)
    return events
