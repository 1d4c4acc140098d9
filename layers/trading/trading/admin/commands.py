"""Admin commands as pydantic models: the admin Lambda's event and the CLI build the same ones."""

from __future__ import annotations

import uuid
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from trading import admin
from trading.adapters import database
from trading.adapters.api_keys import ApiKeysTable
from trading.adapters.database import Borrow, Connection
from trading.adapters.instruments_table import InstrumentsTable
from trading.auth import Scope
from trading.domain.errors import DomainError, ErrorCode
from trading.domain.instruments import Instrument, demo_instruments
from trading.settings import AdminSettings, ApiKeysTableSettings, InstrumentsTableSettings


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CreateAccount(_Command):
    action: Literal["create_account"] = "create_account"
    account_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]


class Transfer(_Command):
    action: Literal["deposit", "withdraw"]
    account_id: str
    asset: str
    amount: str
    transfer_id: str = Field(default_factory=lambda: uuid.uuid4().hex)


class CreateKey(_Command):
    action: Literal["create_key"] = "create_key"
    account_id: str
    scopes: Annotated[list[Scope], Field(min_length=1)] = Field(
        default_factory=lambda: [Scope.TRADE, Scope.READ]
    )


class RevokeKey(_Command):
    action: Literal["revoke_key"] = "revoke_key"
    key_id: Annotated[str, Field(min_length=1, max_length=128)]


class ListKeys(_Command):
    action: Literal["list_keys"] = "list_keys"
    account_id: str


class PutInstruments(_Command):
    action: Literal["put_instruments"] = "put_instruments"
    instruments: list[Instrument] | None = Field(default=None, description="default: the demo instruments")


class SetStatus(_Command):
    action: Literal["halt", "resume"]
    symbol: str


class SeedDemo(_Command):
    action: Literal["seed_demo"] = "seed_demo"


AdminCommand = Annotated[
    CreateAccount | Transfer | CreateKey | RevokeKey | ListKeys | PutInstruments | SetStatus | SeedDemo,
    Field(discriminator="action"),
]
COMMAND: TypeAdapter[Any] = TypeAdapter(AdminCommand)


@dataclass
class AdminEnv:
    """Where admin commands act; by default everything comes from the environment."""

    connect: Borrow = field(default=database.writer)
    usage_plan_id: str | None = field(default_factory=lambda: AdminSettings().usage_plan_id)

    @cached_property
    def instruments(self) -> InstrumentsTable:
        return InstrumentsTable(InstrumentsTableSettings().instruments_table)

    @cached_property
    def keys(self) -> ApiKeysTable:
        return ApiKeysTable(ApiKeysTableSettings().api_keys_table)

    def conn(self) -> AbstractContextManager[Connection]:
        """Borrow the writer for one command: ``with env.conn() as conn: ...``."""
        return self.connect()


def execute(command: Any, env: AdminEnv) -> dict[str, Any]:  # noqa: PLR0911 - one branch per command
    match command:
        case CreateAccount():
            with env.conn() as conn:
                created = admin.create_account(conn, command.account_id)
            return {"account_id": command.account_id, "created": created}
        case Transfer(action="deposit"):
            with env.conn() as conn:
                atoms = admin.deposit(
                    conn, command.transfer_id, command.account_id, command.asset, command.amount
                )
            return {"transfer_id": command.transfer_id, "atoms": atoms}
        case Transfer():
            with env.conn() as conn:
                atoms = admin.withdraw(
                    conn, command.transfer_id, command.account_id, command.asset, command.amount
                )
            return {"transfer_id": command.transfer_id, "atoms": atoms}
        case CreateKey():
            with env.conn() as conn:
                if not admin.account_exists(conn, command.account_id):
                    raise DomainError(ErrorCode.NOT_FOUND, f"no account {command.account_id!r}")
            new = admin.create_key(env.keys, command.account_id, command.scopes, env.usage_plan_id)
            return {
                "key_id": new.record.key_id,
                "secret": new.secret,
                "account_id": new.record.account_id,
                "scopes": sorted(new.record.scopes),
            }
        case RevokeKey():
            return admin.revoke_key(env.keys, command.key_id)
        case ListKeys():
            return {"account_id": command.account_id, "keys": admin.list_keys(env.keys, command.account_id)}
        case PutInstruments():
            symbols = admin.put_instruments(env.instruments, command.instruments or demo_instruments())
            return {"symbols": symbols}
        case SetStatus(action="halt"):
            admin.halt(env.instruments, command.symbol)
            return {"symbol": command.symbol, "status": "HALTED"}
        case SetStatus():
            admin.resume(env.instruments, command.symbol)
            return {"symbol": command.symbol, "status": "TRADING"}
        case SeedDemo():
            with env.conn() as conn:
                seeded = admin.seed_demo(conn, env.instruments, env.keys)
            return {"accounts": [a.__dict__ for a in seeded]}
    raise TypeError(f"unknown admin command {command!r}")
