"""The sample events in ``events/ws_*`` and ``events/notify`` run through their handlers."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import boto3
import pytest
from trading.adapters.api_keys import ApiKeysTable
from trading.auth import ApiKey, Scope, hash_secret, sign, ws_string_to_sign
from trading.domain.instruments import demo_instruments

EVENTS = Path(__file__).resolve().parents[3] / "events"
DEMO_KEY, DEMO_SECRET = "ak_demo_alice_local_key", "demo-secret-alice"


def _sample(path: str, connection_id: str) -> dict:
    event = json.loads((EVENTS / path).read_text())
    if "requestContext" in event:
        event["requestContext"]["connectionId"] = connection_id
    return event


@pytest.fixture
def samples(ws_env, realtime_handlers, lambda_context):
    tables, endpoint = ws_env
    instruments = boto3.resource("dynamodb").Table(tables.name("INSTRUMENTS_TABLE"))
    for instrument in demo_instruments():
        instruments.put_item(Item=instrument.model_dump(mode="json"))
    keys = ApiKeysTable(tables.name("API_KEYS_TABLE"))
    if keys.get(DEMO_KEY) is None:
        keys.put(ApiKey(DEMO_KEY, "acct-alice", hash_secret(DEMO_SECRET), frozenset({Scope.READ})))
    return tables, endpoint, realtime_handlers, lambda_context


def test_connect_samples_signed_is_accepted_once_fresh_and_unsigned_is_refused(samples):
    _, _, handlers, context = samples
    cid = uuid.uuid4().hex
    # Given the signed sample, with a fresh timestamp (the sample's own is outside the window)
    signed = _sample("ws_connect/signed.json", cid)
    stale = handlers["ws_connect"].handler(signed, context)
    ts = time.time_ns() // 1_000_000
    signed["queryStringParameters"].update(ts=str(ts), sig=sign(DEMO_SECRET, ws_string_to_sign(ts)))
    # When
    fresh = handlers["ws_connect"].handler(signed, context)
    unsigned = handlers["ws_connect"].handler(_sample("ws_connect/unsigned.json", cid + "x"), context)
    # Then
    assert stale == {"statusCode": 401, "body": "STALE_REQUEST"}
    assert fresh == {"statusCode": 200}
    assert unsigned == {"statusCode": 401, "body": "UNAUTHENTICATED"}


def test_message_notify_and_disconnect_samples(samples):
    tables, endpoint, handlers, context = samples
    cid = uuid.uuid4().hex
    ts = time.time_ns() // 1_000_000
    connect = _sample("ws_connect/signed.json", cid)
    connect["queryStringParameters"].update(ts=str(ts), sig=sign(DEMO_SECRET, ws_string_to_sign(ts)))
    assert handlers["ws_connect"].handler(connect, context) == {"statusCode": 200}
    # When every ws_messages sample is sent
    for name in ("subscribe_book", "subscribe_orders", "unsubscribe_trades", "ping", "malformed"):
        assert handlers["ws_messages"].handler(_sample(f"ws_messages/{name}.json", cid), context) == {
            "statusCode": 200
        }
    replies = [m["type"] for m in endpoint.messages(cid)]
    # Then
    assert replies == ["subscribed", "snapshot", "subscribed", "unsubscribed", "pong", "error"]
    # When the notify samples run (alice is the maker of the sample trade)
    assert handlers["notify"].handler(_sample("notify/trade_batch.json", cid), context) == {
        "batchItemFailures": []
    }
    partial = handlers["notify"].handler(_sample("notify/with_malformed_record.json", cid), context)
    # Then
    fills = [m for m in endpoint.messages(cid) if m["type"] == "order"]
    assert [(m["event"], m["order_id"]) for m in fills] == [("fill", "o-alice-7"), ("filled", "o-alice-7")]
    assert partial == {"batchItemFailures": [{"itemIdentifier": "1f0c6d0e-5c1a-4a53-9d0b-bad000000000"}]}
    # When
    assert handlers["ws_disconnect"].handler(_sample("ws_disconnect/client_closed.json", cid), context) == {
        "statusCode": 200
    }
    # Then
    items = tables.client.query(
        TableName=tables.name("CONNECTIONS_TABLE"),
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"conn#{cid}"}},
    )["Items"]
    assert items == []
