"""The hold sweeper's view of ``Orders`` through DynamoDB (moto)."""

import uuid
from decimal import Decimal
from typing import Any

import boto3
import pytest
from trading.ledger.orders import DynamoOrdersLookup, to_snapshot


@pytest.fixture
def orders_table(moto_endpoint: str) -> tuple[Any, str]:
    resource = boto3.resource("dynamodb", endpoint_url=moto_endpoint, region_name="us-east-1")
    name = f"orders-{uuid.uuid4().hex[:8]}"
    resource.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "order_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "order_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return resource, name


def test_batch_reads_more_than_one_page_and_skips_missing_orders(orders_table: tuple[Any, str]) -> None:
    # Given 150 orders in the table
    resource, name = orders_table
    with resource.Table(name).batch_writer() as batch:
        for n in range(150):
            batch.put_item(
                Item={
                    "order_id": f"o{n}", "account_id": "a", "symbol": "BTC-USD", "side": "BUY",
                    "order_type": "LIMIT", "status": "FILLED", "price": Decimal(3_000_000),
                    "quantity": Decimal(5), "filled_quantity": Decimal(5),
                    "created_at": "2026-11-25T12:00:00.000000Z", "updated_at": "2026-11-25T12:00:01.000000Z",
                }
            )  # fmt: skip
    # When 150 present and 10 missing ids are looked up
    found = DynamoOrdersLookup(name, resource).get_orders([f"o{n}" for n in range(160)])
    # Then every present order comes back, decoded into an archive snapshot with int quantities
    assert len(found) == 150 and "o155" not in found
    snapshot = to_snapshot(found["o42"])
    assert snapshot.filled_quantity == 5 and isinstance(snapshot.filled_quantity, int)
    assert snapshot.status.is_terminal


def test_expire_pending_rejects_only_a_pending_order(orders_table: tuple[Any, str]) -> None:
    # Given a PENDING order and an OPEN one
    resource, name = orders_table
    table = resource.Table(name)
    table.put_item(Item={"order_id": "p", "status": "PENDING", "created_at": "2026-11-25T12:00:00.000000Z"})
    table.put_item(Item={"order_id": "o", "status": "OPEN", "created_at": "2026-11-25T12:00:00.000000Z"})
    lookup = DynamoOrdersLookup(name, resource)
    # When both are expired (the PENDING one twice)
    outcomes = [lookup.expire_pending("p"), lookup.expire_pending("p"), lookup.expire_pending("o")]
    # Then only the first call on the PENDING order wins; the OPEN order is untouched
    assert outcomes == [True, False, False]
    rejected = table.get_item(Key={"order_id": "p"}, ConsistentRead=True)["Item"]
    assert (rejected["status"], rejected["reject_code"]) == ("REJECTED", "INTAKE_EXPIRED")
    assert rejected["updated_at"] > rejected["created_at"]
    assert table.get_item(Key={"order_id": "o"}, ConsistentRead=True)["Item"]["status"] == "OPEN"
