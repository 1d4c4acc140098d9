"""Shared helpers of the order e2e tests: a runtime (the suite's ``local_runtime`` when there is
one, else one started for the module), fresh funded accounts with keys, polling."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from trading.client import TradingClient, decode


@dataclass
class Trader:
    account_id: str
    client: TradingClient
    key_id: str
    secret: str


def start_own_runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from localcloud.runtime import LocalRuntime

    runtime = LocalRuntime(
        Path(tmp_path_factory.mktemp("orders-e2e")) / "data",
        rest_port=0,
        ws_port=0,
        run_matcher=True,
        run_schedules=False,
        persist_dynamodb=False,
    )
    runtime.start()
    try:
        yield runtime
    finally:
        runtime.stop()


def runtime_for(request: pytest.FixtureRequest) -> Any:
    try:
        return request.getfixturevalue("local_runtime")
    except pytest.FixtureLookupError:
        return request.getfixturevalue("orders_own_runtime")


def new_trader(runtime: Any, scopes: tuple[str, ...] = ("trade", "read"), **deposits: str) -> Trader:
    account_id = f"e2e-{uuid.uuid4().hex[:10]}"
    runtime.admin({"action": "create_account", "account_id": account_id})
    for asset, amount in deposits.items():
        runtime.admin({"action": "deposit", "account_id": account_id, "asset": asset, "amount": amount})
    key = runtime.admin({"action": "create_key", "account_id": account_id, "scopes": list(scopes)})
    client = TradingClient(runtime.urls.rest, key["key_id"], key["secret"])
    return Trader(account_id, client, key["key_id"], key["secret"])


def balances(trader: Trader) -> dict[str, tuple[str, str]]:
    response = trader.client.balances()
    assert response.status_code == 200, response.text
    return {b["asset"]: (b["available"], b["held"]) for b in decode(response)["balances"]}


def wait_for(check: Callable[[], Any], timeout_s: float = 60.0, interval_s: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout_s} s; last value {value!r}")
        time.sleep(interval_s)


def order_status(trader: Trader, order_id: str) -> str:
    response = trader.client.get_order(order_id)
    assert response.status_code == 200, response.text
    return str(decode(response)["status"])


def wait_status(trader: Trader, order_id: str, *statuses: str) -> str:
    return str(wait_for(lambda: (s := order_status(trader, order_id)) in statuses and s))
