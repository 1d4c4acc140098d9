"""``TransactWriteItems`` after the runtime's patch (``localcloud.transactions``): still all or
nothing, as in AWS, with the rollback done item by item instead of by copying whole tables."""

from __future__ import annotations

import uuid
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from localcloud.moto_cloud import install_patches

pytestmark = pytest.mark.xdist_group("localcloud")


@pytest.fixture
def ddb(moto_endpoint):
    install_patches()
    return boto3.client("dynamodb", endpoint_url=moto_endpoint, region_name="us-east-1")


@pytest.fixture
def orders(ddb) -> str:
    """A table like OrdersTable: hash key, a sparse GSI and a stream."""
    name = f"orders-{uuid.uuid4().hex[:8]}"
    ddb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "order_id", "AttributeType": "S"},
            {"AttributeName": "book_symbol", "AttributeType": "S"},
            {"AttributeName": "priority_seq", "AttributeType": "N"},
        ],
        KeySchema=[{"AttributeName": "order_id", "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-book",
                "KeySchema": [
                    {"AttributeName": "book_symbol", "KeyType": "HASH"},
                    {"AttributeName": "priority_seq", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    for i in range(3):
        ddb.put_item(
            TableName=name,
            Item={
                "order_id": {"S": f"o{i}"},
                "status": {"S": "OPEN"},
                "book_symbol": {"S": "BTC-USD"},
                "priority_seq": {"N": str(i + 1)},
            },
        )
    return name


@pytest.fixture
def books(ddb) -> str:
    """A table like OrderBooksTable: hash and range key."""
    name = f"books-{uuid.uuid4().hex[:8]}"
    ddb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "symbol", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        KeySchema=[
            {"AttributeName": "symbol", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
    )
    ddb.put_item(
        TableName=name, Item={"symbol": {"S": "BTC-USD"}, "sk": {"S": "checkpoint"}, "seq": {"N": "7"}}
    )
    return name


def state(ddb, orders: str, books: str) -> dict[str, Any]:
    """Everything a transaction could have changed: items, the index, the stream."""
    stream_arn = ddb.describe_table(TableName=orders)["Table"]["LatestStreamArn"]
    streams = boto3.client("dynamodbstreams", endpoint_url=ddb.meta.endpoint_url, region_name="us-east-1")
    shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(
        StreamArn=stream_arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )
    records = streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"]
    return {
        "orders": sorted(map(str, ddb.scan(TableName=orders, ConsistentRead=True)["Items"])),
        "books": sorted(map(str, ddb.scan(TableName=books, ConsistentRead=True)["Items"])),
        "index": ddb.query(
            TableName=orders,
            IndexName="by-book",
            KeyConditionExpression="book_symbol = :s",
            ExpressionAttributeValues={":s": {"S": "BTC-USD"}},
        )["Items"],
        "stream_records": len(records),
    }


def matcher_like_commit(orders: str, books: str, *, prev_seq: int) -> list[dict[str, Any]]:
    """Fill o0 (off the index), add o9 (onto it), delete o1, move the fenced checkpoint."""
    return [
        {
            "Update": {
                "TableName": orders,
                "Key": {"order_id": {"S": "o0"}},
                "UpdateExpression": "SET #st = :filled REMOVE book_symbol",
                "ExpressionAttributeNames": {"#st": "status"},
                "ExpressionAttributeValues": {":filled": {"S": "FILLED"}},
            }
        },
        {
            "Put": {
                "TableName": orders,
                "Item": {
                    "order_id": {"S": "o9"},
                    "status": {"S": "OPEN"},
                    "book_symbol": {"S": "BTC-USD"},
                    "priority_seq": {"N": "9"},
                },
                "ConditionExpression": "attribute_not_exists(order_id)",
            }
        },
        {"Delete": {"TableName": orders, "Key": {"order_id": {"S": "o1"}}}},
        {
            "Update": {
                "TableName": books,
                "Key": {"symbol": {"S": "BTC-USD"}, "sk": {"S": "checkpoint"}},
                "UpdateExpression": "SET #seq = :new",
                "ConditionExpression": "#seq = :prev",
                "ExpressionAttributeNames": {"#seq": "seq"},
                "ExpressionAttributeValues": {":new": {"N": "8"}, ":prev": {"N": str(prev_seq)}},
            }
        },
    ]


def test_a_transaction_whose_last_condition_fails_changes_nothing(ddb, orders, books):
    # Given the tables as they are
    before = state(ddb, orders, books)

    # When a commit whose fence (the last operation) does not hold is sent
    with pytest.raises(ClientError) as raised:
        ddb.transact_write_items(TransactItems=matcher_like_commit(orders, books, prev_seq=6))

    # Then it is cancelled with the failing operation named, and no item, index entry or stream
    # record of the three operations before it remains
    error = raised.value.response
    assert error["Error"]["Code"] == "TransactionCanceledException"
    assert [r["Code"] for r in error["CancellationReasons"]] == [
        "None",
        "None",
        "None",
        "ConditionalCheckFailed",
    ]
    assert state(ddb, orders, books) == before


def test_two_operations_on_one_item_are_refused_and_change_nothing(ddb, orders, books):
    before = state(ddb, orders, books)
    items = matcher_like_commit(orders, books, prev_seq=7)
    items.append({"Delete": {"TableName": orders, "Key": {"order_id": {"S": "o0"}}}})

    with pytest.raises(ClientError) as raised:
        ddb.transact_write_items(TransactItems=items)

    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert state(ddb, orders, books) == before


def test_a_transaction_whose_conditions_hold_applies_every_operation(ddb, orders, books):
    before = state(ddb, orders, books)

    ddb.transact_write_items(TransactItems=matcher_like_commit(orders, books, prev_seq=7))

    after = state(ddb, orders, books)
    statuses = {
        item["order_id"]["S"]: item["status"]["S"]
        for item in ddb.scan(TableName=orders, ConsistentRead=True)["Items"]
    }
    assert statuses == {"o0": "FILLED", "o2": "OPEN", "o9": "OPEN"}
    assert sorted(i["order_id"]["S"] for i in after["index"]) == ["o2", "o9"]
    assert after["stream_records"] == before["stream_records"] + 3
    checkpoint = ddb.get_item(TableName=books, Key={"symbol": {"S": "BTC-USD"}, "sk": {"S": "checkpoint"}})
    assert checkpoint["Item"]["seq"] == {"N": "8"}


def test_a_transaction_on_an_unknown_table_is_refused_as_before(ddb, orders, books):
    before = state(ddb, orders, books)
    items = matcher_like_commit(orders, books, prev_seq=7)
    items.append({"Delete": {"TableName": "no-such-table", "Key": {"order_id": {"S": "x"}}}})

    with pytest.raises(ClientError):
        ddb.transact_write_items(TransactItems=items)

    assert state(ddb, orders, books) == before
