"""Demo data on start: instruments, accounts with balances, API keys — through the admin Lambda.

The admin function is the one way operators change accounts in AWS, so seeding invokes it with its
``seed_demo`` command (idempotent: fixed transfer ids and well-known demo keys), exactly as an
operator would with ``aws lambda invoke``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from localcloud.lambdas import FunctionError, LambdaRunner

_log = logging.getLogger(__name__)

ADMIN_FUNCTION = "AdminFunction"


@dataclass(frozen=True)
class SeededKey:
    account_id: str
    key_id: str
    secret: str
    balances: dict[str, str]


def admin(runner: LambdaRunner, command: dict[str, Any]) -> Any:
    """Invoke the admin function; return its ``result`` or raise RuntimeError with its error."""
    answer = runner.invoke(ADMIN_FUNCTION, command)
    if not isinstance(answer, dict) or not answer.get("ok"):
        raise RuntimeError(f"admin {command.get('action')} failed: {answer!r}")
    return answer.get("result")


def seed_demo(runner: LambdaRunner) -> list[SeededKey]:
    if not runner.has(ADMIN_FUNCTION):
        _log.warning("seed: the template has no %s; nothing seeded", ADMIN_FUNCTION)
        return []
    try:
        result = admin(runner, {"action": "seed_demo"})
    except (FunctionError, RuntimeError) as exc:
        _log.warning("seed: demo data not seeded: %s", exc)
        return []
    return [
        SeededKey(
            account_id=str(account["account_id"]),
            key_id=str(account["key_id"]),
            secret=str(account["secret"]),
            balances={str(k): str(v) for k, v in (account.get("balances") or {}).items()},
        )
        for account in (result or {}).get("accounts", [])
    ]
