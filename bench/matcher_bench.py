"""Matcher benchmark: the two ``MessageGroupId`` schemes, one and two matcher tasks, through moto.

For each scheme (``symbol``: one group per symbol; ``account_symbol``: one group per (account,
symbol), docs/adr/0004-message-group-id.md) and each task count (1, 2), a fresh slice of the
stack is created in an in-process moto server (tables from ``template.yaml``), the real
``matcher-service`` processes are started and reported healthy, then a seeded stream of crossing
limit orders over two symbols and 20 accounts is enqueued (``SendMessageBatch``; the PENDING
``Orders`` items are written first, as intake does). Measured until every order is matched:

* orders/s (first send -> queue and outbox empty);
* latency from the send to the ``OrderAccepted``/``OrderRejected`` event reaching an observer
  queue on the bus (its ``SentTimestamp``, ms), p50/p99;
* AWS API calls per order made by the matcher processes, **counted** by a WSGI middleware in the
  moto server from each request's ``X-Amz-Target`` (the processes are told apart by their
  ``AWS_SDK_UA_APP_ID``); batches, mean batch size, commits fenced off by the checkpoint.

Every run is checked: gap-free events per symbol, one accept/reject per order. Numbers are
moto's, on a shared machine: compare schemes within one run, not with AWS.
Run: ``python -m bench.matcher_bench`` (``MATCHER_BENCH_ORDERS``, default 200).
"""

import json
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import boto3
from localcloud.moto_cloud import serialize_dynamodb
from localcloud.template import create_table_request, load_template
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from trading.domain.instruments import demo_instruments
from werkzeug.serving import make_server

from bench.results import environment, write_result

REPO = Path(__file__).resolve().parent.parent
ORDERS = int(os.environ.get("MATCHER_BENCH_ORDERS", "200"))
ACCOUNTS = 20
SYMBOLS = ("BTC-USD", "ETH-USD")
# (MessageGroupId scheme, matcher tasks, MATCHER_PUBLISH_PIPELINE)
RUNS = (
    ("symbol", 1, False),
    ("symbol", 2, False),
    ("account_symbol", 1, False),
    ("account_symbol", 2, False),
    ("symbol", 1, True),
    ("account_symbol", 1, True),
)
APP_PREFIX = "bench-matcher"


# -- moto with a call counter ------------------------------------------------------------------


