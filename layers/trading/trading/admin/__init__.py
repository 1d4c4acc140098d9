"""Operator actions: accounts, deposits/withdrawals, API keys, instruments, halt/resume.

In AWS they are reachable only through the IAM-protected ``admin`` Lambda; locally through
``python -m trading.admin``. Both call these functions. Deposits and withdrawals go through the
ledger (``trading.ledger.post_transfer``), so every balance change has its journal.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from trading.adapters import aws
from trading.adapters.api_keys import ApiKeysTable
from trading.adapters.database import Connection
from trading.adapters.instruments_table import InstrumentsTable
from trading.auth import ApiKey, NewApiKey, Scope, generate_key, hash_secret
from trading.domain.enums import InstrumentStatus
from trading.domain.errors import DomainError, ErrorCode
from trading.domain.instruments import Instrument, demo_instruments
from trading.domain.numbers import NotRepresentableError, format_units, parse_units


def create_account(conn: Connection, account_id: str) -> bool:
    """Create a USER account with a zero balance row per asset; ``False`` if it existed."""
    with conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO accounts (account_id, kind) VALUES (%s, 'USER') ON CONFLICT DO NOTHING RETURNING 1",
            (account_id,),
        )
        created = cur.fetchone() is not None
        cur.execute(
            "INSERT INTO balances (account_id, asset) SELECT %s, asset FROM assets ON CONFLICT DO NOTHING",
            (account_id,),
        )
    return created


def asset_atoms(conn: Connection, asset: str, amount: str) -> int:
    with conn.cursor() as cur:
        cur.execute("SELECT decimals FROM assets WHERE asset = %s", (asset,))
        row = cur.fetchone()
    if row is None:
        raise DomainError(ErrorCode.VALIDATION_ERROR, f"unknown asset {asset!r}")
    try:
        atoms = parse_units(amount, int(row[0]))
    except NotRepresentableError as exc:
        raise DomainError(ErrorCode.INVALID_AMOUNT, str(exc)) from exc
    if atoms <= 0:
        raise DomainError(ErrorCode.INVALID_AMOUNT, "amount must be positive")
    return atoms


def _transfer(
    conn: Connection, *, transfer_id: str, account_id: str, asset: str, direction: str, amount: str
) -> int:
    atoms = asset_atoms(conn, asset, amount)
    ledger: Any = importlib.import_module("trading.ledger")  # helper module owned by the ledger work
    with conn:
        ledger.post_transfer(conn, transfer_id, account_id, asset, direction, atoms)
    return atoms


def deposit(conn: Connection, transfer_id: str, account_id: str, asset: str, amount: str) -> int:
    """Credit ``amount`` (decimal string in the asset's units); idempotent on ``transfer_id``."""
    return _transfer(
        conn, transfer_id=transfer_id, account_id=account_id, asset=asset, direction="DEPOSIT", amount=amount
    )


def withdraw(conn: Connection, transfer_id: str, account_id: str, asset: str, amount: str) -> int:
    return _transfer(
        conn,
        transfer_id=transfer_id,
        account_id=account_id,
        asset=asset,
        direction="WITHDRAWAL",
        amount=amount,
    )


def account_exists(conn: Connection, account_id: str) -> bool:
    with conn, conn.cursor() as cur:
        cur.execute("SELECT 1 FROM accounts WHERE account_id = %s AND kind = 'USER'", (account_id,))
        return cur.fetchone() is not None


def create_key(
    keys: ApiKeysTable, account_id: str, scopes: Iterable[Scope], usage_plan_id: str | None = None
) -> NewApiKey:
    """Create a key; with ``usage_plan_id`` also register its id as an API Gateway API key.

    The REST API requires an API Gateway key (``ApiKeySourceType: HEADER``, usage plans for
    throttling and quotas) in the same ``X-API-Key`` header, so the key id doubles as its value.
    The caller checks that the account exists (:func:`account_exists`); a key needs a scope.
    """
    scopes = frozenset(scopes)
    if not scopes:
        raise DomainError(ErrorCode.VALIDATION_ERROR, "a key needs at least one scope (trade, read)")
    new = generate_key(account_id, scopes)
    keys.put(new.record)
    if usage_plan_id:
        register_usage_plan_key(new.record.key_id, account_id, usage_plan_id)
    return new


def revoke_key(keys: ApiKeysTable, key_id: str) -> dict[str, Any]:
    """Revoke a key: the authorizer refuses it within its key cache TTL (60 s, ADR 0003)."""
    revoked = keys.revoke(key_id)
    if revoked is None:
        raise DomainError(ErrorCode.NOT_FOUND, f"no API key {key_id!r}")
    return revoked


def list_keys(keys: ApiKeysTable, account_id: str) -> list[dict[str, Any]]:
    """The account's keys without secrets or hashes."""
    return keys.list_for_account(account_id)


def register_usage_plan_key(key_id: str, account_id: str, usage_plan_id: str) -> None:
    apigateway = aws.client("apigateway")
    created = apigateway.create_api_key(
        name=key_id, description=f"account {account_id}", enabled=True, value=key_id
    )
    apigateway.create_usage_plan_key(usagePlanId=usage_plan_id, keyId=created["id"], keyType="API_KEY")


def put_instruments(table: InstrumentsTable, instruments: Iterable[Instrument]) -> list[str]:
    done = []
    for instrument in instruments:
        table.put(instrument)
        done.append(instrument.symbol)
    return done


def halt(table: InstrumentsTable, symbol: str) -> None:
    table.set_status(symbol, InstrumentStatus.HALTED)


def resume(table: InstrumentsTable, symbol: str) -> None:
    table.set_status(symbol, InstrumentStatus.TRADING)


@dataclass(frozen=True)
class DemoAccount:
    account_id: str
    key_id: str
    secret: str
    balances: dict[str, str]


DEMO_DEPOSITS = {"USD": "1000000", "BTC": "100", "ETH": "1000"}


def seed_demo(
    conn: Connection,
    instruments: InstrumentsTable,
    keys: ApiKeysTable,
    account_ids: Iterable[str] = ("alice", "bob"),
    deposits: dict[str, str] | None = None,
) -> list[DemoAccount]:
    """Demo instruments, accounts, deposits and *well-known* keys (``ak_demo_<account>_local_key``).

    Idempotent: safe to run at every start of the local runtime. The demo secrets are fixed so a
    developer can reuse them across restarts; they exist only in local mode.
    """
    put_instruments(instruments, demo_instruments())
    seeded = []
    for account_id in account_ids:
        create_account(conn, account_id)
        for asset, amount in (deposits or DEMO_DEPOSITS).items():
            deposit(conn, f"demo-{account_id}-{asset}", account_id, asset, amount)
        secret = f"demo-secret-{account_id}"
        key = ApiKey(
            key_id=f"ak_demo_{account_id}_local_key",  # >= 20 characters, like an API Gateway key
            account_id=account_id,
            secret_hash=hash_secret(secret),
            scopes=frozenset(Scope),
        )
        keys.put(key, overwrite=True)
        seeded.append(DemoAccount(account_id, key.key_id, secret, balances(conn, account_id)))
    return seeded


def balances(conn: Connection, account_id: str) -> dict[str, str]:
    with conn, conn.cursor() as cur:
        cur.execute(
            "SELECT b.asset, a.decimals, b.available FROM balances b JOIN assets a USING (asset) "
            "WHERE b.account_id = %s ORDER BY b.asset",
            (account_id,),
        )
        return {asset: format_units(int(avail), int(dec)) for asset, dec, avail in cur.fetchall()}
