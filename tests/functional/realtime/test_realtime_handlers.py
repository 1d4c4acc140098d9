"""The four realtime Lambdas in-process: moto DynamoDB (tables from template.yaml) and a real
loopback ``@connections`` endpoint that the code reaches through boto3's management API client."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import boto3
import pytest
from trading.auth import ApiKey, Scope, hash_secret, sign, ws_string_to_sign
from trading.domain.instruments import demo_instruments

SECRET = "functional-secret"


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _signed(key: ApiKey, ts_ms: int | None = None, secret: str = SECRET) -> dict[str, str]:
    ts = _now_ms() if ts_ms is None else ts_ms
    return {"key": key.key_id, "ts": str(ts), "sig": sign(secret, ws_string_to_sign(ts))}


def envelope(detail_type: str, detail: dict[str, Any]) -> str:
    return json.dumps(
        {
            "detail-type": detail_type,
            "source": "trading.matcher",
            "time": "2026-11-25T12:00:00Z",
            "detail": detail,
        }
    )


def trade(symbol: str, seq: int, price: int, quantity: int, *, maker: str, taker: str) -> str:
    return envelope(
        "TradeExecuted",
        {
            "symbol": symbol,
            "seq": seq,
            "trade_id": f"{symbol}:{seq}",
            "price": price,
            "quantity": quantity,
            "taker_side": "BUY",
            "maker_order_id": f"o-{maker}",
            "taker_order_id": f"o-{taker}",
            "maker_account_id": maker,
            "taker_account_id": taker,
            "executed_at": "2026-11-25T12:00:00Z",
        },
    )


class World:
    """Drives the handlers like API Gateway would; connection ids are unique per test."""

    def __init__(self, tables, endpoint, handlers, context) -> None:
        self.tables, self.endpoint, self.handlers, self.context = tables, endpoint, handlers, context
        self.prefix = uuid.uuid4().hex[:6]
        resource = boto3.resource("dynamodb")
        instruments = resource.Table(tables.name("INSTRUMENTS_TABLE"))
        for instrument in demo_instruments():
            instruments.put_item(Item=instrument.model_dump(mode="json"))

    def cid(self, name: str) -> str:
        return f"{self.prefix}-{name}"

    def key(self, account_id: str) -> ApiKey:
        from trading.adapters.api_keys import ApiKeysTable

        key = ApiKey(f"ak_{uuid.uuid4().hex[:8]}", account_id, hash_secret(SECRET), frozenset({Scope.READ}))
        ApiKeysTable(self.tables.name("API_KEYS_TABLE")).put(key)
        return key

    def connect_raw(self, name: str, query: dict[str, str] | None) -> dict[str, Any]:
        event = {
            "queryStringParameters": query,
            "requestContext": {
                "routeKey": "$connect",
                "eventType": "CONNECT",
                "connectionId": self.cid(name),
            },
        }
        return self.handlers["ws_connect"].handler(event, self.context)

    def connect(self, name: str, account_id: str, *channels: str) -> str:
        assert self.connect_raw(name, _signed(self.key(account_id))) == {"statusCode": 200}
        for channel in channels:
            self.send(name, {"action": "subscribe", "channel": channel})
        return self.cid(name)

    def send(self, name: str, body: dict[str, Any]) -> None:
        context = {"routeKey": body.get("action"), "eventType": "MESSAGE", "connectionId": self.cid(name)}
        event = {"requestContext": context, "body": json.dumps(body)}
        assert self.handlers["ws_messages"].handler(event, self.context) == {"statusCode": 200}

    def disconnect(self, name: str) -> None:
        context = {"routeKey": "$disconnect", "eventType": "DISCONNECT", "connectionId": self.cid(name)}
        assert self.handlers["ws_disconnect"].handler({"requestContext": context}, self.context) == {
            "statusCode": 200
        }

    def notify(self, *bodies: str) -> dict[str, Any]:
        records = [
            {
                "messageId": f"m-{i}",
                "receiptHandle": f"rh-{i}",
                "body": body,
                "attributes": {},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:notifications",
                "awsRegion": "us-east-1",
            }
            for i, body in enumerate(bodies)
        ]
        return self.handlers["notify"].handler({"Records": records}, self.context)

    def items(self, name: str) -> list[dict[str, Any]]:
        return self.tables.client.query(
            TableName=self.tables.name("CONNECTIONS_TABLE"),
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"conn#{self.cid(name)}"}},
            ConsistentRead=True,
        )["Items"]

    def received(self, name: str, *types: str) -> list[dict[str, Any]]:
        return [m for m in self.endpoint.messages(self.cid(name)) if not types or m["type"] in types]

    def write_book(self, symbol: str, seq: int, levels: list[tuple[str, int, int]]) -> None:
        table = self.tables.name("ORDER_BOOKS_TABLE")
        for side, price, quantity in levels:
            item = {
                "symbol": {"S": symbol},
                "sk": {"S": f"level#{side}#{price:020d}"},
                "quantity": {"N": str(quantity)},
            }
            self.tables.client.put_item(TableName=table, Item=item)
        checkpoint = {"symbol": {"S": symbol}, "sk": {"S": "checkpoint"}, "seq": {"N": str(seq)}}
        self.tables.client.put_item(TableName=table, Item=checkpoint)


@pytest.fixture
def world(ws_env, realtime_handlers, lambda_context) -> World:
    tables, endpoint = ws_env
    return World(tables, endpoint, realtime_handlers, lambda_context)


# -- $connect / $disconnect -------------------------------------------------------------------------


def test_signed_connect_registers_the_connection_with_a_ttl(world):
    # When
    world.connect("c1", "acct-1")
    # Then
    [item] = world.items("c1")
    assert item["account_id"]["S"] == "acct-1"
    assert int(item["expires_at"]["N"]) > time.time() + 3600


@pytest.mark.parametrize(
    "query_of",
    [
        lambda key: None,
        lambda key: {"key": key.key_id},
        lambda key: _signed(key, secret="wrong-secret"),
        lambda key: _signed(key, ts_ms=_now_ms() - 120_000),
        lambda key: {**_signed(key), "key": "ak_nobody"},
    ],
    ids=["no-params", "no-signature", "bad-signature", "stale", "unknown-key"],
)
def test_unauthenticated_connect_is_refused_and_stores_nothing(world, query_of):
    # When
    result = world.connect_raw("cx", query_of(world.key("acct-1")))
    # Then
    assert result["statusCode"] in (401, 403)
    assert world.items("cx") == []


def test_disconnect_removes_the_connection_and_its_subscriptions(world):
    # Given
    world.connect("c1", "acct-1", "trades:BTC-USD", "orders")
    assert len(world.items("c1")) == 3
    # When
    world.disconnect("c1")
    # Then
    assert world.items("c1") == []


# -- messages -----------------------------------------------------------------------------------------


def test_subscribe_to_a_book_sends_subscribed_then_the_snapshot_at_the_checkpoint_seq(world):
    # Given a book as the matcher writes it: two bids, one ask, an emptied level, checkpoint seq 17
    world.write_book(
        "ETH-USD", 17, [("BUY", 200050, 1500), ("BUY", 199900, 20), ("SELL", 200100, 7), ("SELL", 200200, 0)]
    )
    world.connect("c1", "acct-1")
    # When
    world.send("c1", {"action": "subscribe", "channel": "book:ETH-USD", "id": "1"})
    # Then
    assert world.received("c1") == [
        {"type": "subscribed", "channel": "book:ETH-USD", "id": "1"},
        {
            "type": "snapshot",
            "channel": "book:ETH-USD",
            "seq": 17,
            "bids": [["2000.50", "1.500"], ["1999.00", "0.020"]],
            "asks": [["2001.00", "0.007"]],
        },
    ]


def test_ping_pong_and_errors_go_back_over_connections(world):
    # Given
    world.connect("c1", "acct-1")
    # When
    world.send("c1", {"action": "ping", "id": "p"})
    world.send("c1", {"action": "subscribe", "channel": "book:NOPE-USD"})
    # Then
    pong, error = world.received("c1")
    assert pong == {"type": "pong", "id": "p"}
    assert (error["type"], error["code"], error["channel"]) == ("error", "UNKNOWN_SYMBOL", "book:NOPE-USD")


# -- notify -------------------------------------------------------------------------------------------


def test_notify_fans_out_per_channel_in_one_post_per_connection(world):
    # Given account a on book+trades+orders and account b on trades+orders
    a = world.connect("a", "acct-a", "book:BTC-USD", "trades:BTC-USD", "orders")
    b = world.connect("b", "acct-b", "trades:BTC-USD", "orders")
    before = dict(world.endpoint.posts)
    book = {"symbol": "BTC-USD", "seq": 9, "changes": [{"side": "SELL", "price": 3000000, "quantity": 0}]}
    # When
    response = world.notify(
        envelope("BookUpdated", book), trade("BTC-USD", 8, 3000000, 5, maker="acct-a", taker="acct-b")
    )
    # Then
    assert response == {"batchItemFailures": []}
    assert world.endpoint.posts[a] - before[a] == 1 and world.endpoint.posts[b] - before[b] == 1
    a_got = [(m["type"], m["seq"]) for m in world.received("a", "trade", "order", "delta")]
    assert a_got == [("trade", 8), ("order", 8), ("delta", 9)]
    b_got = [(m["type"], m.get("order_id")) for m in world.received("b", "trade", "order", "delta")]
    assert b_got == [("trade", None), ("order", "o-acct-b")]


def test_gone_and_failing_connections_never_block_others_and_gone_ones_are_removed(world):
    # Given three subscribers; "gone" disconnected without $disconnect, "bad" is rejected
    for name in ("gone", "bad", "ok"):
        world.connect(name, f"acct-{name}", "trades:ETH-USD")
    world.endpoint.gone.add(world.cid("gone"))
    world.endpoint.failing.add(world.cid("bad"))
    # When
    response = world.notify(trade("ETH-USD", 3, 200000, 1500, maker="acct-x", taker="acct-y"))
    # Then
    assert response == {"batchItemFailures": []}
    assert [m["quantity"] for m in world.received("ok", "trade")] == ["1.500"]
    assert world.items("gone") == []
    assert len(world.items("bad")) == 2


def test_only_an_undeliverable_record_is_reported_as_a_batch_item_failure(world):
    # Given
    world.connect("c1", "acct-1", "book:BTC-USD")
    good = envelope("BookUpdated", {"symbol": "BTC-USD", "seq": 2, "changes": []})
    # When
    response = world.notify("{broken", good)
    # Then
    assert response == {"batchItemFailures": [{"itemIdentifier": "m-0"}]}
    assert [m["seq"] for m in world.received("c1", "delta")] == [2]


def test_private_orders_never_reach_another_accounts_connection(world):
    # Given two accounts subscribed to "orders"
    world.connect("one", "acct-one", "orders")
    world.connect("two", "acct-two", "orders")
    accepted = {
        "symbol": "BTC-USD",
        "seq": 4,
        "order_id": "o-one",
        "account_id": "acct-one",
        "side": "BUY",
        "order_type": "LIMIT",
        "price": 3000000,
        "quantity": 10,
        "status": "OPEN",
    }
    # When
    world.notify(envelope("OrderAccepted", accepted))
    # Then
    assert [m["order_id"] for m in world.received("one", "order")] == ["o-one"]
    assert world.received("two", "order") == []


def test_snapshot_waits_while_the_matcher_has_deferred_level_writes(world):
    # Given a batch whose level writes did not fit the transaction (still deferred in its outbox)
    from trading.realtime.snapshot import DynamoBookSource, UnstableSnapshotError

    table = world.tables.name("ORDER_BOOKS_TABLE")
    world.write_book("BTC-USD", 30, [("BUY", 3000000, 1)])
    outbox = {"symbol": {"S": "BTC-USD"}, "sk": {"S": f"outbox#{30:020d}"}, "deferred": {"S": "[]"}}
    world.tables.client.put_item(TableName=table, Item=outbox)
    source = DynamoBookSource(world.tables.client, table, pause=lambda attempt: None)
    # When / Then: no snapshot while levels may lag the checkpoint
    with pytest.raises(UnstableSnapshotError):
        source.snapshot("BTC-USD")
    # When the matcher applied the deferred writes
    world.tables.client.delete_item(TableName=table, Key={"symbol": outbox["symbol"], "sk": outbox["sk"]})
    # Then
    assert source.snapshot("BTC-USD").seq == 30
