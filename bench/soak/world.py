"""The soak's world: funded accounts with API keys, and handles on the runtime's real stores."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import boto3
import httpx
import psycopg2
from localcloud.runtime import LocalRuntime
from trading.client import TradingClient
from trading.domain.instruments import Instrument, demo_instruments
from trading.domain.numbers import parse_units

SYMBOLS = ("BTC-USD", "ETH-USD")
# What every soak account is funded with (decimal strings, as the admin command takes them).
FUNDING = {"USD": "2000000", "BTC": "50", "ETH": "500"}
# Mid prices (instrument price units: cents) and the coarse grid orders are placed on, so that
# orders meet at shared levels and cross often.
MID = {"BTC-USD": 3_000_000, "ETH-USD": 200_000}
STEP = {"BTC-USD": 500, "ETH-USD": 100}
# Base quantity ranges in the instrument's quantity units (BTC 0.0001, ETH 0.001).
QUANTITY = {"BTC-USD": (10, 200), "ETH-USD": (10, 500)}
TERMINAL = frozenset({"FILLED", "CANCELED", "REJECTED"})
RESTING = frozenset({"OPEN", "PARTIALLY_FILLED"})


@dataclass
class Trader:
    account_id: str
    key_id: str
    secret: str
    client: TradingClient


@dataclass
class World:
    runtime: LocalRuntime
    traders: list[Trader]
    instruments: dict[str, Instrument]
    deposits: dict[str, int] = field(default_factory=dict)  # asset -> atoms the soak deposited
    lock: threading.Lock = field(default_factory=threading.Lock)
    _pg: Any = None

    @property
    def accounts(self) -> set[str]:
        return {t.account_id for t in self.traders}

    def client_for(self, trader: Trader) -> TradingClient:
        """A second client on the same key (concurrent duplicates come from two connections)."""
        return new_client(self.runtime.urls.rest, trader.key_id, trader.secret)

    # -- the runtime's stores (the same names the functions and the matcher use) ----------------
    def env(self, name: str) -> str:
        return self.runtime.function_env("PlaceOrderFunction").get(name) or self.runtime.function_env(
            "ReconcileFunction"
        ).get(name, "")

    def aws(self, service: str) -> Any:
        return boto3.client(  # type: ignore[call-overload]
            service, endpoint_url=self.runtime.endpoint, region_name=self.runtime.region
        )

    def table(self, logical_id: str) -> Any:
        resource = boto3.resource(
            "dynamodb", endpoint_url=self.runtime.endpoint, region_name=self.runtime.region
        )
        return resource.Table(self.runtime.physical_ids[logical_id])

    def queue_urls(self) -> dict[str, str]:
        """Every SQS queue of the stack, by logical id."""
        model = self.runtime.model
        assert model is not None, "runtime not started"
        return {
            logical_id: physical
            for logical_id, physical in self.runtime.physical_ids.items()
            if physical and model.resources.get(logical_id, {}).get("Type") == "AWS::SQS::Queue"
        }

    def dsn(self) -> str:
        assert self.runtime.db is not None, "runtime not started"
        return self.runtime.db.dsn()

    def pg(self) -> Any:
        """The soak's own PostgreSQL connection (autocommit), opened before the workload so the
        checks can still read when the system under test has used up the server's connections."""
        if self._pg is None or self._pg.closed:
            self._pg = psycopg2.connect(self.dsn())
            self._pg.autocommit = True
        return self._pg

    def close(self) -> None:
        if self._pg is not None:
            self._pg.close()


ASSET_DECIMALS = {"USD": 6, "BTC": 8, "ETH": 8}


# The server closes an idle keep-alive connection after 5 s (uvicorn's default): a client that
# reuses one at that moment gets "connection reset" on a POST it cannot safely resend. Dropping
# idle connections sooner on the client side avoids that race (it is the client's to avoid).
KEEPALIVE_EXPIRY_S = 1.0


def new_client(url: str, key_id: str, secret: str) -> TradingClient:
    transport = httpx.HTTPTransport(limits=httpx.Limits(keepalive_expiry=KEEPALIVE_EXPIRY_S))
    return TradingClient(url, key_id, secret, timeout=60.0, transport=transport)


def build_world(runtime: LocalRuntime, seed: int, accounts: int) -> World:
    """Create ``accounts`` funded accounts with trade+read keys through the admin function."""
    world = World(runtime, [], {i.symbol: i for i in demo_instruments()})
    world.pg()
    for index in range(accounts):
        account_id = f"soak-{seed}-{index:02d}"
        runtime.admin({"action": "create_account", "account_id": account_id})
        for asset, amount in FUNDING.items():
            runtime.admin(
                {
                    "action": "deposit",
                    "account_id": account_id,
                    "asset": asset,
                    "amount": amount,
                    "transfer_id": f"soak-{seed}-{index:02d}-{asset}",
                }
            )
            world.deposits[asset] = world.deposits.get(asset, 0) + parse_units(amount, ASSET_DECIMALS[asset])
        key = runtime.admin({"action": "create_key", "account_id": account_id, "scopes": ["trade", "read"]})
        client = new_client(runtime.urls.rest, key["key_id"], key["secret"])
        world.traders.append(Trader(account_id, key["key_id"], key["secret"], client))
    return world
