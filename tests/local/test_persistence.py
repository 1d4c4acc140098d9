"""State survives a restart of the runtime on the same data dir (`make run` again resumes)."""

from __future__ import annotations

import socket
import uuid
from pathlib import Path

import boto3
import psycopg2
import pytest
from localcloud.runtime import LocalRuntime

FIXTURES = Path(__file__).parent / "fixtures"

pytestmark = pytest.mark.xdist_group("localcloud")


def _runtime(data_dir, stack_name):
    return LocalRuntime(
        data_dir,
        rest_port=0,
        ws_port=0,
        template_path=FIXTURES / "template.yaml",
        stack_name=stack_name,
        run_matcher=False,
        seed=False,
        run_schedules=False,
    )


def test_dynamodb_items_sqs_messages_and_postgresql_rows_survive_a_restart(tmp_path):
    data_dir = tmp_path / "data"
    marker = uuid.uuid4().hex
    # Given a runtime with an item in a template table and a row in PostgreSQL
    first = _runtime(data_dir, f"persist-{uuid.uuid4().hex[:6]}").start()
    try:
        dynamodb = boto3.resource("dynamodb", endpoint_url=first.endpoint, region_name="us-east-1")
        dynamodb.Table(first.physical_ids["EventsTable"]).put_item(Item={"pk": marker})
        sqs = boto3.client("sqs", endpoint_url=first.endpoint, region_name="us-east-1")
        sqs.send_message(QueueUrl=first.physical_ids["WorkDeadLetterQueue"], MessageBody=marker)
        with psycopg2.connect(first.db.dsn()) as conn, conn.cursor() as cur:
            cur.execute("CREATE TABLE IF NOT EXISTS probe (marker text)")
            cur.execute("INSERT INTO probe VALUES (%s)", (marker,))
    finally:
        # When it is stopped and started again on the same data dir
        first.stop()
    second = _runtime(data_dir, f"persist-{uuid.uuid4().hex[:6]}").start()
    try:
        # Then the DynamoDB item is back in the (re-created) table and the row is still there
        dynamodb = boto3.resource("dynamodb", endpoint_url=second.endpoint, region_name="us-east-1")
        item = dynamodb.Table(second.physical_ids["EventsTable"]).get_item(Key={"pk": marker}).get("Item")
        assert item == {"pk": marker}
        # And so is the message that was waiting in a queue
        sqs = boto3.client("sqs", endpoint_url=second.endpoint, region_name="us-east-1")
        answer = sqs.receive_message(
            QueueUrl=second.physical_ids["WorkDeadLetterQueue"], MaxNumberOfMessages=10
        )
        assert [m["Body"] for m in answer.get("Messages", [])] == [marker]
        with psycopg2.connect(second.db.dsn()) as conn, conn.cursor() as cur:
            cur.execute("SELECT marker FROM probe")
            assert cur.fetchall() == [(marker,)]
    finally:
        second.stop()


def test_a_failed_start_leaves_no_postgres_behind(tmp_path):
    # Given the REST port is taken by someone else
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    runtime = _runtime(tmp_path / "data", f"busy-{uuid.uuid4().hex[:6]}")
    runtime.rest_port = busy.getsockname()[1]
    try:
        # When the runtime starts
        with pytest.raises(RuntimeError, match="port in use"):
            runtime.start()
    finally:
        busy.close()
    # Then the PostgreSQL it had started is stopped again
    assert not (tmp_path / "data" / "pg" / "postmaster.pid").exists()
