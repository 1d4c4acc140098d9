"""Fixtures of the order-entry functional tests: handlers in-process, real moto + embedded PostgreSQL.

DynamoDB tables and the orders queue are created from ``template.yaml``'s definitions (never a
hand-kept list), uniquely named per test; the database credentials sit in a moto Secrets Manager
secret, exactly as the functions read them in AWS.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlparse

import boto3
import psycopg2
import pytest
from localcloud.template import create_table_request, load_template
from trading import admin
from trading.adapters.database import Connection
from trading.api import wiring

REPO = Path(__file__).resolve().parents[3]
TABLES = {
    "ORDERS_TABLE": "OrdersTable",
    "ORDER_BOOKS_TABLE": "OrderBooksTable",
    "INSTRUMENTS_TABLE": "InstrumentsTable",
    "API_KEYS_TABLE": "ApiKeysTable",
    "IDEMPOTENCY_TABLE": "IdempotencyTable",
}


def template_resources() -> dict[str, Any]:
    """The resources of ``template.yaml``, read with the local runtime's CloudFormation loader."""
    return dict(load_template(REPO / "template.yaml")["Resources"])


def create_queue(client: Any, name: str, props: dict[str, Any]) -> str:
    attributes = {"FifoQueue": "true"} if props.get("FifoQueue") else {}
    for key in (
        "ContentBasedDeduplication",
        "DeduplicationScope",
        "FifoThroughputLimit",
        "VisibilityTimeout",
    ):
        if key in props:
            value = props[key]
            attributes[key] = str(value).lower() if isinstance(value, bool) else str(value)
    return str(client.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"])


@dataclass
class OrderStack:
    env: dict[str, str]
    dsn: str
    queue_url: str

    def connect(self) -> Connection:
        return psycopg2.connect(self.dsn)

    def receive_commands(self) -> list[dict[str, Any]]:
        """Drain the orders queue (deleting what it reads) and return the command bodies in order."""
        sqs = boto3.client("sqs")
        found: list[dict[str, Any]] = []
        while True:
            messages = sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, AttributeNames=["All"], WaitTimeSeconds=0
            ).get("Messages", [])
            if not messages:
                return found
            for message in messages:
                body = json.loads(message["Body"])
                body["_group"] = message["Attributes"]["MessageGroupId"]
                body["_dedup"] = message["Attributes"]["MessageDeduplicationId"]
                found.append(body)
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])

    def balance(self, account_id: str, asset: str) -> tuple[int, int]:
        with self.connect() as conn, conn.cursor() as cur:
            cur.execute(
                "SELECT available, held FROM balances WHERE account_id = %s AND asset = %s",
                (account_id, asset),
            )
            row = cur.fetchone()
        conn.close()
        return (int(row[0]), int(row[1])) if row else (0, 0)

    def holds(self, account_id: str) -> list[tuple[str, str, int, str]]:
        with self.connect() as conn, conn.cursor() as cur:
            cur.execute(
                "SELECT order_id, asset, remaining, status FROM holds WHERE account_id = %s "
                "ORDER BY created_at",
                (account_id,),
            )
            rows = [(str(a), str(b), int(c), str(d)) for a, b, c, d in cur.fetchall()]
        conn.close()
        return rows

    def fund(self, account_id: str, **amounts: str) -> None:
        conn = self.connect()
        try:
            admin.create_account(conn, account_id)
            for asset, amount in amounts.items():
                admin.deposit(
                    conn, f"fund-{account_id}-{asset}-{uuid.uuid4().hex}", account_id, asset, amount
                )
        finally:
            conn.close()


@pytest.fixture(scope="session")
def order_resources(moto_endpoint: str) -> dict[str, str]:
    """Tables and the orders queue, created once per worker from ``template.yaml``."""
    suffix = uuid.uuid4().hex[:10]
    resources = template_resources()
    dynamodb = boto3.client("dynamodb", endpoint_url=moto_endpoint)
    names: dict[str, str] = {}
    for variable, logical_id in TABLES.items():
        names[variable] = f"{logical_id}-{suffix}"
        dynamodb.create_table(**create_table_request(names[variable], resources[logical_id]["Properties"]))
    sqs = boto3.client("sqs", endpoint_url=moto_endpoint)
    names["ORDERS_QUEUE_URL"] = create_queue(
        sqs, f"orders-{suffix}.fifo", resources["OrdersQueue"]["Properties"]
    )
    return names


