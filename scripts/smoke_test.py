"""Post-deploy smoke test of a deployed stack (docs/deploy.md).

    .venv/bin/python scripts/smoke_test.py --stack trading-prod [--region us-east-1] [--trade]

Read-only by default: public REST route, unsigned requests refused, CloudFront serves the UI with
security headers and routes /v1/*, dead-letter queues empty, no alarm firing, matcher service
steady. ``--trade`` also invokes the admin function to create a throw-away account with a small
USD deposit and an API key, then places a post-only limit order far below the market, reads it,
cancels it, and pings the WebSocket API with that key (this writes to the environment's data).
Exit status 0 when every check passes, 1 otherwise; one PASS/FAIL line per check.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import boto3
import httpx

SECURITY_HEADERS = ("strict-transport-security", "x-content-type-options", "x-frame-options")
DEAD_LETTER_QUEUES = (
    "OrdersDeadLetterQueue",
    "NotificationsDeadLetterQueue",
    "SettlementDeadLetterQueue",
    "OrderArchiverDeadLetterQueue",
)


class CheckFailedError(AssertionError):
    """A smoke check found the deployment not as expected."""


@dataclass(frozen=True)
class Stack:
    name: str
    outputs: dict[str, str]
    physical_ids: dict[str, str]


@dataclass(frozen=True)
class Result:
    name: str
    ok: bool
    detail: str = ""


def load_stack(cloudformation: Any, stack_name: str) -> Stack:
    description = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in description.get("Outputs", [])}
    physical_ids: dict[str, str] = {}
    for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=stack_name):
        for resource in page["StackResourceSummaries"]:
            physical_ids[resource["LogicalResourceId"]] = resource.get("PhysicalResourceId", "")
    return Stack(stack_name, outputs, physical_ids)


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailedError(message)


# ------------------------------------------------------------------ read-only checks
def check_public_route(http: httpx.Client, stack: Stack) -> str:
    response = http.get(f"{stack.outputs['RestApiUrl']}/v1/instruments")
    _expect(response.status_code == 200, f"GET /v1/instruments -> {response.status_code}")
    return f"{len(response.json())} instruments" if isinstance(response.json(), list) else "200"


def check_unsigned_request_refused(http: httpx.Client, stack: Stack) -> str:
    response = http.get(f"{stack.outputs['RestApiUrl']}/v1/balances")
    _expect(response.status_code in {401, 403}, f"unsigned GET /v1/balances -> {response.status_code}")
    return str(response.status_code)


def check_cloudfront(http: httpx.Client, stack: Stack) -> str:
    base = f"https://{stack.outputs['CloudFrontDomain']}"
    page = http.get(f"{base}/")
    _expect(page.status_code == 200, f"GET / -> {page.status_code}")
    missing = [h for h in SECURITY_HEADERS if h not in page.headers]
    _expect(not missing, f"security headers missing: {missing}")
    api = http.get(f"{base}/v1/instruments")
    _expect(api.status_code == 200, f"GET /v1/instruments through CloudFront -> {api.status_code}")
    plain = http.get(f"http://{stack.outputs['CloudFrontDomain']}/", follow_redirects=False)
    _expect(plain.status_code in {301, 302, 307, 308}, f"plain HTTP not redirected ({plain.status_code})")
    return "UI, headers, /v1 routing, HTTPS redirect"


def check_dead_letter_queues_empty(sqs: Any, stack: Stack) -> str:
    depths = {}
    for logical_id in DEAD_LETTER_QUEUES:
        attributes = sqs.get_queue_attributes(
            QueueUrl=stack.physical_ids[logical_id], AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        depths[logical_id] = int(attributes["ApproximateNumberOfMessages"])
    _expect(not any(depths.values()), f"dead letters waiting: {depths}")
    return f"{len(depths)} DLQs empty"


def check_no_alarm_firing(cloudwatch: Any, stack: Stack) -> str:
    alarms = cloudwatch.describe_alarms(AlarmNamePrefix=f"{stack.name}-")["MetricAlarms"]
    firing = [a["AlarmName"] for a in alarms if a["StateValue"] == "ALARM"]
    _expect(bool(alarms), "no alarms found for the stack")
    _expect(not firing, f"alarms firing: {firing}")
    return f"{len(alarms)} alarms, none firing"


def check_matcher_steady(ecs: Any, stack: Stack) -> str:
    service_arn = stack.physical_ids["MatcherService"]
    cluster = stack.physical_ids["MatcherCluster"]
    (service,) = ecs.describe_services(cluster=cluster, services=[service_arn])["services"]
    _expect(service["runningCount"] >= max(service["desiredCount"], 1), f"running {service['runningCount']}")
    rollouts = {d.get("rolloutState", "COMPLETED") for d in service["deployments"]}
    _expect(rollouts == {"COMPLETED"}, f"deployment rollout {rollouts}")
    return f"{service['runningCount']} task(s) running"


# ------------------------------------------------------------------ --trade checks
def invoke_admin(lambda_client: Any, function_name: str, command: Mapping[str, Any]) -> dict[str, Any]:
    response = lambda_client.invoke(FunctionName=function_name, Payload=json.dumps(command).encode())
    answer: dict[str, Any] = json.loads(response["Payload"].read())
    _expect(answer.get("ok") is True, f"admin {command['action']}: {answer}")
    result: dict[str, Any] = answer["result"]
    return result


def create_smoke_key(lambda_client: Any, stack: Stack) -> tuple[str, str]:
    admin = stack.outputs["AdminFunctionName"]
    account_id = f"smoke-{time.strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex[:6]}"
    invoke_admin(lambda_client, admin, {"action": "create_account", "account_id": account_id})
    invoke_admin(
        lambda_client, admin, {"action": "deposit", "account_id": account_id, "asset": "USD", "amount": "10"}
    )
    key = invoke_admin(lambda_client, admin, {"action": "create_key", "account_id": account_id})
    return str(key["key_id"]), str(key["secret"])


def check_order_round_trip(stack: Stack, key_id: str, secret: str) -> str:
    from trading.client import TradingClient  # noqa: PLC0415 - only needed with --trade

    with TradingClient(stack.outputs["RestApiUrl"], key_id, secret) as client:
        _expect(client.balances().status_code == 200, "signed GET /v1/balances refused")
        placed = client.place_order(
            symbol="BTC-USD", side="BUY", type="LIMIT", price="1000.00", quantity="0.0010", post_only=True
        )
        _expect(placed.status_code == 201, f"POST /v1/orders -> {placed.status_code} {placed.text}")
        order_id = placed.json()["order_id"]
        _expect(client.get_order(order_id).status_code == 200, "GET /v1/orders/{id} failed")
        canceled = client.cancel_order(order_id)
        _expect(canceled.status_code == 202, f"DELETE /v1/orders/{{id}} -> {canceled.status_code}")
    return f"order {order_id} placed, read, cancel queued"


def check_websocket_ping(stack: Stack, key_id: str, secret: str) -> str:
    from trading.auth import sign, ws_string_to_sign  # noqa: PLC0415 - only needed with --trade
    from websockets.sync.client import connect  # noqa: PLC0415

    timestamp = int(time.time() * 1000)
    query = urlencode({"key": key_id, "ts": timestamp, "sig": sign(secret, ws_string_to_sign(timestamp))})
    with connect(f"{stack.outputs['WebSocketUrl']}?{query}", open_timeout=10) as socket:
        socket.send(json.dumps({"action": "ping", "id": "smoke"}))
        reply = json.loads(socket.recv(timeout=10))
    _expect(reply.get("type") == "pong", f"ping answered {reply}")
    return "connected and ponged"


# ------------------------------------------------------------------ runner
def run_checks(checks: Sequence[tuple[str, Callable[[], str]]]) -> Iterator[Result]:
    for name, check in checks:
        try:
            yield Result(name, True, check())
        except Exception as exc:  # every failure is reported, the run goes on
            yield Result(name, False, f"{type(exc).__name__}: {exc}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stack", required=True, help="stack name, e.g. trading-prod")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--trade", action="store_true", help="also create a smoke account and trade (writes)")
    args = parser.parse_args(argv)

    session = boto3.session.Session(region_name=args.region)
    stack = load_stack(session.client("cloudformation"), args.stack)
    http = httpx.Client(timeout=15.0, follow_redirects=False)
    checks: list[tuple[str, Callable[[], str]]] = [
        ("public REST route", lambda: check_public_route(http, stack)),
        ("unsigned request refused", lambda: check_unsigned_request_refused(http, stack)),
        ("CloudFront", lambda: check_cloudfront(http, stack)),
        ("dead-letter queues empty", lambda: check_dead_letter_queues_empty(session.client("sqs"), stack)),
        ("no alarm firing", lambda: check_no_alarm_firing(session.client("cloudwatch"), stack)),
        ("matcher steady", lambda: check_matcher_steady(session.client("ecs"), stack)),
    ]
    if args.trade:
        key_id, secret = create_smoke_key(session.client("lambda"), stack)
        checks += [
            ("order round trip", lambda: check_order_round_trip(stack, key_id, secret)),
            ("WebSocket ping", lambda: check_websocket_ping(stack, key_id, secret)),
        ]
    results = list(run_checks(checks))
    for result in results:
        print(f"{'PASS' if result.ok else 'FAIL'} {result.name}: {result.detail}")  # noqa: T201
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
