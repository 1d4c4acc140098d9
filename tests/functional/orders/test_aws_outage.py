"""A DynamoDB or SQS throttle, timeout or lost connection in a REST route: bounded retries inside the
request, then ``503 SERVICE_UNAVAILABLE`` with ``Retry-After``, never 500, and the intake contract of
``trading.services.orders`` (nothing half-done). Handlers run in-process against moto and the
embedded PostgreSQL; the fault is injected at the botocore transport (``aws_faults``)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_faults import Fault, injected
from order_stack import FakeLambdaContext, OrderStack, api_event, load_function, sample_event
from trading.adapters import aws
from trading.api import wiring

LIMIT_BUY = {"symbol": "BTC-USD", "side": "BUY", "type": "LIMIT", "price": "30000.00", "quantity": "0.0100"}
OUTAGES = ["throttle", "endpoint", "connect_timeout", "read_timeout"]


@pytest.fixture
def api(order_stack: OrderStack) -> Any:
    modules: dict[str, Any] = {}
    template = sample_event("account_queries", "balances")

    def _call(
        function: str,
        method: str,
        path: str,
        resource: str,
        *,
        body: dict[str, Any] | None = None,
        path_parameters: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], Any]:
        if function not in modules:
            modules[function] = load_function(function)
        event = api_event(
            template,
            method=method,
            path=path,
            resource=resource,
            body=json.dumps(body) if body is not None else None,
            path_parameters=path_parameters,
            query=query,
        )
        response = modules[function].handler(event, FakeLambdaContext())
        headers = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
        for key, values in (response.get("multiValueHeaders") or {}).items():
            headers.setdefault(key.lower(), values[0])
        return int(response["statusCode"]), headers, json.loads(response["body"])

    return _call


def place(api: Any, client_order_id: str) -> tuple[int, dict[str, str], Any]:
    client_order_id = "".join(c if c.isalnum() or c in "_.:-" else "_" for c in client_order_id)
    return api(
        "place_order",
        "POST",
        "/v1/orders",
        "/v1/orders",
        body={**LIMIT_BUY, "client_order_id": client_order_id},
    )


def assert_503(status: int, headers: dict[str, str], body: Any) -> None:
    assert (status, body["code"]) == (503, "SERVICE_UNAVAILABLE"), body
    assert int(headers["retry-after"]) >= 1


def orders_of(account_id: str) -> list[Any]:
    return list(wiring.orders().list_by_account(account_id)[0])


# -- place order: each step's dependency, each kind of outage -----------------------------------


@pytest.mark.parametrize("kind", OUTAGES)
@pytest.mark.parametrize(
    "case",
    [
        ("idempotency record", "dynamodb", "PutItem", "IDEMPOTENCY_TABLE"),
        ("instrument lookup", "dynamodb", "Scan", "INSTRUMENTS_TABLE"),
        ("Orders write after the hold", "dynamodb", "PutItem", "ORDERS_TABLE"),
    ],
)
def test_an_outage_before_the_command_is_sent_answers_503_and_leaves_nothing(
    order_stack: OrderStack, api: Any, case: tuple[str, str, str, str], kind: str
) -> None:
    step, service, operation, table_env = case
    # Given alice with 1000 USD, an empty instruments cache, and one dependency failing every attempt
    order_stack.fund("alice", USD="1000")
    wiring.instruments()._loaded_at = -1e18  # the next lookup reads the table
    fault = Fault(service, operation, kind, target=order_stack.env[table_env])
    # When she places an order
    with injected(fault):
        status, headers, body = place(api, f"{step}-{kind}")
    # Then the client's bounded retries were used up, and the answer is 503 with Retry-After
    assert fault.attempts == aws.MAX_ATTEMPTS, (step, status, body)
    assert_503(status, headers, body)
    # And nothing is left: no hold (a hold taken before the failed write was undone), no order,
    # nothing queued, her funds all available
    assert order_stack.holds("alice") == []
    assert orders_of("alice") == []
    assert order_stack.receive_commands() == []
    assert order_stack.balance("alice", "USD")[1] == 0
    # When the dependency is back and she retries with the same client order id / Then it is placed once
    status, _, body = place(api, f"{step}-{kind}")
    assert status == 201, body
    assert [c["order_id"] for c in order_stack.receive_commands()] == [body["order_id"]]


@pytest.mark.parametrize("kind", OUTAGES)
def test_a_failed_send_keeps_the_pending_order_and_its_hold_and_a_retry_sends_it_once(
    order_stack: OrderStack, api: Any, kind: str
) -> None:
    # Given SQS failing every attempt to send
    order_stack.fund("alice", USD="1000")
    fault = Fault("sqs", "SendMessage", kind)
    with injected(fault):
        status, headers, body = place(api, f"send-{kind}")
    # Then 503 after the bounded retries; the order stays PENDING with its hold (a timed-out send
    # may have been delivered, docs/adr/0004 and trading.services.orders)
    assert fault.attempts == aws.MAX_ATTEMPTS
    assert_503(status, headers, body)
    [order] = orders_of("alice")
    assert str(order.status) == "PENDING"
    [(order_id, asset, remaining, hold_status)] = order_stack.holds("alice")
    assert (order_id, asset, hold_status) == (order.order_id, "USD", "ACTIVE") and remaining > 0
    assert order_stack.receive_commands() == []
    # When SQS is back and she retries with the same client order id
    status, _, body = place(api, f"send-{kind}")
    # Then the same order is sent, once, still with one hold
    assert status == 201, body
    assert body["order_id"] == order.order_id
    assert [c["order_id"] for c in order_stack.receive_commands()] == [order.order_id]
    assert len(order_stack.holds("alice")) == 1


@pytest.mark.parametrize(
    ("service", "operation", "kind"),
    [
        ("dynamodb", "PutItem", "throttle"),
        ("dynamodb", "PutItem", "read_timeout"),
        ("sqs", "SendMessage", "throttle"),
        ("sqs", "SendMessage", "endpoint"),
    ],
)
def test_a_brief_outage_is_ridden_out_by_the_retries_inside_the_request(
    order_stack: OrderStack, api: Any, service: str, operation: str, kind: str
) -> None:
    # Given a dependency failing its first attempt only
    order_stack.fund("alice", USD="1000")
    target = order_stack.env["ORDERS_TABLE"] if service == "dynamodb" else None
    fault = Fault(service, operation, kind, target=target, failures=1)
    with injected(fault):
        status, _, body = place(api, f"brief-{service}-{kind}")
    # Then the request succeeds on the retry
    assert (fault.attempts, fault.passed) == (1, 1)
    assert status == 201, body
    assert [c["order_id"] for c in order_stack.receive_commands()] == [body["order_id"]]


def test_a_non_transient_aws_error_is_still_a_500(order_stack: OrderStack, api: Any) -> None:
    # Given DynamoDB rejecting the Orders write as invalid (a bug, not an outage)
    order_stack.fund("alice", USD="1000")
    fault = Fault("dynamodb", "PutItem", "validation", target=order_stack.env["ORDERS_TABLE"])
    with injected(fault):
        status, headers, body = place(api, "invalid-1")
    # Then it is not retried and not disguised as an outage; the hold is undone all the same
    assert fault.attempts == 1
    assert (status, body["code"]) == (500, "INTERNAL_ERROR")
    assert "retry-after" not in headers
    assert order_stack.holds("alice") == []


# -- the other routes ----------------------------------------------------------------------------


def _placed(api: Any, order_stack: OrderStack) -> str:
    order_stack.fund("alice", USD="1000")
    status, _, body = place(api, "existing")
    assert status == 201, body
    order_stack.receive_commands()
    return str(body["order_id"])


ROUTES = [
    (
        "cancel (SQS send)",
        "cancel_order",
        "DELETE",
        "/v1/orders/{id}",
        "/v1/orders/{order_id}",
        "sqs",
        "SendMessage",
    ),
    (
        "order lookup",
        "account_queries",
        "GET",
        "/v1/orders/{id}",
        "/v1/orders/{order_id}",
        "dynamodb",
        "GetItem",
    ),
    ("order list", "account_queries", "GET", "/v1/orders", "/v1/orders", "dynamodb", "Query"),
    ("order book", "market_data", "GET", "/v1/book/BTC-USD", "/v1/book/{symbol}", "dynamodb", "Query"),
    ("instruments", "market_data", "GET", "/v1/instruments", "/v1/instruments", "dynamodb", "Scan"),
]


@pytest.mark.parametrize("kind", ["throttle", "read_timeout"])
@pytest.mark.parametrize("route", ROUTES, ids=[r[0] for r in ROUTES])
def test_every_route_answers_503_not_500_when_its_dependency_is_out(
    order_stack: OrderStack, api: Any, route: tuple[str, ...], kind: str
) -> None:
    name, function, method, path, resource, service, operation = route
    # Given an order of alice, and the route's dependency failing every attempt
    order_id = _placed(api, order_stack)
    wiring.instruments()._loaded_at = -1e18  # the next lookup reads the table
    fault = Fault(service, operation, kind)
    params = (
        {"order_id": order_id}
        if "{order_id}" in resource
        else {"symbol": "BTC-USD"}
        if "{symbol}" in resource
        else None
    )
    # When the route is called
    with injected(fault):
        status, headers, body = api(
            function, method, path.replace("{id}", order_id), resource, path_parameters=params
        )
    # Then 503 with Retry-After after the bounded retries
    assert fault.attempts == aws.MAX_ATTEMPTS, name
    assert_503(status, headers, body)
    # And once the dependency is back the same call succeeds
    status, _, body = api(function, method, path.replace("{id}", order_id), resource, path_parameters=params)
    assert status < 300, (name, body)
