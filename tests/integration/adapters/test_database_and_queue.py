"""Database connections from a Secrets Manager secret, and the orders queue's group ids (moto)."""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import urlparse

import boto3
import pytest
from trading.adapters import aws
from trading.adapters.database import Database, DatabaseConfig
from trading.adapters.orders_queue import OrdersQueue, group_id
from trading.domain.enums import OrderType, Side
from trading.engine.codec import decode_command, encode_command
from trading.services.orders import new_command
from trading.services.records import OrderRecord
from trading.settings import DatabaseSettings


@pytest.fixture
def aws_env(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    aws.reset()
    yield
    aws.reset()


def test_writer_and_reader_connect_with_the_secrets_credentials(aws_env, db_dsn: str) -> None:
    # Given the database credentials in a secret, as Aurora's are
    dsn = urlparse(db_dsn)
    arn = boto3.client("secretsmanager").create_secret(
        Name=f"db-{uuid.uuid4().hex[:8]}",
        SecretString=json.dumps({"username": dsn.username, "password": dsn.password or ""}),
    )["ARN"]
    settings = DatabaseSettings(
        db_secret_arn=arn,
        db_writer_host=str(dsn.hostname),
        db_reader_host=str(dsn.hostname),
        db_port=int(dsn.port or 5432),
        db_name=dsn.path.lstrip("/"),
        db_pool_max=3,
        db_sslmode="disable",  # the embedded PostgreSQL has no TLS
    )
    # When connections are borrowed
    config = DatabaseConfig.from_settings(settings)
    database = Database(config)
    with database.writer() as writer, writer.cursor() as cur:
        cur.execute("SELECT count(*), current_setting('application_name') FROM assets")
        # Then both work, named by their role, and the reader is read-only
        assert cur.fetchone() == (3, "trading-writer")
    with database.reader() as reader, reader.cursor() as cur:
        cur.execute("SELECT current_setting('transaction_read_only'), current_setting('application_name')")
        assert cur.fetchone() == ("on", "trading-reader")
    # And the pools are bounded by the settings, and hold on to their connection between borrows
    assert config.pool_max == 3
    assert {name: (s.max_size, s.size, s.in_use) for name, s in database.stats().items()} == {
        "writer": (3, 1, 0),
        "reader": (3, 1, 0),
    }
    # And a connection closed behind the pool's back is replaced on the next borrow
    writer.close()
    with database.writer() as again, again.cursor() as cur:
        assert again is not writer
        cur.execute("SELECT 1")
    assert database.stats()["writer"].discarded == 1
    database.close()


@pytest.fixture
def fifo_queue(aws_env) -> tuple[Any, str]:
    """An SQS client and the URL of a fresh FIFO queue like ``orders.fifo``."""
    sqs = boto3.client("sqs")
    name = f"orders-{uuid.uuid4().hex[:8]}.fifo"
    return sqs, sqs.create_queue(QueueName=name, Attributes={"FifoQueue": "true"})["QueueUrl"]


def _limit_order(side: Side) -> OrderRecord:
    """A limit order record whose options are all at their default."""
    return OrderRecord(
        order_id="o1",
        account_id="alice",
        symbol="BTC-USD",
        side=side,
        order_type=OrderType.LIMIT,
        price=3000050,
        quantity=15,
        client_order_id="c1",
        created_at="t",
        updated_at="t",
    )


@pytest.mark.parametrize(("scheme", "expected"), [("symbol", "BTC-USD"), ("account_symbol", "BTC-USD|alice")])
def test_commands_are_grouped_by_the_configured_scheme(fifo_queue, scheme: str, expected: str) -> None:
    # Given a FIFO queue
    sqs, url = fifo_queue
    # When a command is sent twice with one dedup id
    queue = OrdersQueue(url, scheme)  # type: ignore[arg-type]
    command = {"type": "cancel", "order_id": "o1", "account_id": "alice", "symbol": "BTC-USD"}
    queue.send(command, dedup_id="o1:cancel")
    queue.send(command, dedup_id="o1:cancel")
    # Then one message arrives, in the scheme's group, in the documented wire format
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"])["Messages"]
    assert len(messages) == 1
    assert messages[0]["Attributes"]["MessageGroupId"] == expected == group_id(scheme, "alice", "BTC-USD")  # type: ignore[arg-type]
    assert json.loads(messages[0]["Body"]) == command


def test_intake_sends_the_canonical_form_the_engine_codec_writes(fifo_queue) -> None:
    # Given a FIFO queue and a limit order whose options are all at their default
    sqs, url = fifo_queue
    # When intake queues its command
    OrdersQueue(url, "symbol").send(new_command(_limit_order(Side.SELL)), dedup_id="o1")
    [message] = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    # Then the defaults are left out, and the body is byte for byte what the engine codec writes
    body = message["Body"]
    assert json.loads(body) == {
        "type": "new",
        "order_id": "o1",
        "account_id": "alice",
        "symbol": "BTC-USD",
        "side": "SELL",
        "order_type": "LIMIT",
        "price": 3000050,
        "quantity": 15,
        "client_order_id": "c1",
    }
    assert body.encode() == encode_command(decode_command(body))


def test_engine_codec_decodes_what_intake_sends() -> None:
    # The matcher decodes with trading.engine.codec: the intake's JSON must be accepted as is
    record = _limit_order(Side.BUY)
    decoded = decode_command(json.dumps(new_command(record)))
    assert (decoded.order_id, decoded.price, decoded.quantity, decoded.side) == ("o1", 3000050, 15, Side.BUY)
    assert (
        decode_command(
            json.dumps(
                {
                    "type": "amend",
                    "order_id": "o1",
                    "account_id": "alice",
                    "symbol": "BTC-USD",
                    "price": None,
                    "quantity": 10,
                }
            )
        ).quantity
        == 10
    )
