"""Daily trade-log export to S3 (moto) and its restore/query path."""

import gzip
import json
import subprocess
import sys
import uuid
from datetime import UTC, date, datetime
from typing import Any

import boto3
import pytest
from ledger_world import World
from trading.tradelog import export_day, object_key, query_day, request_restore
from trading.tradelog.restore import NotRestoredError

DAY = date(2026, 11, 25)


def insert_trade(world: World, symbol: str, seq: int, executed_at: datetime, account: str = "a") -> None:
    world.execute(
        """INSERT INTO trades (trade_id, symbol, seq, price, quantity, taker_side, maker_order_id,
               taker_order_id, maker_account_id, taker_account_id, maker_fee, taker_fee, executed_at)
           VALUES (%s, %s, %s, 3000000, 7, 'BUY', 'm', 't', %s, 'b', 2, 4, %s)""",
        (f"{symbol}:{seq}", symbol, seq, account, executed_at),
    )


@pytest.fixture
def s3(moto_endpoint: str) -> tuple[Any, str]:
    client = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    bucket = f"trade-log-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    return client, bucket


def seed(world: World) -> None:
    insert_trade(world, "BTC-USD", 2, datetime(2026, 11, 25, 23, 59, 59, 999_999, tzinfo=UTC))
    insert_trade(world, "BTC-USD", 1, datetime(2026, 11, 25, 0, 0, tzinfo=UTC), account="zed")
    insert_trade(world, "ETH-USD", 1, datetime(2026, 11, 25, 12, 0, tzinfo=UTC))
    insert_trade(world, "BTC-USD", 3, datetime(2026, 11, 26, 0, 0, tzinfo=UTC))  # the next day
    insert_trade(world, "BTC-USD", 0, datetime(2026, 11, 24, 23, 59, 59, tzinfo=UTC))  # the day before


def test_a_day_is_exported_as_gzip_json_lines_per_symbol(world: World, s3: tuple[Any, str]) -> None:
    # Given trades on the day and on both neighbouring days
    client, bucket = s3
    seed(world)
    # When the day is exported
    with world.conn:
        result = export_day(world.conn, client, bucket, DAY)
    # Then one object per symbol holds exactly that day's trades in sequence order, ints intact
    assert result.counts == {"BTC-USD": 2, "ETH-USD": 1}
    key = "trades/date=2026-11-25/symbol=BTC-USD/part-0000.jsonl.gz"
    assert key == object_key(DAY, "BTC-USD") and key in result.keys
    lines = gzip.decompress(client.get_object(Bucket=bucket, Key=key)["Body"].read()).splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["seq"] for r in records] == [1, 2]
    assert records[0]["price"] == 3_000_000 and records[0]["taker_fee"] == 4
    assert records[1]["executed_at"] == "2026-11-25T23:59:59.999999Z"


def test_exporting_again_writes_identical_objects(world: World, s3: tuple[Any, str]) -> None:
    # Given an exported day
    client, bucket = s3
    seed(world)
    with world.conn:
        export_day(world.conn, client, bucket, DAY)
    first = client.get_object(Bucket=bucket, Key=object_key(DAY, "ETH-USD"))["ETag"]
    # When it is exported again (a retried schedule)
    with world.conn:
        export_day(world.conn, client, bucket, DAY)
    # Then the object is byte-identical
    assert client.get_object(Bucket=bucket, Key=object_key(DAY, "ETH-USD"))["ETag"] == first


def test_a_day_is_queried_back_by_symbol_and_account(world: World, s3: tuple[Any, str]) -> None:
    client, bucket = s3
    seed(world)
    with world.conn:
        export_day(world.conn, client, bucket, DAY)
    assert len(list(query_day(client, bucket, DAY))) == 3
    assert [t["trade_id"] for t in query_day(client, bucket, DAY, symbol="ETH-USD")] == ["ETH-USD:1"]
    assert [t["trade_id"] for t in query_day(client, bucket, DAY, account_id="zed")] == ["BTC-USD:1"]


def test_an_archived_day_must_be_restored_before_it_is_read(world: World, s3: tuple[Any, str]) -> None:
    # Given an exported day that the lifecycle rule moved to Glacier
    client, bucket = s3
    seed(world)
    with world.conn:
        result = export_day(world.conn, client, bucket, DAY)
    for key in result.keys:
        client.copy_object(
            Bucket=bucket, Key=key, CopySource={"Bucket": bucket, "Key": key}, StorageClass="GLACIER"
        )
    # When it is queried / Then it says it must be restored first
    with pytest.raises(NotRestoredError):
        list(query_day(client, bucket, DAY))
    # When a restore is requested
    statuses = request_restore(client, bucket, DAY)
    # Then every archived object was asked for, and once restored the day reads back
    assert {s.storage_class for s in statuses} == {"GLACIER"} and all(s.requested for s in statuses)
    assert len(list(query_day(client, bucket, DAY))) == 3


def test_the_admin_command_exports_and_queries_a_day(
    world: World, s3: tuple[Any, str], moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given trades in the database
    _, bucket = s3
    seed(world)
    env = {"AWS_ENDPOINT_URL": moto_endpoint, "AWS_DEFAULT_REGION": "us-east-1"}
    for k, v in env.items():
        monkeypatch.setenv(k, v)

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "trading.tradelog", *args], capture_output=True, text=True, check=False
        )

    # When the day is exported and then queried for one symbol through the CLI
    exported = cli("export", "--dsn", world.dsn, "--bucket", bucket, "--date", "2026-11-25")
    queried = cli("query", "--bucket", bucket, "--date", "2026-11-25", "--symbol", "BTC-USD")
    # Then both succeed and the query prints that symbol's trades
    assert exported.returncode == 0, exported.stderr
    assert json.loads(exported.stdout)["counts"] == {"BTC-USD": 2, "ETH-USD": 1}
    assert queried.returncode == 0, queried.stderr
    assert [json.loads(line)["trade_id"] for line in queried.stdout.splitlines()] == [
        "BTC-USD:1",
        "BTC-USD:2",
    ]


def test_export_streams_through_an_autocommit_reader_in_small_fetches(
    world: World, s3: tuple[Any, str]
) -> None:
    # Given the reader-style (autocommit) connection the Lambda uses, and a fetch size of one row
    import psycopg2

    client, bucket = s3
    seed(world)
    reader = psycopg2.connect(world.dsn)
    reader.set_session(readonly=True, autocommit=True)
    try:
        # When the day is exported
        result = export_day(reader, client, bucket, DAY, fetch_size=1)
    finally:
        reader.close()
    # Then every symbol's file is complete and readable back
    assert result.counts == {"BTC-USD": 2, "ETH-USD": 1}
    assert [t["trade_id"] for t in query_day(client, bucket, DAY)] == ["BTC-USD:1", "BTC-USD:2", "ETH-USD:1"]
