"""The authorizer and admin functions in-process against moto + embedded PostgreSQL."""

from __future__ import annotations

import json
import time

import pytest
from order_stack import FakeLambdaContext, OrderStack, load_function, sample_event
from trading.adapters.api_keys import ApiKeysTable
from trading.admin.__main__ import main as admin_main
from trading.auth import canonical_path, signed_headers


@pytest.fixture
def alice_key(order_stack: OrderStack) -> tuple[str, str]:
    admin = load_function("admin")
    admin.handler({"action": "create_account", "account_id": "alice"}, FakeLambdaContext())  # keys need one
    answer = admin.handler(
        {"action": "create_key", "account_id": "alice", "scopes": ["read"]}, FakeLambdaContext()
    )
    assert answer["ok"], answer
    return answer["result"]["key_id"], answer["result"]["secret"]


def signed_event(case: str, key_id: str, secret: str, now_ms: int) -> dict:
    event = sample_event("authorizer", case)
    query = event.get("multiValueQueryStringParameters") or {}
    body_path = canonical_path(event["path"], query)
    body = "" if event["httpMethod"] == "GET" else '{"symbol":"BTC-USD"}'
    headers = signed_headers(
        key_id=key_id,
        secret=secret,
        method=event["httpMethod"],
        path=body_path,
        body=body,
        timestamp_ms=now_ms,
    )
    event["headers"] = {**event["headers"], **headers}
    return event


@pytest.mark.parametrize("case", ["signed_post", "signed_get_with_query"])
def test_a_signed_request_is_allowed_with_the_account_in_the_context(order_stack, alice_key, case) -> None:
    # Given alice's read key and a request signed now
    authorizer = load_function("authorizer")
    event = signed_event(case, *alice_key, now_ms=int(time.time() * 1000))
    # When the authorizer runs
    policy = authorizer.handler(event, FakeLambdaContext())
    # Then it allows the stage and passes account, key and scopes on
    assert policy["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    assert policy["context"] == {"account_id": "alice", "key_id": alice_key[0], "scopes": "read"}


@pytest.mark.parametrize(
    ("tamper", "now_offset_ms"),
    [
        (lambda e: e["headers"].pop("X-Signature"), 0),
        (lambda e: e["headers"].update({"X-Signature": "ab" * 32}), 0),
        (lambda e: None, 31_000),  # replayed after the 30 s window
        (lambda e: e["headers"].update({"X-API-Key": "ak_nobody_000000000000"}), 0),
    ],
)
def test_unsigned_badly_signed_stale_or_unknown_requests_are_unauthorized(
    order_stack, alice_key, tamper, now_offset_ms
) -> None:
    authorizer = load_function("authorizer")
    event = signed_event("signed_post", *alice_key, now_ms=int(time.time() * 1000) - now_offset_ms)
    tamper(event)
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorizer.handler(event, FakeLambdaContext())


def test_keys_table_stores_only_the_hash(order_stack: OrderStack, alice_key) -> None:
    from trading.adapters import aws

    item = (
        aws.resource("dynamodb")
        .Table(order_stack.env["API_KEYS_TABLE"])
        .get_item(Key={"key_id": alice_key[0]})
    )
    assert alice_key[1] not in json.dumps(item["Item"], default=str)
    assert ApiKeysTable(order_stack.env["API_KEYS_TABLE"]).get(alice_key[0]).account_id == "alice"


def test_admin_lambda_accounts_transfers_and_halt(order_stack: OrderStack) -> None:
    admin = load_function("admin")

    def run(event: dict) -> dict:
        return admin.handler(event, FakeLambdaContext())

    # Given the sample events: create carol, deposit 1000 USD, withdraw 10 USD (twice: idempotent)
    for case in ("create_account", "deposit", "withdraw", "withdraw"):
        answer = run(sample_event("admin", case))
        assert answer["ok"], answer
    # Then carol has 990 USD
    assert order_stack.balance("carol", "USD") == (990_000_000, 0)
    # And halt/resume flip the instrument's status
    assert run(sample_event("admin", "halt"))["result"] == {"symbol": "BTC-USD", "status": "HALTED"}
    assert run(sample_event("admin", "resume"))["result"]["status"] == "TRADING"
    # And bad commands answer with a code instead of raising
    assert run({"action": "halt"})["code"] == "VALIDATION_ERROR"
    assert run({"action": "withdraw", "account_id": "carol", "asset": "USD", "amount": "5000"})["code"] == (
        "INSUFFICIENT_FUNDS"
    )


def test_admin_cli_and_seed_demo(order_stack: OrderStack, capsys) -> None:
    # When the CLI creates an account, deposits, makes a key and seeds the demo
    assert admin_main(["--dsn", order_stack.dsn, "create-account", "dave"]) == 0
    assert (
        admin_main(["--dsn", order_stack.dsn, "deposit", "dave", "BTC", "1.5", "--transfer-id", "t-1"]) == 0
    )
    assert (
        admin_main(["--dsn", order_stack.dsn, "deposit", "dave", "BTC", "1.5", "--transfer-id", "t-1"]) == 0
    )
    assert admin_main(["--dsn", order_stack.dsn, "create-key", "dave", "--scopes", "read"]) == 0
    assert admin_main(["--dsn", order_stack.dsn, "seed-demo"]) == 0
    assert admin_main(["--dsn", order_stack.dsn, "seed-demo"]) == 0
    output = capsys.readouterr().out
    # Then the deposit counted once, the key was printed, the demo accounts are funded once
    assert order_stack.balance("dave", "BTC") == (150_000_000, 0)
    assert '"scopes": [\n    "read"\n  ]' in output
    assert order_stack.balance("alice", "USD") == (1_000_000_000_000, 0)
    # And an off-grid amount is refused with a code
    assert admin_main(["--dsn", order_stack.dsn, "deposit", "dave", "USD", "0.0000001"]) == 1