def _purge(names: dict[str, str]) -> None:
    """Empty the shared tables and queue so each test starts from nothing (cheaper than new tables)."""
    dynamodb = boto3.resource("dynamodb")
    for variable in TABLES:
        table = dynamodb.Table(names[variable])
        keys = [k["AttributeName"] for k in table.key_schema]
        items = table.scan(
            ProjectionExpression=", ".join(f"#k{i}" for i in range(len(keys))),
            ExpressionAttributeNames={f"#k{i}": k for i, k in enumerate(keys)},
        ).get("Items", [])
        with table.batch_writer() as batch:
            for item in items:
                batch.delete_item(Key=item)
    sqs = boto3.client("sqs")
    url = names["ORDERS_QUEUE_URL"]
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        for message in messages:  # PurgeQueue is limited to once a minute; deleting is not
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture
def order_stack(
    moto_endpoint: str, order_resources: dict[str, str], db_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[OrderStack]:
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    env = dict(order_resources)
    _purge(env)
    dsn = urlparse(db_dsn)
    secret = boto3.client("secretsmanager").create_secret(
        Name=f"db-{uuid.uuid4().hex[:10]}",
        SecretString=json.dumps({"username": dsn.username, "password": dsn.password or ""}),
    )
    env.update(
        DB_SECRET_ARN=secret["ARN"],
        DB_WRITER_HOST=str(dsn.hostname),
        DB_READER_HOST=str(dsn.hostname),
        DB_PORT=str(dsn.port),
        DB_NAME=dsn.path.lstrip("/"),
        DB_SSLMODE="disable",  # the embedded PostgreSQL has no TLS
        POWERTOOLS_TRACE_DISABLED="true",
        POWERTOOLS_SERVICE_NAME="tests",
    )
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    wiring.reset()
    admin.put_instruments(wiring.instruments(), admin.demo_instruments())
    yield OrderStack(env=env, dsn=db_dsn, queue_url=env["ORDERS_QUEUE_URL"])
    wiring.reset()


# -- handlers in-process -----------------------------------------------------------------------


class FakeLambdaContext:
    function_name = "test-function"
    function_version = "$LATEST"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    aws_request_id = "00000000-0000-0000-0000-000000000000"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 30_000


def load_function(name: str) -> ModuleType:
    """Import ``functions/<name>/app.py`` under a unique module name (they are all called ``app``)."""
    spec = importlib.util.spec_from_file_location(
        f"fn_{name}_{uuid.uuid4().hex[:6]}", REPO / "functions" / name / "app.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def sample_event(function: str, case: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((REPO / "events" / function / f"{case}.json").read_text())
    return event


def api_event(
    template: dict[str, Any],
    *,
    method: str,
    path: str,
    resource: str,
    body: str | None = None,
    path_parameters: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    account_id: str | None = "alice",
    scopes: str = "read,trade",
) -> dict[str, Any]:
    """A proxy event from a sample in ``events/``, re-targeted; the body hash header matches ``body``."""
    from trading.auth import content_sha256

    event = copy.deepcopy(template)
    event.update(
        httpMethod=method,
        path=path,
        resource=resource,
        body=body,
        isBase64Encoded=False,
        pathParameters=path_parameters,
        queryStringParameters=query,
        multiValueQueryStringParameters={k: [v] for k, v in query.items()} if query else None,
    )
    headers = dict(event.get("headers") or {})
    headers["X-Content-SHA256"] = content_sha256(body)
    event["headers"] = headers
    event["multiValueHeaders"] = {k: [v] for k, v in headers.items()}
    context = event.setdefault("requestContext", {})
    context.update(httpMethod=method, resourcePath=resource, path=f"/Prod{path}")
    context["authorizer"] = (
        {
            "account_id": account_id,
            "scopes": scopes,
            "key_id": f"key-{account_id}",
            "principalId": f"key-{account_id}",
        }
        if account_id
        else None
    )
    return event


def place_order_event(
    body: dict[str, Any] | str, account_id: str | None = "alice", scopes: str = "read,trade"
) -> dict[str, Any]:
    """``POST /v1/orders`` with ``body`` (a dict is sent as JSON), from the ``limit_buy`` sample."""
    return api_event(
        sample_event("place_order", "limit_buy"),
        method="POST",
        path="/v1/orders",
        resource="/v1/orders",
        body=body if isinstance(body, str) else json.dumps(body),
        account_id=account_id,
        scopes=scopes,
    )


def call(module: ModuleType, event: dict[str, Any]) -> tuple[int, Any]:
    response = module.handler(event, FakeLambdaContext())
    body = json.loads(response["body"]) if response.get("body") else None
    return int(response["statusCode"]), body
