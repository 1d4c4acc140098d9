"""Admin key lifecycle (issue 13, finding 7): create needs an account and a scope; list; revoke."""

from __future__ import annotations

import json
import time

from order_stack import FakeLambdaContext, OrderStack, load_function, sample_event
from trading.admin.__main__ import main as admin_main
from trading.auth import signed_headers


def _admin(event: dict) -> dict:
    return load_function("admin").handler(event, FakeLambdaContext())


def _authorize(key_id: str, secret: str) -> dict:
    event = sample_event("authorizer", "signed_post")
    event["headers"] = {
        **event["headers"],
        **signed_headers(
            key_id=key_id,
            secret=secret,
            method=event["httpMethod"],
            path=event["path"],
            body='{"symbol":"BTC-USD"}',
            timestamp_ms=int(time.time() * 1000),
        ),
    }
    return load_function("authorizer").handler(event, FakeLambdaContext())


def test_create_key_needs_an_existing_account_and_at_least_one_scope(order_stack: OrderStack) -> None:
    assert _admin({"action": "create_account", "account_id": "alice"})["ok"]
    # When keys are asked for an unknown account, with no scope, or with an unknown scope
    unknown = _admin({"action": "create_key", "account_id": "nobody-here", "scopes": ["read"]})
    no_scope = _admin({"action": "create_key", "account_id": "alice", "scopes": []})
    bad_scope = _admin({"action": "create_key", "account_id": "alice", "scopes": ["admin"]})
    # Then each is refused with a code, and no key was written for them
    assert (unknown["ok"], unknown["code"]) == (False, "NOT_FOUND")
    assert (no_scope["ok"], no_scope["code"]) == (False, "VALIDATION_ERROR")
    assert (bad_scope["ok"], bad_scope["code"]) == (False, "VALIDATION_ERROR")
    assert _admin({"action": "list_keys", "account_id": "nobody-here"})["result"]["keys"] == []


def test_list_keys_shows_an_accounts_keys_without_secrets_and_revoke_disables_one(
    order_stack: OrderStack,
) -> None:
    # Given two keys of carol's (a new account) and one of alice's
    assert _admin({"action": "create_account", "account_id": "carol-keys"})["ok"]
    first = _admin({"action": "create_key", "account_id": "carol-keys", "scopes": ["read"]})["result"]
    second = _admin({"action": "create_key", "account_id": "carol-keys", "scopes": ["trade", "read"]})[
        "result"
    ]
    _admin({"action": "create_account", "account_id": "alice"})
    _admin({"action": "create_key", "account_id": "alice", "scopes": ["read"]})
    assert _authorize(first["key_id"], first["secret"])["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    # When the keys are listed
    listed = _admin({"action": "list_keys", "account_id": "carol-keys"})["result"]["keys"]
    # Then exactly carol's two keys appear, active, with their scopes and never a secret or hash
    assert {k["key_id"]: (k["scopes"], k["status"]) for k in listed} == {
        first["key_id"]: (["read"], "ACTIVE"),
        second["key_id"]: (["read", "trade"], "ACTIVE"),
    }
    text = json.dumps(listed)
    assert first["secret"] not in text and "secret_hash" not in text
    # When the first is revoked
    revoked = _admin({"action": "revoke_key", "key_id": first["key_id"]})
    # Then it is REVOKED, a fresh authorizer container refuses it, and the other key still works
    assert (revoked["ok"], revoked["result"]["status"]) == (True, "REVOKED")
    statuses = {
        k["key_id"]: k["status"]
        for k in _admin({"action": "list_keys", "account_id": "carol-keys"})["result"]["keys"]
    }
    assert statuses == {first["key_id"]: "REVOKED", second["key_id"]: "ACTIVE"}
    try:
        _authorize(first["key_id"], first["secret"])
        raise AssertionError("a revoked key was authorized")
    except Exception as exc:
        assert str(exc) == "Unauthorized"
    assert (
        _authorize(second["key_id"], second["secret"])["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    )
    # And revoking a key that does not exist is NOT_FOUND
    assert _admin({"action": "revoke_key", "key_id": "ak_does_not_exist"})["code"] == "NOT_FOUND"


def test_the_cli_lists_and_revokes_and_refuses_an_empty_scope_list(order_stack: OrderStack, capsys) -> None:
    assert admin_main(["--dsn", order_stack.dsn, "create-account", "erin-keys"]) == 0
    capsys.readouterr()
    assert admin_main(["--dsn", order_stack.dsn, "create-key", "erin-keys", "--scopes", "read"]) == 0
    key_id = json.loads(capsys.readouterr().out)["key_id"]
    # When the CLI lists, revokes, and is asked for a key with no scope / for an unknown account
    assert admin_main(["--dsn", order_stack.dsn, "list-keys", "erin-keys"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert admin_main(["--dsn", order_stack.dsn, "revoke-key", key_id]) == 0
    revoked = json.loads(capsys.readouterr().out)
    no_scope = admin_main(["--dsn", order_stack.dsn, "create-key", "erin-keys", "--scopes", ""])
    no_scope_err = json.loads(capsys.readouterr().err)
    unknown = admin_main(["--dsn", order_stack.dsn, "create-key", "nobody-at-all"])
    unknown_err = json.loads(capsys.readouterr().err)
    # Then
    assert [k["key_id"] for k in listed["keys"]] == [key_id]
    assert revoked["status"] == "REVOKED"
    assert (no_scope, no_scope_err["code"]) == (1, "VALIDATION_ERROR")
    assert (unknown, unknown_err["code"]) == (1, "NOT_FOUND")