class CountingApp:
    """WSGI middleware: counts the matcher processes' API calls by ``X-Amz-Target`` action."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        match = re.search(r"app/(\S+)", environ.get("HTTP_USER_AGENT", ""))
        if match and match.group(1).startswith(APP_PREFIX):
            action = environ.get("HTTP_X_AMZ_TARGET", "").rsplit(".", 1)[-1] or "other"
            with self._lock:
                self.counts[action] += 1
        return self.app(environ, start_response)

    def take(self) -> Counter[str]:
        with self._lock:
            counts, self.counts = self.counts, Counter()
        return counts


def start_moto() -> tuple[str, CountingApp, Any]:
    serialize_dynamodb()
    app = CountingApp(DomainDispatcherApplication(create_backend_app))
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=MotoRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}", app, server


# -- one slice of the stack --------------------------------------------------------------------


def _attr(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int):
        return {"N": str(value)}
    return {"S": str(value)}


class Stack:
    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        prefix = f"b{uuid.uuid4().hex[:8]}"
        kwargs: dict[str, Any] = {"endpoint_url": endpoint, "region_name": "us-east-1"}
        self.ddb = boto3.client("dynamodb", **kwargs)
        self.sqs = boto3.client("sqs", **kwargs)
        events = boto3.client("events", **kwargs)
        template = load_template(REPO / "template.yaml")
        self.tables = {}
        for name, logical in (
            ("orders", "OrdersTable"),
            ("books", "OrderBooksTable"),
            ("instr", "InstrumentsTable"),
        ):
            props = template["Resources"][logical]["Properties"]
            self.tables[name] = f"{prefix}-{name}"
            self.ddb.create_table(**create_table_request(self.tables[name], props, with_stream=False))
        for instrument in demo_instruments():
            item = {k: _attr(v) for k, v in instrument.model_dump(mode="json").items()}
            self.ddb.put_item(TableName=self.tables["instr"], Item=item)
        self.queue_url = self.sqs.create_queue(
            QueueName=f"{prefix}-orders.fifo", Attributes={"FifoQueue": "true", "VisibilityTimeout": "30"}
        )["QueueUrl"]
        self.bus = f"{prefix}-trading"
        events.create_event_bus(Name=self.bus)
        self.observer_url = self.sqs.create_queue(QueueName=f"{prefix}-observer")["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.observer_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        events.put_rule(
            Name=f"{prefix}-all", EventBusName=self.bus, EventPattern='{"source":["trading.matcher"]}'
        )
        events.put_targets(Rule=f"{prefix}-all", EventBusName=self.bus, Targets=[{"Id": "o", "Arn": arn}])

    def env(self, app_id: str) -> dict[str, str]:
        return {
            **os.environ,
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_SDK_UA_APP_ID": app_id,
            "ORDERS_TABLE": self.tables["orders"],
            "ORDER_BOOKS_TABLE": self.tables["books"],
            "INSTRUMENTS_TABLE": self.tables["instr"],
            "ORDERS_QUEUE_URL": self.queue_url,
            "EVENT_BUS_NAME": self.bus,
            "MATCHER_HTTP_PORT": "0",
            "MATCHER_WAIT_SECONDS": "1",
            "LOG_LEVEL": "WARNING",
        }

    def drained(self) -> bool:
        attrs = self.sqs.get_queue_attributes(
            QueueUrl=self.queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        if (
            attrs["ApproximateNumberOfMessages"] != "0"
            or attrs["ApproximateNumberOfMessagesNotVisible"] != "0"
        ):
            return False
        for symbol in SYMBOLS:
            items = self.ddb.query(
                TableName=self.tables["books"],
                KeyConditionExpression="symbol = :s AND begins_with(sk, :o)",
                ExpressionAttributeValues={":s": {"S": symbol}, ":o": {"S": "outbox#"}},
            )["Items"]
            if items:
                return False
        return True

    def observed(self) -> list[tuple[dict[str, Any], int]]:
        seen = []
        while True:
            got = self.sqs.receive_message(
                QueueUrl=self.observer_url, MaxNumberOfMessages=10, AttributeNames=["SentTimestamp"]
            ).get("Messages", [])
            if not got:
                return seen
            for message in got:
                seen.append((json.loads(message["Body"]), int(message["Attributes"]["SentTimestamp"])))
            self.sqs.delete_message_batch(
                QueueUrl=self.observer_url,
                Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(got)],
            )


def workload(seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    mids = {"BTC-USD": 3_000_000, "ETH-USD": 250_000}
    orders = []
    for n in range(ORDERS):
        symbol = SYMBOLS[n % len(SYMBOLS)]
        side = rng.choice(("BUY", "SELL"))
        offset = rng.randint(-5, 5) * 100
        orders.append(
            {
                "type": "new",
                "order_id": f"o{n:06d}-{uuid.uuid4().hex[:6]}",
                "account_id": f"acct{rng.randrange(ACCOUNTS):02d}",
                "symbol": symbol,
                "side": side,
                "order_type": "LIMIT",
                "price": mids[symbol] + offset,
                "quantity": rng.randint(1, 20),
                "quote_budget": None,
                "time_in_force": "GTC",
                "post_only": False,
                "stp": "CANCEL_NEWEST",
                "client_order_id": None,
            }
        )
    return orders


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered), -(-int(fraction * 1000) * len(ordered) // 1000)) - 1)]


# -- one run ------------------------------------------------------------------------------------


def _metrics(port: int) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        body: dict[str, Any] = json.loads(response.read())
        return body


def _port(log: Path, proc: subprocess.Popen[bytes]) -> int:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        match = re.search(r"listening on port (\d+)", log.read_text(errors="replace"))
        if match:
            return int(match.group(1))
        if proc.poll() is not None:
            raise RuntimeError(log.read_text())
        time.sleep(0.05)
    raise RuntimeError("matcher did not start")


def run(
    endpoint: str, counter: CountingApp, workdir: Path, *, scheme: str, tasks: int, pipeline: bool
) -> dict[str, Any]:
    stack = Stack(endpoint)
    procs, ports = [], []
    for n in range(tasks):
        log = workdir / f"{scheme}-{tasks}-{pipeline}-{n}.log"
        env = {
            **stack.env(f"{APP_PREFIX}-{n}"),
            "LOG_LEVEL": "INFO",
            "MATCHER_PUBLISH_PIPELINE": str(pipeline).lower(),
        }
        with log.open("wb") as out:
            proc = subprocess.Popen(  # noqa: S603 - our own console script
                [str(Path(sys.executable).with_name("matcher-service"))],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        procs.append(proc)
        ports.append(_port(log, proc))
    time.sleep(1.0)
    counter.take()  # recovery and idle polls are not per-order cost
    orders = workload()
    sent_ms: dict[str, int] = {}
    for start in range(0, len(orders), 25):
        chunk = orders[start : start + 25]
        stack.ddb.batch_write_item(
            RequestItems={
                stack.tables["orders"]: [
                    {
                        "PutRequest": {
                            "Item": {
                                "order_id": {"S": o["order_id"]},
                                "account_id": {"S": o["account_id"]},
                                "symbol": {"S": o["symbol"]},
                                "status": {"S": "PENDING"},
                                "created_at": {"S": "2026-11-25T00:00:00.000000Z"},
                            }
                        }
                    }
                    for o in chunk
                ]
            }
        )
    started = time.perf_counter()
    for start in range(0, len(orders), 10):
        chunk = orders[start : start + 10]
        now_ms = int(time.time() * 1000)
        stack.sqs.send_message_batch(
            QueueUrl=stack.queue_url,
            Entries=[
                {
                    "Id": str(n),
                    "MessageBody": json.dumps(o),
                    "MessageGroupId": o["symbol"]
                    if scheme == "symbol"
                    else f"{o['symbol']}|{o['account_id']}",
                    "MessageDeduplicationId": o["order_id"],
                }
                for n, o in enumerate(chunk)
            ],
        )
        for o in chunk:
            sent_ms[o["order_id"]] = now_ms
    while not stack.drained():
        time.sleep(0.1)
    elapsed = time.perf_counter() - started
    calls = counter.take()
    metrics = [_metrics(port) for port in ports]
    for proc in procs:
        proc.terminate()
    for proc in procs:
        proc.wait(60)
    latencies, outcomes, seqs = [], Counter[str](), {s: [] for s in SYMBOLS}
    for event, delivered_ms in stack.observed():
        detail = event["detail"]
        seqs[detail["symbol"]].append(detail["seq"])
        if event["detail-type"] in ("OrderAccepted", "OrderRejected") and detail["order_id"] in sent_ms:
            outcomes[detail["order_id"]] += 1
            latencies.append(delivered_ms - sent_ms[detail["order_id"]])
    assert all(sorted(v) == list(range(1, len(v) + 1)) for v in seqs.values()), "events not gap-free"
    assert len(outcomes) == len(orders) and set(outcomes.values()) == {1}, "an order not matched exactly once"
    total_calls = sum(calls.values())
    batches = sum(m["batches"] for m in metrics)
    return {
        "scheme": scheme,
        "tasks": tasks,
        "publish_pipeline": pipeline,
        "orders": len(orders),
        "orders_per_s": round(len(orders) / elapsed, 1),
        "latency_ms_p50": percentile(latencies, 0.50),
        "latency_ms_p99": percentile(latencies, 0.99),
        "aws_calls_per_order": round(total_calls / len(orders), 3),
        "aws_calls_by_action": dict(sorted(calls.items())),
        "batches": batches,
        "mean_batch_size": round(sum(m["commands_processed"] for m in metrics) / max(batches, 1), 2),
        "commits_fenced": sum(m["commits_rejected"] for m in metrics),
        "events": sum(len(v) for v in seqs.values()),
    }


def main() -> dict[str, Any]:
    for key, value in (("AWS_ACCESS_KEY_ID", "bench"), ("AWS_SECRET_ACCESS_KEY", "bench")):
        os.environ.setdefault(key, value)
    endpoint, counter, server = start_moto()
    runs = []
    try:
        with tempfile.TemporaryDirectory(prefix="matcher-bench-") as workdir:
            for scheme, tasks, pipeline in RUNS:
                result = run(endpoint, counter, Path(workdir), scheme=scheme, tasks=tasks, pipeline=pipeline)
                runs.append(result)
                print(
                    f"{scheme:15s} tasks={tasks} pipeline={pipeline!s:5s} "
                    f"{result['orders_per_s']:7.1f} orders/s  "
                    f"p50 {result['latency_ms_p50']:6.0f} ms  p99 {result['latency_ms_p99']:6.0f} ms  "
                    f"{result['aws_calls_per_order']:.2f} calls/order  "
                    f"batch {result['mean_batch_size']:.1f}  "
                    f"fenced {result['commits_fenced']}"
                )
    finally:
        server.shutdown()
    result = {
        "benchmark": "matcher",
        "environment": environment(),
        "load_average": os.getloadavg(),
        "runs": runs,
    }
    print(f"written {write_result('matcher', result)}")
    return result


if __name__ == "__main__":
    main()
