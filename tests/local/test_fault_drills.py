"""The fault drills of ``localcloud.faults`` (``python -m localcloud fault ...``): DynamoDB/SQS
throttling declared in a data dir and applied by a real moto server, PostgreSQL restarted and
paused for real, and the CLI's answers. The matcher drills run in tests/e2e/test_availability.py."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import psycopg2
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from localcloud import faults
from localcloud.postgres import EmbeddedPostgres

REPO = Path(__file__).resolve().parents[2]
NO_RETRIES = Config(retries={"mode": "standard", "total_max_attempts": 1})


@pytest.fixture
def drill_dir(tmp_path: Path, moto_endpoint: str) -> Iterator[Path]:
    faults.install(tmp_path)
    yield tmp_path
    faults.clear(tmp_path)
    faults.uninstall(tmp_path)


def _table(endpoint: str) -> str:
    name = f"drill-{time.monotonic_ns()}"
    boto3.client("dynamodb", endpoint_url=endpoint).create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


def _error_code(call: object) -> str | None:
    try:
        call()  # type: ignore[operator]
    except ClientError as exc:
        return str(exc.response["Error"]["Code"])
    return None


def test_a_dynamodb_throttle_answers_every_request_until_it_ends_or_is_cleared(
    drill_dir: Path, moto_endpoint: str
) -> None:
    # Given a table, and a client that does not retry (to see each answer)
    name = _table(moto_endpoint)
    dynamodb = boto3.client("dynamodb", endpoint_url=moto_endpoint, config=NO_RETRIES)
    sqs = boto3.client("sqs", endpoint_url=moto_endpoint, config=NO_RETRIES)
    before = faults.injected_counts()["dynamodb"]
    # When DynamoDB is throttled
    faults.throttle(drill_dir, "dynamodb", 30)
    time.sleep(0.1)  # the switch re-reads the data dir every 50 ms
    # Then every DynamoDB call gets the throttling error botocore retries, SQS is untouched
    put = lambda: dynamodb.put_item(TableName=name, Item={"k": {"S": "a"}})  # noqa: E731
    assert _error_code(put) == "ProvisionedThroughputExceededException"
    assert _error_code(lambda: dynamodb.get_item(TableName=name, Key={"k": {"S": "a"}})) == (
        "ProvisionedThroughputExceededException"
    )
    assert _error_code(sqs.list_queues) is None
    assert faults.injected_counts()["dynamodb"] == before + 2
    assert set(faults.active_throttles(drill_dir)) == {"dynamodb"}
    # When it is cleared / Then calls pass again
    faults.clear(drill_dir)
    time.sleep(0.1)
    assert _error_code(put) is None
    # When a throttle names operations and is short / Then only those fail, and only until it ends
    faults.throttle(drill_dir, "dynamodb", 0.5, operations=["PutItem"])
    time.sleep(0.1)
    assert _error_code(put) == "ProvisionedThroughputExceededException"
    assert _error_code(lambda: dynamodb.get_item(TableName=name, Key={"k": {"S": "a"}})) is None
    time.sleep(0.6)
    assert _error_code(put) is None
    assert faults.active_throttles(drill_dir) == {}


def test_an_sqs_throttle_is_retried_by_botocore_and_then_surfaces(
    drill_dir: Path, moto_endpoint: str
) -> None:
    # Given a queue, and a client with botocore's standard retries (3 attempts)
    sqs = boto3.client(
        "sqs",
        endpoint_url=moto_endpoint,
        config=Config(retries={"mode": "standard", "total_max_attempts": 3}),
    )
    url = sqs.create_queue(QueueName=f"drill-{time.monotonic_ns()}")["QueueUrl"]
    attempts: list[int] = []
    sqs.meta.events.register("before-send.sqs.SendMessage", lambda **_: attempts.append(1))
    before = faults.injected_counts()["sqs"]
    # When SQS is throttled / Then a send is tried three times and fails as throttled
    faults.throttle(drill_dir, "sqs", 30)
    time.sleep(0.1)
    assert _error_code(lambda: sqs.send_message(QueueUrl=url, MessageBody="x")) == "RequestThrottled"
    assert len(attempts) == 3
    # (the injected count is process-wide: a runtime running in this process is throttled too)
    assert faults.injected_counts()["sqs"] >= before + 3
    # And nothing was enqueued; once cleared the send goes through
    faults.clear(drill_dir)
    time.sleep(0.1)
    sqs.send_message(QueueUrl=url, MessageBody="x")
    assert len(sqs.receive_message(QueueUrl=url).get("Messages", [])) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["throttle", "dynamodb", "--seconds", "0"], "seconds must be in"),
        (["throttle", "sqs", "--rate", "2"], "rate must be in"),
        (["matcher", "kill"], "no running runtime"),
        (["postgres", "pause", "--seconds", "1"], "PostgreSQL of"),
    ],
)
def test_the_cli_refuses_impossible_drills_with_a_message(
    tmp_path: Path, args: list[str], message: str
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "localcloud", "fault", "--data-dir", str(tmp_path), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert message in done.stderr


def test_the_cli_declares_and_clears_a_throttle(tmp_path: Path) -> None:
    def cli(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "localcloud", "fault", "--data-dir", str(tmp_path), *args],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return done.stdout

    assert "sqs throttled until" in cli("throttle", "sqs", "--seconds", "30", "--operations", "SendMessage")
    assert faults.active_throttles(tmp_path)["sqs"]["operations"] == ["SendMessage"]
    assert '"sqs"' in cli("status")
    assert "cleared" in cli("clear")
    assert faults.active_throttles(tmp_path) == {}


@pytest.fixture
def postgres(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    server = EmbeddedPostgres(tmp_path / "pg")
    creds = server.start()
    yield tmp_path, creds.dsn()
    server.stop()


def test_postgres_restart_drops_connections_and_keeps_the_data(postgres: tuple[Path, str]) -> None:
    data_dir, dsn = postgres
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE drill (v int)")
        cur.execute("INSERT INTO drill VALUES (19)")
    old_pid = faults.postgres_pid(data_dir)
    # When PostgreSQL stops (fast: every connection terminated, as in a failover) and stays down 1 s
    refused: list[bool] = []

    def probe() -> None:
        time.sleep(0.5)
        try:
            psycopg2.connect(dsn, connect_timeout=1).close()
            refused.append(False)
        except psycopg2.OperationalError:
            refused.append(True)

    prober = threading.Thread(target=probe)
    prober.start()
    faults.restart_postgres(data_dir, down_seconds=1.0, mode="fast")
    prober.join()
    # Then it refused connections while down, the old connection is broken, a new one sees the data
    assert refused == [True]
    with pytest.raises(psycopg2.OperationalError), conn.cursor() as cur:
        cur.execute("SELECT 1")
    assert faults.postgres_pid(data_dir) != old_pid
    fresh = psycopg2.connect(dsn)
    with fresh.cursor() as cur:
        cur.execute("SELECT v FROM drill")
        assert cur.fetchall() == [(19,)]
    fresh.close()


def test_postgres_pause_freezes_queries_until_it_resumes(postgres: tuple[Path, str]) -> None:
    data_dir, dsn = postgres
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    answers: list[tuple[int, ...]] = []
    paused = threading.Thread(target=faults.pause_postgres, args=(data_dir, 4.0))
    paused.start()
    time.sleep(0.3)

    def query() -> None:
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
            answers.append(cur.fetchone())

    # When a query is sent during the pause
    querying = threading.Thread(target=query)
    querying.start()
    querying.join(1.0)
    # Then it is not answered while the server is stopped
    assert answers == [] and querying.is_alive()
    # And it is answered, on the same connection, once the pause ends (SIGCONT)
    paused.join()
    querying.join(30)
    assert answers == [(1,)]
    conn.close()
